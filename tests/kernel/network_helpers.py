"""Helpers for the network kernel tests: a `tug` runner on its own bridge and nft table, a host snapshot
(routes and nftables apart from tug's tables), and test namespaces held by `sleep` processes."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field

from conftest import Tug


@dataclass
class NetTug(Tug):
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.update(self.extra)
        return env


def unique(prefix: str = "tugt") -> str:
    return prefix + secrets.token_hex(4)[:7]


def host_snapshot() -> dict[str, object]:
    routes4 = json.loads(subprocess.run(["ip", "-j", "route"], capture_output=True, text=True).stdout or "[]")
    routes6 = json.loads(subprocess.run(["ip", "-j", "-6", "route"], capture_output=True, text=True).stdout or "[]")
    ruleset = json.loads(subprocess.run(["nft", "-j", "list", "ruleset"], capture_output=True, text=True).stdout
                         or '{"nftables": []}')
    kept = []
    for item in ruleset.get("nftables", []):
        if "metainfo" in item:
            continue
        body = next(iter(item.values()))
        table = body.get("name") if "table" in item else body.get("table")
        if str(table).startswith("tug"):
            continue
        body = {k: v for k, v in body.items() if k != "handle"}
        kept.append({next(iter(item)): body})
    def foreign(routes: list[dict]) -> list[dict]:
        return [r for r in routes if not str(r.get("dev", "")).startswith(("tug", "veth"))]

    return {"routes4": foreign(routes4), "routes6": foreign(routes6), "nft": kept}


def cleanup_network_objects(t: NetTug, prefix: str) -> None:
    """Remove containers, networks, bridges and the nft table of one test runner (finally blocks)."""
    ids = t("ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        t("rm", "-f", *ids, timeout=120)
    for name in t("network", "ls", "-q", "--no-trunc").stdout.split():
        if name not in ("host", "none"):
            t("network", "rm", name)
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout or "[]")
    for link in links:
        if link["ifname"].startswith(prefix):
            subprocess.run(["ip", "link", "del", link["ifname"]], capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip", t.extra["TUG_NFT_TABLE"]], capture_output=True)
    shutil.rmtree(f"/run/tug-net/{prefix}", ignore_errors=True)


def wait_for(pred, timeout: float = 10.0, step: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


class OwnNetns:
    """A network namespace owned by the test: a `sleep` process in a new one, joined by `nsenter`."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["unshare", "--net", "sleep", "600"])
        assert wait_for(lambda: os.readlink(f"/proc/{self.proc.pid}/ns/net") != os.readlink("/proc/self/ns/net"),
                        5, 0.02)

    def run(self, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
        return subprocess.run(["nsenter", f"--net=/proc/{self.proc.pid}/ns/net", *argv], capture_output=True,
                              text=True, timeout=timeout)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
