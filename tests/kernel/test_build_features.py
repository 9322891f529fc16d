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


WAIT_FOR_TWO = ("echo {who}-start >> /c/log; i=0; while [ $i -lt {tries} ] && [ $(grep -c start /c/log) -lt 2 ]; "
                "do sleep 0.1; i=$((i+1)); done; echo {who}-end >> /c/log")


def _two_builds_at_once(busybox_tug, tmp_path, sharing: str, tries: int) -> list[str]:
    """Two builds whose RUN steps use one cache id with `sharing`, started together; the cache's log after both."""
    import subprocess

    from conftest import TUG

    procs = []
    for who in ("a", "b"):
        script = WAIT_FOR_TWO.format(who=who, tries=tries)
        ctx = write_context(tmp_path / f"{sharing}-{who}", {"Dockerfile": (
            f"FROM busybox\nRUN --mount=type=cache,id=shared-log,target=/c,sharing={sharing} {script}\n")})
        procs.append(subprocess.Popen([TUG, "build", "--network", "none", "-t", f"{sharing}-{who}", str(ctx)],
                                      env=busybox_tug.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out.decode()
    reader = write_context(tmp_path / f"{sharing}-read", {"Dockerfile": (
        "FROM busybox\nRUN --mount=type=cache,id=shared-log,target=/c cat /c/log > /log && rm /c/log\n")})
    build(busybox_tug, reader, "-t", f"{sharing}-read", "--no-cache")
    return run(busybox_tug, f"{sharing}-read", "cat", "/log").split()


def test_cache_mount_sharing_locked_serialises_shared_overlaps(busybox_tug, tmp_path):
    locked = _two_builds_at_once(busybox_tug, tmp_path, "locked", 20)
    assert [x.split("-")[1] for x in locked] == ["start", "end", "start", "end"], locked
    assert locked[0][0] == locked[1][0] and locked[2][0] == locked[3][0]
    shared = _two_builds_at_once(busybox_tug, tmp_path, "shared", 300)  # each waits until both have started
    assert [x.split("-")[1] for x in shared] == ["start", "start", "end", "end"], shared


def test_cache_mount_private_gets_a_fresh_dir_while_the_cache_is_in_use(busybox_tug, tmp_path):
    import subprocess

    from conftest import TUG

    holder = write_context(tmp_path / "holder", {"Dockerfile": (
        "FROM busybox\nRUN --mount=type=cache,id=p,target=/c,sharing=locked "
        "echo held > /c/mark; i=0; while [ ! -e /c/go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n")})
    p = subprocess.Popen([TUG, "build", "--network", "none", "-t", "holder", str(holder)], env=busybox_tug.env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        cache = None
        for _ in range(600):  # wait for the holder to be inside its step
            found = list((busybox_tug.root / "buildcache" / "mounts").glob("*/mark"))
            if found:
                cache = found[0].parent
                break
            import time

            time.sleep(0.05)
        assert cache is not None, "the holder never reached its RUN"
        private = write_context(tmp_path / "private", {"Dockerfile": (
            "FROM busybox\nRUN --mount=type=cache,id=p,target=/c,sharing=private,uid=7,mode=0710 "
            "ls -A /c > /seen; stat -c '%u %a' /c >> /seen; echo mine > /c/private\n")})
        build(busybox_tug, private, "-t", "private")
        assert run(busybox_tug, "private", "cat", "/seen") == "7 710\n"  # empty and its own: no mark
        (cache / "go").write_text("")
    finally:
        out, _ = p.communicate(timeout=120)
    assert p.returncode == 0, out.decode()
    assert sorted(x.name for x in cache.iterdir()) == ["go", "mark"]  # the private step's file went away with it
    assert not list((busybox_tug.root / "tmp").glob("build-*"))


def test_cache_mount_from_a_stage_starts_with_its_files_and_keeps_what_runs_add(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox AS seed\nRUN mkdir -p /seed && echo seeded > /seed/base\n"
        "FROM busybox\nRUN --mount=type=cache,id=s,target=/c,from=seed,source=/seed "
        "cat /c/base > /got && echo run >> /c/runs && wc -l < /c/runs > /count\n")})
    build(busybox_tug, ctx, "-t", "seeded")
    build(busybox_tug, ctx, "-t", "seeded", "--no-cache")
    assert run(busybox_tug, "seeded", "cat", "/got", "/count").split() == ["seeded", "2"]


SSH_CLIENT = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void) {
    const char *path = getenv("SSH_AUTH_SOCK");
    if (!path) { puts("no SSH_AUTH_SOCK"); return 2; }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 3; }
    write(fd, "ping", 4);
    char buf[64] = {0};
    int n = read(fd, buf, sizeof buf - 1);
    printf("%s %s\n", path, n > 0 ? buf : "nothing");
    return 0;
}
"""


def test_ssh_mount_forwards_the_agent_for_one_step(busybox_tug, tmp_path):
    import shutil
    import socket
    import subprocess
    import threading

    import pytest

    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to make a static agent client for busybox")
    (tmp_path / "client.c").write_text(SSH_CLIENT)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    r = subprocess.run(["gcc", "-static", "-O1", "-o", str(ctx / "client"), str(tmp_path / "client.c")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"no static libc to build the client: {r.stderr[-200:]}")
    agent_path = tmp_path / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(agent_path))
    server.listen(4)
    seen: list[bytes] = []

    def agent() -> None:
        while True:
            try:
                c, _ = server.accept()
            except OSError:
                return
            data = c.recv(64)
            seen.append(data)
            c.sendall(b"pong-" + data)
            c.close()

    t = threading.Thread(target=agent, daemon=True)
    t.start()
    try:
        (ctx / "Dockerfile").write_text(
            "FROM busybox\nCOPY client /client\n"
            "RUN --mount=type=ssh,uid=5,mode=0660 /client > /out && stat -c '%u %a %F' $SSH_AUTH_SOCK >> /out\n"
            "RUN --mount=type=ssh,id=other,target=/agent.sock /client >> /out\n"
            "RUN echo \"after: ${SSH_AUTH_SOCK:-unset}\" >> /out; ls /run/buildkit 2>/dev/null | wc -l >> /out\n")
        env = dict(busybox_tug.env, SSH_AUTH_SOCK=str(agent_path))
        r = subprocess.run([TUG_ARGV(), "build", "--network", "none", "--ssh", "default", "--ssh",
                            f"other={agent_path}", "-t", "ssh", str(ctx)], env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert run(busybox_tug, "ssh", "cat", "/out").splitlines() == [
            "/run/buildkit/ssh_agent.0 pong-ping", "5 660 socket", "/agent.sock pong-ping", "after: unset", "0"]
        assert seen == [b"ping", b"ping"]
        (ctx / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=ssh,required=true echo never\n")
        r = build(busybox_tug, ctx, "-t", "ssh2", check=False)
        assert r.returncode != 0 and "no ssh agent 'default' forwarded" in r.stderr
        (ctx / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=ssh echo optional > /o\n")
        build(busybox_tug, ctx, "-t", "ssh3")
    finally:
        server.close()


def TUG_ARGV() -> str:  # noqa: N802 - the console script
    from conftest import TUG

    return TUG
