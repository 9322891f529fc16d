"""The options of `tug create`/`tug run`, as one typed object.

The CLI decodes flags into a `RunOptions`, the API decodes JSON into the same object; neither rebuilds the other's
strings. Values stay as the user gave them (strings such as "32m" or "1000:1000"); the spec modules parse them.
"""

from __future__ import annotations

from tug.records import field, record


@record
class RunOptions:
    image: str = ""
    command: list[str] = field(default_factory=list)  # everything after the image, verbatim
    name: str | None = None
    rm: bool = False
    detach: bool = False
    attach: list[str] = field(default_factory=list)  # -a stdin|stdout|stderr; empty = stdout and stderr
    interactive: bool = False
    tty: bool = False
    env: list[str] = field(default_factory=list)  # "K=V" or "K" (taken from the caller's environment)
    env_files: list[str] = field(default_factory=list)
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None  # "" clears the image's entrypoint
    hostname: str | None = None
    domainname: str | None = None
    network: str = "bridge"
    volumes: list[str] = field(default_factory=list)  # -v SRC:DST[:OPTS]
    mounts: list[str] = field(default_factory=list)  # --mount type=...,src=...,dst=...
    tmpfs: list[str] = field(default_factory=list)  # --tmpfs /path[:opts]
    rootfs: str | None = None  # --rootfs DIR: a plain directory instead of an image
    labels: list[str] = field(default_factory=list)
    publish: list[str] = field(default_factory=list)
    publish_all: bool = False
    expose: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)  # --dns-search: resolv.conf's search domains ("." = none)
    dns_options: list[str] = field(default_factory=list)  # --dns-option: resolv.conf's options
    add_hosts: list[str] = field(default_factory=list)
    ip: str | None = None  # --ip on a user network (issue 8)
    mac_address: str | None = None
    network_aliases: list[str] = field(default_factory=list)  # --network-alias
    volumes_from: list[str] = field(default_factory=list)  # --volumes-from CONTAINER[:ro|rw]
    # security (issue 7 grows these)
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    security_opt: list[str] = field(default_factory=list)
    read_only: bool = False
    group_add: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    sysctls: list[str] = field(default_factory=list)
    ulimits: list[str] = field(default_factory=list)
    init: bool = False
    shm_size: str | None = None
    # resources
    memory: str | None = None
    memory_swap: str | None = None
    memory_reservation: str | None = None
    cpus: str | None = None
    cpu_shares: int | None = None
    cpu_period: int | None = None  # --cpu-period/--cpu-quota: CFS microseconds (conflict with --cpus)
    cpu_quota: int | None = None
    cpu_rt_period: int | None = None  # --cpu-rt-period/--cpu-rt-runtime: microseconds (cgroup v1 with RT groups)
    cpu_rt_runtime: int | None = None
    cpuset_cpus: str | None = None
    pids_limit: int | None = None
    cgroup_parent: str | None = None
    cpuset_mems: str | None = None
    blkio_weight: int | None = None
    # issue 7: --device-read-bps/--device-write-bps/--device-read-iops/--device-write-iops as "PATH:RATE"
    device_read_bps: list[str] = field(default_factory=list)
    device_write_bps: list[str] = field(default_factory=list)
    device_read_iops: list[str] = field(default_factory=list)
    device_write_iops: list[str] = field(default_factory=list)
    oom_score_adj: int | None = None
    blkio_weight_device: list[str] = field(default_factory=list)  # "PATH:WEIGHT"
    device_cgroup_rules: list[str] = field(default_factory=list)  # "c 1:3 mr"
    memory_swappiness: int | None = None  # -1..100, -1 = the host's (cgroup v1 only, refused on v2)
    oom_kill_disable: bool = False  # cgroup v1 only, refused on v2
    # namespaces other than the network's: None/"" = docker's default, "host", "private", "container:NAME"
    pid: str | None = None
    ipc: str | None = None
    uts: str | None = None
    cgroupns: str | None = None
    userns: str | None = None  # issue 7: None/"host", "auto[:size=N]", "keep-id" (tug.spec.userns)
    # lifecycle
    pull: str = "missing"
    restart: str = "no"
    stop_signal: str | None = None
    stop_timeout: int | None = None
    log_opts: list[str] = field(default_factory=list)
    health_cmd: str | None = None
    health_interval: str | None = None  # Go durations: "30s", "1m30s"
    health_timeout: str | None = None
    health_retries: int | None = None
    health_start_period: str | None = None
    health_start_interval: str | None = None
    no_healthcheck: bool = False
    platform: str | None = None
    runtime: str = "tug"  # the OCI runtime: "tug" (tug-runtime), or another runc-compatible binary such as runc
