"""Healthchecks run by the monitor (no systemd) and restart policies."""

from __future__ import annotations

import json
import re

from lifecycle_helpers import assert_no_leftovers, image_with_config, wait_until


def health(tug, name: str) -> dict:
    out = tug("inspect", "-f", "{{json .State.Health}}", name, check=True).stdout
    return json.loads(out)


def test_health_cmd_healthy_then_unhealthy(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "hc", "--health-cmd", "test -e /tmp/ok && echo fine",
                      "--health-interval", "200ms", "--health-retries", "2", "--health-timeout", "5s",
                      "busybox", "sh", "-c", "touch /tmp/ok; sleep 300", check=True).stdout.strip()
    wait_until(lambda: health(busybox_tug, "hc")["Status"] == "healthy", what="healthy")
    assert re.fullmatch(r"Up .* \(healthy\)", busybox_tug("ps", "--format", "{{.Status}}").stdout.strip())
    h = health(busybox_tug, "hc")
    assert h["FailingStreak"] == 0 and h["Log"][-1]["ExitCode"] == 0 and h["Log"][-1]["Output"] == "fine\n"
    busybox_tug("exec", "hc", "rm", "/tmp/ok", check=True)
    wait_until(lambda: health(busybox_tug, "hc")["Status"] == "unhealthy", what="unhealthy")
    h = health(busybox_tug, "hc")
    assert h["FailingStreak"] >= 2 and len(h["Log"]) <= 5
    assert "(unhealthy)" in busybox_tug("ps", "--format", "{{.Status}}").stdout
    assert busybox_tug("ps", "-q", "-f", "health=unhealthy").stdout.strip() == cid[:12]
    cfg = json.loads(busybox_tug("inspect", "-f", "{{json .Config.Healthcheck}}", "hc").stdout)
    assert cfg["Test"] == ["CMD-SHELL", "test -e /tmp/ok && echo fine"] and cfg["Interval"] == 200_000_000
    assert_no_leftovers(busybox_tug, [cid])


def test_health_starting_and_timeout(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "slow", "--health-cmd", "sleep 5", "--health-interval", "300ms",
                      "--health-timeout", "300ms", "--health-retries", "1", "--health-start-period", "60s",
                      "busybox", "sleep", "300", check=True).stdout.strip()
    assert "(health: starting)" in busybox_tug("ps", "--format", "{{.Status}}").stdout
    wait_until(lambda: health(busybox_tug, "slow")["Log"], what="a probe result")
    h = health(busybox_tug, "slow")
    assert h["Log"][0]["ExitCode"] == -1 and "exceeded timeout" in h["Log"][0]["Output"]
    assert h["Status"] == "starting"  # failures in the start period do not count
    assert_no_leftovers(busybox_tug, [cid])


def test_image_healthcheck_and_no_healthcheck(busybox_tug, tmp_path):
    image_with_config(busybox_tug, tmp_path / "img", "busybox", "hc:latest",
                      {"Healthcheck": {"Test": ["CMD", "true"], "Interval": 200_000_000}})
    a = busybox_tug("run", "-d", "--name", "imghc", "hc", "sleep", "300", check=True).stdout.strip()
    b = busybox_tug("run", "-d", "--name", "nohc", "--no-healthcheck", "hc", "sleep", "300", check=True).stdout.strip()
    wait_until(lambda: health(busybox_tug, "imghc")["Status"] == "healthy", what="image healthcheck")
    assert "Health" not in json.loads(busybox_tug("inspect", "nohc").stdout)[0]["State"]
    assert busybox_tug("ps", "--format", "{{.Names}}", "-f", "health=none").stdout == "nohc\n"
    assert_no_leftovers(busybox_tug, [a, b])


def test_restart_on_failure_with_limit(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c",
                      "echo run; exit 3", check=True).stdout.strip()
    wait_until(lambda: busybox_tug("inspect", "-f", "{{.State.Status}}", "flaky").stdout.strip() == "exited",
               what="the retries to end")
    doc = json.loads(busybox_tug("inspect", "flaky").stdout)[0]
    assert doc["RestartCount"] == 2 and doc["State"]["ExitCode"] == 3
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert busybox_tug("logs", "flaky").stdout == "run\nrun\nrun\n"
    assert_no_leftovers(busybox_tug, [cid])


def test_restart_always_until_stopped(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c",
                      "sleep 0.2; exit 0", check=True).stdout.strip()
    wait_until(lambda: int(busybox_tug("inspect", "-f", "{{.RestartCount}}", "phoenix").stdout) >= 2,
               what="two restarts")
    assert busybox_tug("ps", "-q").stdout.strip() == cid[:12]  # running or restarting: listed without -a
    assert busybox_tug("stop", "-t", "1", "phoenix", check=True).returncode == 0
    assert busybox_tug("inspect", "-f", "{{.State.Status}}", "phoenix").stdout.strip() == "exited"
    count = busybox_tug("inspect", "-f", "{{.RestartCount}}", "phoenix").stdout
    import time

    time.sleep(1)
    assert busybox_tug("inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "phoenix").stdout == \
        count.strip() + " exited\n"  # a stopped container is not restarted
    assert_no_leftovers(busybox_tug, [cid])


def test_restart_no_by_default_and_unless_stopped_kill(busybox_tug):
    a = busybox_tug("run", "-d", "--name", "once", "busybox", "sh", "-c", "exit 1", check=True).stdout.strip()
    b = busybox_tug("run", "-d", "--name", "us", "--restart", "unless-stopped", "busybox", "sleep", "300",
                    check=True).stdout.strip()
    assert busybox_tug("wait", "once").stdout == "1\n"
    assert busybox_tug("inspect", "-f", "{{.RestartCount}}", "once").stdout == "0\n"
    assert busybox_tug("kill", "us", check=True).returncode == 0
    assert busybox_tug("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "us").stdout == "exited 137\n"
    assert_no_leftovers(busybox_tug, [a, b])
