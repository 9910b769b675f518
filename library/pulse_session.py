#!/usr/bin/python
# -*- coding: utf-8 -*-
# A canary session in Pulse's exact format: write it, prove it is found and opens, remove it.

DOCUMENTATION = r"""
---
module: pulse_session
short_description: Write, check or remove a canary session in Pulse's exact storage format
description:
  - Works on one session for a reserved WhatsApp ID, stored exactly as Pulse stores
    sessions (C(session:<id>) encrypted with the key derived from C(ENCRYPTION_KEY) and
    C(ENCRYPTION_SALT), C(whatsapp:<hash>) indexing it through C(HASH_SALT)).
  - O(state=present) makes sure the canary exists and opens, writing it when it does not.
  - O(state=checked) only reads, the way Pulse finds a user (index, session id,
    decrypt) and fails with the step that broke; it never changes anything.
  - O(state=absent) removes the canary's two keys.
  - Session content and keys never appear in results or messages.
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
    description: Reports the C(changed) a real run would, without writing or deleting.
  diff_mode:
    support: none
options:
  whatsapp_id:
    description: The reserved WhatsApp ID of the canary; never a real user's.
    type: str
    default: 0000000000@c.us
  state:
    description: What to do with the canary.
    type: str
    choices: [present, checked, absent]
    default: checked
  ttl:
    description: Expiry of a written canary in seconds, as Pulse's C(SESSION_EXPIRY).
    type: int
    default: 86400
"""

EXAMPLES = r"""
- name: Write a canary session as Pulse would
  pulse_session:
    login_password: "{{ redis_requirepass }}"
    encryption_key: "{{ pulse_encryption_key }}"
    encryption_salt: "{{ pulse_encryption_salt }}"
    hash_salt: "{{ pulse_hash_salt }}"
    state: present

- name: Prove Pulse will still find it and open it
  pulse_session:
    login_password: "{{ redis_requirepass }}"
    encryption_key: "{{ pulse_encryption_key }}"
    encryption_salt: "{{ pulse_encryption_salt }}"
    hash_salt: "{{ pulse_hash_salt }}"
    state: checked
"""

RETURN = r"""
found:
  description: Whether the canary was found through its index and opened with the keys given (before any write).
  returned: always
  type: bool
  sample: true
session_id:
  description: The canary's session id (32 hex characters); null when there is none.
  returned: always
  type: str
  sample: 0123456789abcdef0123456789abcdef
index_key:
  description: The canary's index key, C(whatsapp:<hash>).
  returned: always
  type: str
  sample: whatsapp:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
ttl:
  description: Seconds the canary session has left; null when there is none.
  returned: always
  type: int
  sample: 86391
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pulse_redis import CONNECTION_REQUIRED_TOGETHER, connect, connection_argument_spec, run
from ansible.module_utils.pulse_sessions import (
    KEY_ARGUMENT_SPEC,
    SESSION_PREFIX,
    Keys,
    ensure_crypto_library,
    find_session,
    new_session,
    short,
)


def main():
    module = AnsibleModule(
        argument_spec=connection_argument_spec(
            whatsapp_id=dict(type="str", default="0000000000@c.us"),
            state=dict(type="str", choices=["present", "checked", "absent"], default="checked"),
            ttl=dict(type="int", default=86400),
            **KEY_ARGUMENT_SPEC
        ),
        required_together=CONNECTION_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    ensure_crypto_library(module)
    params = module.params
    if params["ttl"] < 1:
        module.fail_json(msg="invalid ttl %d: give at least 1 second, as Pulse's SESSION_EXPIRY" % params["ttl"])
    state = params["state"]
    client = connect(module, "%s the canary session" % {"present": "write", "checked": "check",
                                                         "absent": "remove"}[state])
    keys = Keys(params)
    index_key = keys.index_key(params["whatsapp_id"])
    session_id, session, problem = run(module, "read the canary session", find_session, client, keys,
                                       params["whatsapp_id"])
    result = dict(changed=False, found=session is not None, session_id=session_id, index_key=index_key)

    if state == "checked":
        if problem:
            module.fail_json(msg="canary session for %s not found as Pulse would find it: %s"
                                 % (params["whatsapp_id"], problem), ttl=None, **result)
        if session.get("whatsappId") != params["whatsapp_id"] or session.get("sessionId") != session_id:
            module.fail_json(msg="canary session %s%s opens, but holds another user's identity: it was not "
                                 "written for this WhatsApp ID" % (SESSION_PREFIX, short(session_id)),
                             ttl=None, **result)

    elif state == "present" and problem:
        result["changed"] = True
        if not module.check_mode:
            session = new_session(params["whatsapp_id"], params["ttl"], metadata={"pulseOps": "canary"})
            session_id = session["sessionId"]
            stale = [SESSION_PREFIX + result["session_id"]] if result["session_id"] else []
            pipe = client.pipeline(transaction=True)
            if stale:
                pipe.delete(*stale)
            pipe.set(SESSION_PREFIX + session_id, keys.seal(session), ex=params["ttl"])
            pipe.set(index_key, session_id, ex=params["ttl"])
            run(module, "write the canary session", pipe.execute)
            result["session_id"] = session_id

    elif state == "absent":
        existing = [index_key] + ([SESSION_PREFIX + session_id] if session_id else [])
        present = run(module, "look for the canary's keys", client.exists, *existing)
        result["changed"] = present > 0
        if present and not module.check_mode:
            run(module, "remove the canary session", client.delete, *existing)
        result["session_id"] = None if not module.check_mode else session_id

    remaining = run(module, "read the canary's TTL", client.ttl, SESSION_PREFIX + result["session_id"]) \
        if result["session_id"] else None
    result["ttl"] = remaining if remaining is not None and remaining >= 0 else None
    module.exit_json(**result)


if __name__ == "__main__":
    main()
