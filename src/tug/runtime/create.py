"""`create`: set up the container and leave its init blocked on the exec fifo until `start`."""

from __future__ import annotations

import os

from tug.errors import Invalid
from tug.runtime import cgroup, config, state, sync
from tug.runtime.state import Container

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Created:
    def __init__(self, container: Container, pid: int, reader: sync.Reader, master_sock: int | None) -> None:
        self.container, self.pid, self.reader = container, pid, reader
        self.master_sock = master_sock  # our end of the pair the init sends the pty master over (foreground tty)


def enter_pid_namespace_for_children(spec: dict[str, Any]) -> None:
    """Python never calls clone: unshare/setns CLONE_NEWPID here, so the next fork is PID 1 in it."""
    kinds = config.namespaces(spec)
    if "pid" not in kinds:
        return
    from tug.sys import ns

    if kinds["pid"]:
        ns.join(kinds["pid"], ns.CLONE_NEWPID)
    else:
        ns.unshare(ns.CLONE_NEWPID)


def create(root: str, cid: str, bundle: str | None, console_socket: str | None = None,
           pid_file: str | None = None, foreground: bool = False, start_now: bool = False) -> Created:
    """Set the container up; its init then blocks on the exec fifo until `start`, or with `start_now` (`run`) goes
    on to exec as soon as it reported ready (the caller removes the fifo)."""
    bundle = os.path.abspath(bundle or ".")
    spec = config.load(bundle)
    terminal = bool(spec["process"].get("terminal"))
    if terminal and not console_socket and not foreground:
        raise Invalid("cannot allocate tty if tug-runtime will detach without setting console socket")
    sdir = state.new_dir(root, cid)
    pid, joined, primer, to_close = 0, None, None, []
    try:
        old = os.umask(0)
        os.mkfifo(os.path.join(sdir, state.FIFO), 0o622)
        os.umask(old)
        cg_path = cgroup.container_path((spec.get("linux") or {}).get("cgroupsPath"), cid)
        # forked from a monitor that keeps cgroup.procs writes warm, the dirs are made once the init is forked,
        # while it sets up; otherwise first, so that the primer's wait (which a mkdir would share) overlaps the
        # init's whole set-up
        made_later = cgroup.kept_warm()
        if "cgroupsPath" in (spec.get("linux") or {}) or _wants_cgroup(spec):
            joined = cgroup.create(cg_path, make=not made_later)
        else:
            joined = cgroup.Joined()  # rootless, no limits: no cgroup (issue 7)
        if not made_later:  # (when kept warm, the init's cgroup move waits for no grace period: nothing to prime)
            primer = cgroup.prime(joined)  # the grace period the init's cgroup move waits for passes while we fork
        console_fd = master_sock = None
        if terminal:
            from tug.runtime import console

            if console_socket:
                console_fd = console.connect(console_socket)
            else:
                master_sock, console_fd = console.pair()
            to_close.append(console_fd)
        ctl_r, ctl_w = os.pipe2(os.O_CLOEXEC)
        rep_r, rep_w = os.pipe2(os.O_CLOEXEC)
        to_close += [ctl_r, rep_w]
        rootfs = config.rootfs_path(spec, bundle)
        os.chdir(bundle)
        resources = (spec.get("linux") or {}).get("resources")
        userns_fd = None
        if "user" in config.namespaces(spec) and not config.namespace_path(spec, "user"):
            from tug.runtime import userns

            userns_fd = userns.make(spec)  # before the pid namespace: its maker must not be pid 1 of it
            to_close.append(userns_fd)
        enter_pid_namespace_for_children(spec)
        pid = os.fork()
        if pid == 0:
            # the init imports its own modules and sets up while we apply resources and move it into its cgroup
            _init_child(spec, bundle, rootfs, os.path.join(sdir, state.FIFO), ctl_r, rep_w, console_fd, joined,
                        [ctl_w, rep_r] + ([master_sock] if master_sock is not None else []), userns_fd,
                        start_now)
        for fd in to_close:
            os.close(fd)
        to_close = [ctl_w, rep_r]
        if made_later:
            cgroup.make_dirs(joined)
        _tell(ctl_w, b"cg")
        from tug.sys.proc import start_time

        # saved before the cgroup join: that may still wait for the end of an RCU grace period
        c = Container(root, cid, {
            "ociVersion": spec["ociVersion"], "id": cid, "pid": pid, "initStartTime": start_time(pid),
            "bundle": bundle, "rootfs": rootfs, "created": state.now_rfc3339(),
            "annotations": spec.get("annotations") or {}, "cgroupPaths": joined.paths,
            "cgroupCreated": joined.created, "config": spec,
        })
        c.save()
        if resources:
            cgroup.apply(cg_path, joined, resources)
        cgroup.add(joined, pid)
        _tell(ctl_w, b"go")
        os.close(ctl_w)
        to_close = [rep_r]
        reader = sync.Reader(rep_r)
        reader.expect("ready", "container set-up")
        if pid_file:
            write_pid_file(pid_file, pid)
        return Created(c, pid, reader, master_sock)
    except BaseException:
        if primer is not None:
            primer.wait()
        for fd in to_close:
            try:
                os.close(fd)
            except OSError:
                pass
        if pid:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        if joined is not None:
            cgroup.remove(joined.created, joined.paths)
        state.remove_dir(sdir)
        raise


def _tell(ctl_w: int, word: bytes) -> None:
    try:
        os.write(ctl_w, word)
    except BrokenPipeError:
        pass  # the init already failed; its report says why


def _wants_cgroup(spec: dict[str, Any]) -> bool:
    """A runtime in a user namespace other than the host's (rootless, issue 7) makes no cgroup for a spec that names
    none and limits nothing. (No tug.runtime.userns here: it loads ctypes, which would delay the cgroup mkdirs and
    the primer by ~2 ms on every start.)"""
    linux = spec.get("linux") or {}
    if linux.get("cgroupsPath") or linux.get("resources"):
        return True
    from tug.sys.userns import in_initial

    return in_initial()


def _init_child(spec: dict[str, Any], bundle: str, rootfs: str, fifo: str, ctl_r: int, rep_w: int,
                console_fd: int | None, joined: cgroup.Joined, close: list[int], userns_fd: int | None = None,
                start_now: bool = False) -> None:
    try:
        from tug.runtime import init
    except BaseException as e:  # noqa: BLE001
        sync.send(rep_w, "error", 125, f"container init: {e}")
        os._exit(125)
    args = init.InitArgs(spec, bundle, rootfs, fifo, ctl_r, rep_w, console_fd,
                         list(zip(joined.mounts, joined.paths, strict=True)), close)
    args.userns_fd = userns_fd
    args.wait_start = not start_now
    init.main(args)


def write_pid_file(path: str, pid: int) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)
