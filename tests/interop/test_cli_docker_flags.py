"""tug's flags against the real docker CLI's: every flag `docker VERB --help` lists is declared by `tug VERB` with
the same shorthand and the same kind (a boolean switch, or a flag that takes a value), or is in ALLOWED below with
the reason tug leaves it out. Run against every docker client installed (Debian's 20.10 and a newer one)."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess

import pytest

from conftest import DOCKER_VERBS as VERBS
from conftest import TUG
from tug.cli import flags
from tug.cli.main import COMMANDS

EVERY_VERB = {
    "disable-content-trust": "Notary content trust: tug has no trust store (docker's own default is off)",
}
_RUN = {
    "ip6": "tug's bridge networks are IPv4-only",
    "link-local-ip": "tug's bridge networks assign no link-local addresses",
    "link": "legacy links (hosts entries and env vars of another container): user networks with DNS names instead",
    "isolation": "Windows-only (process/hyperv isolation)",
    "kernel-memory": "deprecated by docker; the kernel (cgroup v2, and v1 since 5.4) has no separate kmem limit",
    "storage-opt": "per-container size quotas need a driver with project quotas (xfs/btrfs); tug's overlay has none",
    "volume-driver": "volume plugins: tug has only the local driver",
    "use-api-socket": "mounts docker's API socket and credentials into the container; tug has no daemon socket",
    # shown by docker's CLI when it cannot ask a daemon which OS and API version it has
    "cpu-count": "Windows-only", "cpu-percent": "Windows-only",
    "io-maxbandwidth": "Windows-only", "io-maxiops": "Windows-only",
    "annotation": "not wired yet: OCI annotations from the command line (needs API 1.43 on docker's side)",
}
_BUILD = {
    "cache-from": "external cache sources need BuildKit's cache export format; tug caches locally",
    "compress": "the context is read in place, never sent to a daemon",
    "force-rm": "tug's builder leaves no intermediate containers (as BuildKit), so there is nothing to remove",
    "rm": "tug's builder leaves no intermediate containers (as BuildKit), so there is nothing to remove",
    "isolation": "Windows-only (process/hyperv isolation)",
}
_SWARM = "swarm-only (tug has no swarm or overlay networks)"
_ONE_PLATFORM = "a multi-platform image store (docker's containerd store, API 1.47): tug keeps one platform per image"
ALLOWED: dict[str, dict[str, str]] = {
    "run": _RUN,
    "create": _RUN,
    "build": _BUILD,
    "version": {"kubeconfig": "Kubernetes orchestrator support, removed from docker itself"},
    "network create": {
        "attachable": _SWARM, "ingress": _SWARM, "scope": _SWARM, "config-from": _SWARM, "config-only": _SWARM,
        "ipv6": "tug's bridge networks are IPv4-only",
        "ipv4": "tug's bridge networks are always IPv4 (the flag only exists to turn IPv4 off)",
        "ipam-driver": "IPAM plugins: tug has only its built-in IPAM",
        "ipam-opt": "IPAM plugins: tug has only its built-in IPAM",
        "aux-address": "tug's IPAM reserves no auxiliary addresses",
        "ip-range": "tug's IPAM allocates from the whole subnet",
    },
    "network inspect": {"verbose": _SWARM + ": adds the services and tasks of a swarm network"},
    # listed by docker 28's CLI only when no daemon says they are unavailable (API-version gated or experimental)
    **{v: {"platform": _ONE_PLATFORM} for v in ("history", "image inspect", "image rm", "rmi", "load", "save",
                                                 "push")},
    "images": {"tree": "experimental in docker; tug has `tug image tree`"},
    "image ls": {"tree": "experimental in docker; tug has `tug image tree`"},
    "start": {"checkpoint": "experimental CRIU checkpoints: tug has no CRIU",
              "checkpoint-dir": "experimental CRIU checkpoints: tug has no CRIU"},
    "volume create": {k: _SWARM + " (cluster volumes)" for k in (
        "availability", "group", "limit-bytes", "required-bytes", "scope", "secret", "sharing", "topology-preferred",
        "topology-required", "type")},
    "volume ls": {"cluster": _SWARM + " (cluster volumes)"},
    "network connect": {
        "driver-opt": "per-endpoint driver options: tug's bridge driver takes none",
        "gw-priority": "tug's containers take the default route from their first network",
        "ip6": "tug's bridge networks are IPv4-only",
        "link": "legacy links: user networks with DNS names instead",
        "link-local-ip": "tug's bridge networks assign no link-local addresses",
    },
}

# `  -a, --attach list   ...` or `      --add-host list   ...` (a type word only for flags that take a value)
_LINE = re.compile(r"^(?:  -(?P<short>\w), |      )--(?P<long>[\w-]+)(?: (?P<type>\w+))?(?:\s{2,}|$)")


def _dockers() -> list[str]:
    found = [shutil.which("docker") or "", "/usr/bin/docker", "/usr/local/bin/docker"]
    return list(dict.fromkeys(p for p in (os.path.realpath(f) for f in found if f) if os.access(p, os.X_OK)))


DOCKERS = _dockers()
pytestmark = pytest.mark.skipif(not DOCKERS, reason="no docker client installed")


def docker_flags(docker: str, verb: str) -> dict[str, tuple[str | None, bool]]:
    """long name -> (shorthand, takes a value), from the Options section of `docker VERB --help`."""
    out = subprocess.run([docker, *verb.split(), "--help"], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "DOCKER_CONFIG": "/nonexistent",
                              # no daemon to ask: docker then lists every flag, whether or not dockerd runs here
                              "DOCKER_HOST": "unix:///nonexistent.sock"}).stdout
    found: dict[str, tuple[str | None, bool]] = {}
    in_options = False
    for line in out.splitlines():
        if line.startswith("Options:"):
            in_options = True
            continue
        if in_options and line and not line.startswith(" "):
            in_options = False
        m = _LINE.match(line) if in_options else None
        if m:
            found[m["long"]] = (m["short"], m["type"] is not None)
    return found


def tug_command(verb: str) -> flags.Command:
    first, *rest = verb.split()
    module, _, attr = COMMANDS[first].partition(":")
    cmd = getattr(importlib.import_module(module), attr)
    for sub in rest:
        cmd = cmd.get_command(sub)
        assert cmd is not None, f"tug {verb}: no such command"
    return cmd


def tug_flags(cmd: flags.Command) -> dict[str, tuple[str | None, bool]]:
    """long name -> (shorthand, takes a value), from the command's declared options."""
    out: dict[str, tuple[str | None, bool]] = {}
    for p in cmd.params:
        if not isinstance(p, flags.Option):
            continue
        shorts = [o[1:] for o in p.opts if not o.startswith("--")]
        for o in p.opts:
            if o.startswith("--"):
                out[o[2:]] = (shorts[0] if shorts else None, not p.is_flag)
    for h in cmd.help_names:
        if h.startswith("--"):
            out.setdefault(h[2:], (None, False))
    return out


