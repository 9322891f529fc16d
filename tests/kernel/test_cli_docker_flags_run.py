"""The run/create flags and verb options added to match docker's CLI, observed on real containers: namespaces
shared with the host, resolv.conf from --dns-search/--dns-option, -a, --cidfile, --label-file, --env-file, CFS and
v1 memory settings in the container's cgroup, ps -s / inspect -s, import --platform, images --filter, and
network connect --ip."""

from __future__ import annotations

import os
import socket

import pytest


def test_host_namespaces_dns_and_attach(busybox_tug):
    t = busybox_tug
    r = t("run", "--rm", "--network", "none", "--pid", "host", "--uts", "host", "--ipc", "host", "busybox", "sh",
          "-c", f"hostname; readlink /proc/self/ns/ipc; test -d /proc/{os.getpid()} && echo sees-host-pids",
          check=True)
    assert r.stdout.splitlines() == [socket.gethostname(), os.readlink("/proc/self/ns/ipc"), "sees-host-pids"]
    r = t("run", "--rm", "--network", "none", "--dns", "192.0.2.53", "--dns-search", "a.example",
          "--dns-search", "b.example", "--dns-option", "ndots:3", "busybox", "cat", "/etc/resolv.conf", check=True)
    lines = r.stdout.splitlines()
    assert lines[:3] == ["nameserver 192.0.2.53", "search a.example b.example", "options ndots:3"]
    assert sum(ln.startswith(("nameserver", "search", "options")) for ln in lines) == 3
    for flag in ("--pid", "--ipc", "--uts"):
        r = t("run", "--rm", "--network", "none", flag, "container:x", "busybox", "true")
        assert r.returncode == 125 and f"{flag} container:x: joining another container's namespace" in r.stderr
    r = t("run", "--rm", "--network", "none", "-a", "stdout", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert r.returncode == 0 and r.stdout == "out\n" and "err" not in r.stderr
    r = t("run", "--rm", "--network", "none", "-a", "stderr", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert r.stdout == "" and r.stderr.endswith("err\n")
    cid = t("create", "-a", "stderr", "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2",
            check=True).stdout.strip()
    r = t("start", "-a", cid)  # the streams chosen at create
    assert r.returncode == 0 and r.stdout == "" and r.stderr.endswith("err\n")
    t("rm", cid, check=True)


def test_cidfile_label_file_env_file(busybox_tug, tmp_path):
    t = busybox_tug
    cidfile = tmp_path / "cid"
    (tmp_path / "labels").write_text("# a comment\nfrom.file=1\n")
    (tmp_path / "env").write_text("FROM_FILE=yes\n")
    cid = t("create", "--cidfile", str(cidfile), "--label-file", str(tmp_path / "labels"), "-l", "x=2",
            "--env-file", str(tmp_path / "env"), "-q", "busybox", "sh", "-c", "echo $FROM_FILE", check=True)
    assert cidfile.read_text() == cid.stdout.strip()
    labels = t("inspect", "-f", "{{json .Config.Labels}}", cid.stdout.strip(), check=True).stdout
    c2 = t("create", "--pid", "host", "--dns-search", "a.example", "--cpu-period", "50000", "-a", "stdout",
           "busybox", "true", check=True).stdout.strip()
    shown = t("inspect", "-f", "{{.HostConfig.PidMode}} {{json .HostConfig.DnsSearch}} {{.HostConfig.CpuPeriod}} "
              "{{.Config.AttachStdout}} {{.Config.AttachStderr}}", c2, check=True).stdout.strip()
    assert shown == 'host ["a.example"] 50000 true false'
    t("rm", c2, check=True)
    assert '"from.file": "1"' in labels and '"x": "2"' in labels
    assert t("start", "-a", cid.stdout.strip(), check=True).stdout == "yes\n"
    before = t("ps", "-aq").stdout.split()
    r = t("run", "--cidfile", str(cidfile), "busybox", "true")  # docker refuses an existing cidfile
    assert r.returncode == 125 and "container ID file found" in r.stderr
    assert t("ps", "-aq").stdout.split() == before  # nothing created
    cidfile.unlink()
    r = t("run", "--rm", "--network", "none", "--cidfile", str(cidfile), "busybox", "true", check=True)
    assert len(cidfile.read_text()) == 64


def test_cfs_and_v1_settings_reach_the_cgroup(busybox_tug):
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        pytest.skip("cgroup v2 host: the v1-only settings are refused there (unit-tested)")
    r = busybox_tug("run", "--rm", "--network", "none", "--cpu-period", "50000", "--cpu-quota", "25000",
                    "--memory-swappiness", "10", "--oom-kill-disable", "-m", "64m", "--device-cgroup-rule",
                    "c 42:* rm", "busybox", "sh", "-c",
                    "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
                    "/sys/fs/cgroup/memory/memory.swappiness; grep -c 'oom_kill_disable 1' "
                    "/sys/fs/cgroup/memory/memory.oom_control; grep '^c 42:' /sys/fs/cgroup/devices/devices.list",
                    check=True)
    assert r.stdout.splitlines() == ["50000", "25000", "10", "1", "c 42:* rm"]
    r = busybox_tug("run", "--rm", "--cpus", "1", "--cpu-period", "50000", "busybox", "true")
    assert r.returncode == 125 and "Conflicting options" in r.stderr


def test_sizes_platform_and_image_filters(busybox_tug, busybox_tar):
    t = busybox_tug
    cid = t("run", "--network", "none", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /blob", check=True)
    name = t("ps", "-lq", "--no-trunc").stdout.strip()
    assert cid.returncode == 0 and name
    rw, rootfs = t("inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", name, check=True).stdout.split()
    assert 5000 <= int(rw) < 20000 and int(rootfs) > int(rw)
    ps = t("ps", "-a", "-s", check=True).stdout.splitlines()
    assert ps[0].endswith("SIZE") and "(virtual " in ps[1]
    t("import", "--platform", "linux/arm64", str(busybox_tar), "other:arm", check=True)
    assert t("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", "other:arm", check=True).stdout.strip() == \
        "linux/arm64"
    refs = t("images", "--filter", "reference=other*", "--format", "{{.Repository}}:{{.Tag}}", check=True).stdout
    assert refs.split() == ["other:arm"]
    since = t("images", "-f", "since=busybox", "--format", "{{.Repository}}", check=True).stdout.split()
    assert since == ["other"]
    assert t("images", "-f", "dangling=true", "-q", check=True).stdout == ""
    r = t("images", "-f", "bogus=1")
    assert r.returncode == 1 and "invalid filter 'bogus'" in r.stderr
    t("rm", name, check=True)


def test_network_connect_ip(busybox_tug):
    t = busybox_tug
    t("network", "create", "--subnet", "10.251.77.0/24", "flagnet", check=True)
    try:
        t("create", "--name", "ipc2", "busybox", "sleep", "100", check=True)
        r = t("network", "connect", "--ip", "10.9.9.9", "flagnet", "ipc2")
        assert r.returncode == 1 and "not in the network's subnet" in r.stderr
        t("network", "connect", "--ip", "10.251.77.50", "flagnet", "ipc2", check=True)
        t("start", "ipc2", check=True)
        out = t("exec", "ipc2", "ip", "-4", "addr", check=True).stdout
        assert "10.251.77.50/24" in out
    finally:
        t("rm", "-f", "ipc2")
        t("network", "rm", "flagnet")
