"""Rootless mode's decisions (tug.engine.rootless): default dirs, what a rootless container may have, the spec."""

import pytest

from tug.engine import rootless
from tug.errors import Invalid
from tug.spec.options import RunOptions


def test_default_dirs_follow_xdg_then_home():
    assert rootless.default_dirs({"HOME": "/h"}, 1000, "/pw") == ("/h/.local/share/tug", "/tmp/tug-1000")
    assert rootless.default_dirs({}, 1000, "/pw") == ("/pw/.local/share/tug", "/tmp/tug-1000")
    env = {"HOME": "/h", "XDG_DATA_HOME": "/d", "XDG_RUNTIME_DIR": "/run/user/1000"}
    assert rootless.default_dirs(env, 1000, "/pw") == ("/d/tug", "/run/user/1000/tug")


@pytest.mark.parametrize("network", ["none", "host", "slirp4netns", "slirp4netns:mtu=1500", "container:x"])
def test_networks_kept(network):
    opts = RunOptions(network=network)
    rootless.adjust_options(opts)
    assert opts.network == network


@pytest.mark.parametrize("network", ["bridge", "default", ""])
def test_default_network_is_none(network):
    opts = RunOptions(network=network)
    rootless.adjust_options(opts)
    assert opts.network == "none"


@pytest.mark.parametrize("opts,words", [(RunOptions(network="net1"), "needs root"),
                                        (RunOptions(network="slirp4netnsx"), "needs root"),
                                        (RunOptions(memory="32m"), "--memory needs a cgroup"),
                                        (RunOptions(pids_limit=10), "--pids-limit"),
                                        (RunOptions(publish=["80"]), "publishing")])
def test_refused(opts, words):
    with pytest.raises(Invalid, match=words):
        rootless.adjust_options(opts)


def test_keep_id_runs_as_the_user_unless_told(monkeypatch):
    monkeypatch.setenv(rootless.ENV_OUTER, "1234:1235")
    opts = RunOptions(userns="keep-id")
    rootless.adjust_options(opts)
    assert opts.user == "1234:1235"
    opts = RunOptions(userns="keep-id", user="0")
    rootless.adjust_options(opts)
    assert opts.user == "0"


def test_spec_without_cgroups_and_sysfs_bound_with_host_network():
    spec = {"linux": {"cgroupsPath": "/tug/x", "resources": {"devices": []}, "namespaces": [{"type": "mount"}]},
            "mounts": [{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]}]}
    rootless.adjust_spec(spec)
    assert "cgroupsPath" not in spec["linux"] and "resources" not in spec["linux"]
    assert spec["mounts"][0]["type"] == "bind" and spec["mounts"][0]["source"] == "/sys"
    assert "rbind" in spec["mounts"][0]["options"] and "ro" in spec["mounts"][0]["options"]
    private = {"linux": {"namespaces": [{"type": "network"}]}, "mounts": [{"destination": "/sys", "type": "sysfs"}]}
    rootless.adjust_spec(private)
    assert private["mounts"][0]["type"] == "sysfs"  # a namespace of its own may mount a new sysfs
