"""tug build features beyond the basics: ADD of bzip2/xz/zstd tars (and compressed non-tars copied as they are),
COPY --parents and --exclude, RUN cache mounts' sharing modes and ids, RUN ssh mounts."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from pathlib import Path

from build_helpers import build, run, write_context


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_add_unpacks_bzip2_xz_gzip_zstd_tars_and_copies_other_files(busybox_tug, tmp_path):
    from tug.store.streams import _zstd

    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nADD a.tar.bz2 /bz/\nADD b.tar.xz /xz/\nADD c.tgz /gz/\nADD d.tar.zst /zst/\n"
                      "ADD notes.txt.gz /files/\nADD e.tar.xz f.tar.bz2 /multi/\n",
        "a.tar.bz2": bz2.compress(_tar({"bz/inner.txt": b"bz2\n"})),
        "b.tar.xz": lzma.compress(_tar({"xz.txt": b"xz\n"})),
        "c.tgz": gzip.compress(_tar({"gz.txt": b"gz\n"})),
        "d.tar.zst": _zstd().compress(_tar({"zst.txt": b"zst\n"})),
        "notes.txt.gz": gzip.compress(b"just text\n"),
        "e.tar.xz": lzma.compress(_tar({"e.txt": b"e\n"})),
        "f.tar.bz2": bz2.compress(_tar({"f.txt": b"f\n"})),
    })
    build(busybox_tug, ctx, "-t", "arch")
    out = run(busybox_tug, "arch", "cat", "/bz/bz/inner.txt", "/xz/xz.txt", "/gz/gz.txt", "/zst/zst.txt",
              "/multi/e.txt", "/multi/f.txt")
    assert out == "bz2\nxz\ngz\nzst\ne\nf\n"
    assert run(busybox_tug, "arch", "sh", "-c", "zcat /files/notes.txt.gz") == "just text\n"


def _killed_build(busybox_tug, tmp_path):
    """A build SIGKILLed while its RUN container runs; (its scratch dirs, build container id, container pid)."""
    import json
    import os
    import select
    import signal
    import subprocess

    from conftest import TUG

    ctx = write_context(tmp_path / "killed", {"Dockerfile": "FROM busybox\nCOPY f /f\n"
                                              "RUN echo started-$(cat /f) && sleep 300\n", "f": "x\n"})
    p = subprocess.Popen([TUG, "build", "--network", "none", "-t", "killed", str(ctx)], env=busybox_tug.env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    seen = b""
    try:
        while b"started-x" not in seen:
            ready, _, _ = select.select([p.stdout], [], [], 60)
            assert ready, f"the build did not start its RUN: {seen!r}"
            chunk = os.read(p.stdout.fileno(), 4096)
            assert chunk, f"the build ended early: {seen!r}"
            seen += chunk
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
    tmp = busybox_tug.root / "tmp"
    left = sorted(d.name for d in tmp.iterdir() if d.name.startswith("build-"))
    ctrs = [line.split()[-1] for line in seen.decode().splitlines() if line.startswith(" ---> Running in ")]
    assert len(left) == 1 and len(ctrs) == 1
    ids = (tmp / left[0] / "containers").read_text().split()
    assert len(ids) == 1 and ids[0].startswith(ctrs[0])
    state = json.loads((busybox_tug.runroot / "runtime" / ids[0] / "state.json").read_text())
    assert state["pid"] > 0 and os.path.exists(f"/proc/{state['pid']}")
    return left, ids[0], state["pid"]


def _gone(busybox_tug, left, ctr_id, pid):
    import time

    tmp = busybox_tug.root / "tmp"
    assert not any((tmp / d).exists() for d in left)
    assert not (busybox_tug.root / "containers" / ctr_id).exists()
    assert not (busybox_tug.runroot / "runtime" / ctr_id).exists()
    for _ in range(100):  # the runtime killed it; wait for its reaper
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
        except (FileNotFoundError, ProcessLookupError):
            break
        if state == "Z":
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the killed build's container {pid} still runs")


def test_a_sigkilled_build_is_cleaned_by_the_next_build(busybox_tug, tmp_path):
    left, ctr_id, pid = _killed_build(busybox_tug, tmp_path)
    other = write_context(tmp_path / "other", {"Dockerfile": "FROM busybox\nRUN echo ok > /ok\n"})
    build(busybox_tug, other, "-t", "other")
    _gone(busybox_tug, left, ctr_id, pid)
    assert not [d for d in (busybox_tug.root / "tmp").iterdir() if d.name.startswith(("build-", ".building-"))]


def test_a_sigkilled_build_is_found_by_check_and_removed_by_repair_or_prune(busybox_tug, tmp_path):
    left, ctr_id, pid = _killed_build(busybox_tug, tmp_path)
    r = busybox_tug("system", "check")
    assert "killed build" in r.stdout + r.stderr, r.stdout + r.stderr
    assert (busybox_tug.root / "tmp" / left[0]).exists()  # check alone changes nothing
    busybox_tug("system", "check", "--repair")
    _gone(busybox_tug, left, ctr_id, pid)
    left, ctr_id, pid = _killed_build(busybox_tug, tmp_path / "again")
    r = busybox_tug("builder", "prune", "-f", check=True)
    assert "left by killed builds: 1" in r.stdout
    _gone(busybox_tug, left, ctr_id, pid)


def test_copy_parents_and_exclude(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox AS src\nARG EXT=log\n"
                      "COPY --parents x/a.txt y/a.txt /parents/\n"
                      "COPY --parents ./x/./deep/*.txt /pivot/\n"
                      "COPY --exclude=*.$EXT --exclude=sub/skip app /app/\n"
                      "COPY --exclude=**/*.log app /app-all/\n"
                      "ADD --exclude=*.md x /added/\n"
                      "FROM busybox\nCOPY --from=src --parents /app/sub/keep.txt /from/\n"
                      "COPY --from=src --exclude=*.txt /parents/x /fromx/\n",
        "x/a.txt": "xa\n", "x/readme.md": "md\n", "x/deep/d.txt": "d\n", "y/a.txt": "ya\n",
        "app/top.log": "log\n", "app/main.py": "py\n", "app/sub/inner.log": "inner\n", "app/sub/keep.txt": "keep\n",
        "app/sub/skip/s.txt": "s\n",
    })
    r = build(busybox_tug, ctx, "-t", "sel", "--target", "src")

    def tree(ref, root):
        return sorted(run(busybox_tug, ref, "find", root, "-type", "f").split())

    assert tree("sel", "/parents") == ["/parents/x/a.txt", "/parents/y/a.txt"]
    assert tree("sel", "/pivot") == ["/pivot/deep/d.txt"]
    assert tree("sel", "/app") == ["/app/main.py", "/app/sub/inner.log", "/app/sub/keep.txt"]
    assert tree("sel", "/app-all") == ["/app-all/main.py", "/app-all/sub/keep.txt", "/app-all/sub/skip/s.txt"]
    assert tree("sel", "/added") == ["/added/a.txt", "/added/deep/d.txt"]
    build(busybox_tug, ctx, "-t", "sel2")
    assert tree("sel2", "/from") == ["/from/app/sub/keep.txt"]
    assert tree("sel2", "/fromx") == []
    # the cache key has the flags and the kept files: an excluded file's change reruns nothing
    (ctx / "app" / "sub" / "inner.log").write_text("changed log\n")
    r = build(busybox_tug, ctx, "-t", "sel", "--target", "src", "--explain")
    lines = r.stdout.splitlines()
    miss = next(i for i, ln in enumerate(lines) if "COPY --exclude=*.$EXT" in ln)
    assert lines[miss + 1] == " ---> Cache miss: the file app/sub/inner.log changed", lines[miss:miss + 2]
    at = next(i for i, ln in enumerate(lines) if "COPY --exclude=**/*.log" in ln)
    assert lines[at + 1] == " ---> Cache miss: its parent is new (an earlier step was rebuilt)"
    build(busybox_tug, ctx, "-t", "sel", "--target", "src")
    (ctx / "app" / "top.log").write_text("excluded by both\n")
    assert build(busybox_tug, ctx, "-t", "sel", "--target", "src").stdout.count(" ---> Using cache") == 6
    (ctx / "Dockerfile").write_text((ctx / "Dockerfile").read_text().replace("--exclude=*.md", "--exclude=*.txt"))
    r = build(busybox_tug, ctx, "-t", "sel", "--target", "src", "--explain")
    assert " ---> Cache miss: the instruction changed (was: /bin/sh -c #(nop) ADD x in /added/  --exclude=*.md)" \
        in r.stdout, r.stdout[-600:]
    assert tree("sel", "/added") == ["/added/deep/d.txt", "/added/readme.md"]  # *.txt: the top level only
