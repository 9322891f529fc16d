"""`tug pull -a` and `tug push -a` against Debian's docker-registry on loopback, checked with skopeo."""

from __future__ import annotations

import json
import subprocess

import registry_fixtures as rf
from registry_fixtures import *  # noqa: F403 - the session fixtures


def test_push_all_tags_then_pull_all_tags(busybox_tug, tug, plain_registry, pushed_images):
    host = plain_registry.host
    repo = f"{host}/alltags/bb"
    for tag in ("1", "2", "three"):
        busybox_tug("tag", "busybox", f"{repo}:{tag}", check=True)
    busybox_tug("tag", "busybox", f"{host}/alltags/other:9", check=True)  # another repository: not pushed
    r = busybox_tug("push", "-a", f"{repo}:1")
    assert r.returncode == 1 and "tag can't be used with --all-tags/-a" in r.stderr
    busybox_tug("push", "-a", repo, check=True)
    listed = subprocess.run(["skopeo", "list-tags", "--tls-verify=false", f"docker://{repo}"], capture_output=True,
                            text=True, check=True, timeout=60)
    assert sorted(json.loads(listed.stdout)["Tags"]) == ["1", "2", "three"]
    assert rf.skopeo_inspect(f"{repo}:three")["Digest"] == rf.skopeo_inspect(f"{repo}:1")["Digest"]
    # pull -a into an empty store: every listed tag, one image
    r = tug("pull", "-a", repo, check=True)
    assert r.stdout.strip().splitlines()[-1] == repo
    tags = tug("images", "--format", "{{.Tag}}", repo, check=True).stdout.split()
    assert sorted(tags) == ["1", "2", "three"]
    assert len(set(tug("images", "-q", check=True).stdout.split())) == 1
    r = tug("pull", "-a", f"{repo}:latest")
    assert r.returncode == 1 and "tag can't be used with --all-tags/-a" in r.stderr
    r = tug("pull", "-a", f"{host}/alltags/nothing-here")
    assert r.returncode == 1 and r.stderr.startswith("tug: ")
