"""The container process's own settings, applied last in the init (and in `exec`): command lookup, rlimits,
user and groups, capabilities, no_new_privs, seccomp, then execve with only fds 0-2 left open.

Order (as runc): drop the bounding set, keep caps across the uid change, setgroups/setgid/setuid, capset,
ambient set, no_new_privs, seccomp (or seccomp first while CAP_SYS_ADMIN is held when no_new_privs is off), exec.
"""

from __future__ import annotations

import _signal
import errno
import os
import stat

from tug.errors import CannotInvoke, CommandNotFound, SystemFailure
from tug.sys import caps, prctl, proc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def environment(process: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in process.get("env") or ():
        key, eq, value = item.partition("=")
        if eq and key:
            env[key] = value
    return env


def home_of(uid: int, passwd: str = "/etc/passwd") -> str:
    try:
        with open(passwd, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 6 and parts[2] == str(uid):
                    return parts[5] or "/"
    except OSError:
        pass
    return "/"


def lookup(name: str, env: dict[str, str]) -> str:
    """The executable `name` refers to, found via $PATH as Go's exec.LookPath does (runc's messages)."""
    if "/" in name:
        try:
            st = os.stat(name)
        except FileNotFoundError:
            raise CommandNotFound(f'exec: "{name}": stat {name}: no such file or directory') from None
        except NotADirectoryError:
            raise CommandNotFound(f'exec: "{name}": stat {name}: not a directory') from None
        if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
            raise CannotInvoke(f'exec: "{name}": permission denied')
        return name
    for d in (env.get("PATH", DEFAULT_PATH)).split(":"):
        cand = os.path.join(d or ".", name)
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return cand
    raise CommandNotFound(f'exec: "{name}": executable file not found in $PATH')


def apply_rlimits(process: dict[str, Any], warn: list[str]) -> None:
    """setrlimit each entry; a hard limit above the inherited one (no CAP_SYS_RESOURCE) is clamped to it."""
    for rl in process.get("rlimits") or ():
        kind = proc.RLIMITS.get(rl.get("type", ""))
        if kind is None:
            raise SystemFailure(f"unknown rlimit type {rl.get('type')!r}")
        soft, hard = int(rl.get("soft", 0)), int(rl.get("hard", 0))
        try:
            proc.setrlimit(kind, soft, hard)
        except SystemFailure as e:
            if e.errno != errno.EPERM:
                raise
            _, cur_hard = proc.getrlimit(kind)
            if hard <= cur_hard:
                raise
            warn.append(f"{rl['type']} hard limit {hard} clamped to the inherited {cur_hard}")
            proc.setrlimit(kind, min(soft, cur_hard), cur_hard)


SECCOMP_CACHE = ".seccomp-bpf"  # in the runtime's --root (never a container id: those have no leading dot)


class Seccomp:
    """The container's seccomp filter, compiled to BPF before pivot_root and installed at the very end.

    libseccomp compiles the profile once; the BPF is kept in `cache_dir` (the runtime's root, root-only) under the
    hash of the profile and the no_new_privs flag, so later starts skip dlopen and compilation (~10 ms for
    Docker's profile) and install the cached program with prctl."""

    def __init__(self, profile: dict[str, Any] | None, no_new_privs: bool = False,
                 cache_dir: str | None = None) -> None:
        self.profile = profile
        self.bpf: bytes | None = None
        if not profile:
            return
        from tug.sys.seccomp import load_bpf  # imported now: after pivot_root the image's files are all there is

        self._load_bpf = load_bpf
        key = path = None
        if cache_dir:
            try:
                from _sha256 import sha256  # CPython's own: hashlib would load OpenSSL first (~3 ms)
            except ImportError:
                from hashlib import sha256

            from tug.runtime import jsonio

            text = jsonio.dumps({"p": profile, "nnp": no_new_privs, "v": 1})
            key = sha256(text.encode()).hexdigest()
            path = os.path.join(cache_dir, key + ".bpf")
            try:
                with open(path, "rb") as f:
                    self.bpf = f.read()
                return
            except OSError:
                pass
        from tug.sys.seccomp import Library

        lib = Library()
        self.bpf = lib.export(lib.build(profile, no_new_privs))
        if path is not None:
            try:
                os.makedirs(cache_dir, 0o700, exist_ok=True)
                tmp = f"{path}.{os.getpid()}"
                with open(tmp, "wb") as f:
                    f.write(self.bpf)
                os.replace(tmp, path)
            except OSError:
                pass  # a cache that cannot be written costs only time

    def load(self, no_new_privs: bool) -> None:
        if self.bpf is not None:
            self._load_bpf(self.bpf)


def finish(process: dict[str, Any], path: str, env: dict[str, str], seccomp: Seccomp) -> None:
    """Become the container process: ids, capabilities, no_new_privs, seccomp, execve. Never returns normally."""
    nnp = bool(process.get("noNewPrivileges"))
    if not nnp:
        seccomp.load(False)
    user = process.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    spec_caps = process.get("capabilities")
    last = caps.last_cap()
    masks = {}
    if spec_caps is not None:
        have = caps.bounding(last)  # e.g. --privileged where the runtime itself lacks CAP_SYS_RESOURCE
        for kind in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            mask, _unknown = caps.to_mask(spec_caps.get(kind), last)
            masks[kind] = mask & have
        caps.drop_bounding(masks["bounding"], last)
        prctl.set_keepcaps(True)
    os.setgroups([int(g) for g in user.get("additionalGids") or ()])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if spec_caps is not None:
        caps.set(masks["effective"], masks["permitted"], masks["inheritable"])
        prctl.set_keepcaps(False)
        try:
            caps.set_ambient(masks["ambient"], last)
        except SystemFailure:
            pass  # as runc: an ambient cap missing from permitted or inheritable is skipped, not fatal
    umask = user.get("umask")
    os.umask(int(umask) if umask is not None else 0o022)
    if nnp:
        prctl.set_no_new_privs()
        seccomp.load(True)
    exec_now(path, process["args"], env)


def reset_signals() -> None:
    for sig in range(1, 65):
        if sig in (9, 19, 32, 33):
            continue
        try:
            _signal.signal(sig, _signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    _signal.pthread_sigmask(_signal.SIG_SETMASK, [])


def exec_now(path: str, args: list[str], env: dict[str, str]) -> None:
    reset_signals()
    proc.cloexec_from(3)
    try:
        os.execve(path, args, env)
    except OSError as e:
        err_cls = CommandNotFound if e.errno == errno.ENOENT else CannotInvoke
        raise err_cls(f'exec: "{args[0]}": {os.strerror(e.errno or 0).lower()}') from None
