"""The build cache (nothing changed: no container runs; one file changed: only the steps from its COPY run, and
--explain names it; RUN cache mounts persist and prune), reproducible digests, and COPY never leaving the context."""

from __future__ import annotations

import os
import shutil
import subprocess

from build_helpers import build, containers_run, image_id, run, write_context

APP = """
FROM busybox
RUN echo base > /base
COPY conf/ /conf/
RUN cat /conf/a.conf > /derived
COPY src/main.txt /src/
RUN wc -c /src/main.txt > /size
CMD ["cat", "/derived"]
"""


def _app(root):
    return write_context(root, {"Dockerfile": APP, "conf/a.conf": "a=1\n", "conf/b.conf": "b=2\n",
                                "src/main.txt": "main\n", "README": "not copied\n"})


def test_rebuild_with_nothing_changed_runs_no_container(busybox_tug, tmp_path):
    ctx = _app(tmp_path / "ctx")
    first = build(busybox_tug, ctx, "-t", "app")
    assert containers_run(first.stdout) == 3
    again = build(busybox_tug, ctx, "-t", "app")
    assert containers_run(again.stdout) == 0
    assert again.stdout.count(" ---> Using cache") == 6
    assert f"Successfully built {image_id(busybox_tug, 'app')[7:19]}" in again.stdout
    (ctx / "README").write_text("changed, but nothing copies it\n")
    assert containers_run(build(busybox_tug, ctx, "-t", "app").stdout) == 0


def test_touching_one_copied_file_reruns_from_its_copy_and_explain_names_it(busybox_tug, tmp_path):
    ctx = _app(tmp_path / "ctx")
    build(busybox_tug, ctx, "-t", "app")
    (ctx / "src" / "main.txt").write_text("main, edited\n")
    r = build(busybox_tug, ctx, "-t", "app", "--explain")
    lines = r.stdout.splitlines()
    steps = [i for i, ln in enumerate(lines) if ln.startswith("Step ")]
    cached = [lines[s].split(" : ", 1)[1] for s in steps if lines[s + 1] == " ---> Using cache"]
    assert cached == ["RUN echo base > /base", "COPY conf/ /conf/", "RUN cat /conf/a.conf > /derived"]
    assert " ---> Cache miss: the file src/main.txt changed" in lines
    assert " ---> Cache miss: its parent is new (an earlier step was rebuilt)" in lines
    assert containers_run(r.stdout) == 1
    assert run(busybox_tug, "app", "cat", "/size") == "13 /src/main.txt\n"
    (ctx / "conf" / "b.conf").write_text("b=3\n")
    r = build(busybox_tug, ctx, "-t", "app", "--explain")
    assert " ---> Cache miss: the file conf/b.conf changed" in r.stdout and containers_run(r.stdout) == 2


def test_build_args_and_instructions_in_explain(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nARG V=1\nRUN echo $V > /v\n"})
    build(busybox_tug, ctx, "-t", "args")
    r = build(busybox_tug, ctx, "-t", "args", "--build-arg", "V=2", "--explain")
    assert "Cache miss: the instruction changed (was: /bin/sh -c #(nop)  ARG V=1)" in r.stdout
    assert run(busybox_tug, "args", "cat", "/v") == "2\n"
    (ctx / "Dockerfile").write_text("FROM busybox\nARG V=1\nRUN echo $V > /v && true\n")
    r = build(busybox_tug, ctx, "-t", "args", "--explain")
    assert "Cache miss: the instruction changed (was: |1 V=1 /bin/sh -c echo $V > /v)" in r.stdout


def test_same_context_in_two_directories_gives_the_same_digest(busybox_tug, tmp_path):
    one = _app(tmp_path / "one")
    build(busybox_tug, one, "-t", "r1")
    old = os.umask(0o002)
    try:
        two = tmp_path / "two"
        shutil.copytree(one, two, copy_function=shutil.copy)  # new mtimes
        for p in two.rglob("*"):  # as if made under another umask
            os.chmod(p, 0o775 if p.is_dir() else 0o664)
        os.utime(two / "src" / "main.txt", (1_600_000_000, 1_600_000_000))
    finally:
        os.umask(old)
    build(busybox_tug, two, "-t", "r2", "--no-cache")
    assert image_id(busybox_tug, "r1") == image_id(busybox_tug, "r2")
    env = dict(busybox_tug.env, SOURCE_DATE_EPOCH="1700000000")
    r = subprocess.run([*_tug_argv(), "build", "--network", "none", "-t", "r3", str(two)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    cfg = subprocess.run([*_tug_argv(), "image", "inspect", "-f", "{{.Created}}", "r3"], env=env,
                         capture_output=True, text=True).stdout.strip()
    assert cfg == "2023-11-14T22:13:20Z"


def _tug_argv() -> list[str]:
    from conftest import TUG

    return [TUG]


def test_cache_mounts_persist_and_prune(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN --mount=type=cache,target=/cache "
                                           "echo run >> /cache/log && wc -l < /cache/log > /count\n"})
    build(busybox_tug, ctx, "-t", "cm")
    build(busybox_tug, ctx, "-t", "cm", "--no-cache")
    assert run(busybox_tug, "cm", "cat", "/count").strip() == "2"
    assert run(busybox_tug, "cm", "sh", "-c", "ls /cache 2>/dev/null | wc -l").strip() == "0"
    r = busybox_tug("builder", "prune", "-a", "-f", check=True)
    assert "cache mounts: 1" in r.stdout
    r = build(busybox_tug, ctx, "-t", "cm2")
    assert containers_run(r.stdout) == 1
    assert run(busybox_tug, "cm2", "cat", "/count").strip() == "1"


def test_cache_survives_rmi_of_an_unrelated_image(busybox_tug, tmp_path):
    ctx = _app(tmp_path / "ctx")
    build(busybox_tug, ctx, "-t", "app")
    other = write_context(tmp_path / "o", {"Dockerfile": "FROM busybox\nRUN echo o > /o\n"})
    build(busybox_tug, other, "-t", "other")
    busybox_tug("rmi", "other", check=True)  # runs gc: the cache's blobs and snapshots must survive it
    assert containers_run(build(busybox_tug, ctx, "-t", "app").stdout) == 0


def test_copy_never_reads_outside_the_context(busybox_tug, tmp_path):
    secret = tmp_path / "host-secret"
    secret.write_text("host secret\n")
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCOPY ../host-secret /s\n"})
    r = build(busybox_tug, ctx, "-t", "esc", check=False)
    assert r.returncode != 0 and "outside the build context" in r.stderr
    os.symlink(str(secret), ctx / "abs")
    os.symlink("../host-secret", ctx / "rel")
    os.mkdir(ctx / "dir")
    os.symlink("/", ctx / "dir" / "root")
    for name in ("abs", "rel"):
        (ctx / "Dockerfile").write_text(f"FROM busybox\nCOPY {name} /s\n")
        r = build(busybox_tug, ctx, "-t", "esc", check=False)
        assert r.returncode != 0 and "not found in build context" in r.stderr
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY dir/root/host-secret /s\n")
    assert build(busybox_tug, ctx, "-t", "esc", check=False).returncode != 0
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY dir /d\n")
    build(busybox_tug, ctx, "-t", "esc")
    assert run(busybox_tug, "esc", "readlink", "/d/root") == "/\n"  # copied as a link, not followed
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=bind,source=rel,target=/m cat /m\n")
    r = build(busybox_tug, ctx, "-t", "esc", check=False)
    assert "host secret" not in r.stdout and r.returncode != 0
