"""tug.spec: pure translation of image config + run options + host facts into an OCI runtime config.json.

`generate.generate(image, opts, host)` is the entry point; `host.HostFacts` carries everything impure. One module
per concern: process (argv, cwd), env, user, security (capabilities, masked paths, --security-opt), seccomp (Docker's
default profile in seccomp_default.json), mount_flags (-v/--mount/--tmpfs parsing) and mounts (the mount list),
namespaces, devices, resources, sizes, rlimits, sysctl.
"""
