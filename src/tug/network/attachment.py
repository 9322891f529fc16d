"""A container's network attachment as a file, and undoing it from that file alone.

`<runroot>/networks/<container id>.json` records the namespace holder, the nft table and tag, each endpoint
(address, veth, bridge, the network's address-table directory) and the published ports. `release` needs nothing
else (no database, no engine), so the per-container monitor can call it the moment the container ends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tug.network import holder, hosts, ipam, links, nft


def record_path(runroot: Path, ctr_id: str) -> Path:
    return Path(runroot) / "networks" / f"{ctr_id}.json"


def read_record(runroot: Path, ctr_id: str) -> dict[str, Any] | None:
    try:
        return json.loads(record_path(runroot, ctr_id).read_text())
    except (OSError, ValueError):
        return None


def write_record(runroot: Path, ctr_id: str, rec: dict[str, Any]) -> None:
    p = record_path(runroot, ctr_id)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(json.dumps(rec, indent=1))
    tmp.replace(p)


def _links_gone(names: list[str], wait: float = 0.25) -> None:
    """Wait (briefly) for the kernel to remove these links with their namespace; delete those it keeps."""
    deadline = time.monotonic() + wait
    left = [n for n in names if links.link_exists(n)]
    while left and time.monotonic() < deadline:
        time.sleep(0.002)
        left = [n for n in left if links.link_exists(n)]
    for name in left:
        links.delete_link(name)


def sync_hosts(ep: dict[str, Any], leaving: str | None = None) -> None:
    """Rewrite this network's section in every member's hosts file (under the table's lock)."""
    table = ipam.AllocationTable(Path(ep["IpamDir"]), ipam.parse_subnet(ep["Subnet"]), ep["Gateway"])
    with table.locked() as doc:
        members = doc["allocations"]
        net = next((m.get("network") for m in members.values() if m.get("network")), None)
        for m in members.values():
            if m.get("hosts") and net:
                hosts.rewrite_in_place(m["hosts"], net, hosts.section_lines(m["owner"], members,
                                                                           bool(ep.get("UserDefined"))))


def release(runroot: Path, ctr_id: str) -> None:
    """Undo `attach` from its record alone (no database): holder, nft rules, veths, addresses, hosts entries.

    The holder goes first: the namespace ends with its last process and the kernel then removes each veth (both
    ends) by itself in a few ms, where an `ip link del` waits on the same teardown synchronously (~25 ms). A link
    still there after that (the namespace shared with another container) is deleted. Addresses are freed only once
    their veth is gone."""
    rec = read_record(runroot, ctr_id)
    if rec is None:
        return
    errors: list[Exception] = []
    h = rec.get("holder") or {}
    holder.stop(int(h.get("pid") or 0), h.get("start"))
    s = rec.get("slirp") or {}  # --network slirp4netns (tug.network.slirp)
    holder.stop(int(s.get("pid") or 0), s.get("start"))
    try:
        if rec.get("ports"):  # only published ports have rules of their own (written to the record first)
            nft.delete_tagged(rec["table"], rec["tag"])
    except Exception as e:  # noqa: BLE001
        errors.append(e)
    endpoints = list(rec.get("endpoints", {}).values())
    try:
        _links_gone([ep["HostIf"] for ep in endpoints])
    except Exception as e:  # noqa: BLE001
        errors.append(e)
    for ep in endpoints:
        for step in (lambda ep=ep: ipam.AllocationTable(Path(ep["IpamDir"]), ipam.parse_subnet(ep["Subnet"]),
                                                        ep["Gateway"]).release(ctr_id),
                     lambda ep=ep: sync_hosts(ep)):
            try:
                step()
            except Exception as e:  # noqa: BLE001 - keep freeing the rest
                errors.append(e)
    record_path(runroot, ctr_id).unlink(missing_ok=True)
    if errors:
        raise errors[0]
