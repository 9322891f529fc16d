"""Capability names, mount options, seccomp actions and the in-root resolver (pure or unprivileged)."""

from __future__ import annotations

import errno
import os

import pytest

from tug.runtime import mountopts
from tug.runtime.process import lookup
from tug.sys import caps, inroot, seccomp
from tug.sys import mount as m


def test_capability_numbers_match_the_kernel_header():
    assert caps.NUMBER["CAP_CHOWN"] == 0 and caps.NUMBER["CAP_KILL"] == 5 and caps.NUMBER["CAP_NET_RAW"] == 13
    assert caps.NUMBER["CAP_SYS_ADMIN"] == 21 and caps.NUMBER["CAP_AUDIT_WRITE"] == 29
    assert caps.NUMBER["CAP_BPF"] == 39 and caps.NUMBER["CAP_CHECKPOINT_RESTORE"] == 40
    assert len(caps.NAMES) == len(set(caps.NAMES)) == 41


def test_capability_masks_ignore_unknown_and_too_new():
    mask, unknown = caps.to_mask(["CAP_CHOWN", "kill", "CAP_NOPE", "CAP_BPF"], last=38)
    assert mask == (1 << 0) | (1 << 5) and unknown == ["CAP_NOPE", "CAP_BPF"]
    assert caps.mask_names(mask) == ["CAP_CHOWN", "CAP_KILL"]
    assert caps.number("net_bind_service") == 10


def test_capability_mask_matches_this_process_status():
    eff, prm, inh = caps.get()
    with open("/proc/self/status") as f:
        status = dict(line.split(":\t", 1) for line in f if line.startswith("Cap"))
    assert eff == int(status["CapEff"], 16) and prm == int(status["CapPrm"], 16) and inh == int(status["CapInh"], 16)


@pytest.mark.parametrize("opts,flags,prop,data", [
    (None, 0, [], ""),
    (["nosuid", "noexec", "nodev", "ro"], m.MS_NOSUID | m.MS_NOEXEC | m.MS_NODEV | m.MS_RDONLY, [], ""),
    (["ro", "rw"], 0, [], ""),
    (["rbind", "rprivate"], m.MS_BIND | m.MS_REC, [m.MS_PRIVATE | m.MS_REC], ""),
    (["bind", "slave", "unbindable"], m.MS_BIND, [m.MS_SLAVE, m.MS_UNBINDABLE], ""),
    (["nosuid", "strictatime", "mode=755", "size=65536k"], m.MS_NOSUID | m.MS_STRICTATIME, [], "mode=755,size=65536k"),
    (["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"], 0, [], "newinstance,ptmxmode=0666,mode=0620,gid=5"),
    (["tmpcopyup", "noatime"], m.MS_NOATIME, [], ""),
    (["relatime", "norelatime", "suid", "exec", "dev"], 0, [], ""),
])
def test_mount_options(opts, flags, prop, data):
    o = mountopts.parse(opts)
    assert (o.flags, o.propagation, o.data) == (flags, prop, data)


def test_bind_remount_flags_exclude_the_bind_itself():
    o = mountopts.parse(["rbind", "ro", "nosuid"])
    assert o.is_bind and o.remount_flags == m.MS_RDONLY | m.MS_NOSUID


def test_seccomp_actions():
    assert seccomp.action("SCMP_ACT_ALLOW") == 0x7FFF0000
    assert seccomp.action("SCMP_ACT_ERRNO", 38) == 0x00050000 | 38
    assert seccomp.action("SCMP_ACT_ERRNO", None) == 0x00050000 | errno.EPERM
    assert seccomp.action("SCMP_ACT_KILL_PROCESS") == 0x80000000
    from tug.errors import Invalid

    with pytest.raises(Invalid):
        seccomp.action("SCMP_ACT_NOTIFY")


def test_seccomp_profile_builds_with_libseccomp():
    try:
        lib = seccomp.Library()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"libseccomp not available: {e}")
    ctx = lib.build({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                     "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                     "syscalls": [{"names": ["read", "write", "nosuch_call"], "action": "SCMP_ACT_ALLOW"},
                                  {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                                  {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                                   "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
                                  {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                                   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                                            {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}, True)
    assert ctx
    lib.lib.seccomp_release(ctx)  # built, not loaded: this test process keeps its syscalls


def test_inroot_resolves_symlinks_inside_the_root(tmp_path):
    root = tmp_path / "root"
    host = tmp_path / "host"
    root.mkdir()
    host.mkdir()
    os.symlink(str(host), root / "abs")  # absolute: must mean <root>/<host path>
    os.symlink("../../../../../..", root / "up")  # climbing: clamps at the root
    os.symlink("/abs/inner", root / "chain")
    rfd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        for path, kind in (("/abs/x", "dir"), ("/up/y/z", "dir"), ("chain/file", "file"), ("/a/b/c", "dir")):
            fd = inroot.ensure(rfd, path, kind)
            os.close(fd)
        assert os.listdir(host) == []
        assert (root / str(host).lstrip("/") / "x").is_dir()
        assert (root / "y" / "z").is_dir()
        assert (root / str(host).lstrip("/") / "inner" / "file").is_file()
        assert (root / "a" / "b" / "c").is_dir()
        fd, name = inroot.parent_and_name(rfd, "/abs/dev/null")
        os.close(fd)
        assert name == "null" and (root / str(host).lstrip("/") / "dev").is_dir()
    finally:
        os.close(rfd)


def test_inroot_symlink_loop_is_an_error(tmp_path):
    os.symlink("loop2", tmp_path / "loop1")
    os.symlink("loop1", tmp_path / "loop2")
    rfd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError) as e:
            inroot.ensure(rfd, "loop1/x")
        assert e.value.errno == errno.ELOOP
    finally:
        os.close(rfd)


def test_command_lookup_messages(tmp_path):
    from tug.errors import CannotInvoke, CommandNotFound

    (tmp_path / "tool").write_text("#!/bin/sh\n")
    os.chmod(tmp_path / "tool", 0o755)
    (tmp_path / "data").write_text("x")
    env = {"PATH": f"/nonexistent:{tmp_path}"}
    assert lookup("tool", env) == f"{tmp_path}/tool"
    with pytest.raises(CommandNotFound, match=r'exec: "data": executable file not found in \$PATH'):
        lookup("data", env)
    with pytest.raises(CannotInvoke, match="permission denied"):
        lookup(str(tmp_path / "data"), env)
    with pytest.raises(CannotInvoke):
        lookup(str(tmp_path), env)
    with pytest.raises(CommandNotFound, match="no such file"):
        lookup("/nonexistent/x", env)


@pytest.mark.parametrize("flags,attr_set,attr_clr", [
    (0, 0, 0),
    (m.MS_RDONLY | m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC, 0x1 | 0x2 | 0x4 | 0x8, 0),
    (m.MS_NOSUID | m.MS_RELATIME, 0x2, 0x70),  # relatime is atime mode 0: set by clearing the atime bits
    (m.MS_NOATIME, 0x10, 0x70),
    (m.MS_STRICTATIME | m.MS_NODIRATIME, 0x20 | 0x80, 0x70),
    (m.MS_BIND | m.MS_REC, 0, 0),  # not mount attributes
])
def test_mount_setattr_attributes(flags, attr_set, attr_clr):
    assert m.mount_attr(flags) == (attr_set, attr_clr)
