"""`tug exec`: run a command in a running container."""

from __future__ import annotations

from tug.cli import flags
from tug.cli.common import engine, store_options


@flags.command("exec", context_settings={"allow_interspersed_args": False, "help_option_names": ["--help"]})
@flags.option("-i", "--interactive", is_flag=True)
@flags.option("-t", "--tty", is_flag=True)
@flags.option("-d", "--detach", is_flag=True)
@flags.option("-e", "--env", multiple=True)
@flags.option("--env-file", "env_files", multiple=True)
@flags.option("-w", "--workdir")
@flags.option("-u", "--user")
@flags.option("--privileged", is_flag=True)
@flags.option("--detach-keys", hidden=True)
@flags.argument("name")
@flags.argument("command", nargs=-1, required=True, type=flags.UNPROCESSED)
@store_options
@flags.pass_context
def exec_(ctx, interactive, tty, detach, env, env_files, workdir, user, privileged, detach_keys, name, command,
          root_, runroot_) -> int:
    """Execute a command in a running container."""
    from pathlib import Path

    from tug.engine import containers
    from tug.engine import exec as eexec

    envs = []
    for f in env_files:
        envs += [ln for ln in Path(f).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    eng = engine(ctx, root_, runroot_)
    ctr = containers.find(eng, name)
    opts = eexec.ExecOptions(list(command), interactive, tty, detach, [*envs, *env], workdir, user, privileged)
    return eexec.run(eng, ctr, opts)
