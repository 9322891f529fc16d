"""Host facts: everything impure that spec generation needs, resolved by the engine beforehand.

`generate(image, opts, host)` reads no file, environment variable or clock: whatever depends on the machine, the
image's files or the caller is gathered into a `HostFacts` first. Only the first fields are required; the rest have
defaults that describe a plain cgroup-v2 amd64 host.
"""

from __future__ import annotations

from tug.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RLIM_INFINITY = 2**64 - 1  # how an unlimited rlimit is written in rlimits_hard and in config.json


@record(frozen=True)
class HostFacts:
    container_id: str  # 64 hex
    rootfs: str  # root.path, usually "rootfs" (relative to the bundle)
    hostname_default: str  # 12 hex, used when --hostname is not given
    container_dir: str  # holds the `hosts`, `hostname` and `resolv.conf` files that are bind-mounted
    rlimits_hard: dict[str, int] = field(default_factory=dict)  # {"RLIMIT_NOFILE": 20000}; 2**64-1 or -1 = unlimited
    caller_env: dict[str, str] = field(default_factory=dict)  # for `-e NAME` and env-file lines without a value
    env_file_lines: list[str] = field(default_factory=list)  # the lines of every --env-file, in order
    passwd: str | None = None  # the image's /etc/passwd text (None: the image has none)
    group: str | None = None  # the image's /etc/group text
    cgroups_path: str = ""  # linux.cgroupsPath
    cgroup_version: int = 2
    seccomp_profile: dict[str, Any] | None = None  # a Docker-format profile loaded for --security-opt seccomp=FILE
    arch: str = "amd64"  # GOARCH-style name of the host
    kernel_release: str = ""  # `uname -r`; "" = unknown (profile rules with minKernel are then left out)
    volume_paths: dict[str, str] = field(default_factory=dict)  # named volume -> host directory
    anonymous_volume_paths: dict[str, str] = field(default_factory=dict)  # container path -> host dir
    host_devices: list[dict[str, Any]] = field(default_factory=list)  # OCI linux.devices entries, for --privileged
    device_info: dict[str, tuple[str, int, int, int, int, int]] = field(default_factory=dict)
    # ^ host path -> (type "c"|"b", major, minor, file mode (permission bits), uid, gid), for --device
    init_path: str | None = None  # host path of the init binary for --init
    host_hostname: str = ""  # the host's hostname, used with --network host (as docker does)
    namespace_paths: dict[str, str] = field(default_factory=dict)  # "network"/"ipc"/"pid"/"uts" -> /proc/N/ns/x
    # ^ used for `--network container:X`, `--ipc container:X`, `--pid container:X` (resolved by the engine)
    ipc_shm_path: str | None = None  # host dir bind-mounted on /dev/shm for --ipc container:X / shareable
    cpu_count: int | None = None  # for the range check of --cpus
    last_cap: int = 40  # highest capability number the kernel knows (cat /proc/sys/kernel/cap_last_cap)
    caller_cwd: str = "/"  # for `--mount src=./dir`
    console_size: tuple[int, int] | None = None  # (height, width) of the caller's terminal, with -t
    time_namespace: bool = False  # give the container a time namespace (docker 29 does when the kernel has them)
    recursive_readonly: bool = False  # runtime and kernel (>= 5.12) support "rro" for read-only binds
    net_sysctl_defaults: bool = True  # docker's ping_group_range / ip_unprivileged_port_start for a private netns
    extra_masked_paths: tuple[str, ...] = ()  # e.g. the host's /sys/devices/system/cpu/cpuN/thermal_throttle dirs
    id_mappings: Any = None  # tug.spec.userns.Mappings of a new user namespace (--userns=auto), None = none
