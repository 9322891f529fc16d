"""The build context: a directory, a tarball or stdin (`-`), its `.dockerignore`, and COPY/ADD sources inside it.

Sources are resolved strictly inside a root directory fd: a source path is cleaned (`../x` is refused as docker
refuses it), wildcards are matched one component at a time over the names the ignore file leaves visible, and the
path a match names is opened with `openat2(RESOLVE_IN_ROOT)`, so a symlink in the context (`ln -s /etc x`,
`ln -s ../../secret y`) resolves inside the context, never on the host. Directories are walked through directory
fds without following symlinks (a symlink inside a copied directory is copied as a symlink).

`collect()` is used twice: by the builder on the context (hashing every file, for the cache key) and by the copy
child on another stage's root (no hashing: the stage's image id already names its content).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from tug.dockerfile.ignore import IgnoreMatcher, clean, read_dockerignore
from tug.engine.build.digests import DigestCache
from tug.errors import Invalid, NotFound
from tug.records import field, record
from tug.sys.openat2 import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2

_IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
_CHUNK = 1 << 20
_MAGIC = "*?["


@record(frozen=True)
class Entry:
    """One object a COPY source brings: `rel` is its path below the source (empty for the source itself)."""

    rel: str
    kind: str  # "file" | "dir" | "symlink"
    mode: int  # permission bits as found
    size: int = 0
    link: str = ""  # symlink target
    digest: str = ""  # sha256 hex of a file's content (when hashed)


@record
class Source:
    """One matched source: its real path inside the root, its name, and what it holds (itself first)."""

    path: str  # path inside the root, symlinks resolved, no leading "/"
    name: str  # the basename the destination gets
    entries: list[Entry] = field(default_factory=list)
    matched: str = ""  # the path the pattern matched (before symlinks): what COPY --parents keeps
    prefix: str = ""  # COPY --parents: the directory below the destination this source lands in

    @property
    def is_dir(self) -> bool:
        return self.entries[0].kind == "dir"

    def summary(self) -> dict[str, str]:
        """path -> what the cache compares: `<kind> <mode> <digest or link target>` per object."""
        base = self.path or "."
        return {(f"{base}/{e.rel}" if e.rel else base): f"{e.kind} {e.mode & 0o7755:o} {e.digest or e.link}"
                for e in self.entries}


@record
class BuildContext:
    root: Path  # the context directory (a temp dir for a tarball or stdin)
    dockerfile: bytes
    dockerfile_name: str
    matcher: IgnoreMatcher
    temp: Path | None = None  # removed by close()

    def close(self) -> None:
        if self.temp is not None:
            shutil.rmtree(self.temp, ignore_errors=True)
            self.temp = None

    def __enter__(self) -> BuildContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- opening a context -------------------------------------------------------------------------------------------


def _sniff(head: bytes) -> str | None:
    """The compression of a tarball by its first bytes; None when it is not a tar at all."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "none"
    return None


def is_archive(head: bytes) -> str | None:
    """ADD's auto-extraction test: a (possibly compressed) tar, by magic bytes only."""
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return _sniff(head)


def _extract(stream: BinaryIO, compression: str, dest: Path) -> None:
    from tug.store.layers import apply_layer

    apply_layer(stream, compression, dest, where="build context")


def open_context(source: str, tmp_root: Path, dockerfile: str | None = None,
                 stdin: BinaryIO | None = None) -> BuildContext:
    """A context from a directory, a tarball path, or `-` (a tarball, or a lone Dockerfile, on stdin)."""
    temp: Path | None = None
    lone: bytes | None = None
    try:
        if source == "-" or (os.path.isfile(source)):
            stream: BinaryIO = stdin or sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
            head = stream.read(512)
            compression = _sniff(head)
            tmp_root.mkdir(parents=True, exist_ok=True)
            temp = Path(tempfile.mkdtemp(prefix="build-context-", dir=tmp_root))
            root = temp / "ctx"
            root.mkdir()
            if compression is None:
                if source != "-":
                    raise Invalid(f"build context {source} is neither a directory nor a tar archive")
                lone = head + stream.read()
            else:
                _extract(_Prefixed(head, stream), compression, root)
            if source != "-":
                stream.close()
        else:
            if not os.path.isdir(source):
                raise NotFound(f"unable to prepare context: path {source!r} not found")
            root = Path(source).resolve()
        text, name = _dockerfile(root, dockerfile, lone, source)
        ignore = root / ".dockerignore"
        patterns = read_dockerignore(ignore.read_bytes()) if ignore.is_file() and not ignore.is_symlink() else []
        return BuildContext(root, text, name, IgnoreMatcher(patterns), temp)
    except BaseException:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        raise


