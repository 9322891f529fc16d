"""The COPY and ADD step: sources resolved and hashed, the cache consulted, then the copy in a chrooted child."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tug.dockerfile import instructions as ins
from tug.dockerfile.history import created_by
from tug.dockerfile.plan import BuildPlan, StageEvaluator
from tug.engine.build import config as cfgmod
from tug.engine.build import files as filesmod
from tug.engine.build.cache import StepInputs
from tug.engine.build.context import Source, collect, open_root
from tug.engine.build.executor import State
from tug.engine.build.sandbox import RootSpec, run_in_root
from tug.errors import Invalid, NotFound
from tug.records import field, record

if TYPE_CHECKING:
    from tug.dockerfile.ignore import IgnoreMatcher
    from tug.engine.build.executor import Builder


@record
class Group:
    """Sources read from one root: resolved already (context, downloads, heredocs) or by pattern in the child."""

    root: RootSpec
    sources: list[Source] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)


def parse_chmod(text: str) -> int | None:
    if not text:
        return None
    try:
        mode = int(text, 8)
    except ValueError:
        raise Invalid(f"invalid --chmod value {text!r}: an octal mode is expected") from None
    if not 0 <= mode <= 0o7777:
        raise Invalid(f"invalid --chmod value {text!r}")
    return mode


def parse_chown(b: Builder, state: State, text: str) -> tuple[int, int]:
    """`--chown=user[:group]` with names looked up in the image's /etc/passwd and /etc/group (parsed as `-u` is);
    a user without a group gets its own primary group, a number without one the same number, as docker's does."""
    if not text:
        return (0, 0)
    from tug.engine import userdb
    from tug.spec.user import parse_group, parse_passwd

    user, _, group = text.partition(":")
    layers = [b.eng.snapshots.path(c) for c in reversed(state.chains)]
    entry = None
    if user.isdigit():
        uid = int(user)
    else:
        entry = next((u for u in parse_passwd(userdb.read_file(layers, "etc/passwd")) if u.name == user), None)
        if entry is None:
            raise NotFound(f"unable to convert uid/gid chown string to host mapping: no such user {user!r} in the "
                           "image's /etc/passwd")
        uid = entry.uid
    if not group:
        gid = entry.gid if entry is not None else uid
    elif group.isdigit():
        gid = int(group)
    else:
        found = next((g for g in parse_group(userdb.read_file(layers, "etc/group")) if g.name == group), None)
        if found is None:
            raise NotFound(f"unable to convert uid/gid chown string to host mapping: no such group {group!r} in "
                           "the image's /etc/group")
        gid = found.gid
    return uid, gid


def _dest(state: State, dest: str) -> str:
    trailing = dest.endswith("/") or dest in (".", "./") or dest.endswith("/.")
    if not dest.startswith("/"):
        dest = posixpath.join(state.config.get("WorkingDir") or "/", dest)
    dest = posixpath.normpath(dest)
    if dest.startswith("//"):
        dest = "/" + dest.lstrip("/")
    return dest.rstrip("/") + "/" if trailing else dest


def _summary(files: dict[str, str], extra: dict[str, str], count: int, first: Source | None) -> str:
    digest = hashlib.sha256(json.dumps([files, extra], sort_keys=True).encode()).hexdigest()
    if count == 1 and first is not None:
        return f"{'dir' if first.is_dir else 'file'}:{digest}"
    return f"multi:{digest}"


