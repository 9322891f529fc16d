"""`Cgroup`: one container's cgroup, whatever the hierarchy. The v1 and v2 classes fill in the controllers.

Shared here: reading and writing interface files with errors that name the file, waiting for the kernel to settle,
listing and signalling pids, and `destroy` (rmdir deepest first, retrying briefly while exiting tasks drain).
"""

from __future__ import annotations

import errno
import os
import time

from tug.cgroups.files import REAL, Files, failure, is_busy
from tug.cgroups.stats import Stats
from tug.errors import SystemFailure, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:  # collections.abc stays off tug-runtime's import path
    from collections.abc import Callable, Iterable


class Cgroup:
    """A container's cgroup. `path` is the normalized cgroups path; `created` the dirs `create` made, parents first
    (persist it and hand it back to `Manager.load` so `destroy` removes exactly those)."""

    version = 0

    def __init__(self, path: str, created: Iterable[str] = (), files: Files = REAL) -> None:
        self.path = path
        self.created = list(created)
        self.files = files

    # -- the interface ------------------------------------------------------------------------------------------
    @property
    def dirs(self) -> list[str]:
        """The container's directory in each hierarchy it lives in."""
        raise NotImplementedError

    def add_pid(self, pid: int) -> None:
        raise NotImplementedError

    def apply(self, resources: dict) -> list[str]:
        """Write OCI `linux.resources`; returns notes on settings this host cannot enforce (skipped)."""
        raise NotImplementedError

    def freeze(self, timeout: float = 5.0) -> None:
        raise NotImplementedError

    def thaw(self, timeout: float = 5.0) -> None:
        raise NotImplementedError

    def pids(self) -> list[int]:
        raise NotImplementedError

    def stats(self) -> Stats:
        raise NotImplementedError

    def oom_killed(self) -> bool:
        raise NotImplementedError

    def kill_all(self, sig: int = 9) -> None:
        """Signal every process, frozen first (where a freezer exists) so none can fork past the signal."""
        frozen = False
        try:
            self.freeze()
            frozen = True
        except (Unavailable, SystemFailure):
            pass
        try:
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    continue
        finally:
            if frozen:
                self.thaw()

    def exists(self) -> bool:
        return any(self.files.isdir(d) for d in self.dirs)

    def destroy(self, timeout: float = 2.0) -> None:
        """Remove the container's dirs and every dir `create` made, deepest first. Missing ones are fine."""
        todo = sorted(set(self.dirs) | set(self.created), key=lambda d: (-d.count("/"), d))
        first: SystemFailure | None = None
        for d in todo:
            try:
                self._rmdir(d, timeout)
            except SystemFailure as e:
                if first is None:
                    first = e
        if first is not None:
            raise first

    # -- helpers for the controllers -------------------------------------------------------------------------------
    def _rmdir(self, d: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.files.rmdir(d)
                return
            except FileNotFoundError:
                return
            except OSError as e:
                if not is_busy(e) or time.monotonic() >= deadline:
                    raise failure("cannot remove cgroup", d, e) from None
                time.sleep(0.01)

    def _read(self, d: str, name: str) -> str | None:
        path = os.path.join(d, name)
        try:
            return self.files.read(path)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise failure("cannot read", path, e) from None

    def _write(self, d: str, name: str, value: object) -> bool:
        """Write one value; False if the file does not exist (controller off or unsupported here)."""
        path = os.path.join(d, name)
        try:
            self.files.write(path, str(value))
        except FileNotFoundError:
            return False
        except OSError as e:
            raise failure(f"cannot write {value!s} to {name}", path, e) from None
        return True

    def _write_procs(self, d: str, pid: int) -> None:
        path = os.path.join(d, "cgroup.procs")
        for attempt in range(5):
            try:
                self.files.write(path, str(pid))
                return
            except FileNotFoundError:
                raise Unavailable("cgroup does not exist", where=d) from None
            except OSError as e:
                # EINVAL can mean the task is still being born (TASK_NEW): try again shortly
                if e.errno == errno.EINVAL and attempt < 4:
                    time.sleep(0.03)
                    continue
                raise failure(f"cannot add pid {pid}", path, e) from None

    def _procs(self, d: str, recursive: bool = True) -> list[int]:
        out: list[int] = []
        text = self._read(d, "cgroup.procs")
        if text is None:
            return out
        out.extend(int(x) for x in text.split())
        if recursive:
            try:
                children = [n for n in self.files.listdir(d) if self.files.isdir(os.path.join(d, n))]
            except OSError:
                children = []
            for child in children:
                out.extend(self._procs(os.path.join(d, child)))
        return out

    @staticmethod
    def _wait(done: Callable[[], bool], timeout: float, what: str, where: str,
              nudge: Callable[[], None] | None = None) -> None:
        """Poll `done` until true (calling `nudge` now and then, e.g. to re-request a freeze) or time out."""
        deadline = time.monotonic() + timeout
        delay = 0.001
        while not done():
            if time.monotonic() >= deadline:
                raise SystemFailure(f"{what} did not settle in {timeout:g}s", where=where)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            if nudge is not None:
                nudge()


def require(ok: bool, controller: str, d: str) -> None:
    """A missing interface file of a controller the spec asks for is an error, not a silent skip."""
    if not ok:
        raise Unavailable(f"the {controller} controller is not available", where=d,
                          hint="it is not mounted (v1) or not enabled in the parent's cgroup.subtree_control (v2)")
