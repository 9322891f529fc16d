"""`tug image anatomy` on a hand-built image whose later layers overwrite and delete files of earlier ones."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile

from conftest import TUG


def _tar(entries: list[tuple[str, str, bytes | str | None, int]]) -> bytes:
    """(name, kind, data or link target, mode) -> an uncompressed layer tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, data, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mode, ti.mtime = mode, 1_700_000_000
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            elif kind == "link":
                ti.type, ti.linkname = tarfile.LNKTYPE, str(data)
                tf.addfile(ti)
            else:
                raw = data if isinstance(data, bytes) else b""
                ti.size = len(raw)
                tf.addfile(ti, io.BytesIO(raw))
    return buf.getvalue()


def f(name: str, size: int, byte: bytes = b"x", mode: int = 0o644):  # noqa: ANN201
    return (name, "file", byte * size, mode)


def d(name: str):  # noqa: ANN201
    return (name, "dir", None, 0o755)


LAYERS = [
    [f("a", 1000), f("b", 2000), d("d"), f("d/x", 3000), f("d/y", 4000), f("e", 500), f("h", 600),
     ("h2", "link", "h", 0o644), d("o"), f("o/p", 700), f("keep", 100)],
    # a overwritten (1000 wasted), b deleted (2000), e only chmod-ed (500: the bytes are stored twice),
    # h2 (a hard link, no bytes of its own) replaced by a file
    [f("a", 1500, b"y"), (".wh.b", "file", b"", 0o644), f("e", 500, mode=0o755), f("h2", 50)],
    # the whole of d deleted (7000), a overwritten again (1500), o made opaque (700), a new file
    [(".wh.d", "file", b"", 0o644), f("a", 2500, b"z"), d("o"), ("o/.wh..wh..opq", "file", b"", 0o644),
     f("o/q", 10), f("new", 42)],
]
WASTED_BY_LAYER = [1000 + 2000 + 500 + 7000 + 700, 1500, 0]
TOTAL = (1000 + 2000 + 3000 + 4000 + 500 + 600 + 700 + 100) + (1500 + 500 + 50) + (2500 + 10 + 42)


def docker_archive(path, layers: list, tag: str) -> None:  # noqa: ANN001
    """A docker-archive (old layout) of layer tars given as bytes, or as (gzip file path, diff id) pairs."""
    diff_ids = [t[1] if isinstance(t, tuple) else "sha256:" + hashlib.sha256(t).hexdigest() for t in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids},
                      "history": [{"created_by": f"step {i}"} for i in range(len(layers))]}).encode()
    with tarfile.open(path, "w") as out:
        names = []
        for i, t in enumerate(layers):
            name = f"l{i}/layer.tar"
            if isinstance(t, tuple):
                out.add(t[0], arcname=name)
            else:
                ti = tarfile.TarInfo(name)
                ti.size = len(t)
                out.addfile(ti, io.BytesIO(t))
            names.append(name)
        for name, body in (("cfg.json", cfg),
                           ("manifest.json", json.dumps([{"Config": "cfg.json", "RepoTags": [tag],
                                                          "Layers": names}]).encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(body)
            out.addfile(ti, io.BytesIO(body))


class _HashingWriter:
    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner = inner
        self.h = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.h.update(data)
        return self.inner.write(data)


def big_layer(path, size: int, fill: int) -> tuple[str, str]:  # noqa: ANN001
    """A gzip layer holding `big/file` of `size` bytes, written as a stream; (path, diff id)."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as gz:
        hw = _HashingWriter(gz)
        with tarfile.open(fileobj=hw, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            ti = tarfile.TarInfo("big")
            ti.type = tarfile.DIRTYPE
            tf.addfile(ti)
            ti = tarfile.TarInfo("big/file")
            ti.size = size
            tf.addfile(ti, _Zeros(size, fill))
    return str(path), "sha256:" + hw.h.hexdigest()


def test_anatomy_reports_exactly_the_planted_waste(tug, tmp_path):
    archive = tmp_path / "img.tar"
    docker_archive(archive, [_tar(layer) for layer in LAYERS], "waste:1")
    tug("load", "-i", str(archive), check=True)
    doc = json.loads(tug("image", "anatomy", "--format", "json", "waste:1", check=True).stdout)
    assert [lr["wasted"] for lr in doc["Layers"]] == WASTED_BY_LAYER
    assert doc["Wasted"] == sum(WASTED_BY_LAYER) and doc["Total"] == TOTAL
    l1, l2 = doc["Layers"][1], doc["Layers"][2]
    assert (l1["changed_content"], l1["changed_meta"], l1["deleted"], l1["deleted_bytes"]) == (2, 1, 1, 2000)
    assert (l2["added"], l2["changed_content"], l2["deleted"], l2["deleted_bytes"]) == (2, 1, 3, 7700)
    assert doc["Layers"][0]["added"] == 9
    top = {t["Path"]: t["Wasted"] for t in doc["TopWaste"]}
    assert top["/a"] == 2500 and top["/d/y"] == 4000
    wasted = sum(WASTED_BY_LAYER)
    assert tug("image", "anatomy", "--max-waste", str(wasted), "waste:1").returncode == 0
    r = tug("image", "anatomy", "--max-waste", str(wasted - 1), "waste:1")
    assert r.returncode == 1 and str(wasted) in r.stderr
    pct = 100 * wasted / TOTAL
    assert tug("image", "anatomy", "--max-waste", f"{pct + 0.1:.2f}%", "waste:1").returncode == 0
    assert tug("image", "anatomy", "--max-waste", f"{pct - 0.1:.2f}%", "waste:1").returncode == 1
    assert tug("image", "anatomy", "--max-waste", "lots", "waste:1").returncode != 0


def test_anatomy_streams_in_bounded_memory(tug, tmp_path):
    big = 128 << 20  # a file overwritten by the next layer; the analysis must not hold a layer in memory
    layers = [big_layer(tmp_path / f"l{i}.gz", big, i) for i in range(2)]
    archive = tmp_path / "big.tar"
    docker_archive(archive, layers, "big:1")
    tug("load", "-i", str(archive), check=True, timeout=300)
    # A process's peak RSS includes what it inherited at fork (the kernel keeps the old address space's high-water
    # mark across exec), and this pytest process can be large by now: fork tug from a small interpreter instead.
    probe = ("import os, sys\n"
             "pid = os.fork()\n"
             "if pid == 0:\n"
             "    os.execv(sys.argv[1], sys.argv[1:])\n"
             "_, status, usage = os.wait4(pid, 0)\n"
             "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-I", "-S", "-c", probe, TUG, "image", "anatomy", "--format", "json", "big:1"],
                       env=tug.env, capture_output=True, text=True)
    code, maxrss = (int(x) for x in r.stderr.strip().splitlines()[-1].split())
    assert code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["Wasted"] == big and doc["Total"] == 2 * big
    assert maxrss < 100 * 1024  # kB: well under one layer's size


class _Zeros(io.RawIOBase):
    """`size` bytes of one repeated byte, read in chunks (never held whole)."""

    def __init__(self, size: int, fill: int) -> None:
        self.left = size
        self.fill = bytes([fill])

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return self.fill * n
