"""`tug build -m/--shm-size/--ulimit/--add-host/--security-opt/...`: every RUN step's build container gets them as
`tug run` gives them; they are no part of a step's cache key (docker's classic builder); bad values fail before any
step runs."""

from __future__ import annotations

import json
import os
import time

from build_helpers import build, containers_run, write_context

PROBE = """FROM busybox
RUN echo "mem=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
RUN echo "nofile=$(ulimit -n)"
RUN echo "shm=$(df -k /dev/shm | tail -n 1 | awk '{print $2}')"
RUN echo "hosts=$(grep a.test /etc/hosts | tr '\\t' ' ')"
RUN echo "seccomp=$(grep '^Seccomp:' /proc/self/status | awk '{print $2}')"
RUN echo "quota=$(cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"
RUN echo "cgroup=$(grep -E '(:memory:|^0::)' /proc/self/cgroup)"
"""


def _values(out: str) -> dict[str, str]:
    vals: dict[str, str] = {}
    for line in out.splitlines():
        key, sep, val = line.partition("=")
        if sep and key in ("mem", "nofile", "shm", "hosts", "seccomp", "quota", "cgroup"):
            vals[key] = val.strip()
    return vals


def test_run_steps_get_the_settings_and_the_cache_ignores_them(busybox_tug, tmp_path):
    t = busybox_tug
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": PROBE})
    r = build(t, ctx, "-t", "plain")
    plain = _values(r.stdout)
    assert plain["hosts"] == "" and plain["seccomp"] == "2" and plain["shm"] == str(64 * 1024), plain
    assert plain["mem"] != str(64 << 20) and plain["nofile"] != "1024", plain

    parent = f"tugbuild{os.getpid()}"
    settings = ("-m", "64m", "--memory-swap", "-1", "--ulimit", "nofile=1024:1024", "--shm-size", "16m",
                "--add-host", "a.test:10.1.2.3", "--security-opt", "seccomp=unconfined", "-c", "512",
                "--cpu-period", "100000", "--cpu-quota", "50000", "--cgroup-parent", parent)
    r = build(t, ctx, "--no-cache", *settings, "-t", "limited")
    assert containers_run(r.stdout) == 7
    got = _values(r.stdout)
    assert got.pop("quota").split()[0] == "50000" and plain["quota"].split()[0] != "50000", r.stdout
    assert f"/{parent}/" in got.pop("cgroup") and f"/{parent}/" not in plain["cgroup"], r.stdout
    assert got == {"mem": str(64 << 20), "nofile": "1024", "shm": str(16 * 1024), "hosts": "10.1.2.3 a.test",
                   "seccomp": "0"}, r.stdout

    # Not in the cache key (docker's classic builder): the same Dockerfile under other settings is fully cached.
    r = build(t, ctx, *settings, "-t", "again")
    assert containers_run(r.stdout) == 0 and r.stdout.count(" ---> Using cache") == 7, r.stdout
    assert not list((t.root / "containers").iterdir())
    with open("/proc/self/cgroup") as f:  # every build container's cgroup is gone, and the parent made for them
        ours = {line.split(":")[2].strip() for line in f if line.split(":")[1] in ("memory", "")}
    for base in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup"):
        for own in ours:
            assert not os.path.exists(f"{base}{own}/{parent}"), f"{base}{own}/{parent}"


def test_bad_values_fail_before_anything_runs(busybox_tug, tmp_path):
    t = busybox_tug
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo ran\n"})
    for args, code, message in [
        (("-m", "lots"), 125, 'invalid argument "lots" for "-m, --memory" flag: invalid size: \'lots\''),
        (("--shm-size", "x"), 125, 'invalid argument "x" for "--shm-size" flag: invalid size: \'x\''),
        (("--ulimit", "nofile=10:5"), 125, "ulimit soft limit must be less than or equal to hard limit: 10 > 5"),
        (("--add-host", "bad"), 125, 'bad format for add-host: "bad"'),
        (("-c", "x"), 125, 'invalid argument "x" for "-c, --cpu-shares" flag'),
        # swap without a memory limit: refused as `tug run` refuses it
        (("--memory-swap", "64m"), 1, "set the Memory limit when using Memoryswap"),
        (("--security-opt", f"seccomp={tmp_path / 'missing.json'}"), 1, "missing.json"),
        (("--cpuset-cpus", "zz"), 1, "--cpuset-cpus"),
    ]:
        r = build(t, ctx, *args, "-t", "bad", check=False)
        assert r.returncode == code, (args, r.returncode, r.stderr)
        assert message in r.stderr.splitlines()[0], (args, r.stderr)
        assert "Step 1/" not in r.stdout and "ran" not in r.stdout, (args, r.stdout)
    assert t("image", "inspect", "bad").returncode != 0
    # A bad value also fails after a fully cached build left a memo to replay.
    build(t, ctx, "-t", "ok")
    build(t, ctx, "-t", "ok")
    r = build(t, ctx, "-m", "lots", "-t", "ok", check=False)
    assert r.returncode == 125
    r = build(t, ctx, "--security-opt", "seccomp=/nonexistent/p.json", "-t", "ok", check=False)
    assert r.returncode == 1 and "Step 1/" not in r.stdout


def test_fully_cached_builds_with_settings_replay_under_their_own_memo(busybox_tug, tmp_path):
    t = busybox_tug
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo ran > /x\n"})
    memos = t.root / "buildcache" / "memo"
    time.sleep(1.05)  # older than the racy window: a cached build may leave a memo
    assert containers_run(build(t, ctx, "-t", "app").stdout) == 1
    cached = build(t, ctx, "-t", "app").stdout
    assert len(list(memos.glob("*.json"))) == 1
    limited = build(t, ctx, "-m", "64m", "--ulimit", "nofile=512:512", "-t", "app").stdout
    assert containers_run(limited) == 0 and len(list(memos.glob("*.json"))) == 2  # checked afresh: its own memo
    for memo in memos.glob("*.json"):  # prove the next builds are replays: mark every memo's events
        doc = json.loads(memo.read_text())
        doc["events"][-1][1] += " (replayed)"
        memo.write_text(json.dumps(doc))
    assert build(t, ctx, "-m", "64m", "--ulimit", "nofile=512:512", "-t", "app").stdout.count(" (replayed)") == 1
    again = build(t, ctx, "-t", "app").stdout
    assert again.count(" (replayed)") == 1 and again.replace(" (replayed)", "") == cached
