"""library/service_freshness.py: a service older than its files is found, a fresh one is not."""

import os
import subprocess
import time

import pytest
from conftest import load_module, run_module


@pytest.fixture
def service(tmp_path, monkeypatch):
    """A running process standing for a unit's main process, and a systemctl that names it."""
    child = subprocess.Popen(["sleep", "300"])
    fake = tmp_path / "bin" / "systemctl"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nprintf 'MainPID=%s\\nActiveState=%s\\n' \"$FAKE_PID\" \"$FAKE_STATE\"\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (fake.parent, os.environ["PATH"]))
    monkeypatch.setenv("FAKE_PID", str(child.pid))
    monkeypatch.setenv("FAKE_STATE", "active")
    yield child
    child.kill()
    child.wait()


def test_the_start_time_of_a_process_is_read_from_proc():
    before = time.time()
    child = subprocess.Popen(["sleep", "5"])
    try:
        started = load_module("service_freshness").process_start(child.pid)
    finally:
        child.kill()
        child.wait()
    assert before - 1.5 <= started <= time.time() + 1.5


def test_files_changed_before_the_start_are_fresh_and_after_it_stale(service, tmp_path):
    old, new, link = tmp_path / "old.conf", tmp_path / "new.conf", tmp_path / "current"
    old.write_text("a")
    new.write_text("b")
    link.symlink_to(old)
    hour_ago = time.time() - 3600
    for path in (old, new):
        os.utime(path, (hour_ago, hour_ago))
    os.utime(link, (hour_ago, hour_ago), follow_symlinks=False)
    args = {"name": "pulse", "paths": [str(old), str(new), str(link), str(tmp_path / "missing")]}
    fresh = run_module("service_freshness", args, check_mode=True)
    assert fresh["changed"] is False and fresh["running"] is True and fresh["main_pid"] == service.pid
    assert fresh["stale"] is False

    time.sleep(0.01)
    os.utime(new, (time.time() + 5, time.time() + 5))  # written after the process started
    stale = run_module("service_freshness", args)
    assert stale["stale"] is True and stale["newest_path"] == str(new)

    # A link switched to another target after the start (its own time, not its target's).
    os.utime(new, (hour_ago, hour_ago))
    link.unlink()
    link.symlink_to(new)
    os.utime(link, (time.time() + 5, time.time() + 5), follow_symlinks=False)
    switched = run_module("service_freshness", args)
    assert switched["stale"] is True and switched["newest_path"] == str(link)


def test_a_stopped_service_is_not_running_and_not_stale(service, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_PID", "0")
    monkeypatch.setenv("FAKE_STATE", "inactive")
    path = tmp_path / "x.conf"
    path.write_text("x")
    result = run_module("service_freshness", {"name": "redis-server", "paths": [str(path)]})
    assert result["running"] is False and result["stale"] is False and result["started"] is None
