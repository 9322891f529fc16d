"""Capabilities, --privileged, masked/readonly paths, no-new-privileges, --security-opt."""

import pytest

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.spec.generate import generate
from tug.spec.host import HostFacts
from tug.spec.options import RunOptions
from tug.spec.security import ALL_CAPS, DEFAULT_CAPS, capability_set, parse_security_opts

DOCKER_DEFAULT = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                  "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                  "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
IMAGE = ImageConfig({"config": {"Cmd": ["sh"]}})
HOST_DEVICES = [{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 0o660, "uid": 0, "gid": 6}]


def host(**kw):
    base = dict(container_id="s" * 64, rootfs="rootfs", hostname_default="s" * 12, container_dir="/c",
                passwd="root:x:0:0:root:/root:/bin/sh\n", host_devices=HOST_DEVICES)
    base.update(kw)
    return HostFacts(**base)


def caps_of(**opts):
    return generate(IMAGE, RunOptions(**opts), host())["process"]["capabilities"]


def test_default_set_is_dockers():
    assert list(DEFAULT_CAPS) == DOCKER_DEFAULT
    c = caps_of()
    assert c["bounding"] == DOCKER_DEFAULT and c["effective"] == DOCKER_DEFAULT and c["permitted"] == DOCKER_DEFAULT
    assert c["inheritable"] == [] and c["ambient"] == []


@pytest.mark.parametrize("user", ["1000", "1000:1000", "0:1000"])
def test_non_root_user_has_empty_effective_and_permitted(user):
    c = caps_of(user=user)
    if user.startswith("0"):
        assert c["effective"] == DOCKER_DEFAULT
    else:
        assert c["bounding"] == DOCKER_DEFAULT
        assert c["effective"] == [] and c["permitted"] == [] and c["ambient"] == [] and c["inheritable"] == []


CAP_CASES = [
    (["NET_ADMIN"], [], DOCKER_DEFAULT + ["CAP_NET_ADMIN"]),
    (["cap_sys_ptrace"], [], DOCKER_DEFAULT + ["CAP_SYS_PTRACE"]),
    ([], ["CHOWN", "cap_kill"], [c for c in DOCKER_DEFAULT if c not in ("CAP_CHOWN", "CAP_KILL")]),
    (["NET_ADMIN"], ["ALL"], ["CAP_NET_ADMIN"]),
    ([], ["all"], []),
    (["ALL"], [], list(ALL_CAPS)),
    (["ALL"], ["SYS_ADMIN", "CAP_NET_ADMIN"], [c for c in ALL_CAPS if c not in ("CAP_SYS_ADMIN", "CAP_NET_ADMIN")]),
    (["CHOWN"], [], DOCKER_DEFAULT),  # already there: no duplicate
]


@pytest.mark.parametrize("add,drop,want", CAP_CASES)
def test_cap_add_drop(add, drop, want):
    assert capability_set(add, drop, privileged=False) == want
    c = caps_of(cap_add=add, cap_drop=drop)
    assert c["bounding"] == want and c["effective"] == want


def test_unknown_capability():
    with pytest.raises(Invalid, match="unknown capability: 'CAP_BOGUS'"):
        capability_set(["bogus"], [], privileged=False)


def test_capability_above_kernel():
    with pytest.raises(Invalid, match="not supported by your kernel"):
        capability_set(["CHECKPOINT_RESTORE"], [], privileged=False, last_cap=37)
    assert "CAP_BPF" not in capability_set(["ALL"], [], privileged=False, last_cap=37)


def test_default_masked_and_readonly_paths():
    s = generate(IMAGE, RunOptions(), host())
    for p in ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
              "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
              "/sys/devices/virtual/powercap"]:
        assert p in s["linux"]["maskedPaths"]
    assert s["linux"]["readonlyPaths"] == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    assert "noNewPrivileges" not in s["process"]  # docker leaves it off
    assert s["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"


def test_privileged():
    s = generate(IMAGE, RunOptions(privileged=True), host())
    c = s["process"]["capabilities"]
    assert c["bounding"] == list(ALL_CAPS) and c["effective"] == list(ALL_CAPS)
    assert "maskedPaths" not in s["linux"] and "readonlyPaths" not in s["linux"]
    assert "seccomp" not in s["linux"]
    assert s["linux"]["devices"] == HOST_DEVICES
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    sys_mount = next(m for m in s["mounts"] if m["destination"] == "/sys")
    cg_mount = next(m for m in s["mounts"] if m["destination"] == "/sys/fs/cgroup")
    assert "ro" not in sys_mount["options"] and "ro" not in cg_mount["options"]


def test_privileged_non_root_keeps_only_bounding():
    s = generate(IMAGE, RunOptions(privileged=True, user="1000"), host())
    assert s["process"]["capabilities"]["effective"] == []
    assert s["process"]["capabilities"]["bounding"] == list(ALL_CAPS)


@pytest.mark.parametrize("opt", ["no-new-privileges", "no-new-privileges=true", "no-new-privileges:true"])
def test_no_new_privileges(opt):
    s = generate(IMAGE, RunOptions(security_opt=[opt]), host())
    assert s["process"]["noNewPrivileges"] is True


def test_no_new_privileges_false():
    s = generate(IMAGE, RunOptions(security_opt=["no-new-privileges=false"]), host())
    assert "noNewPrivileges" not in s["process"]


def test_seccomp_unconfined_and_file():
    s = generate(IMAGE, RunOptions(security_opt=["seccomp=unconfined"]), host())
    assert "seccomp" not in s["linux"]
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    s = generate(IMAGE, RunOptions(security_opt=["seccomp=/p.json"]), host(seccomp_profile=profile))
    assert s["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW",
                                     "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    with pytest.raises(Invalid, match="seccomp profile /p.json"):
        generate(IMAGE, RunOptions(security_opt=["seccomp=/p.json"]), host())


def test_extra_masked_paths_from_host():
    p = "/sys/devices/system/cpu/cpu0/thermal_throttle"
    s = generate(IMAGE, RunOptions(), host(extra_masked_paths=(p, "/proc/kcore")))
    assert s["linux"]["maskedPaths"][-1] == p and s["linux"]["maskedPaths"].count("/proc/kcore") == 1


def test_systempaths_unconfined():
    s = generate(IMAGE, RunOptions(security_opt=["systempaths=unconfined"]), host())
    assert "maskedPaths" not in s["linux"] and "readonlyPaths" not in s["linux"]


@pytest.mark.parametrize("opt", ["bogus", "bogus=1", "no-new-privileges=maybe", "systempaths=confined", "seccomp="])
def test_bad_security_opt(opt):
    with pytest.raises(Invalid):
        parse_security_opts([opt])


def test_read_only_root():
    s = generate(IMAGE, RunOptions(read_only=True, volumes=["/h:/data"]), host())
    assert s["root"]["readonly"] is True
    by_dest = {m["destination"]: m for m in s["mounts"]}
    assert "ro" not in by_dest["/data"]["options"]  # user mounts keep their own mode
    assert "ro" not in by_dest["/dev/shm"]["options"] and "ro" not in by_dest["/proc"]["options"]
