"""Docker's inspect JSON for containers, and the status words `ps` prints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tug.engine import containers, lifecycle
from tug.engine.containers import Container
from tug.engine.engine import Engine


def container(eng: Engine, ref: str) -> dict[str, Any]:
    ctr = containers.find(eng, ref)
    lifecycle.refresh(eng, ctr)
    return document(eng, ctr)


def _process(eng: Engine, ctr: Container) -> dict[str, Any]:
    import json

    try:
        spec = json.loads((containers.bundle_dir(eng, ctr.id) / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return spec.get("process") or {}


def document(eng: Engine, ctr: Container) -> dict[str, Any]:
    from tug.engine.health import config_document
    from tug.engine.logs import log_path

    o = ctr.options
    process = _process(eng, ctr)
    st = ctr.state
    args = list(ctr.extra.get("args") or [])
    status = ctr.status
    d = eng.container_dir(ctr.id)
    mounts = []
    for v in o.volumes:
        parts = v.split(":")
        if len(parts) >= 2:
            mounts.append({"Type": "bind" if parts[0].startswith("/") else "volume", "Source": parts[0],
                           "Destination": parts[1], "Mode": parts[2] if len(parts) > 2 else "",
                           "RW": not (len(parts) > 2 and "ro" in parts[2].split(",")), "Propagation": "rprivate"})
    return {
        "Id": ctr.id,
        "Created": ctr.created,
        "Path": args[0] if args else "",
        "Args": args[1:],
        "State": {
            "Status": status,
            "Running": status in ("running", "paused"),
            "Paused": status == "paused",
            "Restarting": status == "restarting",
            "OOMKilled": bool(st.get("OOMKilled")),
            "Dead": status == "dead",
            "Pid": int(st.get("Pid") or 0) if status in ("running", "paused") else 0,
            "ExitCode": int(st.get("ExitCode") or 0),
            "Error": st.get("Error", ""),
            "StartedAt": st.get("StartedAt") or "0001-01-01T00:00:00Z",
            "FinishedAt": st.get("FinishedAt") or "0001-01-01T00:00:00Z",
            **({"Health": st.get("Health") or {"Status": "starting", "FailingStreak": 0, "Log": []}}
               if ctr.extra.get("health") else {}),
        },
        "Image": ctr.image_id or "",
        "ResolvConfPath": str(d / "resolv.conf"),
        "HostnamePath": str(d / "hostname"),
        "HostsPath": str(d / "hosts"),
        "LogPath": log_path(str(d), ctr.id),
        "Name": "/" + ctr.name,
        "RestartCount": int(st.get("RestartCount") or 0),
        "Driver": "overlay",
        "Platform": "linux",
        "HostConfig": {
            "Binds": list(o.volumes) or None,
            "NetworkMode": o.network,
            "AutoRemove": o.rm,
            "Privileged": o.privileged,
            "ReadonlyRootfs": o.read_only,
            "CapAdd": list(o.cap_add) or None,
            "CapDrop": list(o.cap_drop) or None,
            "SecurityOpt": list(o.security_opt) or None,
            "RestartPolicy": ctr.extra.get("restart_policy") or {"Name": "no", "MaximumRetryCount": 0},
            "LogConfig": {"Type": "json-file", "Config": _log_config(o.log_opts)},
            "Init": o.init or None,
            "UsernsMode": "" if (o.userns or "host") == "host" else o.userns,
            "Dns": list(o.dns), "DnsSearch": list(o.dns_search), "DnsOptions": list(o.dns_options),
            "PidMode": o.pid or "", "IpcMode": o.ipc or "private", "UTSMode": o.uts or "",
            "CgroupnsMode": o.cgroupns or "",
            "CpuPeriod": o.cpu_period or 0, "CpuQuota": o.cpu_quota or 0,
            "CpuRealtimePeriod": o.cpu_rt_period or 0, "CpuRealtimeRuntime": o.cpu_rt_runtime or 0,
            "MemorySwappiness": o.memory_swappiness, "OomKillDisable": o.oom_kill_disable,
            "BlkioWeightDevice": [{"Path": w.rpartition(":")[0], "Weight": int(w.rpartition(":")[2])}
                                  for w in o.blkio_weight_device],
            "DeviceCgroupRules": list(o.device_cgroup_rules) or None,
        },
        "GraphDriver": {"Name": "overlay", "Data": {"UpperDir": str(d / "upper"), "WorkDir": str(d / "work")}},
        "Mounts": mounts,
        "Config": {
            "Hostname": ctr.extra.get("hostname", ctr.id[:12]),
            "Domainname": o.domainname or "",
            "User": o.user or "",
            "AttachStdin": o.interactive,
            "AttachStdout": not o.attach or "stdout" in o.attach,
            "AttachStderr": not o.attach or "stderr" in o.attach,
            "Tty": o.tty,
            "OpenStdin": o.interactive,
            "Env": process.get("env") or [],
            "Cmd": list(o.command) or None,
            "Healthcheck": config_document(ctr.extra.get("health")),
            "ExposedPorts": {p: {} for p in ctr.extra.get("exposed_ports") or []} or None,
            "StopSignal": ctr.extra.get("stop_signal"),
            "Image": ctr.image_name,
            "WorkingDir": o.workdir or "",
            "Entrypoint": [o.entrypoint] if o.entrypoint else None,
            "Labels": dict(lbl.split("=", 1) if "=" in lbl else (lbl, "") for lbl in o.labels),
        },
        "NetworkSettings": _network_settings(eng, ctr),  # issue 8
    }


def _log_config(log_opts: list[str]) -> dict[str, str]:
    from tug.engine.logs import log_options

    size, files = log_options(log_opts)
    return {"max-size": str(size), "max-file": str(files)}


def status_text(ctr: Container, now: datetime | None = None) -> str:
    """`Created`, `Up 7 seconds`, `Exited (0) 2 minutes ago`, as docker words them (see `listing`)."""
    from tug.engine.listing import status_text as text

    return text(ctr, now)


def _network_settings(eng: Engine, ctr: Container) -> dict[str, Any]:
    from tug.engine import netattach

    return netattach.settings(eng, ctr)
