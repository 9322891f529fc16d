"""process.env: image Env, --env-file lines, -e values, and the variables docker adds (PATH, HOSTNAME, TERM, HOME).

Order and precedence follow docker: the defaults PATH, HOSTNAME (and TERM with -t) come first; the user's variables
(env files, then -e, later ones winning) replace a default of the same name in place or are appended; image variables
the user did not set follow; a user entry without "=" whose name the caller's environment lacks unsets the name.
HOME is appended last (from the user's passwd entry, else "/") when nobody set it, as the runtime would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tug.errors import Invalid

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_BOM = "\ufeff"


def _key(entry: str) -> str:
    return entry.split("=", 1)[0]


def parse_env_file(lines: Iterable[str], caller_env: Mapping[str, str], where: str = "env file") -> list[str]:
    """The lines of --env-file files as docker reads them.

    Leading whitespace is dropped, trailing whitespace is part of the value; blank lines and lines starting with "#"
    are skipped; `NAME` alone takes the caller's value, or is dropped when the caller has none; a name with
    whitespace or an empty name is an error. Quotes are not interpreted.
    """
    out: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n").lstrip(_BOM).lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, _ = line.partition("=")
        if not key:
            raise Invalid(f"invalid env file ({where}): no variable name on line '{line}'")
        if " " in key or "\t" in key:
            raise Invalid(f"invalid env file ({where}): variable '{key}' contains whitespaces")
        if sep:
            out.append(line)
        elif key in caller_env:
            out.append(f"{key}={caller_env[key]}")
    return out


def resolve_cli_env(values: Iterable[str], caller_env: Mapping[str, str]) -> list[str]:
    """`-e K=V` kept as given; `-e K` takes the caller's value, or stays `K` (which then unsets K)."""
    out = []
    for v in values:
        key, sep, _ = v.partition("=")
        if not key:
            raise Invalid(f"invalid environment variable: {v}")
        if sep:
            out.append(v)
        elif key in caller_env:
            out.append(f"{key}={caller_env[key]}")
        else:
            out.append(key)
    return out


def _dedupe_last_wins(entries: list[str]) -> list[str]:
    pos: dict[str, int] = {}
    out: list[str] = []
    for e in entries:
        k = _key(e)
        if k in pos:
            out[pos[k]] = e
        else:
            pos[k] = len(out)
            out.append(e)
    return out


def build_env(
    image_env: list[str],
    user_env: list[str],
    *,
    hostname: str,
    tty: bool,
    home: str,
) -> list[str]:
    """Merge as docker does; `user_env` is env-file lines followed by the resolved -e values."""
    user = _dedupe_last_wins(user_env)
    user_keys = {_key(e) for e in user}
    config_env = user + [e for e in image_env if _key(e) not in user_keys]

    env = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if tty:
        env.append("TERM=xterm")
    index = {_key(e): i for i, e in enumerate(env)}
    for e in config_env:
        k = _key(e)
        if "=" not in e:  # unset
            if k in index:
                env[index[k]] = ""
            continue
        if k in index:
            env[index[k]] = e
        else:
            index[k] = len(env)
            env.append(e)
    env = [e for e in env if e]
    if not any(_key(e) == "HOME" for e in env):
        env.append(f"HOME={home}")
    return env
