"""process.args / cwd / terminal: how docker combines Entrypoint, Cmd, --entrypoint and the command line."""

from __future__ import annotations

import posixpath

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.spec.options import RunOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

INIT_PATH = "/dev/init"  # where the --init binary is bind-mounted in the container


def command_args(image: ImageConfig, opts: RunOptions) -> list[str]:
    """The container's argv.

    - a command after the image replaces the image's Cmd;
    - `--entrypoint X` replaces the image's Entrypoint and drops its Cmd (X is one word, never split);
    - `--entrypoint ""` clears the Entrypoint, and the image's Cmd is dropped too;
    - nothing left at all is an error.
    """
    entrypoint = None if opts.entrypoint is None else [opts.entrypoint]
    cmd = list(opts.command)
    if entrypoint is None:
        if not cmd:
            cmd = list(image.cmd or [])
        entrypoint = list(image.entrypoint or [])
    if entrypoint == [""]:
        entrypoint = []
    args = [*entrypoint, *cmd]
    if not args:
        raise Invalid("no command specified")
    return args


def working_dir(image: ImageConfig, opts: RunOptions) -> str:
    wd = opts.workdir or image.working_dir
    if not wd:
        return "/"
    if not wd.startswith("/"):
        raise Invalid(f"the working directory '{wd}' is invalid, it needs to be an absolute path")
    return posixpath.normpath(wd).replace("//", "/")


def build_process(
    image: ImageConfig, opts: RunOptions, *, init: bool, console_size: tuple[int, int] | None
) -> dict[str, Any]:
    args = command_args(image, opts)
    if init:
        args = [INIT_PATH, "--", *args]
    proc: dict[str, Any] = {"terminal": bool(opts.tty), "args": args, "cwd": working_dir(image, opts)}
    if opts.tty and console_size:
        proc["consoleSize"] = {"height": int(console_size[0]), "width": int(console_size[1])}
    if opts.oom_score_adj is not None:
        if not -1000 <= opts.oom_score_adj <= 1000:
            raise Invalid(f"invalid --oom-score-adj {opts.oom_score_adj}: the range is -1000 to 1000")
        proc["oomScoreAdj"] = opts.oom_score_adj
    return proc
