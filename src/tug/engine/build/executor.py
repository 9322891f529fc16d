"""`tug build`: the stages a target needs, step by step, each step looked up in the cache before it runs.

A step starts from a state (an image config stored as a blob, whose digest is the state's id, and its layers) and
gives the next one: metadata instructions edit the config, RUN runs a build container (runner.py), COPY/ADD/WORKDIR
change files in a chrooted child (sandbox.py, files.py). Each step adds a history entry; new layers are written
reproducibly (sorted, numeric owners, mtimes clamped to SOURCE_DATE_EPOCH or 0) and the config's `created` is that
epoch, so the same context gives the same image digest wherever and whenever it is built.

Progress is a stream of `BuildEvent`s (docker's classic lines); the CLI prints them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tug.dockerfile import instructions as ins
from tug.dockerfile.history import created_by
from tug.dockerfile.plan import BuildPlan, PlannedStage, Platform, StageEvaluator, build_plan, parse_trigger
from tug.engine.build import config as cfgmod
from tug.engine.build.cache import BuildCache, Result, StepInputs
from tug.engine.build.context import BuildContext
from tug.engine.build.memo import Memo
from tug.engine.build.options import BuildEvent, BuildOptions, OnEvent
from tug.engine.build.workdir import BuildWork, remove_stale
from tug.engine.engine import Engine
from tug.engine.record import LayerBlob
from tug.errors import Invalid, NotFound
from tug.oci.digest import Digest, chain_ids
from tug.oci.image_config import ImageConfig
from tug.records import record

META = (ins.Env, ins.Label, ins.Arg, ins.Cmd, ins.Entrypoint, ins.User, ins.Expose, ins.Volume, ins.StopSignal,
        ins.Healthcheck, ins.Shell, ins.Onbuild, ins.Maintainer)


@record
class State:
    raw: dict[str, Any]
    layers: list[LayerBlob]
    id: Digest
    cmd_set: bool = False

    @property
    def chains(self) -> list[Digest]:
        return chain_ids([x.diff_id for x in self.layers])

    @property
    def config(self) -> dict[str, Any]:
        return self.raw.setdefault("config", {})


@record
class Stats:
    steps: int = 0
    cached: int = 0
    containers: int = 0  # build containers run


def epoch_of(eng: Engine) -> int:
    text = eng.env.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise Invalid(f"SOURCE_DATE_EPOCH={text!r} is not a number of seconds")
    return int(text)


class Builder:
    def __init__(self, eng: Engine, opts: BuildOptions, ctx: BuildContext, on_event: OnEvent,
                 work: BuildWork) -> None:
        self.eng = eng
        self.opts = opts
        self.ctx = ctx
        self.emit = on_event
        self.cache = BuildCache(eng.root)
        self.epoch = epoch_of(eng)
        self.created = cfgmod.epoch_text(self.epoch)
        self.stats = Stats()
        self.results: dict[int, State] = {}
        self.step_no = 0
        self.total = 0
        self.owner = work
        self.work = work.path
        from tug.engine.build.digests import DigestCache

        self.digests = DigestCache(eng.root / "buildcache" / "digests.json")  # context files' sha256 by stat
        self.bases: dict[str, str] = {}  # for the memo (memo.py): base tag -> image id
        self.paths: list[str] = []  # files the cached steps stood on
        self.replayable = True  # False once the build read anything but the context and the store

    # -- states ---------------------------------------------------------------------------------------------------

    def save(self, raw: dict[str, Any], layers: list[LayerBlob], cmd_set: bool) -> State:
        cfgmod.drop_none(raw)
        raw.setdefault("rootfs", {"type": "layers"})["diff_ids"] = [str(x.diff_id) for x in layers]
        data = cfgmod.config_bytes(raw)
        digest = Digest.of(data)
        if not self.eng.content.has(digest):
            self.eng.content.put(data, digest)
        return State(raw, layers, digest, cmd_set)

    def load(self, res: Result, cmd_set: bool) -> State | None:
        eng = self.eng
        if not eng.content.has(res.config):
            return None
        for x, chain in zip(res.layers, chain_ids([x.diff_id for x in res.layers]), strict=True):
            if not eng.content.has(x.descriptor.digest) or not eng.snapshots.exists(chain):
                return None
        raw = json.loads(eng.content.read(res.config))
        return State(raw, list(res.layers), res.config, cmd_set)

    def base_state(self, plan: BuildPlan, stage: PlannedStage) -> State:
        base = stage.base
        if base.kind == "stage":
            assert base.stage is not None
            prev = self.results[base.stage]
            return State(json.loads(json.dumps(prev.raw)), list(prev.layers), prev.id)
        platform = Platform.parse(stage.platform) if stage.platform else (
            Platform.parse(self.opts.platform) if self.opts.platform else None)
        if base.kind == "scratch":
            p = platform or Platform()
            return self.save(cfgmod.scratch(p.os, p.architecture, p.variant), [], False)
        return self.image_state(base.ref, stage.platform or self.opts.platform)

    def image_state(self, ref: str, platform: str | None = None) -> State:
        from tug.engine import images

        eng = self.eng
        if self.opts.pull:
            from tug.engine.pull import ensure_image

            ensure_image(eng, ref, "always", platform)
        try:
            img = images.find(eng, ref)
        except NotFound:
            from tug.engine.pull import ensure_image

            ensure_image(eng, ref, "missing", platform)
            img = images.find(eng, ref)
        self._note_base(ref, img.id)
        cfg = images.config(eng, img)
        return State(cfgmod.from_base(cfg.raw), image_layers(eng, img, cfg), Digest.parse(img.id))

    def _note_base(self, ref: str, image_id: str) -> None:
        """For the memo: the tag a base image was found under (a base found otherwise rules the memo out)."""
        from tug.errors import TugError
        from tug.oci import reference

        try:
            name = str(reference.parse(ref))
        except TugError:
            name = ""
        if name and "@" not in name and self.eng.metadata.get_tag(name) == image_id:
            self.bases[name] = image_id
        else:
            self.replayable = False

    # -- the build ------------------------------------------------------------------------------------------------

    def build(self, plan: BuildPlan) -> State:
        self.total = sum(1 + len(s.instructions) for s in plan.stages)
        state: State | None = None
        for stage in plan.stages:
            state = self.build_stage(plan, stage)
            self.results[stage.index] = state
        assert state is not None
        return state

    def _step(self, text: str) -> None:
        self.step_no += 1
        self.emit(BuildEvent("step", f"Step {self.step_no}/{self.total} : {text}"))

    def build_stage(self, plan: BuildPlan, stage: PlannedStage) -> State:
        self._step(stage.from_.original or f"FROM {stage.base.ref}")
        state = self.base_state(plan, stage)
        self.emit(BuildEvent("base", state.id.hex[:12]))
        ev = plan.evaluator(stage, base_env=list(state.config.get("Env") or []),
                            base_shell=state.config.get("Shell") or None)
        triggers = list(state.config.get("OnBuild") or [])
        if triggers:  # also for an earlier stage as base: its image carries the triggers, as in docker
            self.emit(BuildEvent("triggers", f"# Executing {len(triggers)} build trigger"
                                 + ("s" if len(triggers) > 1 else "")))
            raw = json.loads(json.dumps(state.raw))
            raw["config"]["OnBuild"] = None
            state = self.save(raw, state.layers, state.cmd_set)
            for expr in triggers:
                trig = parse_trigger(expr, plan.dockerfile.filename, stage.from_.line)
                state = self.step(plan, ev, state, trig, first=False, show=False)
        first = True
        for instr in stage.instructions:
            self._step(instr.original)
            state = self.step(plan, ev, state, instr, first=first)
            first = False
        return state

    def step(self, plan: BuildPlan, ev: StageEvaluator, state: State, instr: ins.Instruction, first: bool,
             show: bool = True) -> State:
        x = ev.apply(instr)
        self.stats.steps += 1
        if isinstance(x, META):
            return self._meta_step(ev, state, x, first)
        if isinstance(x, ins.Workdir):
            return self._workdir_step(ev, state, x, first)
        if isinstance(x, ins.Run):
            from tug.engine.build.runstep import run_step

            return run_step(self, plan, ev, state, x, first)
        if isinstance(x, ins.Copy | ins.Add):
            from tug.engine.build.copystep import copy_step

            return copy_step(self, plan, ev, state, x, first)
        raise Invalid(f"{plan.dockerfile.filename}:{instr.line}: {x.keyword} cannot be built here")

    # -- the cache around a step ----------------------------------------------------------------------------------

    def cached(self, inputs: StepInputs, first: bool, cmd_set: bool) -> State | None:
        inputs.extra["SOURCE_DATE_EPOCH"] = str(self.epoch)  # it is in every created time the step writes
        if self.opts.no_cache:
            if self.opts.explain:
                self.emit(BuildEvent("miss", "cache disabled (--no-cache)"))
            return None
        res = self.cache.lookup(inputs)
        if res is not None:
            st = self.load(res, cmd_set)
            if st is not None:
                self._note_paths(inputs, res)
                self.stats.cached += 1
                self.emit(BuildEvent("cache", "Using cache"))
                self.emit(BuildEvent("done", st.id.hex[:12]))
                return st
            self.cache.forget(inputs)
        if self.opts.explain:
            self.emit(BuildEvent("miss", self.cache.why_missed(inputs, first)))
        return None

    def _note_paths(self, inputs: StepInputs, res: Result) -> None:
        """For the memo: the files a cached step stood on, relative to the store root."""
        eng = self.eng
        files = [self.cache.entry_path(inputs), eng.content.path(res.config)]
        files += [eng.content.path(x.descriptor.digest) for x in res.layers]
        files += [eng.snapshots.path(c) for c in chain_ids([x.diff_id for x in res.layers])]
        self.paths += [str(f.relative_to(eng.root)) for f in files]

    def remember(self, inputs: StepInputs, st: State) -> State:
        self.cache.store(inputs, Result(st.id, list(st.layers)))
        self.emit(BuildEvent("done", st.id.hex[:12]))
        return st

    def _meta_step(self, ev: StageEvaluator, state: State, x: ins.Instruction, first: bool) -> State:
        text = created_by(x, shell=ev.shell if not isinstance(x, ins.Shell) else ev_shell_before(state))
        assert text is not None
        inputs = StepInputs(str(state.id), text)
        cmd_set = state.cmd_set or isinstance(x, ins.Cmd)
        hit = self.cached(inputs, first, cmd_set)
        if hit is not None:
            return hit
        raw = json.loads(json.dumps(state.raw))
        try:
            new_cmd_set = cfgmod.apply_meta(raw, x, shell=ev.shell, env=ev.config_env(), cmd_set=state.cmd_set)
        except ValueError as e:
            raise Invalid(str(e)) from None
        cfgmod.add_history(raw, self.created, text, empty_layer=True)
        return self.remember(inputs, self.save(raw, state.layers, new_cmd_set))

    def _workdir_step(self, ev: StageEvaluator, state: State, x: ins.Workdir, first: bool) -> State:
        path = cfgmod.resolve_workdir(state.config.get("WorkingDir") or "", x.path)
        text = created_by(x, shell=ev.shell, workdir=path)
        assert text is not None
        inputs = StepInputs(str(state.id), text)
        hit = self.cached(inputs, first, state.cmd_set)
        if hit is not None:
            return hit
        raw = json.loads(json.dumps(state.raw))
        raw["config"]["WorkingDir"] = path
        layers = list(state.layers)
        if not self._exists_in(state, path):
            from tug.engine.build import files
            from tug.engine.build.sandbox import run_in_root

            work = Path(tempfile.mkdtemp(prefix="workdir-", dir=self.work))
            upper = run_in_root(self.eng, state.chains, work, {}, lambda _fds: files.make_workdir(path))
            layer = self.write_layer(upper, state)
            shutil.rmtree(work, ignore_errors=True)
            if layer is not None:
                layers.append(layer)
        cfgmod.add_history(raw, self.created, text, empty_layer=len(layers) == len(state.layers))
        return self.remember(inputs, self.save(raw, layers, state.cmd_set))

    def _exists_in(self, state: State, path: str) -> bool:
        import stat as stat_mod

        from tug.store.overlay_changes import LowerView

        if not state.layers:
            return path == "/"
        view = LowerView([self.eng.snapshots.path(c) for c in reversed(state.chains)])
        parts = tuple(p for p in path.split("/") if p)
        for i in range(1, len(parts) + 1):  # every component a real directory (a symlink needs the sandbox)
            st = view.lookup(parts[:i])
            if st is None or not stat_mod.S_ISDIR(st.st_mode):
                return False
        return True

    # -- layers ---------------------------------------------------------------------------------------------------

    def write_layer(self, upper: Path, state: State, exclude: Any = None) -> LayerBlob | None:
        """The upper directory as a layer (None when nothing changed), unpacked on top of the state's chain."""
        from tug.engine.layers import unpack_blob
        from tug.oci import mediatypes as mt
        from tug.oci.descriptor import Descriptor
        from tug.store.diff import write_layer

        eng = self.eng
        with eng.content.ingest() as ing:
            res = write_layer(upper, ing, exclude=exclude, clamp_mtime=self.epoch)
            if res.entries == 0:
                return None
            digest = ing.commit()
        chains = state.chains
        return unpack_blob(eng, Descriptor(mt.OCI_LAYER, digest, res.size), chains[-1] if chains else None,
                           diff_id=res.diff_id)


