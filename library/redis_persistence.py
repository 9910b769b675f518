#!/usr/bin/python
# -*- coding: utf-8 -*-
# Make a running Redis server's persistence settings equal the desired ones.



DOCUMENTATION = r"""
---
module: redis_persistence
short_description: Apply Redis persistence settings to the running server, safely
description:
  - Compares the running server's persistence settings (C(CONFIG GET)) with the
    desired ones and applies the differences live with C(CONFIG SET), so that no
    restart is needed.
  - Turning C(appendonly) on is done the way that cannot lose data on a server
    whose dataset lives only in C(dump.rdb) (see redis/redis#12484). The setting is
    applied live and the module waits until Redis reports the AOF rewrite
    finished with status C(ok). Only then is it safe to write C(appendonly yes)
    to the configuration file.
  - The module does not touch the configuration file; persist the same values
    there (the C(redis) role of pulse-ops templates them) so a restart keeps them.
  - When a setting cannot be applied, or the AOF rewrite fails, the settings
    already changed by this run are put back and the module fails.
  - Options left unset are not managed.
version_added: "1.0.0"
author: pulse-ops
extends_documentation_fragment:
  - pulse_redis
requirements:
  - redis (Python library; python3-redis on Debian)
attributes:
  check_mode:
    support: full
    description: Reports exactly the C(changed) and the diff a real run would, without changing anything.
  diff_mode:
    support: full
    description: Shows the running settings before and after.
options:
  save:
    description:
      - RDB snapshot rules, each C("<seconds> <changes>"), for example C("900 1").
      - Both numbers must be whole numbers of at least 1. An empty list turns RDB snapshots off.
      - Compared without regard to order.
    type: list
    elements: str
  appendonly:
    description: Whether the append-only file is on.
    type: bool
  appendfsync:
    description: How often the AOF is flushed to disk.
    type: str
    choices: [always, everysec, "no"]
  stop_writes_on_bgsave_error:
    description: Whether Redis refuses writes (MISCONF) after a failed background save.
    type: bool
  maxmemory:
    description:
      - Memory limit, in bytes or with a Redis unit (C(512mb), C(2gb), C(1g)). C(0) means no limit.
    type: str
  maxmemory_policy:
    description: What Redis does when C(maxmemory) is reached. C(noeviction) keeps every session.
    type: str
    choices:
      - noeviction
      - allkeys-lru
      - allkeys-lfu
      - allkeys-random
      - volatile-lru
      - volatile-lfu
      - volatile-random
      - volatile-ttl
  aof_rewrite_timeout:
    description: Seconds to wait for the AOF rewrite that turning C(appendonly) on starts.
    type: int
    default: 600
notes:
  - C(rdbchecksum) cannot be changed on a running server; set it in the configuration file.
"""

EXAMPLES = r"""
- name: Keep Pulse's sessions on disk (RDB rules and AOF), applied live
  redis_persistence:
    login_password: "{{ redis_requirepass }}"
    save: ["900 1", "300 10", "60 10000"]
    appendonly: true
    appendfsync: everysec
    stop_writes_on_bgsave_error: true
    maxmemory_policy: noeviction

- name: Show what would change, without changing it
  redis_persistence:
    login_password: "{{ redis_requirepass }}"
    appendonly: true
  check_mode: true
  diff: true
"""

RETURN = r"""
before:
  description: The managed settings as the server had them, in C(CONFIG GET) form.
  returned: always
  type: dict
  sample: {"save": "3600 1 300 100 60 10000", "appendonly": "no", "appendfsync": "everysec"}
after:
  description: The managed settings as they are after the run (as they would be, in check mode).
  returned: always
  type: dict
  sample: {"save": "900 1 300 10 60 10000", "appendonly": "yes", "appendfsync": "everysec"}
changed_settings:
  description: Names of the settings that were (or would be) changed, in the order applied.
  returned: always
  type: list
  elements: str
  sample: ["save", "appendonly"]
aof_rewrite_seconds:
  description: How long the AOF rewrite started by turning C(appendonly) on took.
  returned: when appendonly was turned on (not in check mode)
  type: float
  sample: 0.42
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pulse_redis import (
    CONNECTION_REQUIRED_TOGETHER,
    config_get,
    connect,
    connection_argument_spec,
    describe_target,
    explain_error,
    wait_for,
)

try:
    from redis.exceptions import RedisError
except ImportError:  # reported by connect() through missing_required_lib
    RedisError = Exception

# Order matters: appendfsync before appendonly, so the new AOF starts with the
# wanted fsync policy; appendonly last, because it starts a rewrite.
MANAGED = (
    ("save", "save"),
    ("stop_writes_on_bgsave_error", "stop-writes-on-bgsave-error"),
    ("maxmemory_policy", "maxmemory-policy"),
    ("maxmemory", "maxmemory"),
    ("appendfsync", "appendfsync"),
    ("appendonly", "appendonly"),
)

POLICIES = (
    "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
)

_UNITS = {"": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2, "g": 1000 ** 3, "gb": 1024 ** 3}
_MEMORY = re.compile(r"^\s*(\d+)\s*([kmg]b?)?\s*$", re.IGNORECASE)


class InvalidValue(ValueError):
    """A desired value that Redis would not accept; the message says how to fix it."""


def normalize_save(rules):
    """Turn ["900 1", "300 10"] into Redis's "900 1 300 10", validating each rule."""
    tokens = []
    for rule in rules:
        tokens.extend(str(rule).split())
    bad = [t for t in tokens if not t.isdigit() or int(t) < 1]
    if bad:
        raise InvalidValue(
            "invalid save rules %s: %s is not a whole number of at least 1; each rule is "
            "'<seconds> <changes>', for example '900 1'" % (list(rules), ", ".join(repr(t) for t in bad))
        )
    if len(tokens) % 2:
        raise InvalidValue(
            "invalid save rules %s: %d numbers make no whole pairs; each rule is "
            "'<seconds> <changes>', for example '900 1'" % (list(rules), len(tokens))
        )
    return " ".join(str(int(t)) for t in tokens)


