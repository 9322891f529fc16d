"""Registry verbs: `pull`, `push`, `login`, `logout`."""

from __future__ import annotations

import sys

import click

from tug.cli.common import engine, store_options


def _tls(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() not in ("false", "0", "no")


@click.command("pull")
@click.option("-q", "--quiet", is_flag=True)
@click.option("-a", "--all-tags", is_flag=True)
@click.option("--platform")
@click.option("--tls-verify", "tls_verify", default=None, metavar="BOOL")
@click.argument("name")
@store_options
@click.pass_context
def pull(ctx, quiet, all_tags, platform, tls_verify, name, root_, runroot_) -> int:
    """Download an image from a registry."""
    from tug.cli.progress import Printer
    from tug.engine.pull import pull as do_pull
    from tug.oci import reference

    if all_tags:
        raise click.UsageError("--all-tags is not supported yet")
    eng = engine(ctx, root_, runroot_)
    ref = reference.parse(name)
    if not quiet and ref.tag and ":" not in name.rsplit("/", 1)[-1] and "@" not in name:
        click.echo("Using default tag: latest")
    res = do_pull(eng, name, platform, Printer(quiet=quiet), _tls(tls_verify))
    if not quiet:
        what = "Downloaded newer image" if res.downloaded else "Image is up to date"
        click.echo(f"Status: {what} for {ref.familiar}")
    click.echo(str(ref))
    return 0


@click.command("push")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--tls-verify", "tls_verify", default=None, metavar="BOOL")
@click.argument("name")
@store_options
@click.pass_context
def push(ctx, quiet, tls_verify, name, root_, runroot_) -> int:
    """Upload an image to a registry."""
    from tug.cli.progress import Printer
    from tug.engine.push import push as do_push

    digest = do_push(engine(ctx, root_, runroot_), name, Printer(quiet=quiet), _tls(tls_verify))
    if quiet:
        click.echo(digest)
    return 0


@click.command("login")
@click.option("-u", "--username")
@click.option("-p", "--password")
@click.option("--password-stdin", is_flag=True)
@click.option("--tls-verify", "tls_verify", default=None, metavar="BOOL")
@click.argument("server", required=False)
@store_options
@click.pass_context
def login(ctx, username, password, password_stdin, tls_verify, server, root_, runroot_) -> int:
    """Log in to a registry (credentials saved in docker's config.json format, mode 0600)."""
    from tug.engine.registries import login as do_login

    server = server or "docker.io"
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not username:
        username = click.prompt("Username")
    if password is None:
        password = click.prompt("Password", hide_input=True)
    else:
        if not password_stdin:
            click.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", err=True)
    do_login(engine(ctx, root_, runroot_), server, username, password, _tls(tls_verify))
    click.echo("Login Succeeded")
    return 0


@click.command("logout")
@click.argument("server", required=False)
def logout(server) -> int:
    """Log out from a registry."""
    from tug.engine.registries import logout as do_logout

    server = server or "docker.io"
    if do_logout(server):
        click.echo(f"Removing login credentials for {server}")
    else:
        click.echo(f"Not logged in to {server}")
    return 0
