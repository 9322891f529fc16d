"""A container's network attachment as a file, and undoing it from that file alone.

`<runroot>/networks/<container id>.json` records the namespace holder, the nft table and tag, each endpoint
(address, veth, bridge, the network's address-table directory) and the published ports. `release` needs nothing
else (no database, no engine), so the per-container monitor can call it the moment the container ends.
"""

from __future__ import annotations

import os
import time

from tug import jsontext
from tug.network import holder, hosts, ipam, links

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

# The monitor imports this module when its container ends, while `tug run --rm` waits: it keeps to os, time and
# _json (no json, re, pathlib, typing, ipaddress or subprocess; nft is imported only for published ports).


def record_path(runroot: str | Path, ctr_id: str) -> str:
    return os.path.join(runroot, "networks", f"{ctr_id}.json")


def read_record(runroot: str | Path, ctr_id: str) -> dict[str, Any] | None:
    try:
        rec = jsontext.read_file(record_path(runroot, ctr_id))
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def write_record(runroot: str | Path, ctr_id: str, rec: dict[str, Any]) -> None:
    p = record_path(runroot, ctr_id)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    jsontext.write_file(p, rec, 0o600)


def _links_gone(names: list[str], wait: float = 0.25) -> None:
    """Wait (briefly) for the kernel to remove these links with their namespace; delete those it keeps."""
    deadline = time.monotonic() + wait
    left = [n for n in names if links.link_exists(n)]
    while left and time.monotonic() < deadline:
        time.sleep(0.002)
        left = [n for n in left if links.link_exists(n)]
    for name in left:
        links.delete_link(name)


def _table(ep: dict[str, Any]) -> ipam.AllocationTable:
    return ipam.AllocationTable(ep["IpamDir"], ep["Subnet"], ep["Gateway"])


def sync_hosts(ep: dict[str, Any], leaving: str | None = None) -> None:
    """Rewrite this network's section in every member's hosts file (under the table's lock)."""
    table = _table(ep)
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
            from tug.network import nft

            nft.delete_tagged(rec["table"], rec["tag"])
    except Exception as e:  # noqa: BLE001
        errors.append(e)
    endpoints = list(rec.get("endpoints", {}).values())
    try:
        _links_gone([ep["HostIf"] for ep in endpoints])
    except Exception as e:  # noqa: BLE001
        errors.append(e)
    for ep in endpoints:
        for step in (lambda ep=ep: _table(ep).release(ctr_id),
                     lambda ep=ep: sync_hosts(ep)):
            try:
                step()
            except Exception as e:  # noqa: BLE001 - keep freeing the rest
                errors.append(e)
    try:
        os.unlink(record_path(runroot, ctr_id))
    except FileNotFoundError:
        pass
    if errors:
        raise errors[0]
