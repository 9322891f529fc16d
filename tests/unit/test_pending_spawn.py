"""engine.pending.spawn_monitor_process: the monitor's start (own session, fds passed by number, stdio to a log or
/dev/null) and the reaping of ended monitors, checked with a shell standing in for the monitor."""

from __future__ import annotations

import os
import time

from tug.engine import pending

SCRIPT = (
    # the fd numbers we were given and our session id, through the sync fd
    'printf "%s %s %s" "$0" "$1" "$(cut -d" " -f6 /proc/$$/stat)" >/proc/self/fd/"$0"; '
    'echo logged; echo to-stderr >&2; read -r line || echo stdin-empty'
)


def test_spawn_passes_fds_in_its_own_session_with_stdio_to_the_log(tmp_path):
    log = tmp_path / "monitor.log"
    sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
    before = set(pending._spawned)
    pending.spawn_monitor_process(["/bin/sh", "-c", SCRIPT], sync_w, None, str(log))
    assert not os.get_inheritable(sync_w)  # passed to the child only
    os.close(sync_w)
    got = b""
    while chunk := os.read(sync_r, 4096):
        got += chunk
    os.close(sync_r)
    fd, attach_fd, sid = got.decode().split()
    assert (int(fd), attach_fd) == (sync_w, "-1")
    assert int(sid) != os.getsid(0)  # setsid: ^C on our terminal never reaches a monitor
    (pid,) = set(pending._spawned) - before
    for _ in range(500):
        if log.exists() and "stdin-empty" in log.read_text():
            break
        time.sleep(0.01)
    assert log.read_text().split() == ["logged", "to-stderr", "stdin-empty"]
    for _ in range(500):  # the child has ended or is about to: the next spawn's reaping takes it
        pending._reap_ended()
        if pid not in pending._spawned:
            break
        time.sleep(0.01)
    assert pid not in pending._spawned
    try:
        os.waitpid(pid, os.WNOHANG)
        raise AssertionError("the monitor's zombie was left behind")
    except ChildProcessError:
        pass
