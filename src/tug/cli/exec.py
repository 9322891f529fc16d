"""`tug exec`: run a command in a running container."""

from __future__ import annotations

from tug.cli import flags
from tug.cli.common import store_options


@flags.command("exec", context_settings={"allow_interspersed_args": False, "help_option_names": ["--help"]})
@flags.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached")
@flags.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY")
@flags.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the background")
@flags.option("-e", "--env", multiple=True, help="Set environment variables")
@flags.option("--env-file", "env_files", multiple=True, help="Read in a file of environment variables")
@flags.option("-w", "--workdir", help="Working directory inside the container")
@flags.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
@flags.option("--privileged", is_flag=True, help="Give extended privileges to the command")
@flags.option("--detach-keys", help="Override the key sequence for detaching a container")
@flags.argument("name")
@flags.argument("command", nargs=-1, required=True, type=flags.UNPROCESSED)
@store_options
@flags.pass_context
def exec_(ctx, interactive, tty, detach, env, env_files, workdir, user, privileged, detach_keys, name, command,
          root_, runroot_) -> int:
    """Execute a command in a running container."""
    from tug.engine import exec as eexec

    envs = []
    for f in env_files:
        with open(f) as fh:
            envs += [ln for ln in fh.read().splitlines() if ln.strip() and not ln.startswith("#")]
    keys = None
    if detach_keys is not None:
        from tug.engine.attach import parse_detach_keys

        keys = parse_detach_keys(detach_keys)
    opts = eexec.ExecOptions(list(command), interactive, tty, detach, [*envs, *env], workdir, user, privileged,
                             keys)
    obj = ctx.find_root().obj or {}  # the store's paths as `engine()` takes them, without building an Engine
    return eexec.exec_named(root_ or obj.get("root"), runroot_ or obj.get("runroot"), name, opts)
