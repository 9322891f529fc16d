"""The OCI runtime config (config.json) for one container: a pure function of image config, options and host facts.

Each concern lives in its own module; this one only orders them the way docker does (the user decides the
capabilities, the capabilities decide the seccomp rules, the namespaces decide mounts, sysctls and the hostname).
"""

from __future__ import annotations

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.records import field, record
from tug.spec import (
    devices,
    env,
    mount_flags,
    mounts,
    namespaces,
    process,
    resources,
    rlimits,
    seccomp,
    security,
    sysctl,
    user,
    userns,
)
from tug.spec.host import HostFacts
from tug.spec.options import RunOptions
from tug.spec.sizes import ram_in_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

OCI_VERSION = "1.0.2-dev"  # what docker 20-24 write; crun 1.8 refuses "1.2.0"
ANNOTATION_ID = "io.tug.container.id"


@record
class SpecResult:
    spec: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def hostname_for(opts: RunOptions, host: HostFacts, modes: namespaces.Modes) -> str:
    if opts.hostname and modes.network == "container":
        raise Invalid("conflicting options: hostname and the network mode")
    if opts.hostname:
        if len(opts.hostname) > 64:
            raise Invalid(f"invalid hostname {opts.hostname!r}: longer than 64 characters")
        return opts.hostname
    if modes.network == "host" and host.host_hostname:
        return host.host_hostname
    return host.hostname_default


def build(image: ImageConfig, opts: RunOptions, host: HostFacts) -> SpecResult:
    warnings: list[str] = []
    modes = namespaces.modes_of(opts, host)
    sec = security.parse_security_opts(opts.security_opt)
    if sec.labels:
        warnings.append("--security-opt label=... is ignored: tug does not apply SELinux labels")

    hostname = hostname_for(opts, host, modes)
    init = bool(opts.init) and modes.pid == "private"
    proc = process.build_process(image, opts, init=init, console_size=host.console_size)

    who = user.resolve_user(opts.user or image.user, host.passwd, host.group, opts.group_add)  # -u "" = image's
    user_env = env.parse_env_file(host.env_file_lines, host.caller_env)
    user_env += env.resolve_cli_env(opts.env, host.caller_env)
    proc["env"] = env.build_env(image.env, user_env, hostname=hostname, tty=opts.tty, home=who.home)
    proc["user"] = {"uid": who.uid, "gid": who.gid, "additionalGids": who.additional_gids}

    caps = security.capability_set(opts.cap_add, opts.cap_drop, opts.privileged, host.last_cap)
    proc["capabilities"] = security.capabilities_for(caps, who.uid)
    if sec.no_new_privileges:
        proc["noNewPrivileges"] = True
    if sec.apparmor and sec.apparmor != "unconfined" and not opts.privileged:
        proc["apparmorProfile"] = sec.apparmor
    limits = rlimits.build_rlimits(opts.ulimits, host.rlimits_hard)
    if limits:
        proc["rlimits"] = limits

    shm_size = ram_in_bytes(opts.shm_size, "--shm-size") if opts.shm_size else mounts.DEFAULT_SHM_SIZE
    if shm_size <= 0:
        raise Invalid("SHM size can not be less than 0")
    reqs = mount_flags.requested_mounts(opts, image, host.caller_cwd)
    writable_cgroups = sec.writable_cgroups if sec.writable_cgroups is not None else opts.privileged
    mount_list = mounts.build_mounts(
        reqs, host, shm_size=shm_size, ipc=modes.ipc, readonly_root=opts.read_only, privileged=opts.privileged,
        writable_cgroups=writable_cgroups, init=init, warnings=warnings,
    )

    dev_list, dev_rules = devices.build_devices(opts.devices, host, opts.privileged, warnings)
    linux: dict[str, Any] = {
        "namespaces": namespaces.build_namespaces(modes, host),
        "devices": dev_list,
        "resources": resources.build_resources(opts, host.cpu_count, dev_rules, host.device_info),
    }
    if host.cgroups_path:
        linux["cgroupsPath"] = host.cgroups_path
    userns.apply(linux, linux["namespaces"], host.id_mappings)  # --userns=auto (issue 7)
    sysctls = sysctl.build_sysctls(opts.sysctls, network=modes.network, ipc=modes.ipc,
                                   net_defaults=host.net_sysctl_defaults)
    if sysctls:
        linux["sysctl"] = sysctls
    security.apply_paths(linux, opts.privileged, sec, host.extra_masked_paths)
    if not opts.privileged:
        profile = seccomp.seccomp_for(sec.seccomp, host.seccomp_profile, caps, host.arch, host.kernel_release)
        if profile is not None:
            linux["seccomp"] = profile
    propagation = mounts.rootfs_propagation(mount_list)
    if propagation:
        linux["rootfsPropagation"] = propagation

    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": proc,
        "root": {"path": host.rootfs, "readonly": bool(opts.read_only)},
        "mounts": mount_list,
        "annotations": {ANNOTATION_ID: host.container_id},
        "linux": linux,
    }
    if modes.uts != "host":
        spec["hostname"] = hostname
        if opts.domainname:
            spec["domainname"] = opts.domainname
    if host.id_mappings is not None and opts.runtime not in ("", "tug", "tug-runtime"):
        userns.for_foreign_runtime(spec)  # issue 7: runc/crun work from inside the new user namespace
    return SpecResult(spec, warnings)


def generate(image: ImageConfig, opts: RunOptions, host: HostFacts) -> dict[str, Any]:
    """The complete config.json as a dict. Raises tug.errors.Invalid with a docker-like message on bad options."""
    return build(image, opts, host).spec
