"""Container logs in docker's `json-file` format: the monitor's writer (with rotation) and `tug logs`' reader.

One JSON object per line, `{"log": "text\\n", "stream": "stdout", "time": "RFC 3339 with nanoseconds"}`, in
`<root>/containers/<id>/<id>-json.log`, rotated to `.1`, `.2`... Unlike docker, logs are capped by default
(10 MB x 3 files); `--log-opt max-size=` and `max-file=` change that. The writer is imported by the monitor: it needs
only `json`, `os` and `time`.
"""

from __future__ import annotations

import _json
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILES = 3
LINE_LIMIT = 16 * 1024  # a line longer than this is logged in pieces, as docker's copier does

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def parse_size(text: str) -> int:
    t = text.strip().lower()
    i = len(t)
    while i and not t[i - 1].isdigit() and t[i - 1] != ".":
        i -= 1
    num, unit = t[:i], t[i:].strip()
    if unit.endswith("ib"):
        unit = unit[:-2] + "b"
    if not num or unit not in _UNITS:
        raise ValueError(f"invalid size: '{text}'")
    return int(float(num) * _UNITS[unit])


def log_options(log_opts: list[str]) -> tuple[int, int]:
    """(max size in bytes, 0 = unlimited; number of files) from `--log-opt k=v` strings."""
    from tug.errors import Invalid

    size, files = DEFAULT_MAX_SIZE, DEFAULT_MAX_FILES
    for opt in log_opts:
        key, sep, value = opt.partition("=")
        if not sep:
            raise Invalid(f"invalid log opt '{opt}': expected KEY=VALUE")
        if key == "max-size":
            try:
                size = parse_size(value) if value not in ("-1", "") else 0
            except ValueError as e:
                raise Invalid(str(e)) from None
        elif key == "max-file":
            if not value.isdigit() or int(value) < 1:
                raise Invalid(f"invalid value for max-file: {value}")
            files = int(value)
        elif key in ("labels", "labels-regex", "env", "env-regex"):
            raise Invalid(f"--log-opt {key}: tug's json-file logs record no extra attributes")
        elif key == "mode" and value not in ("blocking", "non-blocking"):
            raise Invalid(f"logger: unknown mode: {value}")
        elif key == "compress" and value.lower() not in ("true", "false", "1", "0"):
            raise Invalid(f"invalid value for compress: {value}")
        elif (key, value.lower()) in (("compress", "true"), ("compress", "1"), ("mode", "non-blocking")) \
                or key == "max-buffer-size":
            raise Invalid(f"--log-opt {opt}: not supported by tug (logs are written as they come, uncompressed)")
        elif key not in ("mode", "tag", "compress"):  # mode=blocking, compress=false: what tug does; tag: unused
            raise Invalid(f"unknown log opt '{key}' for json-file log driver")
    return size, files


def log_path(container_dir: str, ctr_id: str) -> str:
    return os.path.join(container_dir, f"{ctr_id}-json.log")


def _time(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


class JsonFileWriter:
    """Appends entries, splitting stream bytes into lines; rotates when the file would pass `max_size`."""

    def __init__(self, path: str, max_size: int = DEFAULT_MAX_SIZE, max_files: int = DEFAULT_MAX_FILES) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self.fd).st_size
        self.partial: dict[str, bytes] = {}

    def write(self, stream: str, data: bytes) -> None:
        buf = self.partial.pop(stream, b"") + data
        out = []
        now = time.time_ns()
        while True:
            nl = buf.find(b"\n", 0, LINE_LIMIT)
            if nl < 0:
                if len(buf) >= LINE_LIMIT:
                    out.append(self._entry(stream, buf[:LINE_LIMIT], now))
                    buf = buf[LINE_LIMIT:]
                    continue
                break
            out.append(self._entry(stream, buf[:nl + 1], now))
            buf = buf[nl + 1:]
        if buf:
            self.partial[stream] = buf
        for entry in out:
            self._append(entry)

    def flush(self) -> None:
        """Write what is left without a newline (the stream ended)."""
        now = time.time_ns()
        for stream in list(self.partial):
            self._append(self._entry(stream, self.partial.pop(stream), now))

    @staticmethod
    def _entry(stream: str, line: bytes, ns: int) -> bytes:
        text = _json.encode_basestring(line.decode("utf-8", "replace"))
        return f'{{"log": {text}, "stream": "{stream}", "time": "{_time(ns)}"}}\n'.encode()

    def _append(self, entry: bytes) -> None:
        if self.max_size and self.size and self.size + len(entry) > self.max_size:
            self._rotate()
        os.write(self.fd, entry)
        self.size += len(entry)

    def _rotate(self) -> None:
        os.close(self.fd)
        if self.max_files > 1:
            for i in range(self.max_files - 1, 0, -1):
                src = self.path if i == 1 else f"{self.path}.{i - 1}"
                try:
                    os.replace(src, f"{self.path}.{i}")
                except FileNotFoundError:
                    pass
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        else:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.size = 0

    def close(self) -> None:
        self.flush()
        os.close(self.fd)


