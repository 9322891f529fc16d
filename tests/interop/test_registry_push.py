"""Pushing with the registry client to docker-registry; skopeo reads back what we pushed with the same digests."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
import registry_fixtures as rf
from registry_fixtures import *  # noqa: F403 - the session fixtures

from tug.errors import Corrupt
from tug.oci import mediatypes as mt
from tug.oci.reference import parse
from tug.registry.client import RegistryClient
from tug.registry.config import RegistryConfig


def client(**kw) -> RegistryClient:
    return RegistryClient(RegistryConfig(retries=1, max_retry_wait=2, **kw), sleep=lambda s: None)


def blobs_of(c: RegistryClient, ref):
    r = c.resolve(ref)
    man = r.parse()
    return r, [(d, c.fetch_blob_bytes(ref, d)) for d in [man.config, *man.layers]]


@pytest.mark.parametrize("chunk_size", [0, 64 * 1024])
def test_push_image_read_back_by_skopeo(pushed_images, tmp_path, chunk_size):
    host = pushed_images.registry.host
    c = client(chunk_size=chunk_size)
    r, blobs = blobs_of(c, parse(f"{host}/oci/busybox:latest"))
    dest = parse(f"{host}/pushed{chunk_size}/busybox:v1")
    assert [c.push_blob(dest, d, lambda b=b: io.BytesIO(b)) for d, b in blobs] == ["uploaded", "uploaded"]
    assert [c.push_blob(dest, d, lambda b=b: io.BytesIO(b)) for d, b in blobs] == ["exists", "exists"]
    digest = c.push_manifest(dest, r.raw, r.media_type)
    assert digest == r.descriptor.digest
    info = rf.skopeo_inspect(f"{host}/pushed{chunk_size}/busybox:v1")
    assert info["Digest"] == str(digest)
    assert info["Layers"] == [str(d.digest) for d, _ in blobs[1:]]
    # skopeo copy pulls it whole (it verifies every blob)
    rf.skopeo_copy(f"docker://{host}/pushed{chunk_size}/busybox:v1", f"oci:{tmp_path}/out:x", "--src-tls-verify=false")
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == str(digest)


def test_cross_repository_mount(pushed_images):
    host = pushed_images.registry.host
    c = client()
    r, blobs = blobs_of(c, parse(f"{host}/busybox:latest"))
    dest = parse(f"{host}/mounted/busybox:latest")
    opened = []

    def opener(b):
        opened.append(1)
        return io.BytesIO(b)

    got = [c.push_blob(dest, d, lambda b=b: opener(b), mount_from=["busybox"]) for d, b in blobs]
    assert got == ["mounted", "mounted"] and not opened  # no byte uploaded
    c.push_manifest(dest, r.raw, r.media_type)
    assert rf.skopeo_inspect(f"{host}/mounted/busybox:latest")["Digest"] == str(r.descriptor.digest)


def test_push_bytes_that_do_not_match(pushed_images):
    host = pushed_images.registry.host
    c = client()
    _, blobs = blobs_of(c, parse(f"{host}/busybox:latest"))
    desc, data = blobs[0]
    bad = bytes(len(data))
    with pytest.raises(Corrupt, match="do not match"):
        c.push_blob(parse(f"{host}/liar/busybox:latest"), desc, lambda: io.BytesIO(bad))


def test_push_docker_manifest_list(pushed_images):
    host = pushed_images.registry.host
    c = client()
    amd = c.resolve(parse(f"{host}/busybox:latest"))
    arm = c.resolve(parse(f"{host}/busybox:arm64"))
    doc = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST, "manifests": [
        amd.descriptor.to_json() | {"platform": {"architecture": "amd64", "os": "linux"}},
        arm.descriptor.to_json() | {"platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    ]}
    raw = json.dumps(doc, indent=3).encode()
    digest = c.push_manifest(parse(f"{host}/busybox:multi"), raw, mt.DOCKER_MANIFEST_LIST)
    # by digest too
    assert c.push_manifest(parse(f"{host}/busybox@{digest}"), raw, mt.DOCKER_MANIFEST_LIST) == digest
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{host}/busybox:multi"],
                         capture_output=True, check=True).stdout
    assert out == raw
    ref = parse(f"{host}/busybox:multi")
    assert c.resolve_image(ref, "linux/arm64").manifest.descriptor.digest == arm.descriptor.digest
    assert c.resolve_image(ref, "linux/amd64").manifest.descriptor.digest == amd.descriptor.digest
