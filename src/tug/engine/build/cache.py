"""The build cache: which step, on which parent, gave which result; and why a step missed.

A step's inputs are its parent (the image config digest it starts from), its instruction text after expansion
(flags included), the build args in effect (for RUN), and, for COPY/ADD, a summary of every file it copies (path,
type, permission bits, content digest or link target). The key is the sha256 of those inputs in canonical JSON.

Entries are small JSON files, `<root>/buildcache/steps/<parent hex>/<key hex>.json`, written atomically, so a
lookup is one open and the cache survives across invocations without a lock. An entry records the inputs (for
`--explain`) and the result: the config digest and the layers (descriptor, diff id, unpacked size). An entry whose
blobs or snapshots are gone is a miss and is dropped. `referenced()` tells gc what the cache keeps alive; `prune()`
forgets everything (and the RUN --mount=type=cache directories).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from tug.engine.record import LayerBlob
from tug.oci.digest import Digest, chain_ids
from tug.records import field, record

CACHE_DIR = "buildcache"


@record
class StepInputs:
    parent: str  # config digest of the state the step starts from
    instruction: str  # the expanded instruction, as the cache compares it
    args: list[str] = field(default_factory=list)  # build args in effect (RUN)
    files: dict[str, str] = field(default_factory=dict)  # path -> summary (COPY/ADD from the context)
    extra: dict[str, str] = field(default_factory=dict)  # other inputs: a --from stage's id, a download's digest
    shown: str = ""  # the instruction as --explain prints it (not part of the key)

    def key(self) -> str:
        doc: dict[str, Any] = {"parent": self.parent, "instruction": self.instruction, "args": sorted(self.args),
               "files": self.files, "extra": self.extra}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {"parent": self.parent, "instruction": self.instruction, "args": self.args, "files": self.files,
                "extra": self.extra, "shown": self.shown}


@record
class Result:
    config: Digest  # the step's image config (its id)
    layers: list[LayerBlob]


def explain(old: StepInputs, new: StepInputs) -> str:
    """The first input that differs between an earlier build of this step and now."""
    if old.parent != new.parent:
        return f"the parent changed ({old.parent[:19]} -> {new.parent[:19]})"
    if old.instruction != new.instruction:
        return f"the instruction changed (was: {old.shown or old.instruction})"
    if sorted(old.args) != sorted(new.args):
        before = dict(a.partition("=")[::2] for a in old.args)
        after = dict(a.partition("=")[::2] for a in new.args)
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                return f"the build argument {name} changed"
    for path in sorted(set(old.files) | set(new.files)):
        if path not in new.files:
            return f"the file {path} is gone"
        if path not in old.files:
            return f"the file {path} is new"
        if old.files[path] != new.files[path]:
            return f"the file {path} changed"
    for name in sorted(set(old.extra) | set(new.extra)):
        if old.extra.get(name) != new.extra.get(name):
            return f"the {name} changed"
    return "no earlier result (it was removed)"


class BuildCache:
    def __init__(self, root: Path) -> None:
        self.base = Path(root) / CACHE_DIR
        self.steps = self.base / "steps"

    def _path(self, inputs: StepInputs, key: str | None = None) -> Path:
        return self.steps / Digest.parse(inputs.parent).hex / f"{key or inputs.key()}.json"

    def entry_path(self, inputs: StepInputs) -> Path:
        return self._path(inputs)

    def lookup(self, inputs: StepInputs) -> Result | None:
        try:
            doc = json.loads(self._path(inputs).read_bytes())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None
        return Result(Digest.parse(doc["result"]), [LayerBlob.from_json(x) for x in doc.get("layers", [])])

    def store(self, inputs: StepInputs, result: Result) -> None:
        path = self._path(inputs)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"inputs": inputs.to_json(), "result": str(result.config),
               "layers": [x.to_json() for x in result.layers]}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, sort_keys=True))
        os.replace(tmp, path)

    def forget(self, inputs: StepInputs) -> None:
        try:
            self._path(inputs).unlink()
        except FileNotFoundError:
            pass

    def why_missed(self, inputs: StepInputs, first_step: bool) -> str:
        """`--explain`: compare with the earlier builds from the same parent, best match first."""
        folder = self.steps / Digest.parse(inputs.parent).hex
        olds: list[tuple[float, StepInputs]] = []
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            names = []
        for name in names:
            if not name.endswith(".json"):
                continue
            try:
                p = folder / name
                doc = json.loads(p.read_bytes())["inputs"]
                olds.append((p.stat().st_mtime, StepInputs(doc["parent"], doc["instruction"], doc.get("args", []),
                                                           doc.get("files", {}), doc.get("extra", {}),
                                                           doc.get("shown", ""))))
            except (OSError, ValueError, KeyError):
                continue
        if not olds:
            if first_step:
                return "no earlier build from this base image"
            return "its parent is new (an earlier step was rebuilt)"
        same = [o for o in olds if o[1].instruction == inputs.instruction]
        pool = same or olds
        pool.sort(key=lambda o: o[0], reverse=True)
        return explain(pool[0][1], inputs)

    def entries(self) -> list[dict[str, Any]]:
        out = []
        if not self.steps.is_dir():
            return out
        for folder in self.steps.iterdir():
            if not folder.is_dir():
                continue
            for p in folder.glob("*.json"):
                try:
                    out.append(json.loads(p.read_bytes()))
                except (OSError, ValueError):
                    continue
        return out

    def referenced(self) -> tuple[set[Digest], set[Digest]]:
        """(blobs, snapshot chain ids) the cache keeps: result configs, their layers and the configs of parents."""
        blobs: set[Digest] = set()
        chains: set[Digest] = set()
        for doc in self.entries():
            try:
                cfg = Digest.parse(doc["result"])
                blobs.add(cfg)
                blobs.add(Digest.parse(doc["inputs"]["parent"]))
                layers = [LayerBlob.from_json(x) for x in doc.get("layers", [])]
            except (KeyError, ValueError, TypeError):
                continue
            blobs.update(x.descriptor.digest for x in layers)
            chains.update(chain_ids([x.diff_id for x in layers]))
        return blobs, chains

    @property
    def mounts(self) -> Path:
        return self.base / "mounts"

    def mount_dir(self, ident: str) -> Path:
        d = self.mounts / hashlib.sha256(ident.encode()).hexdigest()[:32]
        return d

    def prune(self, mounts: bool = True) -> tuple[int, int]:
        """Forget every step and (with `mounts`) the cache mounts; (entries, mount dirs) removed."""
        n = len(self.entries())
        shutil.rmtree(self.steps, ignore_errors=True)
        shutil.rmtree(self.base / "memo", ignore_errors=True)  # replays of fully cached builds (memo.py)
        m = 0
        if mounts and self.mounts.is_dir():
            m = sum(1 for p in self.mounts.iterdir() if p.is_dir())  # not the .lock files beside them
            shutil.rmtree(self.mounts, ignore_errors=True)
        return n, m
