"""Helpers for the lifecycle tests: waiting, leftovers (processes, mounts, cgroups, zombies), pty sessions."""

from __future__ import annotations

import os
import pty
import subprocess
import threading
import time
from pathlib import Path

from conftest import SESSION_CGROUP, TUG


def wait_until(pred, timeout: float = 20, interval: float = 0.05, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def processes_mentioning(text: str) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            out.append(int(p.name))
    return out


def zombies_of(parents: set[int]) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            data = (p / "stat").read_text()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        if fields[0] == "Z" and int(fields[1]) in parents:
            out.append(int(p.name))
    return out


def mounts_mentioning(text: str) -> list[str]:
    """Mounts under `text` in any process's mount namespace (private namespaces included)."""
    found = set()
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            for line in (p / "mountinfo").read_text().splitlines():
                if text in line:
                    found.add(line.split()[4])
        except OSError:
            continue
    return sorted(found)


def cgroups_of(ctr_id: str) -> list[str]:
    base = Path("/sys/fs/cgroup")
    parent = SESSION_CGROUP.lstrip("/")
    hits = [str(p) for p in base.glob(f"*/{parent}/{ctr_id}")] + [str(p) for p in base.glob(f"{parent}/{ctr_id}")]
    return [h for h in hits if os.path.isdir(h)]


def assert_no_leftovers(tug, ids: list[str]) -> None:
    """After `rm -f` of every container: no monitor, container process, mount, cgroup or zombie remains."""
    r = tug("rm", "-f", *ids) if ids else None
    if r is not None:
        assert r.returncode in (0, 1), r.stderr
    assert tug("ps", "-aq").stdout.strip() == ""
    wait_until(lambda: not processes_mentioning(str(tug.runroot)), 10, what="monitors to exit")
    assert mounts_mentioning(str(tug.root)) == []
    for cid in ids:
        assert cgroups_of(cid) == [], cid
    assert zombies_of({os.getpid()}) == []


def full_id(tug, name: str) -> str:
    return tug("inspect", "-f", "{{.Id}}", name, check=True).stdout.strip()


class PtySession:
    """A `tug` command on a fresh pty, with its output collected by a thread."""

    def __init__(self, tug, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([TUG, *args], env=tug.env, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True)
        os.close(slave)
        self.out = bytearray()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.out.extend(data)

    def expect(self, text: bytes, timeout: float = 20) -> None:
        wait_until(lambda: text in self.out, timeout, what=f"{text!r} in {bytes(self.out)[-300:]!r}")

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self.master)


def gone(pid: int) -> bool:
    """The process has ended (absent, or a zombie waiting for its parent)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return data[data.rindex(")") + 2:].split()[0] in ("Z", "X")


def monitor_pids(tug) -> list[int]:
    out = []
    for p in processes_mentioning(str(tug.runroot)):
        try:
            if b"tug.engine.monitor" in Path(f"/proc/{p}/cmdline").read_bytes():
                out.append(p)
        except OSError:
            continue
    return out


def image_with_config(tug, work: Path, base: str, tag: str, config: dict, extra_layer: Path | None = None) -> None:
    """Make image `tag` from `base` with keys of its config's `config` replaced (and optionally one more layer,
    a tar file), through `tug save` and `tug load` of a docker-archive."""
    import hashlib
    import json
    import tarfile

    work.mkdir(parents=True, exist_ok=True)
    saved = work / "base.tar"
    tug("save", base, "-o", str(saved), check=True)
    with tarfile.open(saved) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))[0]
        cfg = json.load(tf.extractfile(manifest["Config"]))
        layers = [(name, tf.extractfile(name).read()) for name in manifest["Layers"]]
    cfg.setdefault("config", {}).update(config)
    if extra_layer is not None:
        data = extra_layer.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        layers.append((f"blobs/sha256/{digest}", data))
        cfg["rootfs"]["diff_ids"].append(f"sha256:{digest}")
        cfg.setdefault("history", []).append({"created_by": "test layer"})
    raw = json.dumps(cfg).encode()
    cfg_name = hashlib.sha256(raw).hexdigest() + ".json"
    out = work / "image.tar"
    with tarfile.open(out, "w") as tf:
        def add(name: str, data: bytes) -> None:
            import io

            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))

        add(cfg_name, raw)
        for name, data in layers:
            add(name, data)
        add("manifest.json", json.dumps([{"Config": cfg_name, "RepoTags": [tag],
                                          "Layers": [n for n, _ in layers]}]).encode())
    tug("load", "-i", str(out), check=True)
