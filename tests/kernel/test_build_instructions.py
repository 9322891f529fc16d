"""tug build on busybox: every instruction reaches the image config or its files as docker's builder puts them."""

from __future__ import annotations

import io
import json
import tarfile

from build_helpers import build, config, containers_run, run, write_context

EVERY = r"""
ARG BASE=busybox
FROM ${BASE} AS base
ARG GREETING=hello
ENV APP=/app GREETING_ENV=${GREETING}
LABEL org.example.name="demo app" version=1
WORKDIR $APP/work
COPY --chown=1000:1000 --chmod=0750 script.sh ./
COPY data/ /data/
ADD layer.tar /unpacked/
ADD plain.txt /plain.txt
COPY <<CONF /etc/heredoc.conf
greeting=${GREETING}
CONF
RUN <<EOT
set -e
echo "$GREETING from heredoc" > /from-heredoc
EOT
RUN --mount=type=bind,source=data,target=/mnt/data cat /mnt/data/one > /bound-copy
RUN --mount=type=tmpfs,target=/scratch echo tmp > /scratch/x
SHELL ["/bin/sh", "-ec"]
RUN echo "shell=$0" > /shell-used
USER user
RUN id -u > /tmp/uid
USER 1000:1000
EXPOSE 8080 53/udp
VOLUME ["/var/data"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD ["true"]
ONBUILD RUN echo triggered > /onbuild-ran
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /from-heredoc"]
"""


