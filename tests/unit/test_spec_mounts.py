"""-v / --mount / --tmpfs parsing (docker's forms and errors) and the assembled mount list."""

import pytest

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.spec.generate import generate
from tug.spec.host import HostFacts
from tug.spec.mount_flags import MountRequest, parse_mount, parse_tmpfs, parse_volume, requested_mounts
from tug.spec.options import RunOptions

IMAGE = ImageConfig({"config": {"Cmd": ["sh"]}})


def host(**kw):
    base = dict(container_id="m" * 64, rootfs="rootfs", hostname_default="m" * 12, container_dir="/ctr/m",
                volume_paths={"data": "/store/volumes/data/_data"})
    base.update(kw)
    return HostFacts(**base)


def mounts_of(**opts):
    return generate(IMAGE, RunOptions(**opts), host())["mounts"]


VOLUME_CASES = [
    ("/h:/c", MountRequest("bind", "/c", "/h", create_source=True)),
    ("/h:/c:ro", MountRequest("bind", "/c", "/h", readonly=True, create_source=True)),
    ("/h:/c:rw", MountRequest("bind", "/c", "/h", create_source=True)),
    ("/h:/c:", MountRequest("bind", "/c", "/h", create_source=True)),  # an empty mode is accepted
    ("/h/:/c/x/../y:ro,rshared", MountRequest("bind", "/c/y", "/h", readonly=True, propagation="rshared",
                                              create_source=True)),
    ("/h:/c:z", MountRequest("bind", "/c", "/h", create_source=True)),
    ("/h:/c:Z,ro,delegated", MountRequest("bind", "/c", "/h", readonly=True, create_source=True)),
    ("data:/c", MountRequest("volume", "/c", "data")),
    ("data:/c:ro,nocopy", MountRequest("volume", "/c", "data", readonly=True, nocopy=True)),
    ("/c", MountRequest("volume", "/c", "")),
]


@pytest.mark.parametrize("raw,want", VOLUME_CASES)
def test_volume_forms(raw, want):
    assert parse_volume(raw) == want


@pytest.mark.parametrize("raw,msg", [
    ("", "invalid volume specification: ''"),
    (":/c", "invalid volume specification"),
    ("/c:rw", "invalid volume specification: '/c:rw'"),  # destination + mode without a source
    ("/h:/c:ro:x", "invalid volume specification"),
    ("/h:/c:bogus", "invalid mode: bogus"),
    ("/h:/c:ro,rw", "invalid mode: ro,rw"),
    ("/h:/c:shared,slave", "invalid mode"),
    ("/h:c", "mount path must be absolute"),
    ("/h:/", "destination can't be '/'"),
    ("data:/c:rshared", "BindOptions"),
    ("/h:/c:nocopy", "VolumeOptions"),
    ("./rel:/c", "includes invalid characters for a local volume name"),
    ("a:/c", "includes invalid characters"),  # volume names are at least 2 characters
])
def test_volume_errors(raw, msg):
    with pytest.raises(Invalid, match=msg.replace("(", r"\(").replace(")", r"\)")):
        parse_volume(raw)


MOUNT_CASES = [
    ("type=bind,src=/h,dst=/c", MountRequest("bind", "/c", "/h", origin="--mount")),
    ("type=bind,source=/h,target=/c,readonly", MountRequest("bind", "/c", "/h", readonly=True, origin="--mount")),
    ("type=bind,source=/h,destination=/c,ro=true,bind-propagation=rslave",
     MountRequest("bind", "/c", "/h", readonly=True, propagation="rslave", origin="--mount")),
    ("type=bind,src=/h,dst=/c,bind-recursive=disabled",
     MountRequest("bind", "/c", "/h", recursive="disabled", origin="--mount")),
    ("type=bind,src=/h,dst=/c,bind-create-src", MountRequest("bind", "/c", "/h", create_source=True, origin="--mount")),
    ("TYPE=BIND,src=/h,dst=/c,readonly=false", MountRequest("bind", "/c", "/h", origin="--mount")),
    ("type=bind,src=./sub,dst=/c", MountRequest("bind", "/c", "/work/dir/sub", origin="--mount")),
    ("src=data,dst=/c", MountRequest("volume", "/c", "data", origin="--mount")),  # volume is the default type
    ("type=volume,dst=/c", MountRequest("volume", "/c", "", origin="--mount")),
    ("type=volume,src=data,dst=/c,volume-subpath=sub/dir,volume-nocopy",
     MountRequest("volume", "/c", "data", nocopy=True, subpath="sub/dir", origin="--mount")),
    ('"type=bind","src=/h,with,commas",dst=/c', MountRequest("bind", "/c", "/h,with,commas", origin="--mount")),
]


