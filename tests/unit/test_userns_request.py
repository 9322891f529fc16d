"""What the monitor idmaps and creates for a --userns container (tug.engine.userns.idmap_request)."""

from pathlib import Path

from tug.engine.userns import idmap_request

MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]
GMAP = [{"containerID": 0, "hostID": 200000, "size": 65536}]


def _spec(mounts, cwd="/", user=True):
    namespaces = [{"type": "mount"}] + ([{"type": "user"}] if user else [])
    return {"process": {"cwd": cwd}, "mounts": mounts,
            "linux": {"namespaces": namespaces, "uidMappings": MAP, "gidMappings": GMAP}}


def test_none_without_a_new_user_namespace(tmp_path):
    assert idmap_request(_spec([], user=False), [], tmp_path / "c", tmp_path) is None


def test_paths_mount_points_and_root_ids(tmp_path):
    vol = tmp_path / "volumes" / "v" / "_data"
    vol.mkdir(parents=True)
    hosts = tmp_path / "c" / "hosts"
    hosts.parent.mkdir()
    hosts.write_text("")
    other = tmp_path / "elsewhere"
    other.mkdir()
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts"},
        {"destination": "/etc/hosts", "type": "bind", "source": str(hosts), "options": ["rbind"]},
        {"destination": "/data", "type": "bind", "source": str(vol), "options": ["rbind"]},
        {"destination": "/host", "type": "bind", "source": str(other), "options": ["rbind"]},
    ]
    lowers = [Path("/s/a/fs"), Path("/s/b/fs")]
    req = idmap_request(_spec(mounts, cwd="/work/dir"), lowers, tmp_path / "c", tmp_path)
    # layers, the container's dir and the store's volumes are idmapped; a host dir bound in is not
    assert req["paths"] == ["/s/a/fs", "/s/b/fs", str(tmp_path / "c"), str(vol)] and req["lowers"] == 2
    assert req["root"] == [100000, 200000]
    # /dev/pts is on /dev's tmpfs: not created in the rootfs; a bound file gets a file; the working dir last
    assert req["mountpoints"] == [["/proc", "dir"], ["/dev", "dir"], ["/etc/hosts", "file"], ["/data", "dir"],
                                  ["/host", "dir"], ["/work/dir", "dir"]]
