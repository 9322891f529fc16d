"""Rootless mode (issue 7): a normal user runs tug, and nothing it does needs or gains host root.

How: the first thing `tug` does as a non-root user is to run itself again inside a new user namespace of that
user's, where 0 is the user and 1..N are the user's subordinate ids from /etc/subuid and /etc/subgid (written with
the setuid helpers newuidmap/newgidmap, package `uidmap`, the only privileged step, and one that only grants ids
the administrator gave the user). In there tug is root *of that namespace*: the store unpacks layers with their
numeric owners (they land as subordinate ids on disk), the monitor mounts the overlay in its own mount namespace
(overlayfs may be mounted in a user namespace since Linux 5.11, with `userxattr`), and the runtime creates the
container's namespaces, all owned by the user's namespace. The host's capabilities are never held.

What differs is decided here and nowhere else:
- the store and runtime state default to $XDG_DATA_HOME/tug (~/.local/share/tug) and $XDG_RUNTIME_DIR/tug
  (/tmp/tug-UID);
- no cgroups (the user cannot create them unless delegated): no cgroupsPath, no resources in the spec;
- networks: `none`, `host` or `slirp4netns` (a bridge needs host root; slirp4netns needs a /dev/net/tun the user
  may open); the default network is `none`;
- with the host's network namespace, sysfs cannot be mounted anew: /sys is bound read-only from the host.
"""

from __future__ import annotations

import os
import sys
from typing import Any

ENV_OUTER = "TUG_ROOTLESS"  # "UID:GID" of the user outside, set in the tug running inside the namespace


def active(env: dict[str, str] | None = None) -> bool:
    """Whether this tug runs in rootless mode (as the user, or already inside the user's namespace)."""
    return os.geteuid() != 0 or bool((env if env is not None else os.environ).get(ENV_OUTER))


def default_dirs(env: dict[str, str], uid: int, home: str) -> tuple[str, str]:
    """(store root, runroot) of a rootless user, as podman chooses them."""
    data = env.get("XDG_DATA_HOME") or os.path.join(env.get("HOME") or home, ".local", "share")
    run = env.get("XDG_RUNTIME_DIR")
    return os.path.join(data, "tug"), os.path.join(run, "tug") if run else f"/tmp/tug-{uid}"


def _own_dir(path: str, uid: int) -> None:
    """Create `path` (0700) or check that it is ours and not a symlink: /tmp/tug-UID must not be someone else's."""
    from tug.errors import Denied

    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if st.st_uid != uid or not os.path.isdir(path) or os.path.islink(path):
        raise Denied(f"rootless mode: {path} is not a directory owned by uid {uid}", where=path)


def mappings(uid: int, gid: int, name: str) -> Any:
    """The user namespace's mappings from /etc/subuid and /etc/subgid."""
    from tug.engine.userns import read_or_empty
    from tug.spec import userns

    return userns.rootless_mappings(uid, gid, userns.parse_subid(read_or_empty("/etc/subuid"), name, uid),
                                    userns.parse_subid(read_or_empty("/etc/subgid"), name, uid))


def _helper(name: str) -> str:
    import shutil

    from tug.errors import NotFound

    path = shutil.which(name) or next((p for p in (f"/usr/bin/{name}", f"/bin/{name}") if os.path.exists(p)), None)
    if path is None:
        raise NotFound(f"rootless mode needs {name}", hint="install the uidmap package")
    return path


