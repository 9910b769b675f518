#!/usr/bin/python
# -*- coding: utf-8 -*-
# Read-only: how many sessions Redis holds, and whether the current keys open them.

DOCUMENTATION = r"""
---
module: pulse_session_info
short_description: Count Pulse's sessions and test whether the current keys open a sample
description:
  - Counts C(session:*), C(whatsapp:*) and C(cache:*) keys with C(SCAN) (never C(KEYS),
    which blocks Redis on a large dataset).
  - Opens up to O(sample_size) sessions with the key derived from the given
    C(ENCRYPTION_KEY) and C(ENCRYPTION_SALT) and reports how many open. Run it before
    Pulse starts with new keys - Pulse deletes every session it cannot open.
  - Changes nothing; always returns C(changed=false). Never returns session content.
version_added: "1.0.0"
author: pulse-ops
extends_documentation_fragment:
  - pulse_redis
  - pulse_keys
requirements:
  - redis (python3-redis on Debian)
  - cryptography (python3-cryptography on Debian)
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode; it only reads.
  diff_mode:
    support: none
options:
  sample_size:
    description: How many sessions to try to open.
    type: int
    default: 50
"""

EXAMPLES = r"""
- name: See whether the vault's keys open the sessions in Redis
  pulse_session_info:
    login_password: "{{ redis_requirepass }}"
    encryption_key: "{{ pulse_encryption_key }}"
    encryption_salt: "{{ pulse_encryption_salt }}"
    hash_salt: "{{ pulse_hash_salt }}"
  register: sessions

- name: Stop before Pulse would delete them
  ansible.builtin.assert:
    that: sessions.sampled == 0 or sessions.opened > 0
"""

RETURN = r"""
sessions:
  description: Number of C(session:*) keys.
  returned: always
  type: int
  sample: 1042
index_keys:
  description: Number of C(whatsapp:*) index keys.
  returned: always
  type: int
  sample: 1040
cache_keys:
  description: Number of C(cache:*) keys (safe to drop).
  returned: always
  type: int
  sample: 12
sampled:
  description: How many sessions were tried.
  returned: always
  type: int
  sample: 50
opened:
  description: How many of those opened with the keys given.
  returned: always
  type: int
  sample: 50
not_opened:
  description: How many did not (other keys, or damaged).
  returned: always
  type: int
  sample: 0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pulse_crypto import PulseCryptoError
from ansible.module_utils.pulse_redis import CONNECTION_REQUIRED_TOGETHER, connect, connection_argument_spec, run
from ansible.module_utils.pulse_sessions import (
    CACHE_PREFIX,
    INDEX_PREFIX,
    KEY_ARGUMENT_SPEC,
    SESSION_PREFIX,
    Keys,
    ensure_crypto_library,
    scan_keys,
)


def count_and_sample(client, keys, sample_size):
    counts = dict(sessions=0, index_keys=0, cache_keys=0, sampled=0, opened=0, not_opened=0)
    sample = []
    for key in scan_keys(client, SESSION_PREFIX):
        counts["sessions"] += 1
        if len(sample) < sample_size:
            sample.append(key)
    counts["index_keys"] = sum(1 for _ in scan_keys(client, INDEX_PREFIX))
    counts["cache_keys"] = sum(1 for _ in scan_keys(client, CACHE_PREFIX))
    for stored in client.mget(sample) if sample else []:
        if stored is None:  # expired between SCAN and MGET
            continue
        counts["sampled"] += 1
        try:
            keys.open(stored)
            counts["opened"] += 1
        except PulseCryptoError:
            counts["not_opened"] += 1
    return counts


def main():
    module = AnsibleModule(
        argument_spec=connection_argument_spec(sample_size=dict(type="int", default=50), **KEY_ARGUMENT_SPEC),
        required_together=CONNECTION_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    ensure_crypto_library(module)
    if module.params["sample_size"] < 0:
        module.fail_json(msg="invalid sample_size %d: give 0 or more" % module.params["sample_size"])
    client = connect(module, "count Pulse's sessions")
    counts = run(module, "count Pulse's sessions", count_and_sample, client, Keys(module.params),
                 module.params["sample_size"])
    module.exit_json(changed=False, **counts)


if __name__ == "__main__":
    main()