def save_pairs(value):
    tokens = value.split()
    return sorted(zip(tokens[0::2], tokens[1::2], strict=True))


def memory_bytes(value):
    """Parse a Redis memory amount ('512mb', '1g', '1048576') into bytes."""
    match = _MEMORY.match(str(value))
    if not match:
        raise InvalidValue(
            "invalid maxmemory %r: use bytes or a number with k, kb, m, mb, g or gb, "
            "for example '512mb' (0 means no limit)" % (value,)
        )
    return int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]


def desired_settings(params):
    """The managed settings the operator asked for, in CONFIG GET form."""
    wanted = {}
    for option, name in MANAGED:
        value = params.get(option)
        if value is None:
            continue
        if option == "save":
            value = normalize_save(value)
        elif option == "maxmemory":
            value = str(memory_bytes(value))
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        wanted[name] = value
    return wanted


def same(name, running, wanted):
    if name == "save":
        return save_pairs(running) == save_pairs(wanted)
    return running == wanted


def wait_for_aof_rewrite(module, client, rewrites_before):
    """Wait until the rewrite that 'appendonly yes' started reports ok."""
    timeout = module.params["aof_rewrite_timeout"]

    def finished():
        info = client.info("persistence")
        busy = info.get("aof_rewrite_in_progress") or info.get("aof_rewrite_scheduled")
        if busy:
            return None
        if info.get("aof_last_bgrewrite_status") != "ok":
            return info
        # Redis 7 counts rewrites; older servers only drop the in-progress flag.
        if "aof_rewrites" in info and info["aof_rewrites"] <= rewrites_before:
            return None
        return info

    started = time.monotonic()
    info = wait_for(finished, timeout, interval=0.2)
    if not info:
        raise RuntimeError(
            "the AOF rewrite started by 'appendonly yes' did not finish within %d s "
            "(raise aof_rewrite_timeout for a large dataset)" % timeout
        )
    if info.get("aof_last_bgrewrite_status") != "ok":
        raise RuntimeError(
            "the AOF rewrite started by 'appendonly yes' failed (aof_last_bgrewrite_status:%s); "
            "check free space and permissions in the data directory and the Redis log"
            % info.get("aof_last_bgrewrite_status")
        )
    return round(time.monotonic() - started, 3)


def apply(module, client, before, changes):
    """Apply changes in order; on any failure put back what was applied, then fail."""
    applied = []
    result = {}
    try:
        for name, value in changes:
            if name == "appendonly" and value == "yes":
                rewrites = client.info("persistence").get("aof_rewrites", 0)
                applied.append(name)
                client.config_set(name, value)
                result["aof_rewrite_seconds"] = wait_for_aof_rewrite(module, client, rewrites)
            else:
                client.config_set(name, value)
                applied.append(name)
    except (RedisError, RuntimeError) as error:
        restored = []
        for name in reversed(applied):
            try:
                client.config_set(name, before[name])
                restored.append(name)
            except RedisError:
                pass
        cause = error if isinstance(error, RuntimeError) else explain_error(
            module.params, "set %s" % name, error
        )
        module.fail_json(
            msg="cannot apply persistence settings on Redis at %s: %s; settings put back as they were: %s"
            % (describe_target(module.params), cause, ", ".join(reversed(restored)) or "none needed"),
            changed=False,
        )
    return result


def main():
    module = AnsibleModule(
        argument_spec=connection_argument_spec(
            save=dict(type="list", elements="str"),
            appendonly=dict(type="bool"),
            appendfsync=dict(type="str", choices=["always", "everysec", "no"]),
            stop_writes_on_bgsave_error=dict(type="bool"),
            maxmemory=dict(type="str"),
            maxmemory_policy=dict(type="str", choices=list(POLICIES)),
            aof_rewrite_timeout=dict(type="int", default=600),
        ),
        required_together=CONNECTION_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    # Validate everything before the first byte goes to the server.
    try:
        wanted = desired_settings(module.params)
    except InvalidValue as error:
        module.fail_json(msg=str(error))
    rewrite_timeout = module.params["aof_rewrite_timeout"]
    if rewrite_timeout < 1:
        module.fail_json(msg="invalid aof_rewrite_timeout %d: give at least 1 second" % rewrite_timeout)
    if wanted.get("save") == "":
        module.warn("save rules are empty: Redis will write no RDB snapshots")

    client = connect(module, "read persistence settings")
    before = dict((name, config_get(module, client, name)) for name in wanted)
    changes = [(name, wanted[name]) for _, name in MANAGED
               if name in wanted and not same(name, before[name], wanted[name])]
    after = dict(before, **dict(changes))

    result = dict(
        changed=bool(changes),
        before=before,
        after=after,
        changed_settings=[name for name, _ in changes],
    )
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    if changes and not module.check_mode:
        result.update(apply(module, client, before, changes))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
