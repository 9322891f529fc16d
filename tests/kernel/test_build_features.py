"""tug build features beyond the basics: ADD of bzip2/xz/zstd tars (and compressed non-tars copied as they are),
COPY --parents and --exclude, RUN cache mounts' sharing modes and ids, RUN ssh mounts."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile

from build_helpers import build, run, write_context


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_add_unpacks_bzip2_xz_gzip_zstd_tars_and_copies_other_files(busybox_tug, tmp_path):
    from tug.store.streams import _zstd

    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nADD a.tar.bz2 /bz/\nADD b.tar.xz /xz/\nADD c.tgz /gz/\nADD d.tar.zst /zst/\n"
                      "ADD notes.txt.gz /files/\nADD e.tar.xz f.tar.bz2 /multi/\n",
        "a.tar.bz2": bz2.compress(_tar({"bz/inner.txt": b"bz2\n"})),
        "b.tar.xz": lzma.compress(_tar({"xz.txt": b"xz\n"})),
        "c.tgz": gzip.compress(_tar({"gz.txt": b"gz\n"})),
        "d.tar.zst": _zstd().compress(_tar({"zst.txt": b"zst\n"})),
        "notes.txt.gz": gzip.compress(b"just text\n"),
        "e.tar.xz": lzma.compress(_tar({"e.txt": b"e\n"})),
        "f.tar.bz2": bz2.compress(_tar({"f.txt": b"f\n"})),
    })
    build(busybox_tug, ctx, "-t", "arch")
    out = run(busybox_tug, "arch", "cat", "/bz/bz/inner.txt", "/xz/xz.txt", "/gz/gz.txt", "/zst/zst.txt",
              "/multi/e.txt", "/multi/f.txt")
    assert out == "bz2\nxz\ngz\nzst\ne\nf\n"
    assert run(busybox_tug, "arch", "sh", "-c", "zcat /files/notes.txt.gz") == "just text\n"
