#!/usr/bin/python
# -*- coding: utf-8 -*-
# Read-only: how many sessions Redis holds, whether the current keys open them,
# and (with whatsapp_id) why one user is or is not found.

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
  - With O(whatsapp_id), also diagnoses one user as Pulse would look them up (the index
    C(whatsapp:<hash>), then the session it names, then decryption) and says in plain words
    why the user is or is not found. When the index is missing, it looks for the user's
    session among all sessions (by opening them), to tell a changed C(HASH_SALT) from a
    user who never linked.
  - Changes nothing; always returns C(changed=false). Never returns session content, a key,
    or the WhatsApp ID itself (only a masked form); of a session, only its field names.
version_added: "1.0.0"
author: pulse-ops
extends_documentation_fragment:
  - pulse_read_only
  - pulse_redis
  - pulse_keys
requirements:
  - redis (python3-redis on Debian)
  - cryptography (python3-cryptography on Debian)
options:
  sample_size:
    description: How many sessions to try to open.
    type: int
    default: 50
  whatsapp_id:
    description:
      - A user to diagnose, as Pulse names them, for example C(18764250250@c.us) (digits, then
        C(@c.us) or C(@lid)). Anything else is refused.
    type: str
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

- name: Say why one user is not found
  pulse_session_info:
    login_password: "{{ redis_requirepass }}"
    encryption_key: "{{ pulse_encryption_key }}"
    encryption_salt: "{{ pulse_encryption_salt }}"
    hash_salt: "{{ pulse_hash_salt }}"
    whatsapp_id: "{{ whatsapp_id }}"
  register: user
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
diagnosis:
  description: With O(whatsapp_id), what was found for that user; null otherwise.
  returned: always
  type: dict
  contains:
    user:
      description: The WhatsApp ID, masked.
      type: str
      sample: 18*******50@c.us
    state:
      description: >-
        V(healthy), V(hash_salt_differs), V(sealed_with_other_keys), V(malformed), V(expired),
        V(other_user) or V(not_linked).
      type: str
      sample: healthy
    verdict:
      description: The state in plain words, with the cause and what to do.
      type: str
      sample: "healthy: the index leads to a session that opens with the current keys"
    index_present:
      description: Whether C(whatsapp:<hash>) exists under the current C(HASH_SALT).
      type: bool
    index_ttl:
      description: Seconds the index has left (-1 without expiry); null when absent.
      type: int
    session_present:
      description: Whether the session the index names (or that the search found) exists.
      type: bool
    session_ttl:
      description: Seconds the session has left; null when absent.
      type: int
    opens:
      description: Whether the session opens with the current keys; null when there is none.
      type: bool
    fields:
      description: The names of the session's fields (never their values).
      type: list
      elements: str
      sample: [consentGiven, createdAt, expiresAt, isVerified, lastActivity, sessionId, whatsappId]
    is_verified:
      description: The session's C(isVerified); null when it does not open.
      type: bool
    unopenable_sessions:
      description: When the index is missing, how many sessions the search could not open.
      type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pulse_crypto import PulseCryptoError, SealedWithOtherKey
from ansible.module_utils.pulse_redis import CONNECTION_REQUIRED_TOGETHER, connect, connection_argument_spec, run
from ansible.module_utils.pulse_sessions import (
    CACHE_PREFIX,
    INDEX_PREFIX,
    KEY_ARGUMENT_SPEC,
    SESSION_PREFIX,
    WHATSAPP_ID,
    WHATSAPP_ID_FORMAT,
    Keys,
    ensure_crypto_library,
    mask_id,
    scan_batches,
    scan_keys,
    short,
    walk_sessions,
)

