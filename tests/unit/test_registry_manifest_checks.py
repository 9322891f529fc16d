import json

import pytest

from tug.errors import Corrupt, Invalid
from tug.oci import mediatypes as mt
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest
from tug.oci.manifest import MAX_MANIFEST_BYTES
from tug.oci.reference import parse
from tug.registry.client import check_manifest
from tug.registry.sink import BytesSink, HashingSink

CFG = {"mediaType": mt.OCI_CONFIG, "digest": "sha256:" + "a" * 64, "size": 2}
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": CFG, "layers": []}).encode()
REF = parse("127.0.0.1:5000/busybox:latest")


def test_good_manifest_and_digest():
    r = check_manifest(REF, MANIFEST, mt.OCI_MANIFEST, None, "h")
    assert r.media_type == mt.OCI_MANIFEST and r.descriptor.digest == Digest.of(MANIFEST)
    assert r.descriptor.size == len(MANIFEST) and not r.is_index
    by_digest = REF.with_digest(Digest.of(MANIFEST))
    assert check_manifest(by_digest, MANIFEST, "", str(Digest.of(MANIFEST)), "h").raw == MANIFEST


def test_media_type_inferred_when_missing_or_generic():
    doc = json.dumps({"schemaVersion": 2, "config": CFG, "layers": []}).encode()
    assert check_manifest(REF, doc, "application/octet-stream", None, "h").media_type == mt.OCI_MANIFEST


@pytest.mark.parametrize("raw,ctype,err,words", [
    (b"<html><body>Login</body></html>", "text/html; charset=utf-8", Invalid, "HTML"),
    (b"  <!doctype html>", "application/json", Invalid, "HTML"),
    (json.dumps({"schemaVersion": 2, "mediaType": "application/x-weird", "config": CFG, "layers": []}).encode(),
     "application/x-weird", Invalid, "unknown manifest media type"),
    (json.dumps({"schemaVersion": 2, "config": CFG, "layers": [], "manifests": []}).encode(), mt.OCI_MANIFEST,
     Invalid, "ambiguous"),
    (MANIFEST, mt.DOCKER_MANIFEST, Invalid, "served as"),
    (b'{"schemaVersion": 1}', "application/vnd.docker.distribution.manifest.v1+prettyjws", Invalid, "schema 1"),
    (b"x" * (MAX_MANIFEST_BYTES + 1), mt.OCI_MANIFEST, Invalid, "limit"),
    (b"not json", mt.OCI_MANIFEST, Invalid, "not JSON"),
])
def test_bad_manifests(raw, ctype, err, words):
    with pytest.raises(err) as e:
        check_manifest(REF, raw, ctype, None, "h")
    assert words in str(e.value) and "\n" not in str(e.value)


def test_digest_lies():
    other = REF.with_digest(Digest("sha256", "b" * 64))
    with pytest.raises(Corrupt):
        check_manifest(other, MANIFEST, mt.OCI_MANIFEST, None, "h")
    with pytest.raises(Corrupt):
        check_manifest(REF, MANIFEST, mt.OCI_MANIFEST, "sha256:" + "c" * 64, "h")


def test_hashing_sinks():
    data = b"hello world"
    desc = Descriptor(mt.OCI_LAYER, Digest.of(data), len(data))
    s = BytesSink(desc)
    s.write(data[:5])
    s.write(data[5:])
    s.verify()
    assert s.getvalue() == data
    resumed = HashingSink(desc)
    resumed.prime(data[:3])
    resumed.write(data[3:])
    resumed.verify()
    bad = HashingSink(desc)
    bad.write(b"hello WORLD")
    with pytest.raises(Corrupt, match="digest"):
        bad.verify()
    short = HashingSink(desc)
    short.write(b"hello")
    with pytest.raises(Corrupt, match="5 bytes"):
        short.verify()
