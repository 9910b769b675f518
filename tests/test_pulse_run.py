"""lookup_plugins/pulse_run.py: this run's identity, and whether a recorded run still runs."""

import os
import socket
import subprocess

from conftest import call_plugin


def judge(run):
    return call_plugin("lookup_plugins/pulse_run.py", "judge", run)


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as handle:
        return handle.read().strip()


def start_ticks(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[19])


def test_a_live_process_of_this_controller_still_runs():
    me = {"controller": socket.gethostname(), "boot_id": boot_id(), "pid": os.getpid(),
          "started": start_ticks(os.getpid())}
    assert judge(me) == {"alive": True, "judged": True,
                         "why": "its ansible-playbook process (pid %d) still runs" % os.getpid()}


def test_an_ended_process_or_a_reused_pid_or_a_restarted_controller_has_ended():
    child = subprocess.Popen(["true"])
    child.wait()
    base = {"controller": socket.gethostname(), "boot_id": boot_id()}
    assert judge(dict(base, pid=child.pid, started=1))["alive"] is False
    # The pid lives, but it is another process than the one recorded.
    assert judge(dict(base, pid=os.getpid(), started=start_ticks(os.getpid()) - 1)) == {
        "alive": False, "judged": True, "why": "its ansible-playbook process (pid %d) has ended" % os.getpid()}
    assert judge(dict(base, boot_id="another-boot", pid=os.getpid(), started=start_ticks(os.getpid()))) == {
        "alive": False, "judged": True, "why": "its controller has restarted since"}


def test_a_run_of_another_controller_cannot_be_judged_here():
    assert judge({"controller": "ops-laptop", "boot_id": "x", "pid": 1, "started": 1}) == {
        "alive": True, "judged": False, "why": "it runs from another controller (ops-laptop)"}
