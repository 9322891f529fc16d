"""The container's init: runs in the forked child of `create`, single-threaded, and ends in execve.

Steps: own session, not dumpable, namespaces, wait until the runtime made the cgroup dirs, rootfs and pivot_root,
hostname, terminal, masked/read-only paths, sysctls, cwd, rlimits, command lookup (so `create` reports a
missing command), `ready`, block on the exec fifo until `start` (not for `run`: it goes straight on), then ids,
capabilities, seccomp, exec.
Any failure is sent to the runtime as one line with its exit code (125, or 126/127 for the command).
"""

from __future__ import annotations

import os

from tug.errors import CannotInvoke, CommandNotFound, SystemFailure, TugError
from tug.runtime import process, rootfs, sync
from tug.runtime.config import namespaces
from tug.sys import ns, prctl, proc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class InitArgs:
    """What the forked init gets from `create`: the spec, paths, and its ends of the sync channel."""

    def __init__(self, spec: dict[str, Any], bundle: str, rootfs: str, fifo: str, ctl_r: int, report_w: int,
                 console_fd: int | None, cgroups: list[tuple[str, str]], close: list[int]) -> None:
        self.spec, self.bundle, self.rootfs, self.fifo = spec, bundle, rootfs, fifo
        self.ctl_r, self.report_w, self.console_fd = ctl_r, report_w, console_fd
        self.cgroups, self.close = cgroups, close
        self.userns_fd: int | None = None  # a new user namespace to join last (tug.runtime.userns)
        self.wait_start = True  # block on the exec fifo until `start` (False for `run`: exec once ready)


def main(a: InitArgs) -> None:
    """Never returns: execs the container process or exits with the failure's code."""
    code = 125
    try:
        for fd in a.close:
            os.close(fd)
        setup_and_exec(a)
    except TugError as e:
        code = e.exit_code
        report(a.report_w, code, e.one_line())
    except OSError as e:
        report(a.report_w, 125, f"{e.filename + ': ' if e.filename else ''}{e.strerror or e}")
    except BaseException as e:  # noqa: BLE001 - whatever happens, the child must not return into the runtime
        report(a.report_w, 125, f"container init: {type(e).__name__}: {e}")
    finally:
        os._exit(code)


def report(fd: int, code: int, text: str) -> None:
    if not sync.send(fd, "error", code, text):
        try:
            os.write(2, f"tug-runtime: {text}\n".encode())
        except OSError:
            pass


def enter_namespaces(spec_ns: dict[str, str | None], kinds: set[str]) -> None:
    """Join the namespaces of `kinds` given by path, then unshare the new ones."""
    for kind, path in spec_ns.items():
        if path and kind in kinds:
            ns.join(path, ns.BY_OCI_TYPE[kind][0])
    flags = 0
    for kind, path in spec_ns.items():
        if not path and kind in kinds:
            flags |= ns.BY_OCI_TYPE[kind][0]
    if flags:
        ns.unshare(flags)


def setup_and_exec(a: InitArgs) -> None:
    spec = a.spec
    linux = spec.get("linux") or {}
    proc_spec = spec["process"]
    os.setsid()
    prctl.set_dumpable(False)
    os.umask(0)
    spec_ns = namespaces(spec)
    # pid was entered by the parent; cgroup waits until the parent moved us into our cgroup (it does that
    # while we set up the mounts)
    early = {"network", "mount", "ipc", "uts", "time"} | ({"cgroup"} if spec_ns.get("cgroup") else set())
    enter_namespaces(spec_ns, early)
    if "network" in spec_ns and not spec_ns["network"]:
        # a new network namespace gets its loopback up, as docker's `--network none` has it
        from tug.sys.netif import link_up

        link_up("lo")
    # compiled (or read from the runtime root's cache) while the host's files are reachable
    cache = os.path.join(os.path.dirname(os.path.dirname(a.fifo)), process.SECCOMP_CACHE)
    seccomp = process.Seccomp(linux.get("seccomp"), bool(proc_spec.get("noNewPrivileges")), cache)
    if a.console_fd is not None:
        from tug.runtime import console
    fifo_fd = os.open(a.fifo, os.O_PATH | os.O_CLOEXEC) if a.wait_start else -1
    sync.wait_for(a.ctl_r, b"cg")  # the parent made the cgroup dirs (while we did the above)
    root_fd = rootfs.prepare(spec, a.rootfs, a.bundle, a.cgroups, a.userns_fd)
    rootfs.pivot(root_fd)
    os.close(root_fd)
    if spec.get("hostname"):
        proc.sethostname(spec["hostname"])
    if spec.get("domainname"):
        proc.setdomainname(spec["domainname"])
    if a.console_fd is not None:
        console.setup_in_container(a.console_fd)
    # sysctls go in before finalize() makes /proc/sys read-only
    for key, value in (linux.get("sysctl") or {}).items():
        write_sysctl(key, value)
    rootfs.finalize(spec)
    env = process.environment(proc_spec)
    if "HOME" not in env:
        env["HOME"] = process.home_of(int((proc_spec.get("user") or {}).get("uid", 0)))
    cwd = proc_spec.get("cwd") or "/"
    os.makedirs(cwd, 0o755, exist_ok=True)
    os.chdir(cwd)
    warnings: list[str] = []
    process.apply_rlimits(proc_spec, warnings)
    path = process.lookup(proc_spec["args"][0], env)
    sync.wait_go(a.ctl_r)
    os.close(a.ctl_r)
    if "cgroup" in spec_ns and not spec_ns["cgroup"]:
        ns.unshare(ns.CLONE_NEWCGROUP)
    sync.send(a.report_w, "ready")
    if fifo_fd >= 0:
        wait_for_start(fifo_fd)
    if a.userns_fd is not None:
        from tug.runtime import userns  # imported before pivot_root by rootfs.prepare

        userns.enter(a.userns_fd)
    try:
        process.finish(proc_spec, path, env, seccomp)
    except (CommandNotFound, CannotInvoke):
        raise
    except OSError as e:
        raise SystemFailure(f"setting up the container process: {e.strerror or e}") from None


def wait_for_start(fifo_fd: int) -> None:
    """Blocks until `start` opens the exec fifo for reading."""
    fd = os.open(f"/proc/self/fd/{fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
    os.write(fd, b"0")
    os.close(fd)
    os.close(fifo_fd)


def write_sysctl(key: str, value: str) -> None:
    if "/" in key or ".." in key.split("."):
        raise SystemFailure(f"sysctl {key!r} is not a valid name")
    with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
        f.write(str(value))
