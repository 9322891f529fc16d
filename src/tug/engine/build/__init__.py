"""tug.engine.build: Dockerfiles to images, with a layer cache (`tug build`).

  context.py    the build context (directory, tarball, stdin), .dockerignore, COPY sources resolved inside it
  executor.py   stages and steps, states (config blob + layers), the cache around each step, recording the image
  config.py     pure config edits of the metadata instructions, history entries, the reproducible epoch
  runstep.py    RUN: cache inputs, --mount/--network, one build container (runner.py) per miss
  runsettings.py  the build containers' -m/--ulimit/--add-host/--security-opt...: checked first, given to each RUN
  copystep.py   COPY/ADD: sources, --from, --chown/--chmod, URLs (fetch.py), heredocs; the copy (files.py)
  sandbox.py    a forked child chrooted in an image's overlay (private mount namespace) for file steps
  cache.py      step keys, the on-disk index under <root>/buildcache, --explain, gc references, prune
  squash.py     --squash and --squash-all
  memo.py       the replay of a fully cached build when nothing it reads changed (stat signature, one DB read)
  options.py    BuildOptions and BuildEvent (light: the CLI and memo.py import nothing else)
  workdir.py    a build's scratch directory held by a flock; what SIGKILLed builds left is removed
  archive.py    ADD's local archives (plain, gzip, bzip2, xz, zstd tars)
"""
