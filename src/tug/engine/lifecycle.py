"""Starting, signalling and releasing containers through the OCI runtime.

The launcher is a forked child of the engine process: it enters a private mount namespace, mounts the container's
overlay root there (the host's mount table never sees it), and execs `tug-runtime`. When the runtime and the
container are gone, the namespace and its mounts go with them.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tug.engine.containers import Container, bundle_dir, image_chain, save_state
from tug.engine.engine import Engine
from tug.engine.importer import now_rfc3339

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def runtime_cmd(eng: Engine, *args: str, runtime: str = "tug") -> list[str]:
    """The argv of an OCI runtime verb: tug-runtime by default, or a runc-compatible binary by name or path."""
    if runtime in ("", "tug", "tug-runtime"):
        from tug.runtime.launch import runtime_argv

        return [*runtime_argv(), "--root", str(eng.runtime_root), *args]
    import shutil

    path = shutil.which(runtime)
    if path is None:
        from tug.errors import NotFound

        raise NotFound(f"unknown or invalid runtime name: {runtime}")
    return [path, "--root", str(eng.runroot / os.path.basename(runtime)), *args]


def _exec_launcher(eng: Engine, ctr: Container, argv: list[str]) -> None:
    """In the forked child: private mount namespace, overlay root, exec the runtime. Never returns."""
    try:
        from tug.sys.mountns import enter_private_mount_namespace, mount

        enter_private_mount_namespace()
        chains = image_chain(ctr)
        if chains and not ctr.options.rootfs:
            d = eng.container_dir(ctr.id)
            m = eng.snapshots.overlay_mount(chains, d / "upper", d / "work", bundle_dir(eng, ctr.id) / "rootfs")
            if m.cwd:
                os.chdir(m.cwd)
            mount(m.source, str(m.target), m.fstype, 0, m.data)
        elif not ctr.options.rootfs:
            pass  # an image with no layers: the empty bundle/rootfs directory is the root
        os.execv(argv[0], argv)
    except BaseException as e:  # noqa: BLE001 - the child must never return into the engine
        msg = str(e) or type(e).__name__
        os.write(2, f"tug: starting container {ctr.short_id}: {msg}\n".encode())
    finally:
        os._exit(125)


def start_foreground(eng: Engine, ctr: Container) -> int:
    """Run the container attached to this process's stdio; return its exit code (128+N on signal N)."""
    pid_file = eng.container_dir(ctr.id) / "init.pid"
    argv = runtime_cmd(eng, "run", "--bundle", str(bundle_dir(eng, ctr.id)), "--pid-file", str(pid_file), ctr.id,
                       runtime=ctr.options.runtime)
    eng.runtime_root.mkdir(parents=True, exist_ok=True)
    save_state(eng, ctr, Status="running", StartedAt=now_rfc3339(), MonitorPid=os.getpid(), Pid=0)
    pid = os.fork()
    if pid == 0:
        _exec_launcher(eng, ctr, argv)
    previous = {s: signal.signal(s, lambda signum, _f: _forward(pid, signum)) for s in FORWARDED}
    try:
        status = _wait(pid)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code
    save_state(eng, ctr, Status="exited", ExitCode=code, FinishedAt=now_rfc3339(), Pid=0, MonitorPid=0)
    return code


def _forward(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait(pid: int) -> int:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return status
        except ChildProcessError:
            return 0
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for clarity
            continue


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def refresh(eng: Engine, ctr: Container) -> None:
    """Find out the truth about a container recorded as running whose watcher is gone."""
    if ctr.status != "running":
        return
    watcher = int(ctr.state.get("MonitorPid") or 0)
    if watcher and _alive(watcher):
        return
    save_state(eng, ctr, Status="exited", ExitCode=ctr.state.get("ExitCode") or 137, FinishedAt=now_rfc3339(),
               Pid=0, MonitorPid=0)


def kill(eng: Engine, ctr: Container, sig: str = "SIGKILL", wait: bool = False) -> None:
    subprocess.run(runtime_cmd(eng, "kill", ctr.id, sig, runtime=ctr.options.runtime), capture_output=True,
                   timeout=30)
    if wait:
        watcher = int(ctr.state.get("MonitorPid") or 0)
        if watcher and watcher != os.getpid():
            for _ in range(200):
                if not _alive(watcher):
                    break
                import time

                time.sleep(0.05)


def release(eng: Engine, ctr: Container) -> None:
    """Remove what the runtime keeps for the container (state dir, cgroup); idempotent."""
    if (eng.runtime_root / ctr.id).exists() or ctr.options.runtime not in ("", "tug", "tug-runtime"):
        subprocess.run(runtime_cmd(eng, "delete", "--force", ctr.id, runtime=ctr.options.runtime),
                       capture_output=True, timeout=30)
    Path(eng.container_dir(ctr.id) / "init.pid").unlink(missing_ok=True)
