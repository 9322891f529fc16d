"""generate() as a whole: purity, warnings, and the engine's call shape."""

import copy

from tug.oci.image_config import ImageConfig
from tug.spec.generate import build, generate
from tug.spec.host import HostFacts
from tug.spec.options import RunOptions

PASSWD = "root:x:0:0:root:/root:/bin/sh\n"


def host(**kw):
    base = dict(container_id="9" * 64, rootfs="rootfs", hostname_default="9" * 12, container_dir="/c", passwd=PASSWD)
    base.update(kw)
    return HostFacts(**base)


def test_pure_same_inputs_same_output_inputs_untouched():
    image = ImageConfig({"config": {"Cmd": ["sh"], "Env": ["A=1"], "Volumes": {"/v": {}}}})
    opts = RunOptions(env=["B=2"], volumes=["/h:/c"], cap_add=["NET_ADMIN"], ulimits=["nofile=10"])
    h = host(anonymous_volume_paths={"/v": "/anon"}, rlimits_hard={"RLIMIT_NOFILE": 100})
    before = (copy.deepcopy(image.raw), copy.deepcopy(opts))
    first = generate(image, opts, h)
    second = generate(image, opts, h)
    assert first == second and first is not second
    assert (image.raw, opts) == before
    first["mounts"].clear()
    assert generate(image, opts, h)["mounts"]  # no shared mutable state between calls


def test_warnings_for_missing_anonymous_volume_and_labels():
    image = ImageConfig({"config": {"Cmd": ["sh"], "Volumes": {"/data": {}}}})
    res = build(image, RunOptions(security_opt=["label=disable"]), host())
    assert all(m["destination"] != "/data" for m in res.spec["mounts"])
    assert any("/data" in w for w in res.warnings) and any("label" in w for w in res.warnings)


def test_engine_call_shape():
    # the fields the engine passes today (engine/bundle.py); everything else has a default
    h = HostFacts(container_id="a" * 64, rootfs="rootfs", hostname_default="a" * 12, container_dir="/c",
                  rlimits_hard={"RLIMIT_NOFILE": 2**64 - 1}, caller_env={}, env_file_lines=[], passwd=None,
                  group=None, cgroups_path="/tug/x", volume_paths={})
    spec = generate(ImageConfig({"config": {"Cmd": ["true"]}}), RunOptions(ulimits=["nofile=1048576"]), h)
    assert spec["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576}]
    assert spec["ociVersion"].startswith("1.")


def test_network_none_and_shared_ipc():
    spec = generate(ImageConfig({"config": {"Cmd": ["sh"]}}), RunOptions(network="none", ipc="container:db"),
                    host(namespace_paths={"ipc": "/proc/7/ns/ipc"}, ipc_shm_path="/ctr/db/shm"))
    ns = spec["linux"]["namespaces"]
    assert {"type": "network"} in ns and {"type": "ipc", "path": "/proc/7/ns/ipc"} in ns
    shm = [m for m in spec["mounts"] if m["destination"] == "/dev/shm"]
    assert shm == [{"destination": "/dev/shm", "type": "bind", "source": "/ctr/db/shm",
                    "options": ["rbind", "rprivate"]}]
