"""`tug cp` with `-`: tar streams on stdout and stdin (as docker cp), resolved inside the container's root."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

from lifecycle_helpers import assert_no_leftovers

from conftest import TUG


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for ti, data in members:
            if data is not None:
                ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _file(name: str, data: bytes, mode: int = 0o644, uid: int = 0) -> tuple[tarfile.TarInfo, bytes]:
    ti = tarfile.TarInfo(name)
    ti.mode, ti.uid, ti.gid, ti.uname = mode, uid, uid, "someone"
    return ti, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode = kind, target, 0o640  # a hard link's mode is its target's
    return ti, None


def _cp_in(tug, data: bytes, dest: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([TUG, "cp", *flags, "-", dest], input=data, capture_output=True, env=tug.env, timeout=60)


def test_cp_to_stdout_is_a_tar_of_the_container_path(busybox_tug, tmp_path):
    cid = busybox_tug("run", "-d", "--network", "none", "--name", "cpo", "busybox", "sh", "-c",
                      "mkdir -p /data/sub; echo hello > /data/sub/f; chmod 4755 /data/sub/f; "
                      "ln -s /etc/hostname /data/abs; ln -s ../../../../etc/hostname /data/up; "
                      "touch /ready; sleep 300", check=True).stdout.strip()
    busybox_tug("exec", "cpo", "sh", "-c", "while [ ! -e /ready ]; do sleep 0.05; done", check=True)
    r = subprocess.run([TUG, "cp", "cpo:/data", "-"], capture_output=True, env=busybox_tug.env, timeout=60)
    assert r.returncode == 0, r.stderr
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        names = {m.name: m for m in t.getmembers()}
        assert set(names) == {"data", "data/sub", "data/sub/f", "data/abs", "data/up"}
        assert t.extractfile("data/sub/f").read() == b"hello\n"
        assert names["data/sub/f"].mode == 0o4755 and names["data/sub/f"].uid == 0
        assert names["data/abs"].issym() and names["data/abs"].linkname == "/etc/hostname"
    # `dir/.`: the contents; a final symlink is archived as the link, and with -L followed inside the container
    # (its /etc/hostname, not the host's)
    r = subprocess.run([TUG, "cp", "cpo:/data/sub/.", "-"], capture_output=True, env=busybox_tug.env, timeout=60)
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        assert t.getnames() == ["f"]
    r = subprocess.run([TUG, "cp", "cpo:/data/up", "-"], capture_output=True, env=busybox_tug.env, timeout=60)
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        assert [(m.name, m.issym(), m.linkname) for m in t.getmembers()] == [("up", True, "../../../../etc/hostname")]
    r = subprocess.run([TUG, "cp", "-L", "cpo:/data/up", "-"], capture_output=True, env=busybox_tug.env, timeout=60)
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        assert t.getnames() == ["hostname"]
        assert t.extractfile("hostname").read().decode().strip() == cid[:12]
    r = busybox_tug("cp", "cpo:/nope", "-")
    assert r.returncode == 1 and "Could not find the file /nope" in r.stderr
    busybox_tug("rm", "-f", "cpo", check=True)
    assert_no_leftovers(busybox_tug, [cid])


def test_cp_from_stdin_extracts_inside_the_container(busybox_tug, tmp_path):
    cid = busybox_tug("run", "-d", "--network", "none", "--name", "cpi", "busybox", "sh", "-c",
                      "mkdir -p /in; ln -s / /in/rootlink; ln -s /tmp /in/tmplink; touch /ready; sleep 300",
                      check=True).stdout.strip()
    busybox_tug("exec", "cpi", "sh", "-c", "while [ ! -e /ready ]; do sleep 0.05; done", check=True)
    host_target = tmp_path / "host-side"
    host_target.mkdir()
    data = _tar([_file("a.txt", b"A\n", 0o640, uid=1234), _file("d/b.txt", b"B\n"),
                 _link("d/l", "../a.txt"), _link("hard", "a.txt", tarfile.LNKTYPE),
                 # through symlinks the container has: they resolve in its root, never the host's
                 _file(f"rootlink{host_target}/escaped", b"no\n"), _file("tmplink/viatmp", b"tmp\n")])
    r = _cp_in(busybox_tug, data, "cpi:/in")
    assert r.returncode == 0, r.stderr
    out = busybox_tug("exec", "cpi", "sh", "-c", "cat /in/a.txt /in/d/b.txt /in/d/l /in/hard /tmp/viatmp; "
                      f"cat {host_target}/escaped; stat -c '%u %g %a' /in/a.txt", check=True).stdout
    assert out == "A\nB\nA\nA\ntmp\nno\n0 0 640\n"  # owners become root, as docker without -a
    assert not (host_target / "escaped").exists()
    assert _cp_in(busybox_tug, _tar([_file("owned", b"x", uid=1234)]), "cpi:/in", "-a").returncode == 0
    assert busybox_tug("exec", "cpi", "stat", "-c", "%u", "/in/owned", check=True).stdout == "1234\n"
    # what is refused: climbing out of the destination, a file as the destination, a missing one, not a tar
    r = _cp_in(busybox_tug, _tar([_file("../../../escape-up", b"x")]), "cpi:/in")
    assert r.returncode != 0 and b"outside the destination" in r.stderr
    assert busybox_tug("exec", "cpi", "ls", "/").stdout.count("escape-up") == 0
    assert _cp_in(busybox_tug, data, "cpi:/in/a.txt").returncode != 0
    r = _cp_in(busybox_tug, data, "cpi:/nope")
    assert r.returncode != 0 and b"Could not find the file /nope" in r.stderr
    assert _cp_in(busybox_tug, b"not a tar at all" * 64, "cpi:/in").returncode != 0
    # a stopped container: through its overlay
    busybox_tug("stop", "-t", "0", "cpi", check=True)
    assert _cp_in(busybox_tug, _tar([_file("later", b"L\n")]), "cpi:/in").returncode == 0
    r = subprocess.run([TUG, "cp", "cpi:/in/later", "-"], capture_output=True, env=busybox_tug.env, timeout=60)
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        assert t.extractfile("later").read() == b"L\n"
    assert not os.path.exists("/in")
    busybox_tug("rm", "-f", "cpi", check=True)
    assert_no_leftovers(busybox_tug, [cid])
