#!/usr/bin/python
# -*- coding: utf-8 -*-
# Does a running systemd service run with the files it reads now, or with older ones?

DOCUMENTATION = r"""
---
module: service_freshness
short_description: Tell whether a systemd service started before its configuration last changed
description:
  - Reads the unit's main process and when it started, and the modification
    time of each file or link given, and says whether any of them changed after
    the process started (the service then runs with older settings or code).
  - A run that wrote new settings and was interrupted before the handler
    restarted the service leaves such a process; the next run finds it here and
    restarts it through the same handler.
  - Only reads; changes nothing.
version_added: "1.0.0"
author: pulse-ops
extends_documentation_fragment:
  - pulse_read_only
options:
  name:
    description: The systemd unit, e.g. C(redis-server) or C(pulse).
    type: str
    required: true
  paths:
    description:
      - Files, or symbolic links (their own time, not their target's), whose
        change means the service must restart. Missing ones are ignored.
    type: list
    elements: path
    required: true
"""

EXAMPLES = r"""
- name: Read whether Redis runs older settings than its files
  service_freshness:
    name: redis-server
    paths: [/etc/redis/redis.conf]
  register: freshness

- name: Restart it through the one handler
  ansible.builtin.debug:
    msg: "Redis runs settings older than {{ freshness.newest_path }}: restarting"
  changed_when: true
  notify: restart redis
  when: freshness.stale
"""

RETURN = r"""
running:
  description: Whether the unit is active with a main process.
  returned: always
  type: bool
  sample: true
main_pid:
  description: The unit's main process id; 0 when not running.
  returned: always
  type: int
  sample: 4242
started:
  description: Unix time at which the main process started; null when not running.
  returned: always
  type: float
  sample: 1796311551.37
newest_change:
  description: The latest modification time among O(paths); null when none exists.
  returned: always
  type: float
  sample: 1796311600.0
newest_path:
  description: The path with that time.
  returned: always
  type: str
  sample: /etc/redis/redis.conf
stale:
  description: Whether the service runs and a path changed after its main process started.
  returned: always
  type: bool
  sample: false
"""

import os

from ansible.module_utils.basic import AnsibleModule

# Times in /proc are in clock ticks since boot; a file written within the same
# second as the start (the start reads it) is not a change.
SLACK = 1.0


def process_start(pid):
    """Unix time at which process pid started, from /proc (works inside containers too)."""
    with open("/proc/%d/stat" % pid) as handle:
        # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
        fields = handle.read().rsplit(")", 1)[1].split()
    start_ticks = int(fields[19])
    with open("/proc/stat") as handle:
        boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
    return boot + start_ticks / float(os.sysconf("SC_CLK_TCK"))


def main():
    module = AnsibleModule(
        argument_spec=dict(name=dict(type="str", required=True),
                           paths=dict(type="list", elements="path", required=True)),
        supports_check_mode=True,
    )
    name = module.params["name"]
    systemctl = module.get_bin_path("systemctl", required=True)
    rc, out, err = module.run_command([systemctl, "show", "--property=MainPID,ActiveState", "%s.service" % name])
    if rc != 0:
        module.fail_json(msg="cannot read %s.service: %s" % (name, (err or out).strip()))
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    pid = int(props.get("MainPID") or 0)
    running = pid > 0 and props.get("ActiveState") in ("active", "reloading", "activating")
    started = None
    if running:
        try:
            started = process_start(pid)
        except (OSError, ValueError, IndexError, StopIteration) as error:
            module.fail_json(msg="cannot read when %s.service's process %d started: %s" % (name, pid, error))

    newest_change, newest_path = None, None
    for path in module.params["paths"]:
        try:
            mtime = os.lstat(path).st_mtime
        except FileNotFoundError:
            continue
        if newest_change is None or mtime > newest_change:
            newest_change, newest_path = mtime, path

    module.exit_json(
        changed=False,
        running=running,
        main_pid=pid if running else 0,
        started=started,
        newest_change=newest_change,
        newest_path=newest_path,
        stale=bool(running and newest_change is not None and newest_change > started + SLACK),
    )


if __name__ == "__main__":
    main()
