"""tug.cgroups: a container's cgroup on v1, hybrid or v2 hosts, behind one interface.

Entry point: `tug.cgroups.manager.for_host()` -> `Manager.create(path)` / `load(path, created)` -> `Cgroup`
(`add_pid`, `apply`, `freeze`/`thaw`, `pids`, `kill_all`, `stats`, `oom_killed`, `destroy`).
"""
