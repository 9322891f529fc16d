"""User resolution through the image's passwd and group files, as docker does it."""

import pytest

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.spec.generate import generate
from tug.spec.host import HostFacts
from tug.spec.options import RunOptions
from tug.spec.user import resolve_user

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000:App:/home/app:/bin/sh

nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""
GROUP = """root:x:0:
daemon:x:1:
wheel:x:10:app,root
audio:x:29:app
app:x:1000:
staff:x:50:
"""

CASES = [
    # spec, uid, gid, additionalGids, home
    ("", 0, 0, [0, 10], "/root"),
    ("root", 0, 0, [0, 10], "/root"),
    ("0", 0, 0, [0, 10], "/root"),
    ("app", 1000, 1000, [1000, 10, 29], "/home/app"),
    ("1000", 1000, 1000, [1000, 10, 29], "/home/app"),
    ("app:staff", 1000, 50, [50], "/home/app"),  # explicit group: no supplementary groups
    ("app:50", 1000, 50, [50], "/home/app"),
    ("app:777", 1000, 777, [777], "/home/app"),  # numeric gid without an entry is fine
    ("4242", 4242, 0, [0], "/"),  # numeric uid without an entry
    ("4242:4343", 4242, 4343, [4343], "/"),
    ("nobody", 65534, 65534, [65534], "/nonexistent"),
]


@pytest.mark.parametrize("spec,uid,gid,extra,home", CASES)
def test_user_table(spec, uid, gid, extra, home):
    u = resolve_user(spec, PASSWD, GROUP)
    assert (u.uid, u.gid, u.additional_gids, u.home) == (uid, gid, extra, home)


def test_unknown_user_name():
    with pytest.raises(Invalid, match="unable to find user ghost: no matching entries in passwd file"):
        resolve_user("ghost", PASSWD, GROUP)


def test_unknown_group_name():
    with pytest.raises(Invalid, match="unable to find group nogroup: no matching entries in group file"):
        resolve_user("app:nogroup", PASSWD, GROUP)


def test_name_without_passwd_file():
    with pytest.raises(Invalid, match="unable to find user app"):
        resolve_user("app", None, None)
    u = resolve_user("1000:1000", None, None)
    assert (u.uid, u.gid, u.additional_gids) == (1000, 1000, [1000])


def test_group_add():
    u = resolve_user("app", PASSWD, GROUP, ["staff", "4000", "audio"])
    assert u.additional_gids == [1000, 10, 29, 50, 4000]
    with pytest.raises(Invalid, match="unable to find group nope"):
        resolve_user("app", PASSWD, GROUP, ["nope"])


def test_image_user_used_and_flag_overrides():
    h = HostFacts(container_id="u" * 64, rootfs="rootfs", hostname_default="u" * 12, container_dir="/c",
                  passwd=PASSWD, group=GROUP)
    image = ImageConfig({"config": {"Cmd": ["id"], "User": "app"}})
    assert generate(image, RunOptions(), h)["process"]["user"] == {"uid": 1000, "gid": 1000,
                                                                    "additionalGids": [1000, 10, 29]}
    assert generate(image, RunOptions(user="0"), h)["process"]["user"]["uid"] == 0
    assert generate(image, RunOptions(user=""), h)["process"]["user"]["uid"] == 1000  # -u "" keeps the image's