def image_layers(eng: Engine, img: Any, cfg: ImageConfig) -> list[LayerBlob]:
    """An image's layers as a build starts from them (`record.stored_layers`)."""
    from tug.engine.record import stored_layers

    return stored_layers(eng, img.manifest_digest, cfg, img.short_id)


def recorded(eng: Engine, image_id: str, tags: list[str]) -> bool:
    """The image is already in the store under every tag asked for (a fully cached rebuild writes nothing)."""
    md = eng.metadata
    return md.get_image(image_id) is not None and all(md.get_tag(t) == image_id for t in tags)


def ev_shell_before(state: State) -> list[str]:
    return list(state.config.get("Shell") or ["/bin/sh", "-c"])


def build(eng: Engine, opts: BuildOptions, on_event: OnEvent, stdin: Any = None,
          memo: Memo | None = None) -> tuple[str, Stats]:
    """Build; returns the image id and what the build did. Tags are set only when every step succeeded. With a
    `memo`, a build whose every step was cached is remembered for replay (memo.py)."""
    from tug.oci import reference

    tags = [str(reference.parse(t)) for t in opts.tags]
    if opts.squash and opts.squash_all:
        raise Invalid("--squash and --squash-all cannot be used together")
    from tug.engine.build.runsettings import check

    check(opts)  # a bad -m/--ulimit/--security-opt... fails before any step runs
    work = BuildWork(eng.layout.tmp)
    try:
        remove_stale(eng)  # builds a SIGKILL left behind (ours is locked, so it stays)
        if memo is None or memo.key is None:
            return _build_in(eng, opts, on_event, stdin, work, tags)[:2]
        events: list[BuildEvent] = []

        def seen(e: BuildEvent) -> None:
            events.append(e)
            on_event(e)

        image_id, stats, b = _build_in(eng, opts, seen, stdin, work, tags)
        if b.replayable and stats.cached == stats.steps and stats.containers == 0:
            from tug.oci import reference

            familiar = {t: reference.parse(t).familiar for t in opts.tags}
            memo.save(image_id, dict(zip(opts.tags, tags, strict=True)), familiar, b.bases, b.paths, events)
        return image_id, stats
    finally:
        work.close()


