"""Sizes, memory/cpu/pids/blkio, --ulimit against the host's hard limits, --sysctl, --device, namespaces."""

import pytest

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.spec.generate import generate
from tug.spec.host import RLIM_INFINITY, HostFacts
from tug.spec.options import RunOptions
from tug.spec.rlimits import build_rlimits, parse_ulimit
from tug.spec.sizes import ram_in_bytes, swap_in_bytes
from tug.spec.sysctl import parse_sysctls

IMAGE = ImageConfig({"config": {"Cmd": ["sh"]}})
K, M, G = 1024, 1024**2, 1024**3


def host(**kw):
    base = dict(container_id="r" * 64, rootfs="rootfs", hostname_default="r" * 12, container_dir="/c",
                rlimits_hard={"RLIMIT_NOFILE": 20000, "RLIMIT_NPROC": RLIM_INFINITY}, cpu_count=4,
                device_info={"/dev/fuse": ("c", 10, 229, 0o20666, 0, 0), "/dev/sdb": ("b", 8, 16, 0o60660, 0, 6)})
    base.update(kw)
    return HostFacts(**base)


def spec(**opts):
    return generate(IMAGE, RunOptions(**opts), host())


@pytest.mark.parametrize("text,want", [
    ("0", 0), ("100", 100), ("100b", 100), ("512k", 512 * K), ("512K", 512 * K), ("32m", 32 * M), ("32MB", 32 * M),
    ("32mib", 32 * M), ("1g", G), ("1.5g", int(1.5 * G)), ("2t", 2 * 1024**4), ("1 g", G), ("64M", 64 * M),
])
def test_ram_in_bytes(text, want):
    assert ram_in_bytes(text) == want


@pytest.mark.parametrize("text", ["", "abc", "-1", "1x", "1.2.3m", "m", "1gg", "1e3"])
def test_ram_in_bytes_rejects(text):
    with pytest.raises(Invalid, match="invalid size"):
        ram_in_bytes(text)


def test_swap_minus_one():
    assert swap_in_bytes("-1") == -1 and swap_in_bytes("1g") == G


def test_memory_resources():
    r = spec(memory="512m")["linux"]["resources"]
    assert r["memory"] == {"limit": 512 * M, "swap": 1024 * M}  # docker: swap defaults to twice the memory
    r = spec(memory="512m", memory_swap="1g", memory_reservation="256m")["linux"]["resources"]
    assert r["memory"] == {"limit": 512 * M, "reservation": 256 * M, "swap": G}
    assert spec(memory="512m", memory_swap="-1")["linux"]["resources"]["memory"]["swap"] == -1
    assert "memory" not in spec()["linux"]["resources"]


@pytest.mark.parametrize("opts,msg", [
    ({"memory": "1m"}, "Minimum memory limit allowed is 6MB"),
    ({"memory": "512m", "memory_swap": "256m"}, "should be larger than memory limit"),
    ({"memory_swap": "1g"}, "always set the Memory limit"),
    ({"memory": "512m", "memory_reservation": "1g"}, "can not be less than memory reservation"),
    ({"memory": "lots"}, "invalid size"),
    ({"cpus": "abc"}, "rational number"),
    ({"cpus": "0.0000000001"}, "too precise"),
    ({"cpus": "8"}, "range of CPUs is from 0.01 to 4.00"),
    ({"cpu_shares": -2}, "invalid CPU shares"),
    ({"cpuset_cpus": "0-a"}, "invalid value 0-a"),
    ({"cpuset_cpus": "3-1"}, "invalid value 3-1"),
    ({"blkio_weight": 5}, "Range of blkio weight is from 10 to 1000"),
])
def test_resource_errors(opts, msg):
    with pytest.raises(Invalid, match=msg):
        spec(**opts)


def test_cpu_pids_blkio():
    r = spec(cpus="1.5", cpu_shares=512, cpuset_cpus="0-1,3", pids_limit=100, blkio_weight=300)["linux"]["resources"]
    assert r["cpu"] == {"shares": 512, "period": 100000, "quota": 150000, "cpus": "0-1,3"}
    assert r["pids"] == {"limit": 100}
    assert r["blockIO"] == {"weight": 300}
    assert spec(pids_limit=0)["linux"]["resources"]["pids"] == {"limit": -1}
    assert spec(cpus="0.25")["linux"]["resources"]["cpu"] == {"period": 100000, "quota": 25000}


@pytest.mark.parametrize("text,want", [
    ("nofile=1024", ("nofile", 1024, 1024)), ("nofile=1024:2048", ("nofile", 1024, 2048)),
    ("nproc=-1", ("nproc", -1, -1)), ("core=0:-1", ("core", 0, -1)),
])
def test_parse_ulimit(text, want):
    assert parse_ulimit(text) == want


@pytest.mark.parametrize("text,msg", [
    ("nofile", "invalid ulimit argument"), ("bogus=1", "invalid ulimit type: bogus"),
    ("nofile=2048:1024", "2048 > 1024"), ("nofile=1:2:3", "too many limit value arguments"),
    ("nofile=-1:10", "soft: -1 \\(unlimited\\)"), ("nofile=x", "invalid ulimit argument"),
])
def test_ulimit_errors(text, msg):
    with pytest.raises(Invalid, match=msg):
        parse_ulimit(text)


