# -*- coding: utf-8 -*-
# Pulse's sessions in Redis, as Pulse keeps them (see the contract):
#   session:<sessionId>          encrypted JSON session object, TTL SESSION_EXPIRY
#   whatsapp:<hash(whatsappId)>  the sessionId in plain text, same TTL
# Shared by the pulse_session and pulse_session_info modules.

import datetime
import os

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.pulse_crypto import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    PulseCryptoError,
    derive_key,
    hash_id,
    open_value,
    seal,
)

SESSION_PREFIX = "session:"
INDEX_PREFIX = "whatsapp:"
CACHE_PREFIX = "cache:"

# Options every module that reads or writes sessions takes, beside the Redis ones.
KEY_ARGUMENT_SPEC = dict(
    encryption_key=dict(type="str", required=True, no_log=True),
    encryption_salt=dict(type="str", required=True, no_log=True),
    hash_salt=dict(type="str", required=True, no_log=True),
)


def ensure_crypto_library(module):
    """Fail with Ansible's standard hint when the cryptography library is missing."""
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(
            msg=missing_required_lib(
                "cryptography", reason="to open Pulse's sessions (on Debian: apt-get install python3-cryptography)"
            ),
            exception=CRYPTOGRAPHY_IMPORT_ERROR,
        )


class Keys:
    """The derived AES key and the hash salt, computed once per module run."""

    def __init__(self, params):
        self.key = derive_key(params["encryption_key"], params["encryption_salt"])
        self.hash_salt = params["hash_salt"]

    def index_key(self, whatsapp_id):
        return INDEX_PREFIX + hash_id(whatsapp_id, self.hash_salt)

    def seal(self, value):
        return seal(self.key, value)

    def open(self, stored):
        return open_value(self.key, stored)


def short(session_id):
    """A session id as messages show it: enough to find it, not the whole of it."""
    return "%s.." % session_id[:4]


def iso(moment):
    """A datetime as JavaScript's toISOString() writes it: milliseconds and Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def new_session(whatsapp_id, ttl, metadata=None):
    """A session object with the fields Pulse writes (dates as ISO-8601 strings)."""
    now = datetime.datetime.now(datetime.UTC)
    return {
        "sessionId": os.urandom(16).hex(),
        "whatsappId": whatsapp_id,
        "phoneNumber": "+" + whatsapp_id.split("@")[0],
        "isVerified": False,
        "createdAt": iso(now),
        "expiresAt": iso(now + datetime.timedelta(seconds=ttl)),
        "lastActivity": iso(now),
        "mfaVerified": False,
        "consentGiven": False,
        "metadata": metadata or {},
    }


def find_session(client, keys, whatsapp_id):
    """Follow index -> session id -> decrypt, as Pulse does to find a user.

    Returns (session_id or None, session object or None, problem or None);
    problem says which step failed, never what a session holds.
    """
    index_key = keys.index_key(whatsapp_id)
    session_id = client.get(index_key)
    if session_id is None:
        return None, None, ("no %s<hash> index for this WhatsApp ID (never linked, expired, or HASH_SALT "
                            "differs from the one that wrote it)" % INDEX_PREFIX)
    stored = client.get(SESSION_PREFIX + session_id)
    if stored is None:
        return session_id, None, ("the index points to %s%s, which does not exist (expired or deleted)"
                                  % (SESSION_PREFIX, short(session_id)))
    try:
        return session_id, keys.open(stored), None
    except PulseCryptoError as error:
        return session_id, None, "cannot open %s%s: %s" % (SESSION_PREFIX, short(session_id), error)


def scan_keys(client, prefix, count=1000):
    """Iterate the keys under prefix with SCAN (never KEYS, which blocks Redis)."""
    return client.scan_iter(match=prefix + "*", count=count)
