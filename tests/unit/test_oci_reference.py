import pytest

from tug.errors import Invalid
from tug.oci.reference import parse

CASES = [
    ("busybox", "docker.io/library/busybox:latest", "busybox"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox"),
    ("docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox"),
    ("user/app:v1", "docker.io/user/app:v1", "user/app"),
    ("quay.io/rhdp/open-adventure", "quay.io/rhdp/open-adventure:latest", "quay.io/rhdp/open-adventure"),
    ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox"),
    ("localhost/x", "localhost/x:latest", "localhost/x"),
    ("localhost:5000/ns/repo:tag", "localhost:5000/ns/repo:tag", "localhost:5000/ns/repo"),
    ("a.b-c/d__e/f-g.h:T_1.x", "a.b-c/d__e/f-g.h:T_1.x", "a.b-c/d__e/f-g.h"),
    ("open-adventure", "docker.io/library/open-adventure:latest", "open-adventure"),
]


@pytest.mark.parametrize("text,full,familiar", CASES)
def test_normalisation(text, full, familiar):
    ref = parse(text)
    assert str(ref) == full
    assert ref.familiar_name == familiar


def test_digest_reference():
    d = "sha256:" + "a" * 64
    ref = parse(f"busybox@{d}")
    assert ref.tag is None and str(ref.digest) == d
    ref = parse(f"busybox:1@{d}")
    assert ref.tag == "1" and str(ref.digest) == d


@pytest.mark.parametrize("bad", ["", "UPPER", "a//b", "-a", "a:", "a:-tag", "busybox@sha256:123", "a b", ":tag",
                                 "host:port/x", "x/Y"])
def test_invalid(bad):
    with pytest.raises(Invalid):
        parse(bad)