def _layer_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("inner/a.txt", b"A\n"), ("b.txt", b"B\n")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.uid, ti.gid = len(data), 0o640, 7, 8
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_every_instruction(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": EVERY, "script.sh": "#!/bin/sh\necho script\n", "data/one": "1\n", "data/sub/two": "2\n",
        "layer.tar": _layer_tar(), "plain.txt": "plain\n",
    })
    r = build(busybox_tug, ctx, "-t", "every", "--build-arg", "GREETING=hi")
    assert "Step 1/" in r.stdout and "Successfully tagged every:latest" in r.stdout
    cfg = config(busybox_tug, "every")
    assert cfg["Env"] == ["APP=/app", "GREETING_ENV=hi"]
    assert cfg["Labels"] == {"org.example.name": "demo app", "version": "1"}
    assert cfg["WorkingDir"] == "/app/work"
    assert cfg["User"] == "1000:1000"
    assert cfg["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert cfg["Volumes"] == {"/var/data": {}}
    assert cfg["StopSignal"] == "SIGQUIT"
    assert cfg["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 5_000_000_000, "Timeout": 2_000_000_000,
                                  "Retries": 4}
    assert cfg["OnBuild"] == ["RUN echo triggered > /onbuild-ran"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"] and cfg["Cmd"] == ["cat /from-heredoc"]
    assert cfg["Shell"] == ["/bin/sh", "-ec"]
    assert run(busybox_tug, "every") == "hi from heredoc\n"
    listing = run(busybox_tug, "every", "stat -c '%n %a %u:%g' /app/work/script.sh /data/one /data/sub/two "
                  "/unpacked/inner/a.txt /unpacked/b.txt /plain.txt; cat /etc/heredoc.conf /bound-copy /shell-used "
                  "/tmp/uid; ls /scratch 2>/dev/null | wc -l; test -e /mnt/data/one && echo LEAK || echo no-bind")
    assert listing.splitlines() == [
        "/app/work/script.sh 750 1000:1000", "/data/one 644 0:0", "/data/sub/two 644 0:0",
        "/unpacked/inner/a.txt 640 7:8", "/unpacked/b.txt 640 7:8", "/plain.txt 644 0:0",
        "greeting=hi", "1", "shell=/bin/sh", "1000", "0", "no-bind",
    ]


def test_onbuild_triggers_run_in_the_child_build(busybox_tug, tmp_path):
    parent = write_context(tmp_path / "p", {"Dockerfile": "FROM busybox\nONBUILD COPY marker /marker\n"
                                                          "ONBUILD RUN echo ran > /onbuild\n"})
    build(busybox_tug, parent, "-t", "withtriggers")
    child = write_context(tmp_path / "c", {"Dockerfile": "FROM withtriggers\nRUN cat /marker /onbuild\n",
                                           "marker": "m\n"})
    r = build(busybox_tug, child, "-t", "child")
    assert "# Executing 2 build triggers" in r.stdout
    assert run(busybox_tug, "child", "cat", "/marker", "/onbuild") == "m\nran\n"
    assert "OnBuild" not in config(busybox_tug, "child")


STAGES = """
FROM busybox AS unused
RUN echo this stage must not run && false
FROM busybox AS builder
RUN mkdir -p /out && echo artifact > /out/a
FROM scratch AS final
COPY --from=builder /out/a /a
FROM busybox AS other
COPY --from=final /a /b
RUN false
"""


def test_multi_stage_target_builds_only_needed_stages(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": STAGES})
    r = build(busybox_tug, ctx, "-t", "staged", "--target", "final")
    assert "must not run" not in r.stdout and containers_run(r.stdout) == 1
    assert "Step 4/4 : COPY --from=builder /out/a /a" in r.stdout
    layers = json.loads(busybox_tug("image", "inspect", "staged", check=True).stdout)[0]["RootFS"]["Layers"]
    assert len(layers) == 1  # scratch + the one COPY
    r2 = build(busybox_tug, ctx, "-t", "fails", "--target", "other", check=False)
    assert r2.returncode != 0 and "returned a non-zero code: 1" in r2.stderr


def test_copy_from_an_image_and_run_mount_from_a_stage(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": """
FROM busybox AS src
RUN echo from-stage > /s.txt
FROM busybox
COPY --from=busybox /etc/passwd /copied-passwd
RUN --mount=type=bind,from=src,source=/s.txt,target=/m.txt cp /m.txt /got.txt
"""})
    build(busybox_tug, ctx, "-t", "fromimg")
    assert run(busybox_tug, "fromimg", "cat", "/got.txt") == "from-stage\n"
    assert run(busybox_tug, "fromimg", "head", "-1", "/copied-passwd").startswith("root:")


def test_failing_run_leaves_nothing_behind(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo out && exit 3\n"})
    with open("/proc/self/mountinfo") as f:
        before = f.read().count("overlay")
    r = build(busybox_tug, ctx, "-t", "broken", check=False)
    assert r.returncode != 0
    assert "out" in r.stdout and "The command '/bin/sh -c echo out && exit 3' returned a non-zero code: 3" in r.stderr
    assert not list((busybox_tug.root / "containers").iterdir())
    with open("/proc/self/mountinfo") as f:
        assert f.read().count("overlay") == before
    assert busybox_tug("image", "inspect", "broken").returncode != 0


def test_contexts_from_tarball_and_stdin(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCOPY f /f\n", "f": "tarred\n"})
    tarball = tmp_path / "ctx.tar"
    with tarfile.open(tarball, "w") as tf:
        for name in ("Dockerfile", "f"):
            tf.add(ctx / name, arcname=name)
    build(busybox_tug, tarball, "-t", "fromtar")
    assert run(busybox_tug, "fromtar", "cat", "/f") == "tarred\n"
    r = busybox_tug("build", "-t", "fromstdin", "-", input=tarball.read_bytes())
    assert r.returncode == 0, r.stderr
    r = busybox_tug("build", "-q", "--network", "none", "-t", "lone", "-", input="FROM busybox\nRUN echo x > /y\n")
    assert r.returncode == 0 and r.stdout.strip().startswith("sha256:")
    assert run(busybox_tug, "lone", "cat", "/y") == "x\n"


def _layers(tug, ref: str) -> list[str]:
    return json.loads(tug("image", "inspect", ref, check=True).stdout)[0]["RootFS"]["Layers"]


def test_labels_iidfile_and_squash(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo 1 > /one\nRUN rm /one && echo 2 > "
                                           "/two\nRUN echo 3 > /three\n"})
    iid = tmp_path / "iid"
    build(busybox_tug, ctx, "-t", "layered", "--label", "a=b", "--iidfile", str(iid))
    assert config(busybox_tug, "layered")["Labels"] == {"a": "b"}
    assert iid.read_text() == json.loads(busybox_tug("image", "inspect", "layered").stdout)[0]["Id"]
    assert len(_layers(busybox_tug, "layered")) == 4
    build(busybox_tug, ctx, "-t", "squashed", "--squash")
    assert len(_layers(busybox_tug, "squashed")) == 2
    assert run(busybox_tug, "squashed", "sh", "-c", "ls /one 2>/dev/null; cat /two /three") == "2\n3\n"
    build(busybox_tug, ctx, "-t", "flat", "--squash-all")
    assert len(_layers(busybox_tug, "flat")) == 1
    assert run(busybox_tug, "flat", "sh", "-c", "ls /one 2>/dev/null; cat /two /three") == "2\n3\n"


def test_add_url_from_a_loopback_server(busybox_tug, tmp_path):
    import http.server
    import threading

    served = tmp_path / "www"
    served.mkdir()
    (served / "file.txt").write_text("downloaded\n")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(served), **kw)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/file.txt"
        ctx = write_context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nADD {url} /dl/\n"})
        build(busybox_tug, ctx, "-t", "dl")
        assert run(busybox_tug, "dl", "stat", "-c", "%a %s", "/dl/file.txt") == "600 11\n"
        r = build(busybox_tug, ctx, "-t", "dl")
        assert r.stdout.count("Using cache") == 1
        (served / "file.txt").write_text("changed\n")
        r = build(busybox_tug, ctx, "-t", "dl", "--explain")
        assert "Cache miss: the file url:" in r.stdout
        assert run(busybox_tug, "dl", "cat", "/dl/file.txt") == "changed\n"
    finally:
        srv.shutdown()
        srv.server_close()


def test_secret_mounts_are_read_but_never_kept(busybox_tug, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-value")
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"
                                           "RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /len\n"
                                           "RUN --network=none --mount=type=secret,id=missing true\n"})
    r = busybox_tug("build", "--secret", f"id=tok,src={secret}", "-t", "sec", str(ctx), timeout=300)
    assert r.returncode == 0, r.stderr
    assert run(busybox_tug, "sec", "cat", "/len").strip() == "12"
    assert run(busybox_tug, "sec", "sh", "-c", "cat /run/secrets/tok 2>/dev/null; echo end") == "end\n"
    saved = busybox_tug("save", "sec", text=False).stdout
    assert b"s3cr3t-value" not in saved
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=secret,id=tok,required cat /run/secrets/tok\n")
    r = busybox_tug("build", "--network", "none", "-t", "sec2", str(ctx), timeout=300)
    assert r.returncode != 0 and "secret tok not found" in r.stderr
