"""`exec`: run another process in a live container: all its namespaces (setns), its cgroup, and the process
settings from --process or from the container's own process spec with the command-line overrides."""

from __future__ import annotations

import os

from tug.errors import Invalid, TugError
from tug.runtime import cgroup, config, jsonio, process, state, sync
from tug.runtime.run import FORWARDED, exit_code, wait_forwarding
from tug.sys import ns, prctl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# setns order: user first (when shared), mount last so /proc/PID paths opened earlier stay valid
_ORDER = ("user", "ipc", "uts", "network", "cgroup", "time", "mount")


def build_process(base: dict[str, Any], o: dict[str, Any], args: list[str]) -> dict[str, Any]:
    """The exec'd process: --process JSON as is, else the container's process with the flags applied."""
    if o.get("process"):
        with open(o["process"], "rb") as f:
            proc = jsonio.loads(f.read(), where=o["process"])
        if not isinstance(proc, dict):
            raise Invalid(f"{o['process']}: not a process object")
    else:
        if not args:
            raise Invalid("exec: the command to run is missing (args or --process)")
        proc = jsonio.loads(jsonio.dumps(base))  # a deep copy
        proc["args"] = args
        proc["terminal"] = bool(o.get("tty"))
        env = process.environment(proc)
        for item in o.get("env") or ():
            key, _, value = item.partition("=")
            env[key] = value
        proc["env"] = [f"{k}={v}" for k, v in env.items()]
        if o.get("cwd"):
            proc["cwd"] = o["cwd"]
        if o.get("user"):
            proc["user"] = parse_user(o["user"], proc.get("user") or {})
        if o.get("gids"):
            proc.setdefault("user", {})["additionalGids"] = [int(g) for g in o["gids"]]
        if o.get("no_new_privs"):
            proc["noNewPrivileges"] = True
        for cap in o.get("cap") or ():
            name = cap.upper() if cap.upper().startswith("CAP_") else "CAP_" + cap.upper()
            caps = proc.setdefault("capabilities", {})
            for kind in ("bounding", "effective", "permitted"):
                if name not in caps.setdefault(kind, []):
                    caps[kind].append(name)
    config.validate_process(proc)
    return proc


def parse_user(text: str, old: dict[str, Any]) -> dict[str, Any]:
    uid, _, gid = text.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise Invalid(f"exec: --user must be uid[:gid] in numbers, not {text!r}")
    user = dict(old)
    user["uid"] = int(uid)
    user["gid"] = int(gid) if gid else 0
    return user


def _open_namespaces(spec: dict[str, Any], pid: int) -> list[tuple[int, int]]:
    """(fd, CLONE_NEW*) of the init's namespaces that the spec made private, in setns order."""
    kinds = config.namespaces(spec)
    out = []
    for kind in _ORDER:
        if kind in kinds:
            flag, name = ns.BY_OCI_TYPE[kind]
            path = f"/proc/{pid}/ns/{name}"
            if kind == "user" and ns.same_namespace(path, "/proc/self/ns/user"):
                continue
            out.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), flag))
    if "user" in kinds and not config.namespace_path(spec, "user") and out and out[0][1] == ns.CLONE_NEWUSER:
        out.append(out.pop(0))  # a user namespace the runtime made is joined last, as the init did (issue 7)
    return out


