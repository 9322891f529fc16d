"""tug.dockerfile: the pure Dockerfile front end (no file system, no network).

Modules, in the order data flows through them:
  lexer.py        directives, comments, continuations, heredoc bodies -> logical lines
  parser.py       logical lines -> syntax nodes (keyword, --flags, arguments per instruction's rules)
  commands.py     nodes -> typed instructions (instructions.py), with docker's checks and messages
  document.py     parse(text, filename) -> Dockerfile (meta ARGs, stages)
  expand.py       docker's shell-word lexer: quotes, escapes, ${VAR...} forms, word splitting
  plan.py         build_plan(...) -> BuildPlan: target stages, bases, deps, ARG/ENV scoping (StageEvaluator)
  history.py      created_by(...) text as docker's classic builder writes it
  ignore.py       .dockerignore reading and matching
  mounts.py, flags.py, heredoc.py   RUN --mount specs, instruction flags and durations, heredoc openers

Nothing is imported here so that `import tug.dockerfile.ignore` stays cheap.
"""
