"""`ps` filters and formats, names and id prefixes, and the create race on one name."""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

from lifecycle_helpers import assert_no_leftovers

from conftest import TUG


def test_twenty_concurrent_creates_one_name(busybox_tug):
    def create(_i: int) -> subprocess.CompletedProcess:
        return subprocess.run([TUG, "create", "--name", "x1", "busybox", "true"], env=busybox_tug.env,
                              capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(create, range(20)))
    ok = [r for r in results if r.returncode == 0]
    conflicts = [r for r in results if r.returncode != 0]
    assert len(ok) == 1 and len(conflicts) == 19
    cid = ok[0].stdout.strip()
    for r in conflicts:
        assert r.returncode == 125
        assert f'The container name "/x1" is already in use by container "{cid}"' in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert busybox_tug("ps", "-aq", "--no-trunc").stdout.split() == [cid]
    assert len(list((busybox_tug.root / "containers").iterdir())) == 1
    assert_no_leftovers(busybox_tug, [cid])


def test_generated_names_and_id_prefixes(busybox_tug):
    ids = [busybox_tug("create", "busybox", "true", check=True).stdout.strip() for _ in range(3)]
    names = busybox_tug("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert len(set(names)) == 3 and all(re.fullmatch(r"[a-z]+_[a-z]+\d?", n) for n in names)
    for cid in ids:
        assert busybox_tug("inspect", "-f", "{{.Id}}", cid[:8]).stdout.strip() == cid
    r = busybox_tug("inspect", "--type", "container", "nosuchthing")
    assert r.returncode == 1
    r = busybox_tug("start", "nosuchthing")
    assert r.returncode != 0 and "No such container: nosuchthing" in r.stderr
    assert_no_leftovers(busybox_tug, ids)


def test_ps_filters_format_and_limits(busybox_tug):
    a = busybox_tug("run", "-d", "--name", "alpha", "-l", "tier=web", "--expose", "8080", "busybox", "sleep", "300",
                    check=True).stdout.strip()
    b = busybox_tug("run", "--name", "beta", "-l", "tier=db", "busybox", "sh", "-c", "exit 2").stdout
    c = busybox_tug("create", "--name", "gamma", "busybox", "true", check=True).stdout.strip()
    q = lambda *args: busybox_tug("ps", *args, "--format", "{{.Names}}").stdout.split()  # noqa: E731
    assert q() == ["alpha"]
    assert q("-a") == ["gamma", "beta", "alpha"]
    assert q("-a", "-f", "status=exited") == ["beta"]
    assert q("-f", "status=created") == ["gamma"]  # a status filter lists stopped containers without -a
    assert q("-a", "-f", "name=al") == ["alpha"]
    assert q("-a", "-f", "name=alpha", "-f", "name=gamma") == ["gamma", "alpha"]
    assert q("-a", "-f", "label=tier") == ["beta", "alpha"]
    assert q("-a", "-f", "label=tier=db") == ["beta"]
    assert q("-a", "-f", "ancestor=busybox") == ["gamma", "beta", "alpha"]
    assert q("-a", "-f", "ancestor=busybox:latest", "-f", "status=running") == ["alpha"]
    assert q("-a", "-f", f"id={a[:6]}") == ["alpha"]
    assert q("-a", "-f", "exited=2") == ["beta"]
    assert q("-l") == ["gamma"]
    assert q("-n", "2") == ["gamma", "beta"]
    ports = busybox_tug("ps", "--format", "{{.Ports}}").stdout.strip()
    assert ports == "8080/tcp"
    full = busybox_tug("ps", "--no-trunc", "--format", "{{.ID}} {{.Command}} {{.CreatedAt}} {{.Image}}").stdout
    assert re.fullmatch(rf'{a} "sleep 300" \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC busybox\n', full), full
    table = busybox_tug("ps", "-a", "--format", "table {{.Names}}\t{{.Status}}").stdout.splitlines()
    assert re.split(r"\s{2,}", table[0]) == ["NAMES", "STATUS"]
    assert re.split(r"\s{2,}", table[2])[1].startswith("Exited (2) ")
    r = busybox_tug("ps", "-f", "status=sleepy")
    assert r.returncode != 0
    assert b == ""
    assert_no_leftovers(busybox_tug, [a, c, busybox_tug("inspect", "-f", "{{.Id}}", "beta").stdout.strip()])


def test_container_prune_keeps_running(busybox_tug):
    a = busybox_tug("run", "-d", "--name", "keep", "busybox", "sleep", "300", check=True).stdout.strip()
    b = busybox_tug("create", "--name", "drop1", "busybox", "true", check=True).stdout.strip()
    busybox_tug("run", "--name", "drop2", "busybox", "sh", "-c", "echo x > /f")
    r = busybox_tug("container", "prune", "-f", check=True)
    assert r.stdout.startswith("Deleted Containers:\n") and b in r.stdout
    assert "Total reclaimed space:" in r.stdout
    assert busybox_tug("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["keep"]
    assert busybox_tug("container", "ls", "-q").stdout.strip() == a[:12]
    assert_no_leftovers(busybox_tug, [a])