@pytest.mark.parametrize("docker", DOCKERS)
@pytest.mark.parametrize("verb", VERBS)
def test_docker_flags_are_tugs(docker: str, verb: str) -> None:
    theirs = docker_flags(docker, verb)
    ours = tug_flags(tug_command(verb))
    allowed = {**EVERY_VERB, **ALLOWED.get(verb, {})}
    problems = []
    for name, (short, takes_value) in sorted(theirs.items()):
        if name not in ours:
            if name not in allowed:
                problems.append(f"--{name}: missing")
            continue
        our_short, our_value = ours[name]
        if our_short != short:
            problems.append(f"--{name}: shorthand -{short} in docker, -{our_short} in tug")
        if our_value != takes_value:
            kind = "takes a value" if takes_value else "is a boolean switch"
            problems.append(f"--{name}: {kind} in docker, not in tug")
    assert not problems, f"tug {verb} vs {docker}: " + "; ".join(problems)


@pytest.mark.parametrize("docker", DOCKERS)
def test_help_parser_reads_docker_run(docker: str) -> None:
    """The parser understands this client's help: run's well-known flags come out with their kinds."""
    run = docker_flags(docker, "run")
    assert len(run) > 80
    assert run["detach"] == ("d", False) and run["env"] == ("e", True) and run["rm"] == (None, False)
    assert run["publish"] == ("p", True) and run["cpus"] == (None, True)


@pytest.mark.parametrize("verb", VERBS)
def test_allow_list_is_not_stale(verb: str) -> None:
    """An allow-listed flag that tug now declares must leave the list (and be checked like the others)."""
    ours = tug_flags(tug_command(verb))
    for name, reason in {**EVERY_VERB, **ALLOWED.get(verb, {})}.items():
        assert reason.strip()
        assert name not in ours, f"tug {verb} declares --{name}: drop it from the allow-list"


def _first_error_line(text: str) -> str:
    """The error line without the program's prefix, the program's name made neutral."""
    for line in text.splitlines():
        if line.startswith("DEPRECATED:") or line[:1].isspace():  # docker 28's legacy-builder banner on build
            continue
        if line.strip():
            line = line.strip().removeprefix("docker: ").removeprefix("tug: ")
            return line.replace("'docker ", "'X ").replace('"docker ', '"X ').replace("'tug ", "'X ") \
                .replace('"tug ', '"X ').rstrip(".")
    return ""


@pytest.mark.parametrize("docker", DOCKERS)
@pytest.mark.parametrize("argv", [
    *[[*v.split(), "--x"] for v in VERBS],
    ["run", "-e"], ["run", "-z", "img"], ["run", "--name"], ["ps", "-n", "x"], ["run", "--rm=maybe", "img"],
    ["run", "-a", "bogus", "img"], ["rename", "a"], ["exec", "c"], ["logs"], ["tag", "a", "b", "c"],
    ["network", "ls", "extra"], ["volume", "inspect"],
])
def test_errors_as_docker_reports_them(docker: str, argv: list[str], tmp_path) -> None:
    """The same command line fails the same way in docker's CLI and in tug's: exit code, and the error line
    (argument-count wording compared in docker 20.10's form, which quotes the command)."""
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "dc"), "DOCKER_HOST": "unix:///nonexistent.sock",
           "TUG_ROOT": str(tmp_path / "root"), "TUG_RUNROOT": str(tmp_path / "run")}
    theirs = subprocess.run([docker, *argv], capture_output=True, text=True, timeout=30, env=env)
    ours = subprocess.run([TUG, *argv], capture_output=True, text=True, timeout=30, env=env)
    their_line, our_line = _first_error_line(theirs.stderr), _first_error_line(ours.stderr)
    assert ours.returncode == theirs.returncode, (theirs.stderr, ours.stderr)
    if "requires" in their_line or "accepts" in their_line:  # docker 28: 'X rename' requires 2 arguments
        count = their_line.rsplit(" requires ", 1)[-1].rsplit(" accepts ", 1)[-1].replace("exactly ", "")
        assert count.replace("at least ", "") in our_line.replace("exactly ", "").replace("at least ", ""), \
            (their_line, our_line)
    else:
        assert our_line == their_line
