"""Generated config.json documents validate against the official OCI runtime-spec JSON schema (vendored in
data/runtime-spec, see its NOTICE.md)."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tug.oci.image_config import ImageConfig
from tug.spec.generate import generate
from tug.spec.host import RLIM_INFINITY, HostFacts
from tug.spec.options import RunOptions

SCHEMA_DIR = Path(__file__).parent / "data" / "runtime-spec"


@pytest.fixture(scope="module")
def validator():
    base = SCHEMA_DIR.resolve().as_uri() + "/"
    resources = [(base + p.name, Resource(contents=json.loads(p.read_text()), specification=DRAFT4))
                 for p in SCHEMA_DIR.glob("*.json")]
    registry = Registry().with_resources(resources)
    schema = json.loads((SCHEMA_DIR / "config-schema.json").read_text())
    schema["id"] = base + "config-schema.json"
    return Draft4Validator(schema, registry=registry)


PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
GROUP = "root:x:0:\nwheel:x:10:app\n"
IMAGE = ImageConfig({"config": {"Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["nginx"], "Env": ["A=1"],
                                "WorkingDir": "/srv", "User": "app", "Volumes": {"/var/cache": {}}}})
HOST = HostFacts(
    container_id="f" * 64, rootfs="rootfs", hostname_default="f" * 12, container_dir="/var/lib/tug/containers/f",
    rlimits_hard={"RLIMIT_NOFILE": 1048576, "RLIMIT_NPROC": RLIM_INFINITY}, caller_env={"TOKEN": "t"},
    env_file_lines=["# x", "B=2"], passwd=PASSWD, group=GROUP, cgroups_path="/tug/ffff", kernel_release="6.1.0",
    volume_paths={"data": "/var/lib/tug/volumes/data/_data"}, anonymous_volume_paths={"/var/cache": "/v/anon"},
    host_devices=[{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 0o660, "uid": 0, "gid": 6}],
    device_info={"/dev/fuse": ("c", 10, 229, 0o666, 0, 0)}, init_path="/usr/libexec/tug/init", cpu_count=8,
    console_size=(24, 80), time_namespace=True, namespace_paths={"network": "/proc/42/ns/net"},
)

OPTION_SETS = {
    "defaults": RunOptions(),
    "tty-root-command": RunOptions(tty=True, interactive=True, user="0", command=["sh", "-c", "echo hi"]),
    "privileged": RunOptions(privileged=True, devices=["/dev/fuse:/dev/f"]),
    "everything": RunOptions(
        env=["C=3", "TOKEN"], workdir="/w", hostname="web", domainname="example.org", read_only=True,
        volumes=["/h:/c:ro,rslave", "data:/d"], mounts=["type=tmpfs,dst=/t,tmpfs-size=1m"], tmpfs=["/run:exec"],
        cap_add=["NET_ADMIN"], cap_drop=["MKNOD"], security_opt=["no-new-privileges"], group_add=["wheel"],
        devices=["/dev/fuse"], sysctls=["net.core.somaxconn=1024", "kernel.shmmax=65536"],
        ulimits=["nofile=1024:4096", "nproc=-1"], init=True, shm_size="128m", memory="512m", memory_swap="1g",
        memory_reservation="256m", cpus="1.5", cpu_shares=512, cpuset_cpus="0-3", pids_limit=100,
        blkio_weight=500, oom_score_adj=100,
    ),
    "host-namespaces": RunOptions(network="host", pid="host", ipc="host", uts="host", cgroupns="host"),
    "join-network": RunOptions(network="container:db", security_opt=["seccomp=unconfined"]),
    "network-none": RunOptions(network="none", entrypoint="", command=["true"], memory_swap="-1", memory="64m"),
}


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_generated_spec_validates(validator, name):
    spec = generate(IMAGE, OPTION_SETS[name], HOST)
    spec = json.loads(json.dumps(spec))  # what config.json will hold
    errors = sorted(validator.iter_errors(spec), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_schema_catches_a_broken_spec(validator):
    spec = generate(IMAGE, RunOptions(), HOST)
    spec["process"]["user"]["uid"] = -1
    spec["linux"]["namespaces"].append({"type": "bogus"})
    assert len(list(validator.iter_errors(spec))) >= 2
