# -*- coding: utf-8 -*-
# Pulse's sessions in Redis, as Pulse keeps them (see the contract):
#   session:<sessionId>          encrypted JSON session object, TTL SESSION_EXPIRY
#   whatsapp:<hash(whatsappId)>  the sessionId in plain text, same TTL
# Shared by the pulse_session and pulse_session_info modules.

import datetime
import os
import queue
import re
import threading

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.pulse_crypto import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    PulseCryptoError,
    SealedWithOtherKey,
    cipher,
    derive_key,
    hash_id,
    open_value,
    seal,
    unseal_all,
)

SESSION_PREFIX = "session:"
INDEX_PREFIX = "whatsapp:"
CACHE_PREFIX = "cache:"

# How the audit classes a stored session.
OK = "ok"
UNOPENABLE = "unopenable"  # a Pulse value sealed under other keys: Pulse would delete it
MALFORMED = "malformed"  # not a Pulse encrypted value at all, or not a string key

# What a WhatsApp ID looks like: digits, then @c.us (a phone) or @lid (a linked ID).
WHATSAPP_ID = re.compile(r"^[0-9]{5,20}@(c\.us|lid)$")
WHATSAPP_ID_FORMAT = "digits then @c.us or @lid, for example 15551234567@c.us"

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
        self.cipher = cipher(self.key)
        self.hash_salt = params.get("hash_salt")

    def index_key(self, whatsapp_id):
        return INDEX_PREFIX + hash_id(whatsapp_id, self.hash_salt)

    def seal(self, value):
        return seal(self.key, value)

    def open(self, stored):
        return open_value(self.key, stored, self.cipher)

    def classify(self, stored):
        """OK, UNOPENABLE or MALFORMED for a stored session value (text or bytes)."""
        return self.classify_all((stored,))[0]

    def classify_all(self, values):
        """classify() for each of many stored values, in one pass.

        AES-GCM's tag proves that a holder of the key wrote the plaintext, so a
        value that opens only has its JSON object's braces checked: parsing
        every session would triple the cost of auditing a large keyspace.
        """
        kinds = []
        for opened in unseal_all(self.cipher, values):
            if isinstance(opened, SealedWithOtherKey):
                kinds.append(UNOPENABLE)
            elif isinstance(opened, bytes) and opened[:1] == b"{" and opened[-1:] == b"}":
                kinds.append(OK)
            else:
                kinds.append(MALFORMED)
        return kinds


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


def scan_names(client, prefix, count=1000):
    """Walk the keys under prefix ('' for all) one SCAN step at a time; yield each step's keys.

    Redis answers a short command per step and stays responsive; memory holds one step.
    """
    cursor = None
    while cursor != 0:
        cursor, keys = client.scan(cursor or 0, match=prefix + "*", count=count)
        if keys:
            yield keys


def scan_batches(client, prefix, count=1000, fetch=None):
    """Like scan_names, yielding (keys, values): values[i] is keys[i]'s value when the key starts
    with fetch (by default, prefix), read with one MGET per step, and None otherwise. A read value
    is also None when its key expired meanwhile or is not a string.

    A thread of its own asks for the next SCAN step while this one's values are read, so Redis
    always has a command to answer.
    """
    fetch = prefix if fetch is None else fetch
    for keys in prefetched(scan_names(client, prefix, count)):
        if fetch == prefix:
            yield keys, client.mget(keys)
            continue
        marker = fetch.encode() if isinstance(keys[0], bytes) else fetch
        wanted = [index for index, key in enumerate(keys) if key.startswith(marker)]
        values = [None] * len(keys)
        if wanted:
            for index, value in zip(wanted, client.mget([keys[index] for index in wanted]), strict=True):
                values[index] = value
        yield keys, values


def walk_sessions(client, keys, count=1000):
    """Yield (session id, session object or None) for every session, None when it does not open
    (sealed with other keys, or not a Pulse value). Each value is read and decrypted once."""
    for names, values in scan_batches(client, SESSION_PREFIX, count):
        for name, stored in zip(names, values, strict=True):
            if stored is None:  # expired since the SCAN, or not a string
                continue
            try:
                session = keys.open(stored)
            except PulseCryptoError:
                session = None
            yield name[len(SESSION_PREFIX):], session


def prefetched(batches, depth=2):
    """Iterate batches while a thread already reads the next ones.

    Redis's network round trips then overlap with the caller's decryption. At
    most depth batches wait in memory; an error in the reader is raised here.
    """
    waiting = queue.Queue(maxsize=depth)
    done = object()

    def read():
        try:
            for batch in batches:
                waiting.put(batch)
        except Exception as error:  # handed to the caller, who reports it
            waiting.put(error)
        waiting.put(done)

    threading.Thread(target=read, daemon=True).start()
    while True:
        batch = waiting.get()
        if batch is done:
            return
        if isinstance(batch, Exception):
            raise batch
        yield batch


def mask_id(whatsapp_id):
    """A WhatsApp ID as reports show it: enough to tell users apart, not the phone number.

    The first and last two characters of a number of 8 or more; of anything shorter, none (they would be
    most of it). The rest of the ID (from "@") is kept as given, and nothing is added."""
    number, at, domain = whatsapp_id.partition("@")
    shown = "%s%s%s" % (number[:2], "*" * (len(number) - 4), number[-2:]) if len(number) >= 8 else "*" * len(number)
    return shown + at + domain
