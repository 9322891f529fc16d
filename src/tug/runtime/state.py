"""The runtime's per-container state dir (`<root>/<id>/`) and the `state` verb.

state.json keeps what runc's `state` prints plus what later verbs need (the init's start time, to tell a reused
pid from ours, and the cgroup dirs). The status is never stored: it is read from the kernel each time.
"""

from __future__ import annotations

import os

from tug.errors import Conflict, NotFound
from tug.oci.times import now_rfc3339  # noqa: F401 - the runtime's clock (create, main)
from tug.runtime import jsonio
from tug.runtime.config import check_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATE_FILE = "state.json"
FIFO = "exec.fifo"


class Container:
    def __init__(self, root: str, cid: str, data: dict[str, Any]) -> None:
        self.root, self.id, self.data = root, cid, data

    @property
    def dir(self) -> str:
        return os.path.join(self.root, self.id)

    @property
    def fifo(self) -> str:
        return os.path.join(self.dir, FIFO)

    @property
    def pid(self) -> int:
        return int(self.data.get("pid") or 0)

    @property
    def cgroup_paths(self) -> list[str]:
        return list(self.data.get("cgroupPaths") or ())

    def status(self) -> str:
        from tug.sys.proc import is_alive

        pid = self.pid
        if pid <= 0 or not is_alive(pid, self.data.get("initStartTime")):
            return "stopped"
        if os.path.exists(self.fifo):
            return "created"
        if self._frozen():
            return "paused"
        return "running"

    def _frozen(self) -> bool:
        for p in self.cgroup_paths:
            for name, frozen in (("freezer.state", "FROZEN"), ("cgroup.freeze", "1")):
                try:
                    with open(os.path.join(p, name)) as f:
                        if f.read().strip() == frozen:
                            return True
                except OSError:
                    continue
        return False

    def save(self) -> None:
        tmp = os.path.join(self.dir, STATE_FILE + ".tmp")
        with open(tmp, "w") as f:
            f.write(jsonio.dumps(self.data))
        os.rename(tmp, os.path.join(self.dir, STATE_FILE))

    def public(self) -> dict[str, Any]:
        """What `state` prints (runc's fields and order)."""
        status = self.status()
        return {
            "ociVersion": self.data.get("ociVersion", "1.0.2"),
            "id": self.id,
            "pid": self.pid if status != "stopped" else 0,
            "status": status,
            "bundle": self.data.get("bundle", ""),
            "rootfs": self.data.get("rootfs", ""),
            "created": self.data.get("created", ""),
            "owner": "",
            **({"annotations": self.data["annotations"]} if self.data.get("annotations") else {}),
        }


def new_dir(root: str, cid: str) -> str:
    """Make `<root>/<id>` (Conflict when the id is taken)."""
    check_id(cid)
    os.makedirs(root, mode=0o700, exist_ok=True)
    path = os.path.join(root, cid)
    try:
        os.mkdir(path, 0o711)
    except FileExistsError:
        raise Conflict(f"container with id exists: {cid}", where=path) from None
    return path


def load(root: str, cid: str) -> Container:
    check_id(cid)
    path = os.path.join(root, cid, STATE_FILE)
    try:
        with open(path, "rb") as f:
            data = jsonio.loads(f.read(), where=path)
    except FileNotFoundError:
        raise NotFound(f"container does not exist: {cid}", where=cid) from None
    return Container(root, cid, data)


def list_ids(root: str) -> list[str]:
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    return [n for n in names if os.path.exists(os.path.join(root, n, STATE_FILE))]


def cmd_state(root: str, cid: str) -> int:
    os.write(1, (jsonio.dumps(load(root, cid).public(), pretty=True) + "\n").encode())
    return 0


def cmd_list(root: str, quiet: bool = False, fmt: str = "table") -> int:
    rows = [load(root, cid).public() for cid in list_ids(root)]
    if fmt == "json":
        out = jsonio.dumps(rows) + "\n"
    elif quiet:
        out = "".join(r["id"] + "\n" for r in rows)
    else:
        lines = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        lines += [(r["id"], str(r["pid"]), r["status"], r["bundle"], r["created"], "root") for r in rows]
        widths = [max(len(line[i]) for line in lines) for i in range(6)]
        out = "".join("   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n"
                      for line in lines)
    os.write(1, out.encode())
    return 0


def require(c: Container, *allowed: str, action: str) -> str:
    status = c.status()
    if status not in allowed:
        raise Conflict(f"cannot {action} container {c.id}: it is {status}", where=c.id)
    return status


def remove_dir(path: str) -> None:
    """Remove a state dir (flat: state.json, exec.fifo, temp files)."""
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return
    for n in names:
        try:
            os.unlink(os.path.join(path, n))
        except FileNotFoundError:
            pass
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
