#!/usr/bin/python
# -*- coding: utf-8 -*-
# Prove that Redis can put its data on disk now: BGSAVE and watch LASTSAVE advance.



DOCUMENTATION = r"""
---
module: redis_lastsave
short_description: Make Redis save to disk and prove it by LASTSAVE advancing
description:
  - Waits for a background save already in progress, then starts a new one
    (C(BGSAVE SCHEDULE), so an AOF rewrite in progress delays it instead of
    refusing it), and waits until C(LASTSAVE) is later than the moment the
    module began. Every write made before the module ran is then in C(dump.rdb).
  - Fails with the cause (C(rdb_last_bgsave_status), the server's error, the data
    directory) when the save fails or does not finish within O(timeout).
version_added: "1.0.0"
author: pulse-ops
extends_documentation_fragment:
  - pulse_redis
requirements:
  - redis (Python library; python3-redis on Debian)
attributes:
  check_mode:
    support: full
    description: Reports C(changed=true), as a real run would, without saving.
  diff_mode:
    support: none
options:
  timeout:
    description: Seconds to wait, in all, for a save in progress and for the new save.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Put every key on disk before the restart
  redis_lastsave:
    login_password: "{{ redis_requirepass }}"
    timeout: 120
  register: saved

- name: Show how long it took
  ansible.builtin.debug:
    msg: "LASTSAVE {{ saved.lastsave_before }} -> {{ saved.lastsave }} in {{ saved.duration }} s"
"""

RETURN = r"""
began:
  description: Server time (Unix seconds) when the module began, after any save in progress ended.
  returned: success
  type: float
  sample: 1795607741.52
lastsave_before:
  description: C(LASTSAVE) before the new save.
  returned: success
  type: int
  sample: 1795607700
lastsave:
  description: C(LASTSAVE) after the new save (unchanged in check mode).
  returned: success
  type: int
  sample: 1795607742
duration:
  description: Seconds from the start of the save to LASTSAVE advancing (0 in check mode).
  returned: success
  type: float
  sample: 0.31
waited_for_running_save:
  description: Whether a background save was already in progress and was waited for first.
  returned: success
  type: bool
  sample: false
rdb_last_bgsave_status:
  description: The server's status of the last background save.
  returned: success
  type: str
  sample: ok
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pulse_redis import (
    CONNECTION_REQUIRED_TOGETHER,
    config_get,
    connect,
    connection_argument_spec,
    describe_target,
    lastsave,
    run,
    server_time,
    wait_for,
)


def main():
    module = AnsibleModule(
        argument_spec=connection_argument_spec(timeout=dict(type="int", default=300)),
        required_together=CONNECTION_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    timeout = module.params["timeout"]
    if timeout < 1:
        module.fail_json(msg="invalid timeout %d: give at least 1 second" % timeout)
    target = describe_target(module.params)
    client = connect(module, "start a background save")
    deadline = time.monotonic() + timeout

    def persistence():
        return run(module, "read INFO persistence", client.info, "persistence")

    # A save already running began before us and may miss our writes: let it end.
    running = bool(persistence().get("rdb_bgsave_in_progress"))
    if running and not wait_for(lambda: not persistence().get("rdb_bgsave_in_progress"), timeout):
        module.fail_json(msg="cannot save Redis at %s: a background save already in progress did not "
                             "finish within %d s (raise timeout for a large dataset)" % (target, timeout))

    before = run(module, "read LASTSAVE", lastsave, client)
    began = run(module, "read TIME", server_time, client)
    # LASTSAVE counts whole seconds: start in a later second than the last save,
    # so that a save that ends now is told apart from it.
    if int(began) <= before:
        time.sleep(before + 1 - began)
        began = run(module, "read TIME", server_time, client)

    result = dict(changed=True, began=began, lastsave_before=before, waited_for_running_save=running)
    if module.check_mode:
        status = persistence().get("rdb_last_bgsave_status")
        module.exit_json(lastsave=before, duration=0.0, rdb_last_bgsave_status=status, **result)

    started = time.monotonic()
    reply = run(module, "start BGSAVE", client.execute_command, "BGSAVE", "SCHEDULE")
    # "started": the child is forked now, so the next idle state is its end.
    # "scheduled" (an AOF rewrite runs): ours has ended only once it has run.
    seen = {"running": "scheduled" not in str(reply)}

    def finished():
        info = persistence()
        if info.get("rdb_bgsave_in_progress"):
            seen["running"] = True
            return None
        now = lastsave(client)
        if now > before or (seen["running"] and info.get("rdb_last_bgsave_status") != "ok"):
            return dict(info, lastsave=now)
        return None

    info = wait_for(finished, max(0.0, deadline - time.monotonic()), interval=0.05)
    duration = round(time.monotonic() - started, 3)
    if info and info["lastsave"] > before:
        module.exit_json(lastsave=info["lastsave"], duration=duration,
                         rdb_last_bgsave_status=info.get("rdb_last_bgsave_status"), **result)

    info = info or persistence()
    data_dir = config_get(module, client, "dir")
    if info.get("rdb_last_bgsave_status") != "ok":
        module.fail_json(
            msg="background save on Redis at %s failed (rdb_last_bgsave_status:%s): Redis could not write "
                "its snapshot in %s; check that the directory exists, is writable by the redis user and has "
                "free space, then read the Redis log" % (target, info.get("rdb_last_bgsave_status"), data_dir),
            lastsave_before=before, lastsave=lastsave(client), duration=duration,
            rdb_last_bgsave_status=info.get("rdb_last_bgsave_status"),
        )
    module.fail_json(
        msg="background save on Redis at %s did not finish within %d s (LASTSAVE still %d, "
            "rdb_bgsave_in_progress:%s); raise timeout for a large dataset or check the disk under %s"
            % (target, timeout, before, info.get("rdb_bgsave_in_progress"), data_dir),
        lastsave_before=before, lastsave=before, duration=duration,
        rdb_last_bgsave_status=info.get("rdb_last_bgsave_status"),
    )


if __name__ == "__main__":
    main()