def copy_step(b: Builder, plan: BuildPlan, ev: StageEvaluator, state: State, x: ins.Copy | ins.Add,
              first: bool) -> State:
    from tug.engine.build.fetch import download, is_url
    from tug.engine.build.selection import select, split_pivot

    parents = isinstance(x, ins.Copy) and x.parents
    dest = _dest(state, x.dest)
    if parents and not dest.endswith("/"):
        dest += "/"  # with --parents the destination is always a directory

    def pick(root_fd: int, src: str, matcher: IgnoreMatcher | None, hashing: bool = True) -> list[Source]:
        """One source argument's matches, placed for --parents and filtered by --exclude (selection.py)."""
        pivot, pattern = split_pivot(src) if parents else ("", src)
        found = collect(root_fd, pattern, matcher, hashing=hashing, digests=b.digests if hashing else None)
        return select(found, x.excludes, parents, pivot)

    owner = parse_chown(b, state, x.chown)
    chmod = parse_chmod(x.chmod)
    files: dict[str, str] = {}
    extra: dict[str, str] = {}
    groups: dict[str, Group] = {}
    from_ref = x.from_ if isinstance(x, ins.Copy) else None
    count = 0
    firsts: list[Source] = []
    if from_ref:
        from tug.engine.build.runstep import stage_root

        root, ident = stage_root(b, plan, from_ref)
        extra["source stage"] = ident
        groups["from"] = Group(root, patterns=list(x.sources))
        count = len(x.sources)
    else:
        ctx_fd = open_root(b.ctx.root)
        try:
            ctx_group = Group(RootSpec(path=b.ctx.root))
            for i, src in enumerate(x.sources):
                if isinstance(x, ins.Add) and is_url(src):
                    b.replayable = False  # the URL's content may change: never replayed from a memo
                    d = Path(tempfile.mkdtemp(prefix="add-", dir=b.work))
                    path, digest = download(src, d, x.checksum)
                    dfd = open_root(d)
                    try:
                        found = collect(dfd, path.name, None)
                    finally:
                        os.close(dfd)
                    groups[f"url{i}"] = Group(RootSpec(path=d), found)
                    files[f"url:{src}"] = f"file 600 {digest}"
                    count += 1
                    firsts += found
                    continue
                found = pick(ctx_fd, src, b.ctx.matcher)
                for s in found:
                    files.update(s.summary())
                ctx_group.sources += found
                firsts += found
                count += len(found)
            if ctx_group.sources:
                groups["context"] = ctx_group
        finally:
            os.close(ctx_fd)
        if x.contents:
            d = Path(tempfile.mkdtemp(prefix="heredoc-", dir=b.work))
            os.chmod(d, 0o755)
            for c in x.contents:
                (d / c.path).write_text(c.data)
                os.chmod(d / c.path, 0o644)
            fd = open_root(d)
            try:
                found = [s for c in x.contents for s in collect(fd, c.path, None)]
            finally:
                os.close(fd)
            for s in found:
                files.update({f"heredoc:{k}": v for k, v in s.summary().items()})
            groups["heredoc"] = Group(RootSpec(path=d), found)
            count += len(found)
            firsts += found
    if count > 1 and not dest.endswith("/"):
        raise Invalid(f"When using {x.keyword} with more than one source file, the destination must be a directory "
                      "and end with a /")
    text = created_by(x, shell=ev.shell, source=_summary(files, extra, count, firsts[0] if firsts else None))
    assert text is not None
    # the key's instruction is what was written (the content is compared file by file, for --explain)
    flags = {"chown": x.chown, "chmod": x.chmod, "from": from_ref or "", "dest": dest, "excludes": x.excludes,
             "parents": parents}
    shown = created_by(x, shell=ev.shell, source=" ".join(x.sources) or "<<heredoc")
    assert shown is not None
    shown += "".join(f" --{k}={v}" for k, v in (("chown", x.chown), ("chmod", x.chmod), ("from", from_ref or ""))
                     if v) + "".join(f" --exclude={e}" for e in x.excludes) + (" --parents" if parents else "")
    inputs = StepInputs(str(state.id), f"{shown} {json.dumps(flags, sort_keys=True)}", files=files, extra=extra,
                        shown=shown)
    hit = b.cached(inputs, first, state.cmd_set)
    if hit is not None:
        return hit
    spec = filesmod.CopySpec(dest, owner, chmod, extract=isinstance(x, ins.Add), multiple=count > 1)

    def resolve(fds: dict[str, int]) -> None:  # before the chroot: collect() reads /proc/self/fd
        for name, g in groups.items():
            if g.patterns:
                g.sources = [s for p in g.patterns for s in pick(fds[name], p, None, hashing=False)]
                if len(g.sources) > 1 and not dest.endswith("/"):
                    raise Invalid(f"When using {x.keyword} with more than one source file, the destination must "
                                  "be a directory and end with a /")

    def work_fn(fds: dict[str, int]) -> None:
        for name, g in groups.items():
            srcs = g.sources
            # URLs are downloads, never archives to unpack (docker unpacks only local tars)
            gspec = filesmod.CopySpec(spec.dest, spec.owner, spec.chmod, spec.extract and not name.startswith("url"),
                                      spec.multiple)
            filesmod.copy_sources(fds[name], srcs, gspec)

    work = Path(tempfile.mkdtemp(prefix="copy-", dir=b.work))
    try:
        upper = run_in_root(b.eng, state.chains, work, {n: g.root for n, g in groups.items()}, work_fn, resolve)
        layer = b.write_layer(upper, state)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    raw = json.loads(json.dumps(state.raw))
    layers = [*state.layers, layer] if layer is not None else list(state.layers)
    cfgmod.add_history(raw, b.created, text, empty_layer=layer is None)
    return b.remember(inputs, b.save(raw, layers, state.cmd_set))
