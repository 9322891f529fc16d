"""tug build against podman build: the same Dockerfile and context give the same config and the same file tree.

podman runs with its own storage in a temp dir (vfs driver, --network none) and `--format docker` so HEALTHCHECK is
kept. Skipped cleanly where podman is missing or cannot build here (it is installed by the peers' set-up script on
the development machine, not in CI). The base image has a PATH in its Env, as buildah adds one when it has none.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile

import pytest

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "Volumes", "StopSignal",
        "Healthcheck", "Shell", "OnBuild")
# buildah makes a WORKDIR's directory only when a later RUN needs it (docker and tug make it at once): each WORKDIR
# here is followed by a RUN.
# buildah 1.28 ignores SHELL for a shell-form CMD/ENTRYPOINT (docker applies it, and so does tug): not compared
RUNTIME_PATHS = ("etc/hosts", "etc/hostname", "etc/resolv.conf", "run/.containerenv", ".dockerenv", "proc", "sys",
                 "dev", "run", "run/secrets")

CASES = {
    "metadata": """
FROM localhost/busybox
ENV A=1 B="two words"
LABEL org.example.a=1 "org.example.b"="x y"
WORKDIR /srv/app
RUN pwd > /workdir-was
USER 1000:1000
EXPOSE 80 53/udp
VOLUME ["/data", "/cache"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD ["true"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
""",
    "files": """
FROM localhost/busybox
COPY f.txt /app/
COPY dir /app/dir/
COPY --chown=1000:1000 f.txt /owned/f.txt
COPY --chmod=0755 f.txt /exec.sh
ADD arch.tar /unpacked/
WORKDIR /made/here
RUN echo run > /run-out && mkdir -p /var/x && ln -s /run-out /var/x/link
RUN rm -f /etc/group && echo replaced > /etc/motd
""",
    "stages": """
FROM localhost/busybox AS build
RUN mkdir /out && echo built > /out/artifact
FROM localhost/busybox
COPY --from=build /out/artifact /artifact
CMD echo shell form
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "$0 $-" > /shell-flags
""",
}


def _podman_argv(tmp) -> list[str]:
    return ["podman", "--root", str(tmp / "storage"), "--runroot", str(tmp / "prun"), "--storage-driver", "vfs",
            "--cgroup-manager", "cgroupfs", "--events-backend", "none"]


@pytest.fixture(scope="module")
def podman(tmp_path_factory, busybox_tar):
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    tmp = tmp_path_factory.mktemp("podman")
    argv = _podman_argv(tmp)
    r = subprocess.run([*argv, "import", "--change", f"ENV {PATH_ENV}", "--change", 'CMD ["sh"]', str(busybox_tar),
                        "localhost/busybox:latest"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        pytest.skip(f"podman cannot import here: {r.stderr.strip()[-200:]}")
    probe = tmp / "probe"
    probe.mkdir()
    (probe / "Dockerfile").write_text("FROM localhost/busybox\nRUN true\n")
    r = subprocess.run([*argv, "build", "--network", "none", "-t", "probe", str(probe)], capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip(f"podman build does not work here: {r.stderr.strip()[-300:]}")
    yield argv
    subprocess.run([*argv, "system", "reset", "-f"], capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def tug_store(tmp_path_factory, busybox_tar):
    from conftest import Tug

    base = tmp_path_factory.mktemp("tug-peer")
    t = Tug(base / "root", base / "run")
    t("import", "--change", f"ENV {PATH_ENV}", "--change", 'CMD ["sh"]', str(busybox_tar),
      "localhost/busybox:latest", check=True)
    return t


def _context(tmp, name: str):
    ctx = tmp / name
    (ctx / "dir" / "sub").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(CASES[name])
    (ctx / "f.txt").write_text("file\n")
    (ctx / "dir" / "a").write_text("a\n")
    (ctx / "dir" / "sub" / "b").write_text("b\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("in/tar.txt")
        ti.size, ti.mode, ti.uid, ti.gid = 4, 0o600, 5, 6
        tf.addfile(ti, io.BytesIO(b"tar\n"))
    (ctx / "arch.tar").write_bytes(buf.getvalue())
    for p in ctx.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return ctx


def _tree(tar_bytes: bytes) -> dict[str, tuple]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tf:
        for ti in tf:
            name = ti.name.strip("/").removeprefix("./")
            if not name or any(name == p or name.startswith(p + "/") for p in RUNTIME_PATHS):
                continue
            data = tf.extractfile(ti).read() if ti.isreg() else b""
            out[name] = (ti.type, ti.mode & 0o7777, ti.uid, ti.gid, ti.linkname, data)
    return out


def _peer_config(argv: list[str], image: str) -> dict:
    """The image config as stored (podman's inspect leaves Healthcheck out of Config)."""
    store = f"containers-storage:[vfs@{argv[2]}+{argv[4]}]localhost/{image}"
    if shutil.which("skopeo"):
        r = subprocess.run(["skopeo", "inspect", "--raw", "--config", store], capture_output=True, text=True)
        if r.returncode == 0:
            return json.loads(r.stdout).get("config") or {}
    doc = json.loads(subprocess.run([*argv, "image", "inspect", image], capture_output=True, text=True,
                                    check=True).stdout)[0]
    return {**doc["Config"], "Healthcheck": doc.get("HealthCheck")}


def _exported(argv: list[str], image: str) -> bytes:
    ctr = subprocess.run([*argv, "create", image, "true"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        return subprocess.run([*argv, "export", ctr], capture_output=True, check=True).stdout
    finally:
        subprocess.run([*argv, "rm", "-f", ctr], capture_output=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_config_and_files_as_podman_build(name, podman, tug_store, tmp_path):
    from conftest import TUG

    ctx = _context(tmp_path, name)
    r = subprocess.run([*podman, "build", "--format", "docker", "--network", "none", "-t", f"peer-{name}", str(ctx)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    tug_store("build", "--network", "none", "-t", f"peer-{name}", str(ctx), check=True, timeout=300)
    theirs = _peer_config(podman, f"peer-{name}")
    ours = json.loads(tug_store("image", "inspect", f"peer-{name}", check=True).stdout)[0]["Config"]
    labels = {k: v for k, v in (theirs.get("Labels") or {}).items() if not k.startswith("io.buildah.")}
    theirs["Labels"] = labels or None
    for key in KEYS:
        assert (ours.get(key) or None) == (theirs.get(key) or None), key
    ctr = tug_store("create", f"peer-{name}", "true", check=True).stdout.strip()
    try:
        ours_tar = subprocess.run([TUG, "export", ctr], env=tug_store.env, capture_output=True, check=True).stdout
    finally:
        tug_store("rm", "-f", ctr)
    mine, peer = _tree(ours_tar), _tree(_exported(podman, f"peer-{name}"))
    assert sorted(set(mine) ^ set(peer)) == []
    diffs = [p for p in mine if mine[p] != peer[p]]
    assert diffs == [], [(p, mine[p][:5], peer[p][:5]) for p in diffs[:5]]