VERDICTS = dict(
    healthy="healthy: the index leads to a session that opens with the current keys and belongs to this user",
    not_verified=("healthy, but not verified: the session opens, and its isVerified is false (the user has not "
                  "finished linking; they must complete the verification step)"),
    hash_salt_differs=("index missing: HASH_SALT differs from the one that linked this user (their session %s "
                       "exists and opens with the current keys, but no whatsapp:<hash> under the current HASH_SALT "
                       "leads to it%s). Restore the HASH_SALT that linked them (playbooks/restore-keys.yml), or "
                       "the user must link again"),
    sealed_with_other_keys=("session present but sealed with other keys: %s does not open with the current "
                            "ENCRYPTION_KEY and ENCRYPTION_SALT (they differ from the ones that wrote it). Do not let "
                            "Pulse run with these keys: it deletes every session it cannot open. Restore the keys "
                            "that wrote it (playbooks/restore-keys.yml), or the user must link again"),
    malformed=("session damaged: %s is not a Pulse encrypted session; the user must link again "
               "(playbooks/cleanup-sessions.yml removes it)"),
    expired=("expired: the index remains but %s is gone (it outlived SESSION_EXPIRY or was deleted); the user "
             "must link again (playbooks/cleanup-sessions.yml removes the stale index)"),
    other_user=("index leads to another user's session: %s opens but belongs to another WhatsApp ID (the index "
                "was altered); the user must link again"),
    not_linked=("not linked: no index and no session for this WhatsApp ID (never linked, or expired); "
                "the user must link"),
    not_linked_unopenable=(" Note: %d sessions here do not open with the current keys; if one is this user's, "
                           "ENCRYPTION_KEY or ENCRYPTION_SALT changed too"),
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


def read_session(client, session_key):
    """(present, ttl, stored value or None): a key that is not a string is present with no value."""
    pipe = client.pipeline(transaction=False)
    pipe.type(session_key)
    pipe.ttl(session_key)
    kind, ttl = pipe.execute()
    if kind == "none":
        return False, None, None
    return True, ttl, client.get(session_key) if kind == "string" else None


def find_by_owner(client, keys, whatsapp_id):
    """Look for the user's session among all sessions; return (its id or None, how many did not open)."""
    unopenable = 0
    for session_id, session in walk_sessions(client, keys):
        if session is None:
            unopenable += 1
        elif isinstance(session, dict) and session.get("whatsappId") == whatsapp_id:
            return session_id, unopenable
    return None, unopenable


def indexed_elsewhere(client, session_id):
    """Whether some whatsapp:* key (written under another HASH_SALT) leads to session_id."""
    for _names, values in scan_batches(client, INDEX_PREFIX):
        if session_id in values:
            return True
    return False


def describe_session(diagnosis, keys, whatsapp_id, stored):
    """Fill opens, fields and is_verified; return the state."""
    try:
        session = keys.open(stored)
    except SealedWithOtherKey:
        diagnosis["opens"] = False
        return "sealed_with_other_keys"
    except PulseCryptoError:
        diagnosis["opens"] = False
        return "malformed"
    if not isinstance(session, dict):
        diagnosis["opens"] = False
        return "malformed"
    diagnosis.update(opens=True, fields=sorted(session), is_verified=session.get("isVerified") is True)
    if session.get("whatsappId") != whatsapp_id:
        return "other_user"
    return "healthy" if diagnosis["is_verified"] else "not_verified"


def diagnose(client, keys, whatsapp_id):
    """Follow the user as Pulse does, and name what breaks."""
    index_key = keys.index_key(whatsapp_id)
    session_id = client.get(index_key)
    diagnosis = dict(user=mask_id(whatsapp_id), index_present=session_id is not None,
                     index_ttl=client.ttl(index_key) if session_id is not None else None,
                     session_present=False, session_ttl=None, opens=None, fields=[], is_verified=None,
                     unopenable_sessions=None)
    if session_id is None:
        found, unopenable = find_by_owner(client, keys, whatsapp_id)
        diagnosis["unopenable_sessions"] = unopenable
        if found is None:
            diagnosis["state"] = "not_linked"
            diagnosis["verdict"] = VERDICTS["not_linked"] + (
                VERDICTS["not_linked_unopenable"] % unopenable if unopenable else "")
            return diagnosis
        session_id = found
        diagnosis["state"] = "hash_salt_differs"
    present, ttl, stored = read_session(client, SESSION_PREFIX + session_id)
    diagnosis.update(session_present=present, session_ttl=ttl)
    label = SESSION_PREFIX + short(session_id)
    if diagnosis.get("state") == "hash_salt_differs":
        describe_session(diagnosis, keys, whatsapp_id, stored)
        elsewhere = indexed_elsewhere(client, session_id)
        diagnosis["verdict"] = VERDICTS["hash_salt_differs"] % (
            label, "; another whatsapp: key, written under another HASH_SALT, does" if elsewhere else "")
        return diagnosis
    if not present:
        state = "expired"
    elif stored is None:
        state = "malformed"
        diagnosis["opens"] = False
    else:
        state = describe_session(diagnosis, keys, whatsapp_id, stored)
    diagnosis["state"] = "healthy" if state == "not_verified" else state
    verdict = VERDICTS[state]
    diagnosis["verdict"] = verdict % label if "%s" in verdict else verdict
    return diagnosis


def main():
    module = AnsibleModule(
        # no_log: a WhatsApp ID is a phone number; only its masked form is ever shown.
        argument_spec=connection_argument_spec(sample_size=dict(type="int", default=50),
                                               whatsapp_id=dict(type="str", no_log=True),
                                               **KEY_ARGUMENT_SPEC),
        required_together=CONNECTION_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    ensure_crypto_library(module)
    if module.params["sample_size"] < 0:
        module.fail_json(msg="invalid sample_size %d: give 0 or more" % module.params["sample_size"])
    whatsapp_id = module.params["whatsapp_id"]
    if whatsapp_id is not None and not WHATSAPP_ID.match(whatsapp_id):
        module.fail_json(msg="invalid whatsapp_id %r: expected %s" % (mask_id(whatsapp_id), WHATSAPP_ID_FORMAT))
    client = connect(module, "count Pulse's sessions")
    keys = Keys(module.params)
    counts = run(module, "count Pulse's sessions", count_and_sample, client, keys, module.params["sample_size"])
    counts["diagnosis"] = run(module, "diagnose a user's session", diagnose, client, keys, whatsapp_id) \
        if whatsapp_id else None
    module.exit_json(changed=False, **counts)


if __name__ == "__main__":
    main()