def reexec() -> None:
    """Run this very command again as root of the user's own user namespace; exits with its code (never returns).
    The parent only writes the id maps, passes on SIGTERM/SIGHUP and waits."""
    import pwd
    import signal
    import subprocess

    from tug.errors import Denied, SystemFailure
    from tug.sys import ns

    uid, gid = os.getuid(), os.getgid()
    pw = pwd.getpwuid(uid)
    maps = mappings(uid, gid, pw.pw_name)
    env = dict(os.environ)
    root, runroot = default_dirs(env, uid, pw.pw_dir)
    try:
        if not env.get("TUG_ROOT"):
            os.makedirs(root, 0o700, exist_ok=True)
            env["TUG_ROOT"] = root
        if not env.get("TUG_RUNROOT"):
            _own_dir(runroot, uid)
            env["TUG_RUNROOT"] = runroot
    except OSError as e:
        raise Denied(f"rootless mode: cannot create {e.filename}: {e.strerror}", where=str(e.filename)) from None
    env[ENV_OUTER] = f"{uid}:{gid}"
    uidmap, gidmap = _helper("newuidmap"), _helper("newgidmap")
    up_r, up_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(up_r)
            os.close(go_w)
            ns.unshare(ns.CLONE_NEWUSER)
            os.write(up_w, b"1")
            if os.read(go_r, 1) != b"1":
                os._exit(125)
            os.setgroups([])  # the user's other groups are not mapped
            os.execve(sys.executable, sys.orig_argv, env)
        except BaseException as e:  # noqa: BLE001 - the child must not return into the caller
            os.write(2, f"tug: rootless mode: {e}\n".encode())
        os._exit(125)
    os.close(up_w)
    os.close(go_r)
    try:
        if os.read(up_r, 1) != b"1":
            raise SystemFailure("rootless mode: cannot create a user namespace (unshare CLONE_NEWUSER failed)",
                                hint="see /proc/sys/user/max_user_namespaces and the kernel's "
                                     "unprivileged_userns_clone / apparmor_restrict_unprivileged_userns")
        for tool, items in ((uidmap, maps.uids), (gidmap, maps.gids)):
            args = [str(x) for m in items for x in (m.inside, m.outside, m.size)]
            r = subprocess.run([tool, str(pid), *args], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemFailure(f"rootless mode: {os.path.basename(tool)} failed: {r.stderr.strip()}")
        os.write(go_w, b"1")
    except BaseException:
        os.close(go_w)
        os.waitpid(pid, 0)
        raise
    os.close(go_w)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    for sig in (signal.SIGINT, signal.SIGQUIT):  # the terminal sends these to the child as well
        signal.signal(sig, signal.SIG_IGN)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def adjust_options(opts: Any) -> None:
    """RunOptions a rootless container can have (the default network becomes `none`); Invalid for what cannot work."""
    from tug.errors import Invalid

    net = opts.network or "bridge"
    if net in ("bridge", "default"):
        opts.network = "none"
    elif net not in ("none", "host") and not net.startswith(("container:", "slirp4netns:")) and net != "slirp4netns":
        raise Invalid(f"rootless mode: network {net!r} needs root; use --network none, host or slirp4netns")
    if opts.userns == "keep-id" and not opts.user:  # the user is the container's process as well, as podman does
        opts.user = os.environ.get(ENV_OUTER) or f"{os.getuid()}:{os.getgid()}"
    if opts.publish or opts.publish_all:
        raise Invalid("rootless mode: publishing ports needs a network; use --network host")
    limits = [n for n in ("memory", "memory_swap", "memory_reservation", "cpus", "cpu_shares", "cpuset_cpus",
                          "pids_limit", "blkio_weight", "cpuset_mems", "cgroup_parent") if getattr(opts, n)]
    if limits:
        raise Invalid(f"rootless mode: --{limits[0].replace('_', '-')} needs a cgroup, and tug makes none for a "
                      "rootless container")


def _mapped_ids(path: str) -> int:
    with open(path) as f:
        return sum(int(line.split()[2]) for line in f if line.strip())


def adjust_spec(spec: dict[str, Any]) -> None:
    """The generated config.json made runnable in the user's namespace: no cgroups; sysfs bound with the host's
    network namespace (a new sysfs needs a network namespace the user owns)."""
    linux = spec.setdefault("linux", {})
    linux.pop("cgroupsPath", None)
    linux.pop("resources", None)
    sysctl = linux.get("sysctl") or {}
    if "net.ipv4.ping_group_range" in sysctl:  # only gids mapped in this namespace may be named
        sysctl["net.ipv4.ping_group_range"] = f"0 {_mapped_ids('/proc/self/gid_map') - 1}"
    private_net = any(n.get("type") == "network" for n in linux.get("namespaces") or ())
    for m in spec.get("mounts") or ():
        if m.get("type") == "sysfs" and not private_net:
            m.update({"type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