def cmd_exec(root: str, cid: str, args: list[str], o: dict[str, Any]) -> int:
    c = state.load(root, cid)
    state.require(c, "created", "running", action="exec in")
    spec = c.data["config"]
    proc = build_process(spec["process"], o, args)
    terminal = bool(proc.get("terminal"))
    detach = bool(o.get("detach"))
    if terminal and detach and not o.get("console_socket"):
        raise Invalid("cannot allocate tty if tug-runtime will detach without setting console socket")
    # the cgroup move below waits for an RCU grace period after an idle spell (cgroup v1, 7-30 ms): start that wait
    # now with a no-op write to our own cgroup.procs (see cgroup.Primer); before the pid namespace is joined, after
    # which no thread can be made
    primer = cgroup.prime(cgroup.create((spec.get("linux") or {}).get("cgroupsPath") or "", make=False))
    ns_fds = _open_namespaces(spec, c.pid)
    if "pid" in config.namespaces(spec):
        ns.join(f"/proc/{c.pid}/ns/pid", ns.CLONE_NEWPID)  # our next child is born in it
    seccomp = process.Seccomp((spec.get("linux") or {}).get("seccomp"), bool(proc.get("noNewPrivileges")),
                              os.path.join(root, process.SECCOMP_CACHE))
    console_fd = master_sock = None
    if terminal:
        from tug.runtime import console

        if o.get("console_socket"):
            console_fd = console.connect(o["console_socket"])
        else:
            master_sock, console_fd = console.pair()
    ctl_r, ctl_w = os.pipe2(os.O_CLOEXEC)
    rep_r, rep_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        own = [ctl_w, rep_r] + ([master_sock] if master_sock is not None else [])
        _child(proc, ns_fds, seccomp, console_fd, ctl_r, rep_w, own)
    for fd in [ctl_r, rep_w, *(f for f, _ in ns_fds)] + ([console_fd] if console_fd is not None else []):
        os.close(fd)
    # the child joins the namespaces and prepares while the cgroup is joined (a cgroup v1 migration waits for an
    # RCU grace period, milliseconds); it runs nothing of the container's before "go"
    reader = sync.Reader(rep_r)
    try:
        joined = cgroup.Joined()
        joined.paths = c.cgroup_paths
        primer.wait()
        cgroup.add(joined, pid)
    except OSError as e:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(ctl_w)
        msg = reader.next()  # it may have failed on its own first (a missing command): that is the error to give
        os.close(rep_r)
        if msg is not None and msg.kind == "error":
            raise msg.error() from None
        raise TugError(f"exec: joining the container's cgroup: {e.strerror}") from None
    try:
        os.write(ctl_w, b"go")
    except BrokenPipeError:
        pass
    os.close(ctl_w)
    msg = reader.next()
    os.close(rep_r)
    if msg is not None and msg.kind == "error":
        os.waitpid(pid, 0)
        raise msg.error()
    if o.get("pid_file"):
        from tug.runtime.create import write_pid_file

        write_pid_file(o["pid_file"], pid)
    if detach:
        return 0
    if master_sock is not None:
        from tug.runtime import console

        master = console.receive_master(master_sock)
        try:
            return exit_code(console.proxy(master, pid, FORWARDED))
        finally:
            os.close(master)
    return exit_code(wait_forwarding(pid))


def _child(proc: dict[str, Any], ns_fds: list[tuple[int, int]], seccomp: process.Seccomp, console_fd: int | None,
           ctl_r: int, rep_w: int, close: list[int]) -> None:
    code = 125
    try:
        for fd in close:
            os.close(fd)
        os.setsid()
        prctl.set_dumpable(False)
        for fd, flag in ns_fds:
            ns.setns(fd, flag)
            os.close(fd)
        if console_fd is not None:
            from tug.runtime import console

            console.setup_in_container(console_fd, dev_console=False)
        env = process.environment(proc)
        if "HOME" not in env:
            env["HOME"] = process.home_of(int((proc.get("user") or {}).get("uid", 0)))
        os.chdir(proc.get("cwd") or "/")
        warnings: list[str] = []
        process.apply_rlimits(proc, warnings)
        path = process.lookup(proc["args"][0], env)
        sync.wait_go(ctl_r)  # in the container's cgroup now
        process.finish(proc, path, env, seccomp)
    except TugError as e:
        code = e.exit_code
        _report(rep_w, code, e.one_line())
    except OSError as e:
        _report(rep_w, 125, f"exec: {e.filename + ': ' if e.filename else ''}{e.strerror or e}")
    except BaseException as e:  # noqa: BLE001 - the child must never return into the runtime
        _report(rep_w, 125, f"exec: {type(e).__name__}: {e}")
    finally:
        os._exit(code)


def _report(fd: int, code: int, text: str) -> None:
    if not sync.send(fd, "error", code, text):
        os.write(2, f"tug-runtime: {text}\n".encode())