def _build_in(eng: Engine, opts: BuildOptions, on_event: OnEvent, stdin: Any, work: BuildWork,
              tags: list[str]) -> tuple[str, Stats, Builder]:
    from tug.dockerfile.document import parse
    from tug.engine.build.context import open_context
    from tug.engine.record import record_raw
    from tug.store.locks import lock

    with open_context(opts.context, work.path, opts.dockerfile, stdin) as ctx:
        df = parse(ctx.dockerfile, ctx.dockerfile_name)
        plat = Platform.parse(opts.platform) if opts.platform else None
        plan = build_plan(df, build_args=opts.build_args, target=opts.target, target_platform=plat)
        if plan.unused_build_args:
            on_event(BuildEvent("warning", "[Warning] One or more build-args [" + " ".join(plan.unused_build_args)
                                + "] were not consumed"))
        with lock(eng.layout, "gc", shared=True):
            b = Builder(eng, opts, ctx, on_event, work)
            try:
                final = b.build(plan)
            finally:
                b.digests.save()
            raw = json.loads(json.dumps(final.raw))
            layers = list(final.layers)
            if opts.labels:
                labels = dict(raw["config"].get("Labels") or {})
                labels.update(opts.labels)
                raw["config"]["Labels"] = labels
            if opts.squash or opts.squash_all:
                from tug.engine.build.squash import squash

                base_count = 0 if opts.squash_all else _base_layer_count(b, plan)
                raw, layers = squash(b, raw, layers, base_count)
            cfgmod.drop_none(raw)
            raw.setdefault("rootfs", {"type": "layers"})["diff_ids"] = [str(x.diff_id) for x in layers]
            data = cfgmod.config_bytes(raw)
            image_id = str(Digest.of(data))
            if not recorded(eng, image_id, tags):
                image_id = record_raw(eng, data, layers, tags)
    return image_id, b.stats, b


def _base_layer_count(b: Builder, plan: BuildPlan) -> int:
    """How many layers the target's first ancestor image (not built here) has: `--squash` keeps those."""
    stage = plan.target
    while stage.base.kind == "stage":
        assert stage.base.stage is not None
        stage = plan.stage(stage.base.stage)
    if stage.base.kind == "scratch":
        return 0
    return len(b.image_state(stage.base.ref, stage.platform).layers)
