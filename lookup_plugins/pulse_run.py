"""Who is running: this ansible-playbook run, as the run lock records it, and whether a recorded run still lives.

A run is its controller's host name and boot, and the ansible-playbook process
(its pid and start time, so a reused pid is not mistaken for it).
"""

DOCUMENTATION = r"""
name: pulse_run
author: pulse-ops
short_description: Identify this ansible-playbook run, or tell whether a recorded one still runs
description:
  - Without terms, returns this run, as C(controller), C(boot_id), C(pid) and C(started) of the
    ansible-playbook process, C(user), and C(id) combining them.
  - With a term (a run as returned before, e.g. read from a lock file), returns C(alive),
    C(judged) (false when the run was on another controller, whose processes cannot be seen
    from here) and C(why).
options:
  _terms:
    description: Runs to judge (mappings as this lookup returns them).
    required: false
"""

EXAMPLES = r"""
- name: Note this run
  ansible.builtin.set_fact:
    __me: "{{ lookup('pulse_run') }}"
"""

RETURN = r"""
_raw:
  description: This run, or for each term whether it still runs.
  type: list
  elements: dict
"""

import getpass
import os
import socket

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase


def _read(path):
    with open(path) as handle:
        return handle.read()


def boot_id():
    return _read("/proc/sys/kernel/random/boot_id").strip()


def start_ticks(pid):
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or None."""
    try:
        return int(_read("/proc/%d/stat" % pid).rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def playbook_process():
    """The ansible-playbook process of this run: the topmost of this process and its ancestors running it
    (Ansible's workers are forks of it, with the same command line)."""
    pid, found = os.getpid(), None
    while pid > 1:
        try:
            argv = _read("/proc/%d/cmdline" % pid).split("\0")
            parent = int(_read("/proc/%d/stat" % pid).rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if any(os.path.basename(arg).startswith("ansible-playbook") for arg in argv[:2]):
            found = pid
        elif found:
            break
        pid = parent
    if not found:
        raise AnsibleError("pulse_run: no ansible-playbook process above this one; run it from a playbook")
    return found


def this_run():
    pid = playbook_process()
    run = {"controller": socket.gethostname(), "boot_id": boot_id(), "pid": pid, "started": start_ticks(pid),
           "user": getpass.getuser()}
    run["id"] = "%s-%s-%d-%d" % (run["controller"], run["boot_id"][:8], pid, run["started"])
    return run


def judge(run):
    """Whether a recorded run still runs, as far as this controller can see."""
    if not isinstance(run, dict) or "controller" not in run:
        return {"alive": False, "judged": True, "why": "the lock records no run"}
    if run["controller"] != socket.gethostname():
        return {"alive": True, "judged": False, "why": "it runs from another controller (%s)" % run["controller"]}
    if run.get("boot_id") != boot_id():
        return {"alive": False, "judged": True, "why": "its controller has restarted since"}
    if start_ticks(int(run.get("pid", 0))) != run.get("started"):
        return {"alive": False, "judged": True,
                "why": "its ansible-playbook process (pid %s) has ended" % run.get("pid")}
    return {"alive": True, "judged": True, "why": "its ansible-playbook process (pid %s) still runs" % run["pid"]}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if not terms:
            return [this_run()]
        return [judge(term) for term in terms]
