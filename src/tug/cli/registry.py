"""Registry verbs: `pull`, `push`, `login`, `logout`."""

from __future__ import annotations

import sys

from tug.cli import flags
from tug.cli.common import engine, store_options


def _tls(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() not in ("false", "0", "no")


@flags.command("pull")
@flags.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@flags.option("-a", "--all-tags", is_flag=True,
              help="Download all tagged images in the repository")
@flags.option("--platform", help="Set platform if server is multi-platform capable")
@flags.option("--tls-verify", "tls_verify", default=None, metavar="BOOL",
              help="Require HTTPS and verify certificates (true|false; default: per registry)")
@flags.argument("name")
@store_options
@flags.pass_context
def pull(ctx, quiet, all_tags, platform, tls_verify, name, root_, runroot_) -> int:
    """Download an image from a registry."""
    from tug.cli.progress import Printer
    from tug.engine.pull import pull as do_pull
    from tug.oci import reference

    eng = engine(ctx, root_, runroot_)
    ref = reference.parse(name)
    if all_tags:
        from tug.engine.pull_tags import pull_all_tags

        results = pull_all_tags(eng, name, platform, Printer(quiet=quiet), _tls(tls_verify))
        if not quiet:
            what = "Downloaded newer image" if any(r.downloaded for r in results) else "Image is up to date"
            flags.echo(f"Status: {what} for {ref.familiar_name}")
        flags.echo(ref.name)
        return 0
    if not quiet and ref.tag and ":" not in name.rsplit("/", 1)[-1] and "@" not in name:
        flags.echo("Using default tag: latest")
    res = do_pull(eng, name, platform, Printer(quiet=quiet), _tls(tls_verify))
    if not quiet:
        what = "Downloaded newer image" if res.downloaded else "Image is up to date"
        flags.echo(f"Status: {what} for {ref.familiar}")
    flags.echo(str(ref))
    return 0


def _all_tags(eng, name: str) -> list[str]:  # noqa: ANN001 - Engine, imported lazily
    """`push -a NAME`: every local tag of NAME's repository (NAME must not carry a tag or digest)."""
    from tug.engine import images as eimages
    from tug.errors import Invalid, NotFound
    from tug.oci import reference

    last = name.rsplit("/", 1)[-1]
    if ":" in last or "@" in name:
        raise Invalid("tag can't be used with --all-tags/-a")
    repo = reference.parse(name).name
    tags = sorted(t for img in eimages.list_images(eng) for t in img.tags if reference.parse(t).name == repo
                  and reference.parse(t).digest is None)
    if not tags:
        raise NotFound(f"An image does not exist locally with the tag: {name}")
    return tags


@flags.command("push")
@flags.option("-a", "--all-tags", is_flag=True, help="Push all tags of an image to the repository")
@flags.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@flags.option("--tls-verify", "tls_verify", default=None, metavar="BOOL",
              help="Require HTTPS and verify certificates (true|false; default: per registry)")
@flags.argument("name")
@store_options
@flags.pass_context
def push(ctx, all_tags, quiet, tls_verify, name, root_, runroot_) -> int:
    """Upload an image to a registry."""
    from tug.cli.progress import Printer
    from tug.engine.push import push as do_push

    eng = engine(ctx, root_, runroot_)
    for ref in _all_tags(eng, name) if all_tags else [name]:
        digest = do_push(eng, ref, Printer(quiet=quiet), _tls(tls_verify))
        if quiet:
            flags.echo(digest)
    return 0


@flags.command("login")
@flags.option("-u", "--username", help="Username")
@flags.option("-p", "--password", help="Password")
@flags.option("--password-stdin", is_flag=True, help="Take the password from stdin")
@flags.option("--tls-verify", "tls_verify", default=None, metavar="BOOL",
              help="Require HTTPS and verify certificates (true|false; default: per registry)")
@flags.argument("server", required=False)
@store_options
@flags.pass_context
def login(ctx, username, password, password_stdin, tls_verify, server, root_, runroot_) -> int:
    """Log in to a registry (credentials saved in docker's config.json format, mode 0600)."""
    from tug.engine.registries import login as do_login

    server = server or "docker.io"
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not username:
        username = flags.prompt("Username")
    if password is None:
        password = flags.prompt("Password", hide_input=True)
    else:
        if not password_stdin:
            flags.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", err=True)
    do_login(engine(ctx, root_, runroot_), server, username, password, _tls(tls_verify))
    flags.echo("Login Succeeded")
    return 0


@flags.command("logout")
@flags.argument("server", required=False)
def logout(server) -> int:
    """Log out from a registry."""
    from tug.engine.registries import logout as do_logout

    server = server or "docker.io"
    if do_logout(server):
        flags.echo(f"Removing login credentials for {server}")
    else:
        flags.echo(f"Not logged in to {server}")
    return 0