def test_ulimit_in_spec_and_over_host_hard_limit():
    assert spec(ulimits=["nofile=1024:2048"])["process"]["rlimits"] == [
        {"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1024}]
    assert "rlimits" not in spec()["process"]  # docker sets none of its own
    with pytest.raises(Invalid, match="ulimit nofile: hard limit 1048576 above the host's 20000"):
        spec(ulimits=["nofile=1024:1048576"])
    with pytest.raises(Invalid, match="ulimit nofile: hard limit unlimited above the host's 20000"):
        spec(ulimits=["nofile=-1"])
    # unlimited on the host allows anything; unknown host limits are not checked
    assert build_rlimits(["nproc=-1", "core=5"], {"RLIMIT_NPROC": RLIM_INFINITY}) == [
        {"type": "RLIMIT_NPROC", "hard": RLIM_INFINITY, "soft": RLIM_INFINITY},
        {"type": "RLIMIT_CORE", "hard": 5, "soft": 5}]
    assert build_rlimits(["nofile=1:2", "nofile=3:4"], {}) == [{"type": "RLIMIT_NOFILE", "hard": 4, "soft": 3}]


@pytest.mark.parametrize("value", ["kernel.msgmax=65536", "kernel.sem=250 32000 32 128", "kernel.shmmax=1",
                                   "kernel.shm_rmid_forced=1", "fs.mqueue.msg_max=100",
                                   "net.ipv4.ip_forward=1", "net.core.somaxconn=1024"])
def test_sysctl_accepted(value):
    k, _, v = value.partition("=")
    assert parse_sysctls([value], network="private", ipc="private") == {k: v}


@pytest.mark.parametrize("value,network,ipc,msg", [
    ("kernel.hostname=x", "private", "private", "not allowed"),
    ("vm.swappiness=10", "private", "private", "not allowed"),
    ("kernel.panic=1", "private", "private", "not allowed"),
    ("fs.file-max=1", "private", "private", "not allowed"),
    ("net.ipv4.ip_forward=1", "host", "private", "host network namespace"),
    ("net.ipv4.ip_forward=1", "container", "private", "another container"),
    ("kernel.shmmax=1", "private", "host", "host's IPC namespace"),
    ("net.ipv4.ip_forward", "private", "private", "KEY=VALUE"),
])
def test_sysctl_rejected(value, network, ipc, msg):
    with pytest.raises(Invalid, match=msg):
        parse_sysctls([value], network=network, ipc=ipc)


def test_sysctl_defaults_and_override():
    s = spec(sysctls=["net.ipv4.ip_unprivileged_port_start=1024"])["linux"]["sysctl"]
    assert s == {"net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_unprivileged_port_start": "1024"}
    assert "sysctl" not in spec(network="host")["linux"]


def test_default_devices_and_rules():
    linux = spec()["linux"]
    assert {(d["path"], d["major"], d["minor"]) for d in linux["devices"]} == {
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0)}
    rules = linux["resources"]["devices"]
    assert rules[0] == {"allow": False, "access": "rwm"}
    assert {"allow": True, "type": "c", "access": "m"} in rules and {"allow": True, "type": "b", "access": "m"} in rules
    assert {"allow": True, "type": "c", "major": 136, "access": "rwm"} in rules
    assert {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"} in rules


def test_device_flag():
    linux = spec(devices=["/dev/fuse", "/dev/sdb:/dev/xvda:r"])["linux"]
    assert {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666, "uid": 0,
            "gid": 0} in linux["devices"]
    assert {"path": "/dev/xvda", "type": "b", "major": 8, "minor": 16, "fileMode": 0o660, "uid": 0,
            "gid": 6} in linux["devices"]
    rules = linux["resources"]["devices"]
    assert rules[-2:] == [{"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
                          {"allow": True, "type": "b", "major": 8, "minor": 16, "access": "r"}]


@pytest.mark.parametrize("dev,msg", [("/dev/nope", "error gathering device information"),
                                     ("/dev/fuse:rel", "bad format for path"),
                                     ("/dev/fuse:/dev/f:rwx", "invalid device mode"),
                                     ("/a:/b:r:x", "invalid device specification")])
def test_device_errors(dev, msg):
    with pytest.raises(Invalid, match=msg):
        spec(devices=[dev])


def ns_types(**opts):
    h = host(**opts.pop("_host", {}))
    return [(n["type"], n.get("path")) for n in generate(IMAGE, RunOptions(**opts), h)["linux"]["namespaces"]]


def test_namespaces():
    assert ns_types() == [("mount", None), ("network", None), ("uts", None), ("pid", None), ("ipc", None),
                          ("cgroup", None)]
    assert ("network", None) not in ns_types(network="host")
    assert ("network", None) in ns_types(network="none")
    assert ("cgroup", None) not in ns_types(_host={"cgroup_version": 1})
    assert ("cgroup", None) in ns_types(_host={"cgroup_version": 1}, cgroupns="private")
    assert ("pid", None) not in ns_types(pid="host")
    assert ("time", None) in ns_types(_host={"time_namespace": True})
    assert ("network", "/proc/9/ns/net") in ns_types(network="container:db",
                                                    _host={"namespace_paths": {"network": "/proc/9/ns/net"}})
    s = generate(IMAGE, RunOptions(uts="host"), host())
    assert "hostname" not in s and ("uts", None) not in ns_types(uts="host")


@pytest.mark.parametrize("opts,msg", [({"pid": "bogus"}, "invalid PID mode"), ({"network": "container:x"}, "network"),
                                      ({"ipc": "container:"}, "invalid IPC mode"),
                                      ({"network": "container:x", "hostname": "h"}, "conflicting options")])
def test_namespace_errors(opts, msg):
    with pytest.raises(Invalid, match=msg):
        spec(**opts)
