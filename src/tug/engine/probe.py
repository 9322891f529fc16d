"""The monitor's healthcheck runner: one probe at a time through the runtime's `exec`, with a timeout.

A mixin of `Monitor` (it uses the monitor's poll set, spawner and state); kept apart to keep each module small.
The probe's process document (the container's process with the HEALTHCHECK command) was written by the engine.
"""

from __future__ import annotations

import _signal as signal
import os
import time

from tug.oci.times import now_rfc3339

READ = 1 | 8 | 16  # POLLIN | POLLERR | POLLHUP
CHUNK = 65536


class ProbeMixin:
    def _probe_interval(self) -> float:
        hc = self.health_cfg
        in_start = time.monotonic() - self.started_mono < hc["start_period"]
        return hc["start_interval"] if in_start and hc["start_period"] else hc["interval"]

    def _start_probe(self) -> None:
        hc = self.health_cfg
        r, w = os.pipe2(os.O_CLOEXEC)
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        pid_file = os.path.join(self.rundir, "probe.pid")
        try:
            pid = self._spawn(["exec", "--process", self.cfg["probe_process"], "--pid-file", pid_file, self.id],
                              null, w, w)
        except OSError as e:
            os.close(r)
            self._record_probe(now_rfc3339(), -1, f"cannot run the healthcheck: {e}")
            return
        finally:
            os.close(w)
            os.close(null)
        os.set_blocking(r, False)
        self.poll.register(r, READ)
        self.probe = {"pid": pid, "out": r, "buf": bytearray(), "start": now_rfc3339(),
                      "deadline": time.monotonic() + hc["timeout"], "pid_file": pid_file, "timed_out": False}

    def _read_probe(self) -> None:
        p = self.probe
        try:
            data = os.read(p["out"], CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            if len(p["buf"]) < 8192:
                p["buf"].extend(data)
        else:
            self.poll.unregister(p["out"])
            os.close(p["out"])
            p["out"] = -1

    def _probe_timeout(self) -> None:
        p = self.probe
        p["timed_out"] = True
        p["deadline"] = time.monotonic() + 5
        try:
            with open(p["pid_file"]) as f:
                _kill(int(f.read().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
        _kill(p["pid"], signal.SIGKILL)

    def _probe_done(self, code: int) -> None:
        p = self.probe
        if p["out"] >= 0:
            while _readable(p["out"]) and p["out"] >= 0:
                self._read_probe()
        self._end_probe()
        if p["timed_out"]:
            code, out = -1, f"Health check exceeded timeout ({_go_duration(self.health_cfg['timeout'])})"
        else:
            out = p["buf"].decode("utf-8", "replace")
        self._record_probe(p["start"], code, out)

    def _record_probe(self, start: str, code: int, output: str) -> None:
        in_start = time.monotonic() - self.started_mono < self.health_cfg["start_period"]
        self.health.record(start, now_rfc3339(), code, output, in_start)
        self.state["Health"] = self.health.doc
        self.next_probe = time.monotonic() + self._probe_interval()
        self.save()

    def _end_probe(self) -> None:
        p = self.probe
        if p is None:
            return
        if p["out"] >= 0:
            try:
                self.poll.unregister(p["out"])
            except KeyError:
                pass
            os.close(p["out"])
            p["out"] = -1
        self.probe = None


def _go_duration(seconds: float) -> str:
    if seconds == int(seconds):
        s = int(seconds)
        m, s = divmod(s, 60)
        h, m = divmod(m, 60)
        out = (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{s}s"
        return out
    return f"{seconds}s"


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _readable(fd: int) -> bool:
    import select

    try:
        r, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return False
    return bool(r)
