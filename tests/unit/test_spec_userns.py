"""--userns modes, /etc/subuid parsing, the mappings of auto and rootless mode, and the spec they give."""

import pytest

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.spec import userns
from tug.spec.generate import generate
from tug.spec.host import HostFacts
from tug.spec.options import RunOptions

SUBUID = """# comment
alice:100000:65536
bob:165536:65536

1001:231072:65536
alice:300000:10
"""


@pytest.mark.parametrize("value,kind,size", [
    (None, "host", 65536), ("", "host", 65536), ("host", "host", 65536), ("auto", "auto", 65536),
    ("auto:size=1000", "auto", 1000), ("keep-id", "keep-id", 65536),
])
def test_parse_mode(value, kind, size):
    assert userns.parse_mode(value) == userns.Mode(kind, size)


@pytest.mark.parametrize("value", ["private", "auto:size=0", "auto:size=x", "auto:uidmapping=0:1:1", "container:x"])
def test_parse_mode_refuses(value):
    with pytest.raises(Invalid):
        userns.parse_mode(value)


def test_parse_subid_by_name_and_by_uid():
    assert userns.parse_subid(SUBUID, "alice") == [(100000, 65536), (300000, 10)]
    assert userns.parse_subid(SUBUID, "carol", 1001) == [(231072, 65536)]
    assert userns.parse_subid(SUBUID, "nobody-here") == []
    with pytest.raises(Invalid, match="line 2"):
        userns.parse_subid("ok:1:2\nbroken:line\n", "ok")


def test_auto_takes_the_first_large_enough_range_or_the_default():
    m = userns.auto_mappings(65536, [(500, 10), (200000, 65536)], [(300000, 70000)])
    assert m.uids == (userns.IdMap(0, 200000, 65536),) and m.gids == (userns.IdMap(0, 300000, 65536),)
    assert userns.auto_mappings(1000, [], []).uids == (userns.IdMap(0, userns.DEFAULT_START, 1000),)
    with pytest.raises(Invalid, match="subuid"):
        userns.auto_mappings(65536, [(500, 10)], [])


def test_rootless_mappings_put_the_caller_at_zero():
    m = userns.rootless_mappings(1000, 1001, [(100000, 65536), (300000, 10)], [(200000, 65536)])
    assert [x.text() for x in m.uids] == ["0 1000 1", "1 100000 65536", "65537 300000 10"]
    assert [x.text() for x in m.gids] == ["0 1001 1", "1 200000 65536"]
    assert m.host_uid(0) == 1000 and m.host_uid(65537) == 300000 and m.host_uid(65547) is None
    with pytest.raises(Invalid, match="subgid"):
        userns.rootless_mappings(1000, 1000, [(1, 2)], [])


def test_keep_id_inside_the_rootless_namespace():
    outer = userns.rootless_mappings(1000, 1000, [(100000, 65536)], [(100000, 65536)])
    m = userns.keep_id_mappings(1000, 1000, outer)
    assert [x.text() for x in m.uids] == ["0 1 1000", "1000 0 1", "1001 1001 64536"]
    with pytest.raises(Invalid):
        userns.keep_id_mappings(70000, 1000, outer)


def test_documents_round_trip():
    m = userns.auto_mappings(10, [], [])
    assert userns.Mappings.from_document(m.document()) == m
    assert m.document()["uidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 10}]


def _host(**kw):
    return HostFacts(container_id="9" * 64, rootfs="rootfs", hostname_default="9" * 12, container_dir="/c",
                     passwd="root:x:0:0:root:/root:/bin/sh\n", **kw)


def test_spec_gets_a_user_namespace_and_mappings_only_when_asked():
    image = ImageConfig({"config": {"Cmd": ["sh"]}})
    plain = generate(image, RunOptions(), _host())
    assert "user" not in [n["type"] for n in plain["linux"]["namespaces"]] and "uidMappings" not in plain["linux"]
    maps = userns.auto_mappings(65536, [], [])
    spec = generate(image, RunOptions(userns="auto"), _host(id_mappings=maps))
    assert {"type": "user"} in spec["linux"]["namespaces"]
    assert spec["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    assert spec["linux"]["gidMappings"] == spec["linux"]["uidMappings"]
    assert spec["process"]["user"]["uid"] == 0  # container ids in the spec; the mapping does the rest


def test_foreign_runtimes_get_sys_bound_and_no_net_sysctls():
    image = ImageConfig({"config": {"Cmd": ["sh"]}})
    maps = userns.auto_mappings(65536, [], [])
    own = generate(image, RunOptions(userns="auto"), _host(id_mappings=maps))
    assert any(m["type"] == "sysfs" for m in own["mounts"])
    assert any(k.startswith("net.") for k in own["linux"].get("sysctl", {}))  # docker's defaults, tug-runtime
    spec = generate(image, RunOptions(userns="auto", runtime="runc", sysctls=["kernel.msgmax=8192"]),
                    _host(id_mappings=maps))
    sys_mount = next(m for m in spec["mounts"] if m["destination"] == "/sys")
    assert sys_mount["type"] == "bind" and sys_mount["source"] == "/sys" and "ro" in sys_mount["options"]
    assert spec["linux"]["sysctl"] == {"kernel.msgmax": "8192"}
    plain = generate(image, RunOptions(runtime="runc"), _host())
    assert any(m["type"] == "sysfs" for m in plain["mounts"])  # without a user namespace nothing changes