@pytest.mark.parametrize("raw,want", MOUNT_CASES)
def test_mount_forms(raw, want):
    assert parse_mount(raw, caller_cwd="/work/dir") == want


def test_mount_tmpfs():
    r = parse_mount("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770")
    assert r.kind == "tmpfs" and r.target == "/t"
    assert r.tmpfs_options == ("noexec", "nosuid", "nodev", "rprivate", "mode=1770", "size=64m")
    r = parse_mount("type=tmpfs,dst=/t,readonly,tmpfs-size=1000")
    assert r.tmpfs_options == ("noexec", "nosuid", "nodev", "rprivate", "ro", "size=1000")


@pytest.mark.parametrize("raw,msg", [
    ("", "value is empty"),
    ("type=bind,dst=/c", "field Source must not be empty"),
    ("type=bind,src=/h", "field Target must not be empty"),
    ("type=bind,src=rel,dst=/c", "mount path must be absolute"),
    ("type=bind,src=/h,dst=rel", "mount path must be absolute"),
    ("type=bind,src=/h,dst=/", "destination can't be '/'"),
    ("type=bind,src=/h,dst=/c,bind-propagation=weird", "invalid propagation mode: weird"),
    ("type=tmpfs,src=/h,dst=/c", "field Source must not be specified"),
    ("type=tmpfs,dst=/c,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
    ("type=tmpfs,dst=/c,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"),
    ("type=volume,dst=/c,bind-propagation=shared", "cannot mix 'bind-\\*' options with mount type 'volume'"),
    ("type=bind,src=/h,dst=/c,tmpfs-size=1m", "cannot mix 'tmpfs-\\*' options with mount type 'bind'"),
    ("type=bind,src=/h,dst=/c,volume-nocopy", "cannot mix 'volume-\\*' options"),
    ("type=floppy,dst=/c", "mount type unknown"),
    ("type=bind,src=/h,dst=/c,colour=red", "unknown option 'colour'"),
    ("type=bind,src=/h,dst", "invalid field 'dst' must be a key=value pair"),
    ("type=bind,src=,dst=/c", "invalid value for 'src': value is empty"),
    ("type=bind, src=/h,dst=/c", "option should not have whitespace"),
    ("type=bind,src=/h,dst=/c,readonly=yes", "invalid boolean value"),
    ("type=bind,src=/h,dst=/c,bind-recursive=writable", "requires 'readonly'"),
    ("type=bind,src=/h,dst=/c,bind-nonrecursive", "deprecated"),
    ("type=volume,dst=/c,volume-subpath=x", "anonymous volumes"),
    ("type=volume,src=data,dst=/c,volume-subpath=../x", "subpath must be a relative path"),
    ("type=volume,src=data,dst=/c,volume-driver=nfs", "not supported"),
])
def test_mount_errors(raw, msg):
    with pytest.raises(Invalid, match=msg):
        parse_mount(raw)


@pytest.mark.parametrize("raw,want", [
    ("/run", ("noexec", "nosuid", "nodev", "rprivate")),
    ("/run:rw,size=64k", ("noexec", "nosuid", "nodev", "rprivate", "rw", "size=64k")),
    ("/run:exec,mode=1777", ("nosuid", "nodev", "rprivate", "exec", "mode=1777")),  # exec replaces noexec
    ("/run:size=1m,size=2m", ("noexec", "nosuid", "nodev", "rprivate", "size=2m")),
    ("/run:shared", ("noexec", "nosuid", "nodev", "shared")),
])
def test_tmpfs_forms(raw, want):
    r = parse_tmpfs(raw)
    assert (r.kind, r.target, r.tmpfs_options) == ("tmpfs", "/run", want)


@pytest.mark.parametrize("raw,msg", [("run", "must be absolute"), ("/", "can't be '/'"),
                                     ("/run:bogus", "invalid tmpfs option 'bogus'"),
                                     ("/run:uid", "invalid tmpfs option 'uid'")])
def test_tmpfs_errors(raw, msg):
    with pytest.raises(Invalid, match=msg):
        parse_tmpfs(raw)


def test_duplicate_mount_point():
    with pytest.raises(Invalid, match="Duplicate mount point: /c"):
        requested_mounts(RunOptions(volumes=["/a:/c"], tmpfs=["/c"]))


def test_image_volumes_become_anonymous_requests():
    image = ImageConfig({"config": {"Cmd": ["sh"], "Volumes": {"/var/lib/db": {}, "/covered": {}}}})
    reqs = requested_mounts(RunOptions(volumes=["/h:/covered"]), image)
    assert [(r.kind, r.target, r.source, r.origin) for r in reqs] == [
        ("bind", "/covered", "/h", "-v"), ("volume", "/var/lib/db", "", "image VOLUME")]


DEFAULT_DESTS = ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm",
                 "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]


def test_default_mounts_exactly():
    ms = mounts_of()
    assert [m["destination"] for m in ms] == DEFAULT_DESTS
    by = {m["destination"]: m for m in ms}
    assert by["/dev"] == {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                          "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}
    assert by["/dev/pts"]["options"] == ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
    assert by["/sys"]["options"] == ["nosuid", "noexec", "nodev", "ro"]
    assert by["/sys/fs/cgroup"]["type"] == "cgroup" and "ro" in by["/sys/fs/cgroup"]["options"]
    assert by["/dev/shm"]["options"][-1] == "size=67108864"
    assert by["/etc/hosts"] == {"destination": "/etc/hosts", "type": "bind", "source": "/ctr/m/hosts",
                                "options": ["rbind", "rprivate"]}


def test_shm_size_and_ipc_modes():
    by = {m["destination"]: m for m in mounts_of(shm_size="128m")}
    assert by["/dev/shm"]["options"][-1] == f"size={128 * 1024 * 1024}"
    assert "/dev/shm" not in [m["destination"] for m in mounts_of(ipc="none")]
    host_shm = {m["destination"]: m for m in mounts_of(ipc="host")}["/dev/shm"]
    assert host_shm["type"] == "bind" and host_shm["source"] == "/dev/shm"


def test_user_mounts_in_spec():
    ms = mounts_of(volumes=["/h:/c:ro", "data:/d", "/x:/a/b/c:rslave"], tmpfs=["/t:size=1m"],
                   mounts=["type=bind,src=/y,dst=/e,bind-recursive=disabled"])
    by = {m["destination"]: m for m in ms}
    assert by["/c"] == {"destination": "/c", "type": "bind", "source": "/h", "options": ["rbind", "ro", "rprivate"]}
    assert by["/d"]["source"] == "/store/volumes/data/_data" and by["/d"]["type"] == "bind"
    assert by["/e"]["options"] == ["bind", "rprivate"]
    assert by["/a/b/c"]["options"] == ["rbind", "rslave"]
    assert by["/t"] == {"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                        "options": ["noexec", "nosuid", "nodev", "rprivate", "size=1m"]}
    dests = [m["destination"] for m in ms]
    assert dests.index("/a/b/c") > dests.index("/c")  # shallower destinations first
    spec = generate(IMAGE, RunOptions(volumes=["/x:/a/b/c:rslave"]), host())
    assert spec["linux"]["rootfsPropagation"] == "slave"


def test_recursive_readonly_when_supported():
    spec = generate(IMAGE, RunOptions(volumes=["/h:/c:ro"]), host(recursive_readonly=True))
    assert next(m for m in spec["mounts"] if m["destination"] == "/c")["options"] == ["rbind", "rro", "rprivate"]


def test_user_mount_replaces_default():
    ms = mounts_of(volumes=["/myhosts:/etc/hosts:ro"], tmpfs=["/dev/shm:size=1m"])
    assert [m["source"] for m in ms if m["destination"] == "/etc/hosts"] == ["/myhosts"]
    assert [m["type"] for m in ms if m["destination"] == "/dev/shm"] == ["tmpfs"]
    assert len([m for m in ms if m["destination"] == "/dev/shm"]) == 1
    ms = mounts_of(volumes=["/hostdev:/dev"])
    assert not any(m["destination"].startswith("/dev/") for m in ms)


def test_named_volume_must_be_resolved():
    with pytest.raises(Invalid, match="volume other"):
        mounts_of(volumes=["other:/c"])


def test_anonymous_volume_paths():
    image = ImageConfig({"config": {"Cmd": ["sh"], "Volumes": {"/db": {}}}})
    res = generate(image, RunOptions(volumes=["/scratch"]),
                   host(anonymous_volume_paths={"/scratch": "/v/1", "/db": "/v/2"}))
    by = {m["destination"]: m["source"] for m in res["mounts"]}
    assert by["/scratch"] == "/v/1" and by["/db"] == "/v/2"