# --- reading (tug logs) ---------------------------------------------------------------------------------------

def log_files(path: str) -> list[str]:
    """The rotated files oldest first, then the current one."""
    olds = []
    i = 1
    while os.path.exists(f"{path}.{i}"):
        olds.append(f"{path}.{i}")
        i += 1
    return [*reversed(olds), path] if os.path.exists(path) else list(reversed(olds))


def _entries(f: Any) -> Iterator[dict[str, Any]]:
    import json

    for line in f:
        try:
            yield json.loads(line)
        except ValueError:
            continue


def parse_since(text: str, now: float | None = None) -> float:
    """docker's `--since`/`--until`: RFC 3339, a Unix timestamp, or a duration such as 10m or 1h30m."""
    from tug.engine.humanize import parse_time
    from tug.errors import Invalid

    now = time.time() if now is None else now
    t = text.strip()
    try:
        return float(t)
    except ValueError:
        pass
    dt = parse_time(t)
    if dt is not None:
        return dt.timestamp()
    total, num = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    i = 0
    while i < len(t):
        c = t[i]
        if c.isdigit() or c == ".":
            num += c
            i += 1
            continue
        unit = "ms" if t[i:i + 2] == "ms" else c
        if unit not in units or not num:
            raise Invalid(f'invalid value for "since": {text}')
        total += float(num) * units[unit]
        num = ""
        i += len(unit)
    if num or not t:
        raise Invalid(f'invalid value for "since": {text}')
    return now - total


def entry_time(entry: dict[str, Any]) -> float:
    from tug.engine.humanize import parse_time

    dt = parse_time(entry.get("time", ""))
    return dt.timestamp() if dt else 0.0


def read(path: str, tail: int | None = None, since: float | None = None, until: float | None = None,
         follow: bool = False, running: Callable[[], bool] | None = None) -> Iterator[dict[str, Any]]:
    """Entries of a container's log: the last `tail` of those after `since`; with `follow`, new ones until the
    container stops (`running()` false)."""
    entries: list[dict[str, Any]] = []
    for p in log_files(path):
        with open(p, encoding="utf-8", errors="replace") as f:
            entries.extend(_entries(f))
    if since is not None:
        entries = [e for e in entries if entry_time(e) >= since]
    if until is not None:
        entries = [e for e in entries if entry_time(e) <= until]
    if tail is not None and tail >= 0:
        entries = entries[-tail:] if tail else []
    yield from entries
    if not follow:
        return
    yield from _follow(path, running or (lambda: False))


def _follow(path: str, running: Callable[[], bool]) -> Iterator[dict[str, Any]]:
    import json

    f = open(path, encoding="utf-8", errors="replace") if os.path.exists(path) else None  # noqa: SIM115
    if f is not None:
        f.seek(0, os.SEEK_END)
    pending = ""
    try:
        last_check = 0.0
        alive = True
        while True:
            if f is None and os.path.exists(path):
                f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
            chunk = f.read() if f is not None else ""
            if chunk:
                pending += chunk
                *lines, pending = pending.split("\n")
                for line in lines:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue
                continue
            if f is not None:
                try:
                    rotated = os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
                except FileNotFoundError:
                    rotated = False
                if rotated:
                    f.close()
                    f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
                    continue
            if not alive:
                return
            now = time.monotonic()
            if now - last_check > 0.2:
                last_check = now
                alive = running()  # one more read after the container stopped, then done
                continue
            time.sleep(0.05)
    finally:
        if f is not None:
            f.close()
