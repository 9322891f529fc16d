"""`RUN --mount=type=ssh`: the client's SSH agent, forwarded into one build step through a socket of its own.

`tug build --ssh default` names `$SSH_AUTH_SOCK` (`--ssh ID=PATH` another socket). For a step that mounts it, a
forked relay (tug.network.relay) listens on a fresh socket in the build's scratch directory with the mount's `uid`,
`gid` and `mode` (0:0, 0600 by default) and joins every connection to the agent; that socket is bound at the target
(`/run/buildkit/ssh_agent.N`) and `SSH_AUTH_SOCK` points there for that step only. The host's agent socket itself
is never mounted, so the step sees no other path of the host. The relay dies with the step (and with the builder,
by PR_SET_PDEATHSIG). Only agent sockets are forwarded; key files are refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from tug.errors import Invalid, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tug.network.relay import Relay

DEFAULT_TARGET = "/run/buildkit/ssh_agent.{n}"


def parse_ssh_flags(values: list[str] | tuple[str, ...], env: Mapping[str, str]) -> dict[str, str]:
    """`--ssh default`, `--ssh default=PATH`, `--ssh ID=PATH[,PATH]` as id -> agent socket path."""
    out: dict[str, str] = {}
    for v in values:
        ident, eq, paths = v.partition("=")
        if not ident:
            raise Invalid(f"--ssh {v!r}: ID[=SOCKET] is expected")
        if not eq:
            sock = env.get("SSH_AUTH_SOCK", "")
            if not sock:
                raise Invalid(f"--ssh {ident}: SSH_AUTH_SOCK is not set (start an agent or give ID=SOCKET)")
        else:
            sock = paths.split(",")[0]
        out[ident] = os.path.abspath(sock)
    return out


def check_agent(path: str, ident: str) -> Path:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFound(f"ssh agent socket {path} for --ssh {ident} does not exist") from None
    if not stat.S_ISSOCK(st.st_mode):
        raise Invalid(f"--ssh {ident}={path}: only agent sockets can be forwarded (this is not a socket)")
    return Path(path)


def start_proxy(agent: Path, listen: Path, uid: int, gid: int, mode: int, close_fds: tuple[int, ...] = ()) -> Relay:
    """A relay from a new socket at `listen` (owned uid:gid, `mode`) to the agent; returns once it listens."""
    from tug.network import relay

    return relay.start(agent, listen, uid, gid, mode, close_fds, what=f"the ssh agent {agent}")
