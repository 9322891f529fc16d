"""The registry client against Debian's docker-registry: resolve and fetch what skopeo pushed (v2s2, OCI, index)."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
import registry_fixtures as rf
from registry_fixtures import *  # noqa: F403 - the session fixtures

from tug.errors import NotFound
from tug.oci import mediatypes as mt
from tug.oci.image_config import ImageConfig
from tug.oci.manifest import Index, Manifest
from tug.oci.reference import parse
from tug.registry import progress
from tug.registry.client import RegistryClient
from tug.registry.config import RegistryConfig
from tug.registry.sink import BytesSink


def client(**kw) -> RegistryClient:
    return RegistryClient(RegistryConfig(retries=1, max_retry_wait=2, **kw), sleep=lambda s: None)


@pytest.mark.parametrize("repo,media_type", [("busybox", mt.DOCKER_MANIFEST), ("oci/busybox", mt.OCI_MANIFEST)])
def test_resolve_and_fetch_image(pushed_images, repo, media_type):
    host = pushed_images.registry.host
    ref = parse(f"{host}/{repo}:latest")
    c = client()
    r = c.resolve(ref)
    assert r.media_type == media_type
    assert str(r.descriptor.digest) == rf.skopeo_inspect(f"{host}/{repo}:latest")["Digest"]
    man = r.parse()
    assert isinstance(man, Manifest) and len(man.layers) == 1
    config = ImageConfig.parse(c.fetch_blob_bytes(ref, man.config))
    assert config.architecture == "amd64" and config.os == "linux" and config.cmd == ["sh"]

    sinks: dict[str, BytesSink] = {}
    events: list[progress.ProgressEvent] = []

    def make(desc):
        sinks[str(desc.digest)] = BytesSink(desc)
        return sinks[str(desc.digest)]

    got = c.fetch_blobs_parallel(ref, man.layers, make, on_event=events.append,
                                 on_complete=lambda d, s: s.verify())
    layer = man.layers[0]
    assert got == {str(layer.digest): layer.size}
    data = sinks[str(layer.digest)].getvalue()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tf:
        names = tf.getnames()
    assert any(n.endswith("bin/busybox") for n in names)
    states = [e.state for e in events]
    assert states[0] == progress.PULLING_FS_LAYER and states[-2:] == [progress.VERIFYING, progress.DOWNLOAD_COMPLETE]
    assert progress.DOWNLOADING in states and events[-1].current == layer.size
    assert {e.id for e in events} == {layer.digest.hex[:12]}


def test_resolve_by_digest_and_head(pushed_images):
    host = pushed_images.registry.host
    c = client()
    tagged = c.resolve(parse(f"{host}/oci/busybox:latest"))
    by_digest = c.resolve(parse(f"{host}/oci/busybox@{tagged.descriptor.digest}"))
    assert by_digest.raw == tagged.raw
    head = c.head(parse(f"{host}/oci/busybox:latest"))
    assert head is not None and head.digest == tagged.descriptor.digest and head.size == len(tagged.raw)
    assert c.head(parse(f"{host}/oci/busybox:nope")) is None


def test_index_follows_platform(pushed_images):
    host = pushed_images.registry.host
    c = client()
    ref = parse(f"{host}/oci/multi:latest")
    top = c.resolve(ref)
    assert top.is_index and top.descriptor.digest == pushed_images.oci_index_digest
    assert isinstance(top.parse(), Index)
    amd = c.resolve_image(ref, "linux/amd64")
    arm = c.resolve_image(ref, "linux/arm64/v8")
    assert amd.index is not None and amd.index.descriptor.digest == top.descriptor.digest
    assert amd.manifest.descriptor.digest == c.resolve(parse(f"{host}/oci/busybox:latest")).descriptor.digest
    assert arm.manifest.descriptor.digest == c.resolve(parse(f"{host}/oci/busybox:arm64")).descriptor.digest
    arm_config = ImageConfig.parse(c.fetch_blob_bytes(ref, arm.manifest.parse().config))
    assert arm_config.architecture == "arm64"
    with pytest.raises(NotFound, match="offered: linux/amd64, linux/arm64"):
        c.resolve_image(ref, "linux/s390x")
    # skopeo reads the same index
    raw = rf.skopeo_inspect(f"{host}/oci/multi:latest", True)
    assert [m["digest"] for m in raw["manifests"]] == [str(d.digest) for d in top.parse().manifests]


def test_not_found(pushed_images):
    host = pushed_images.registry.host
    c = client()
    with pytest.raises(NotFound, match="busybox:nope"):
        c.resolve(parse(f"{host}/busybox:nope"))
    with pytest.raises(NotFound):
        c.resolve(parse(f"{host}/no/such/repo:latest"))


def test_mirror_is_used_first(pushed_images):
    # the registry name does not exist: only the mirror can answer
    c = client(mirrors={"registry.invalid": [pushed_images.registry.host]})
    r = c.resolve(parse("registry.invalid/oci/busybox:latest"))
    assert r.media_type == mt.OCI_MANIFEST
    man = r.parse()
    assert c.fetch_blob_bytes(parse("registry.invalid/oci/busybox:latest"), man.config)


def test_mirror_falls_back_to_registry(pushed_images):
    host = pushed_images.registry.host
    dead = f"127.0.0.1:{rf.free_port()}"  # nothing listens there
    c = client(mirrors={host: [dead]})
    assert c.endpoints(parse(f"{host}/busybox"))[0] == dead
    r = c.resolve(parse(f"{host}/busybox:latest"))
    assert r.media_type == mt.DOCKER_MANIFEST
    assert dead not in c.endpoints(parse(f"{host}/busybox"))  # an unreachable mirror is skipped afterwards
