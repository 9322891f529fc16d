import pytest

from tug.errors import Invalid
from tug.oci.reference import parse

# -- edge cases the registry client relies on ---------------------------------------------------------------------

@pytest.mark.parametrize("text,registry,repository,obj", [
    ("busybox", "docker.io", "library/busybox", "latest"),
    ("registry-1.docker.io/library/busybox:1", "docker.io", "library/busybox", "1"),
    ("[::1]:5000/busybox:v1", "[::1]:5000", "busybox", "v1"),
    ("localhost:5000/a/b/c/d", "localhost:5000", "a/b/c/d", "latest"),
    ("127.0.0.1:5000/oci/busybox@sha256:" + "f" * 64, "127.0.0.1:5000", "oci/busybox", "sha256:" + "f" * 64),
    ("quay.io/x/y:t@sha256:" + "f" * 64, "quay.io", "x/y", "sha256:" + "f" * 64),
    ("gcr.io/p/img:" + "t" * 128, "gcr.io", "p/img", "t" * 128),
])
def test_registry_parts(text, registry, repository, obj):
    ref = parse(text)
    assert (ref.registry, ref.repository, ref.object) == (registry, repository, obj)


@pytest.mark.parametrize("bad", ["busybox:" + "t" * 129, "quay.io/x/y@sha256:" + "F" * 64, "a@sha256:" + "a" * 63,
                                 "host:5000/", "x/@sha256:" + "a" * 64, "a..b/c", "-host/x"])
def test_more_invalid(bad):
    with pytest.raises(Invalid):
        parse(bad)


def test_with_digest_drops_tag():
    from tug.oci.digest import Digest

    ref = parse("busybox:1").with_digest(Digest("sha256", "a" * 64))
    assert ref.tag is None and ref.object == "sha256:" + "a" * 64