class _Prefixed(io.RawIOBase):
    """A stream with the bytes already read for sniffing put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(b))
        b[: len(data)] = data
        return len(data)


def _dockerfile(root: Path, name: str | None, lone: bytes | None, source: str) -> tuple[bytes, str]:
    if lone is not None:
        return lone, "Dockerfile"
    if name == "-":
        return sys.stdin.buffer.read(), "Dockerfile"
    if name:
        local = Path(name)
        in_ctx = source == "-" or os.path.isfile(source)
        path = root / clean(name).lstrip("/") if in_ctx or not local.exists() else local
    else:
        path = root / "Dockerfile"
        if not path.exists() and (root / "dockerfile").exists():
            path = root / "dockerfile"
    if not in_root(root, path):
        raise Invalid(f"the Dockerfile ({name}) must be within the build context")
    try:
        return path.read_bytes(), name or path.name
    except FileNotFoundError:
        raise NotFound(f"unable to prepare context: cannot find the Dockerfile {name or 'Dockerfile'} in "
                       f"{source}") from None


def in_root(root: Path, path: Path) -> bool:
    """Tarball contexts keep the Dockerfile inside; a directory context allows one anywhere (docker's -f)."""
    return True if not str(path).startswith(str(root)) else os.path.realpath(path).startswith(str(root))


# -- sources inside a root ------------------------------------------------------------------------------------


def clean_source(path: str) -> str:
    """A COPY source as a path below the root, or Invalid when it names something outside."""
    cleaned = clean(path).lstrip("/")
    if cleaned == ".." or cleaned.startswith("../"):
        raise Invalid(f"forbidden path outside the build context: {path}")
    return "" if cleaned == "." else cleaned


def _go_pattern(segment: str) -> str:
    """Go's filepath.Match syntax as fnmatch's: `[^a]` is `[!a]`."""
    return segment.replace("[^", "[!")


def _match_names(root_fd: int, pattern: str, matcher: IgnoreMatcher | None) -> list[str]:
    """The visible paths a (cleaned) pattern names, sorted; a literal path is returned as is."""
    if not any(ch in pattern for ch in _MAGIC):
        return [pattern]
    found = [""]
    for seg in pattern.split("/"):
        nxt: list[str] = []
        for base in found:
            if not any(ch in seg for ch in _MAGIC):
                nxt.append(f"{base}/{seg}" if base else seg)
                continue
            try:
                fd = openat2(root_fd, base or ".", os.O_RDONLY | os.O_DIRECTORY, 0, _IN_ROOT)
            except OSError:
                continue
            try:
                names = sorted(os.listdir(fd))
            finally:
                os.close(fd)
            for n in names:
                p = f"{base}/{n}" if base else n
                if fnmatch.fnmatchcase(n, _go_pattern(seg)) and not (matcher and matcher.excluded(p)):
                    nxt.append(p)
        found = nxt
    return sorted(found)


def _real_rel(root_fd: int, fd: int) -> str:
    """The path of `fd` relative to the root (both as the kernel names them)."""
    top = os.readlink(f"/proc/self/fd/{root_fd}")
    here = os.readlink(f"/proc/self/fd/{fd}")
    if here == top:
        return ""
    prefix = top.rstrip("/") + "/"
    if not here.startswith(prefix):  # pragma: no cover - RESOLVE_IN_ROOT keeps it below
        raise Invalid(f"{here} is outside the build context")
    return here[len(prefix):]


def hash_fd(fd: int) -> str:
    h = hashlib.sha256()
    while chunk := os.read(fd, _CHUNK):
        h.update(chunk)
    return h.hexdigest()


def _digest(fd: int, st: os.stat_result, digests: DigestCache | None) -> str:
    """The sha256 of an open regular file, from the stat-keyed table when the file is unchanged (digests.py)."""
    if digests is not None:
        found = digests.get(st)
        if found is not None:
            return found
    digest = hash_fd(fd)
    if digests is not None:
        digests.put(st, os.fstat(fd), digest)
    return digest


def _entry(rel: str, st: os.stat_result, dir_fd: int, name: str, hashing: bool,
           digests: DigestCache | None = None) -> Entry:
    m = st.st_mode
    if stat.S_ISDIR(m):
        return Entry(rel, "dir", stat.S_IMODE(m))
    if stat.S_ISLNK(m):
        return Entry(rel, "symlink", 0o777, link=os.readlink(name, dir_fd=dir_fd))
    if stat.S_ISREG(m):
        digest = ""
        if hashing:
            if digests is not None and (found := digests.get(st)) is not None:
                return Entry(rel, "file", stat.S_IMODE(m), st.st_size, digest=found)
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            try:
                digest = _digest(fd, os.fstat(fd), digests)
            finally:
                os.close(fd)
        return Entry(rel, "file", stat.S_IMODE(m), st.st_size, digest=digest)
    return Entry(rel, "other", stat.S_IMODE(m))


def _walk(dir_fd: int, base_path: str, rel: str, matcher: IgnoreMatcher | None, hashing: bool,
          out: list[Entry], digests: DigestCache | None = None) -> None:
    for name in sorted(os.listdir(dir_fd)):
        path = f"{base_path}/{name}" if base_path else name
        sub_rel = f"{rel}/{name}" if rel else name
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        excluded = matcher is not None and matcher.excluded(path)
        if stat.S_ISDIR(st.st_mode):
            if excluded and not (matcher and matcher.may_contain_included(path)):
                continue
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            try:
                mark = len(out)
                if not excluded:
                    out.append(_entry(sub_rel, st, dir_fd, name, hashing))
                _walk(sub, path, sub_rel, matcher, hashing, out, digests)
                if excluded and len(out) > mark:  # a re-included path below: its directory comes too
                    out.insert(mark, _entry(sub_rel, st, dir_fd, name, hashing))
            finally:
                os.close(sub)
        elif not excluded:
            e = _entry(sub_rel, st, dir_fd, name, hashing, digests)
            if e.kind != "other":
                out.append(e)


def collect(root_fd: int, source: str, matcher: IgnoreMatcher | None = None, hashing: bool = True,
            allow_empty: bool = False, digests: DigestCache | None = None) -> list[Source]:
    """The sources one COPY/ADD argument names inside the root. NotFound when nothing matches. With `digests`,
    unchanged files are not read again."""
    pattern = clean_source(source)
    out: list[Source] = []
    for path in _match_names(root_fd, pattern, matcher):
        try:
            fd = openat2(root_fd, path or ".", os.O_PATH | os.O_CLOEXEC, 0, _IN_ROOT)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise Invalid(f"COPY source {source}: {e.strerror}") from None
        try:
            real = _real_rel(root_fd, fd)
            if matcher is not None and real and matcher.excluded(real):
                continue
            st = os.fstat(fd)
            name = path.rsplit("/", 1)[-1] if path else ""
            src = Source(real, name, matched=path)
            if stat.S_ISDIR(st.st_mode):
                src.entries.append(Entry("", "dir", stat.S_IMODE(st.st_mode)))
                dfd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    _walk(dfd, real, "", matcher, hashing, src.entries, digests)
                finally:
                    os.close(dfd)
            elif stat.S_ISREG(st.st_mode):
                digest = ""
                if hashing:
                    rfd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        digest = _digest(rfd, st, digests)
                    finally:
                        os.close(rfd)
                src.entries.append(Entry("", "file", stat.S_IMODE(st.st_mode), st.st_size, digest=digest))
            else:
                continue
        finally:
            os.close(fd)
        out.append(src)
    if not out and not allow_empty:
        raise NotFound(f"COPY failed: file not found in build context or excluded by .dockerignore: stat {source}: "
                       "file does not exist")
    return out


def open_root(path: str | os.PathLike[str]) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
