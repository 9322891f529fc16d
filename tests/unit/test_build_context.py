"""Build contexts: directories, tarballs and stdin; .dockerignore selection; COPY sources never leave the context;
the pure config edits of metadata instructions."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from tug.dockerfile import instructions as ins
from tug.dockerfile.ignore import IgnoreMatcher
from tug.engine.build import config as cfgmod
from tug.engine.build.context import clean_source, collect, is_archive, open_context, open_root
from tug.errors import Invalid, NotFound


@pytest.fixture
def ctx(tmp_path):
    root = tmp_path / "ctx"
    (root / "src" / "sub").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a")
    (root / "src" / "b.txt").write_text("b")
    (root / "src" / "sub" / "c.py").write_text("c")
    (root / "logs").mkdir()
    (root / "logs" / "x.log").write_text("log")
    (root / "logs" / "keep.log").write_text("keep")
    (root / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "outside.txt").write_text("secret")
    return root


def sources(root, pattern, patterns=()):
    fd = open_root(root)
    try:
        return collect(fd, pattern, IgnoreMatcher(list(patterns)))
    finally:
        os.close(fd)


def test_a_directory_source_lists_its_tree_sorted_with_hashes(ctx):
    [src] = sources(ctx, "src")
    assert src.path == "src" and src.is_dir
    assert [e.rel for e in src.entries] == ["", "a.py", "b.txt", "sub", "sub/c.py"]
    files = src.summary()
    assert files["src/a.py"].startswith("file 644 ") and len(files["src/a.py"].split()[2]) == 64


def test_globs_match_one_component_and_skip_ignored_names(ctx):
    assert [s.path for s in sources(ctx, "src/*.py")] == ["src/a.py"]
    assert [s.path for s in sources(ctx, "logs/*.log", ["logs/x.log"])] == ["logs/keep.log"]
    assert [s.path for s in sources(ctx, "*/*.log", ["**/*.log", "!logs/keep.log"])] == ["logs/keep.log"]


def test_ignored_paths_are_left_out_of_directories_and_cannot_be_named(ctx):
    [src] = sources(ctx, ".", ["logs", "Dockerfile"])
    names = {e.rel for e in src.entries}
    assert "logs" not in names and "logs/x.log" not in names and "Dockerfile" not in names
    assert "src/sub/c.py" in names
    with pytest.raises(NotFound):
        sources(ctx, "logs/x.log", ["logs"])
    [src] = sources(ctx, ".", ["logs", "!logs/keep.log"])
    names = {e.rel for e in src.entries}
    assert "logs/keep.log" in names and "logs/x.log" not in names


@pytest.mark.parametrize("path", ["../outside.txt", "src/../../outside.txt", ".."])
def test_dotdot_outside_the_context_is_refused(ctx, path):
    with pytest.raises(Invalid, match="outside the build context"):
        sources(ctx, path)


def test_clean_source_keeps_paths_inside():
    assert clean_source("/src/./a") == "src/a"
    assert clean_source("/../src") == "src"  # rooted: `..` stops at the context root, as in docker
    assert clean_source(".") == ""


def test_symlinks_resolve_inside_the_context(ctx, tmp_path):
    os.symlink(str(tmp_path / "outside.txt"), ctx / "abs-link")
    os.symlink("../outside.txt", ctx / "rel-link")
    os.symlink("/src/a.py", ctx / "inside-link")
    for name in ("abs-link", "rel-link"):
        with pytest.raises(NotFound):
            sources(ctx, name)
    [src] = sources(ctx, "inside-link")
    assert src.path == "src/a.py" and src.name == "inside-link"


def test_symlinks_inside_a_copied_directory_stay_symlinks(ctx):
    os.symlink("/etc/passwd", ctx / "src" / "pw")
    [src] = sources(ctx, "src")
    [pw] = [e for e in src.entries if e.rel == "pw"]
    assert pw.kind == "symlink" and pw.link == "/etc/passwd" and not pw.digest


def test_a_missing_source_is_not_found(ctx):
    with pytest.raises(NotFound, match="nope"):
        sources(ctx, "nope")


def _tar(files: dict[str, bytes], gz: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_contexts_from_a_directory_a_tarball_and_stdin(ctx, tmp_path):
    with open_context(str(ctx), tmp_path / "tmp") as c:
        assert c.root == ctx.resolve() and c.dockerfile == b"FROM scratch\n" and c.temp is None
    tarball = tmp_path / "ctx.tar.gz"
    tarball.write_bytes(_tar({"Dockerfile": b"FROM busybox\n", ".dockerignore": b"*.tmp\n", "x.tmp": b""}, gz=True))
    with open_context(str(tarball), tmp_path / "tmp") as c:
        assert c.dockerfile == b"FROM busybox\n" and c.matcher.excluded("x.tmp") and (c.root / "x.tmp").exists()
        temp = c.temp
    assert temp is not None and not temp.exists()
    with open_context("-", tmp_path / "tmp", stdin=io.BytesIO(_tar({"Dockerfile": b"FROM a\n"}))) as c:
        assert c.dockerfile == b"FROM a\n"
    with open_context("-", tmp_path / "tmp", stdin=io.BytesIO(b"FROM lone\n")) as c:
        assert c.dockerfile == b"FROM lone\n" and not any(c.root.iterdir())


def test_dockerfile_named_with_f(ctx, tmp_path):
    (ctx / "sub.Dockerfile").write_text("FROM x\n")
    with open_context(str(ctx), tmp_path / "tmp", dockerfile=str(ctx / "sub.Dockerfile")) as c:
        assert c.dockerfile == b"FROM x\n"
    with pytest.raises(NotFound):
        open_context(str(ctx), tmp_path / "tmp", dockerfile="missing.Dockerfile")


def test_archive_magic():
    assert is_archive(_tar({"a": b"x"})) == "none"
    assert is_archive(_tar({"a": b"x"}, gz=True)) == "gzip"
    assert is_archive(b"plain text file" + bytes(500)) is None


def test_metadata_edits_as_docker_makes_them():
    raw = cfgmod.scratch()
    cmd_set = cfgmod.apply_meta(raw, ins.Cmd(command=["echo hi"], shell_form=True), shell=["/bin/sh", "-c"], env=[],
                                cmd_set=False)
    assert raw["config"]["Cmd"] == ["/bin/sh", "-c", "echo hi"] and cmd_set
    cfgmod.apply_meta(raw, ins.Entrypoint(command=["/e"], shell_form=False), shell=["/bin/sh", "-c"], env=[],
                      cmd_set=True)
    assert raw["config"]["Cmd"] == ["/bin/sh", "-c", "echo hi"]  # set in this stage: kept
    base = cfgmod.from_base({"config": {"Cmd": ["sh"]}, "container_config": {}})
    assert "container_config" not in base
    cfgmod.apply_meta(base, ins.Entrypoint(command=["/e"], shell_form=False), shell=["/bin/sh", "-c"], env=[],
                      cmd_set=False)
    assert base["config"]["Cmd"] is None  # inherited CMD is reset by ENTRYPOINT
    cfgmod.apply_meta(base, ins.Expose(ports=["80", "53/udp"]), shell=[], env=[], cmd_set=False)
    assert base["config"]["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    cfgmod.apply_meta(base, ins.Healthcheck(test=["NONE"]), shell=[], env=[], cmd_set=False)
    assert base["config"]["Healthcheck"] == {"Test": ["NONE"]}
    assert cfgmod.resolve_workdir("/a", "b/../c") == "/a/c" and cfgmod.resolve_workdir("/a", "/x") == "/x"
    assert cfgmod.config_bytes({"b": 1, "a": 2}) == b'{"a":2,"b":1}'
    assert cfgmod.epoch_text(0) == "1970-01-01T00:00:00Z"
