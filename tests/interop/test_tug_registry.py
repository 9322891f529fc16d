"""`tug pull`, `tug push`, `tug login` against Debian's docker-registry on loopback, checked with skopeo."""

from __future__ import annotations

import json

import registry_fixtures as rf
from registry_fixtures import *  # noqa: F403 - the session fixtures


def test_pull_v2s2_oci_and_index_then_run(tug, pushed_images):
    host = pushed_images.registry.host
    for repo in ("busybox", "oci/busybox", "oci/multi"):
        r = tug("pull", f"{host}/{repo}")
        assert r.returncode == 0, r.stderr
        assert f"Status: Downloaded newer image for {host}/{repo}:latest" in r.stdout \
            or "Image is up to date" in r.stdout
        assert r.stdout.strip().splitlines()[-1] == f"{host}/{repo}:latest"
        run = tug("run", "--rm", f"{host}/{repo}", "echo", "ran")
        assert run.returncode == 0, run.stderr
        assert run.stdout == "ran\n"
    # RepoDigests agree with what the registry serves
    want = rf.skopeo_inspect(f"{host}/busybox:latest")["Digest"]
    doc = json.loads(tug("image", "inspect", f"{host}/busybox").stdout)[0]
    assert f"{host}/busybox@{want}" in doc["RepoDigests"]
    assert want in tug("images", "--digests").stdout


def test_pull_twice_fetches_nothing_new(tug, pushed_images):
    host = pushed_images.registry.host
    assert tug("pull", "-q", f"{host}/busybox").returncode == 0
    r = tug("pull", f"{host}/oci/busybox")
    assert r.returncode == 0
    assert "Already exists" in r.stdout


def test_run_pulls_missing_image_and_pull_never_fails(tug, pushed_images):
    host = pushed_images.registry.host
    r = tug("run", "--rm", "--pull", "never", f"{host}/busybox", "true")
    assert r.returncode == 125
    r = tug("run", "--rm", f"{host}/busybox", "echo", "pulled")
    assert r.returncode == 0, r.stderr
    assert "Unable to find image" in r.stderr
    assert r.stdout == "pulled\n"


def test_unknown_image_is_one_clear_line(tug, pushed_images):
    host = pushed_images.registry.host
    r = tug("pull", f"{host}/nosuch")
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert "nosuch" in last


def test_push_reads_back_with_skopeo(busybox_tug, plain_registry, tmp_path):
    host = plain_registry.host
    assert busybox_tug("tag", "busybox", f"{host}/pushed/busybox:1").returncode == 0
    r = busybox_tug("push", f"{host}/pushed/busybox:1")
    assert r.returncode == 0, r.stderr
    line = [x for x in r.stdout.splitlines() if "digest:" in x][-1]
    digest = line.split("digest: ")[1].split()[0]
    assert rf.skopeo_inspect(f"{host}/pushed/busybox:1")["Digest"] == digest
    rf.skopeo_copy(f"docker://{host}/pushed/busybox:1", f"oci:{tmp_path / 'copy'}:x", "--src-tls-verify=false")
    # pushing again finds every layer present
    again = busybox_tug("push", f"{host}/pushed/busybox:1")
    assert again.returncode == 0 and "Layer already exists" in again.stdout


def test_login_against_tls_registry_with_htpasswd(tug, tls_registry, tmp_path):
    env_home = tmp_path / "dockercfg"
    host = tls_registry.host
    t = tug
    env = {**t.env, "DOCKER_CONFIG": str(env_home)}

    def run(*args, stdin=None):
        import subprocess

        from conftest import TUG

        return subprocess.run([TUG, *args], env=env, capture_output=True, text=True, input=stdin, timeout=60)

    bad = run("login", "--tls-verify=false", "-u", rf.USER, "--password-stdin", host, stdin="wrong\n")
    assert bad.returncode != 0
    assert not (env_home / "config.json").exists()
    good = run("login", "--tls-verify=false", "-u", rf.USER, "--password-stdin", host, stdin=rf.PASSWORD + "\n")
    assert good.returncode == 0, good.stderr
    assert "Login Succeeded" in good.stdout
    cfg = env_home / "config.json"
    assert oct(cfg.stat().st_mode & 0o777) == "0o600"
    assert host in json.loads(cfg.read_text())["auths"]
    assert rf.PASSWORD not in good.stdout + good.stderr
    out = run("logout", host)
    assert out.returncode == 0
    assert host not in json.loads(cfg.read_text()).get("auths", {})
