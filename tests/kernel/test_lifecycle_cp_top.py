"""`tug cp` both ways (running and stopped, symlinks resolved inside the container) and `tug top`."""

from __future__ import annotations

import os
import re

from lifecycle_helpers import assert_no_leftovers


def test_cp_both_ways_and_symlinks_stay_inside(busybox_tug, tmp_path):
    cid = busybox_tug("run", "-d", "--name", "cpt", "busybox", "sh", "-c",
                      "mkdir -p /data/sub; echo hello > /data/sub/f; ln -s /etc/hostname /data/abs; "
                      "ln -s ../../../../../../etc/hostname /data/up; touch /ready; sleep 300",
                      check=True).stdout.strip()
    busybox_tug("exec", "cpt", "sh", "-c", "while [ ! -e /ready ]; do sleep 0.05; done", check=True)
    out = tmp_path / "out"
    out.mkdir()
    assert busybox_tug("cp", "cpt:/data", str(out), check=True).stdout == ""
    assert (out / "data/sub/f").read_text() == "hello\n"
    assert (out / "data/abs").is_symlink()  # links inside a copied tree are copied as links
    # a symlink given as the source is copied as the link, as docker does; with -L it is followed, inside the
    # container's root (not the host's /etc/hostname)
    busybox_tug("cp", "cpt:/data/up", str(out / "link"), check=True)
    assert os.readlink(out / "link") == "../../../../../../etc/hostname"
    busybox_tug("cp", "-L", "cpt:/data/up", str(out / "hn"), check=True)
    assert (out / "hn").read_text().strip() == cid[:12]
    os.symlink("in.txt", tmp_path / "hostlink")
    busybox_tug("cp", str(tmp_path / "hostlink"), "cpt:/data/", check=True)
    assert busybox_tug("exec", "cpt", "readlink", "/data/hostlink", check=True).stdout.strip() == "in.txt"
    src = tmp_path / "in.txt"
    src.write_text("from host\n")
    busybox_tug("cp", str(src), "cpt:/data/sub/", check=True)
    r = busybox_tug("exec", "cpt", "ls", "-ln", "/data/sub/in.txt", check=True).stdout.split()
    assert r[2:4] == ["0", "0"]  # owned by root in the container
    # writing through a symlink that points at / lands inside the container, never on the host
    busybox_tug("exec", "cpt", "ln", "-s", "/", "/data/rootlink", check=True)
    busybox_tug("cp", str(src), "cpt:/data/rootlink/tmp/escaped.txt", check=True)
    assert busybox_tug("exec", "cpt", "cat", "/tmp/escaped.txt", check=True).stdout == "from host\n"
    assert not os.path.exists("/tmp/escaped.txt")
    r = busybox_tug("cp", "cpt:/nope", str(out))
    assert r.returncode == 1 and "Could not find the file /nope" in r.stderr
    # a stopped container: through its overlay in a private mount namespace
    busybox_tug("stop", "-t", "0", "cpt", check=True)
    busybox_tug("cp", "cpt:/data/sub/in.txt", str(out / "stopped.txt"), check=True)
    assert (out / "stopped.txt").read_text() == "from host\n"
    busybox_tug("cp", str(src), "cpt:/stopped-in", check=True)
    busybox_tug("start", "cpt", check=True)
    assert busybox_tug("exec", "cpt", "cat", "/stopped-in", check=True).stdout == "from host\n"
    assert_no_leftovers(busybox_tug, [cid])


def test_top_lists_container_processes(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "tp", "busybox", "sh", "-c", "sleep 301 & sleep 302; wait",
                      check=True).stdout.strip()
    busybox_tug("exec", "tp", "true", check=True)
    lines = busybox_tug("top", "tp", check=True).stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0])[:3] == ["UID", "PID", "PPID"]
    body = "\n".join(lines[1:])
    assert "sleep 301" in body and "sleep 302" in body and "pytest" not in body
    custom = busybox_tug("top", "tp", "-o", "pid,comm", check=True).stdout.splitlines()
    assert custom[0].split() == ["PID", "COMMAND"] and len(custom) >= 4
    busybox_tug("stop", "-t", "0", "tp", check=True)
    assert busybox_tug("top", "tp").returncode == 1
    assert_no_leftovers(busybox_tug, [cid])
