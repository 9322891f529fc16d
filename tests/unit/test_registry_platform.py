import pytest

from tug.errors import Invalid, NotFound
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest
from tug.oci.platform import Platform, compatible, host_platform, normalize, select_platform


def d(n: int, platform: dict | None) -> Descriptor:
    return Descriptor("application/vnd.oci.image.manifest.v1+json", Digest("sha256", f"{n:064x}"), 100,
                      platform=platform)


INDEX = [
    d(1, {"os": "linux", "architecture": "amd64"}),
    d(2, {"os": "linux", "architecture": "arm", "variant": "v6"}),
    d(3, {"os": "linux", "architecture": "arm", "variant": "v7"}),
    d(4, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
    d(5, {"os": "linux", "architecture": "386"}),
    d(6, {"os": "windows", "architecture": "amd64", "os.version": "10.0"}),
    d(7, {"os": "unknown", "architecture": "unknown"}),
]


@pytest.mark.parametrize("want,expect", [
    ("linux/amd64", 1),
    ("linux/x86_64", 1),
    ("amd64", 1),
    ("linux/arm64", 4),
    ("linux/arm64/v8", 4),
    ("linux/aarch64", 4),
    ("linux/arm/v7", 3),
    ("linux/arm", 3),          # arm means arm/v7
    ("linux/armhf", 3),
    ("linux/arm/v6", 2),
    ("linux/armel", 2),
    ("linux/386", 5),
    ("windows/amd64", 6),
])
def test_select(want, expect):
    assert select_platform(INDEX, want).digest.hex == f"{expect:064x}"


def test_fallback_to_compatible_variant():
    only_v6 = [d(2, {"os": "linux", "architecture": "arm", "variant": "v6"})]
    assert select_platform(only_v6, "linux/arm/v7").digest.hex == f"{2:064x}"
    assert select_platform(only_v6, "linux/arm64").digest.hex == f"{2:064x}"  # arm64 runs arm32 images
    with pytest.raises(NotFound):
        select_platform(only_v6, "linux/arm/v5")  # an older cpu cannot run newer code
    assert select_platform([d(5, {"os": "linux", "architecture": "386"})], "linux/amd64").digest.hex == f"{5:064x}"


def test_exact_variant_beats_lower_one_regardless_of_order():
    idx = [d(2, {"os": "linux", "architecture": "arm", "variant": "v6"}),
           d(3, {"os": "linux", "architecture": "arm", "variant": "v7"})]
    assert select_platform(idx, "linux/arm/v7").digest.hex == f"{3:064x}"
    amd = [d(1, {"os": "linux", "architecture": "amd64"}),
           d(8, {"os": "linux", "architecture": "amd64", "variant": "v3"})]
    assert select_platform(amd, "linux/amd64/v3").digest.hex == f"{8:064x}"
    assert select_platform(amd, "linux/amd64").digest.hex == f"{1:064x}"  # v1 host cannot run v3


def test_first_of_equals_wins():
    idx = [d(1, {"os": "linux", "architecture": "amd64"}), d(9, {"os": "linux", "architecture": "amd64"})]
    assert select_platform(idx, "linux/amd64").digest.hex == f"{1:064x}"


def test_no_match_names_offered():
    with pytest.raises(NotFound) as e:
        select_platform(INDEX, "linux/s390x")
    msg = str(e.value)
    assert "linux/s390x" in msg and "linux/amd64" in msg and "linux/arm/v7" in msg and "unknown" not in msg
    assert "\n" not in msg


def test_descriptors_without_platform_are_skipped():
    with pytest.raises(NotFound, match="offered: none"):
        select_platform([d(1, None)], "linux/amd64")


@pytest.mark.parametrize("bad", ["", "linux//amd64", "a/b/c/d", "linux/am d64", "/"])
def test_parse_invalid(bad):
    with pytest.raises(Invalid):
        Platform.parse(bad)


def test_normalize_and_str():
    assert str(Platform.parse("linux/arm64/v8")) == "linux/arm64"
    assert str(Platform.parse("linux/arm/7")) == "linux/arm/v7"
    assert normalize(Platform("linux", "x86_64")) == Platform("linux", "amd64")
    assert Platform.parse("linux/arm/v7").to_json() == {"architecture": "arm", "os": "linux", "variant": "v7"}
    assert compatible(Platform("linux", "amd64", "v2"))[:3] == [
        Platform("linux", "amd64", "v2"), Platform("linux", "amd64"), Platform("linux", "386")]


def test_host_platform_is_normalised():
    p = host_platform()
    assert p.os == "linux" and p == normalize(p) and p.architecture in {"amd64", "arm64", "arm", "386", "ppc64le",
                                                                        "s390x", "riscv64"}
