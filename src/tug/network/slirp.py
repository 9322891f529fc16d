"""`--network slirp4netns[:allow_host_loopback=true,mtu=N]`: a user-mode network stack for containers that cannot
have a bridge, such as rootless ones (issue 7), where slirp4netns is installed.

slirp4netns is started on the container's network namespace (the holder's, tug.network.holder) and puts a tap
device in it, `tap0` with 10.0.2.100/24, gateway 10.0.2.2 and DNS 10.0.2.3; the container's traffic leaves through
the slirp4netns process as ordinary sockets of the user. 10.0.2.2 reaches the host's loopback only when asked for
(`allow_host_loopback=true`), as podman has it. The process is recorded with the network attachment and killed
with the holder on release.
"""

from __future__ import annotations

import os
from typing import Any

from tug.errors import Invalid, NotFound, SystemFailure

NAME = "slirp4netns"
DNS = "10.0.2.3"


def options(network: str) -> dict[str, Any]:
    """The options of `slirp4netns:K=V,...`; Invalid names an unknown or bad one."""
    out: dict[str, Any] = {"allow_host_loopback": False, "mtu": 65520}
    for item in filter(None, network.partition(":")[2].split(",")):
        key, _, value = item.partition("=")
        if key == "allow_host_loopback" and value in ("true", "false"):
            out[key] = value == "true"
        elif key == "mtu" and value.isdigit() and 1280 <= int(value) <= 65520:
            out[key] = int(value)
        else:
            raise Invalid(f"invalid slirp4netns option {item!r}: known are allow_host_loopback=true|false, mtu=N")
    return out


def argv(netns_path: str, ready_fd: int, opts: dict[str, Any]) -> list[str]:
    import shutil

    path = shutil.which(NAME)
    if path is None:
        raise NotFound("--network slirp4netns: slirp4netns is not installed", hint="install the slirp4netns package")
    return [path, "--configure", f"--mtu={opts['mtu']}", *([] if opts["allow_host_loopback"] else
                                                            ["--disable-host-loopback"]),
            f"--ready-fd={ready_fd}", "--netns-type=path", netns_path, "tap0"]


def start(netns_path: str, network: str, timeout: float = 10) -> dict[str, Any]:
    """Start slirp4netns on the namespace and wait until tap0 is configured; {"pid", "start"} for the record."""
    import select
    import subprocess
    import tempfile

    from tug.network.holder import start_ticks

    r, w = os.pipe()
    with tempfile.TemporaryFile() as log:  # its messages, for a failure to start
        try:
            proc = subprocess.Popen(argv(netns_path, w, options(network)), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=log, pass_fds=(w,), start_new_session=True)
        finally:
            os.close(w)
        try:
            ready = os.read(r, 1) if select.select([r], [], [], timeout)[0] else b""  # "1" once configured
            if ready != b"1":
                proc.kill()
                proc.wait()
                log.seek(0)
                lines = log.read().decode(errors="replace").strip().splitlines()
                raise SystemFailure(f"slirp4netns did not start: {lines[-1] if lines else 'no reason given'}")
        finally:
            os.close(r)
    return {"pid": proc.pid, "start": start_ticks(proc.pid)}
