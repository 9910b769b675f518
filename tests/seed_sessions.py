"""Seed a Redis with the mix of keys an operator's cleanup meets (test and benchmark data).

    PULSE_ENCRYPTION_KEY=... PULSE_ENCRYPTION_SALT=... PULSE_HASH_SALT=... REDIS_PASSWORD=... \
    python3 seed_sessions.py --port 6379 --good 100 --other-keys 40 --malformed 10 --not-strings 2 \
        --orphans 50 --cache 7 [--ttl 86400] [--first 0]

- good: sessions sealed with the keys from the environment, each with its mapping;
- other-keys: sessions sealed with a random key (as after a key change), each with its mapping;
- malformed: session values that are not Pulse encrypted values, each with its mapping;
- not-strings: session keys that hold a hash, each with its mapping;
- orphans: mappings to sessions that do not exist;
- cache: cache:* keys.

Users are 1876444NNNNN@c.us, numbered from --first. Prints the counts a
cleanup should report, as JSON. Standalone (redis-py and
cryptography only), so it runs on a Debian 12 target as well; it seals values
on its own, which cross-checks module_utils/pulse_crypto.py. Secrets come from
the environment, never the command line.
"""

import argparse
import base64
import hashlib
import json
import os
import sys

import redis
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def cipher(key_text, salt_text):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt_text.encode(), iterations=100000)
    return AESGCM(kdf.derive(key_text.encode()))


def sealed(aead, value):
    iv = os.urandom(16)
    out = aead.encrypt(iv, json.dumps(value, separators=(",", ":")).encode(), None)
    return base64.b64encode(iv + out[-16:] + out[:-16]).decode()


def session(session_id, number):
    whatsapp_id = "1876444%05d@c.us" % number
    return whatsapp_id, {
        "sessionId": session_id, "whatsappId": whatsapp_id, "phoneNumber": "+" + whatsapp_id[:-5],
        "isVerified": True, "createdAt": "2026-11-25T10:00:00.000Z", "expiresAt": "2026-11-26T10:00:00.000Z",
        "lastActivity": "2026-11-25T10:00:00.000Z", "mfaVerified": False, "consentGiven": True,
        "flashAuthToken": "t" * 64, "metadata": {},
    }


def seed(client, counts, key, salt, hash_salt, *, ttl=86400, batch=2000, first=0):
    good = cipher(key, salt)
    other = cipher(os.urandom(24).hex(), os.urandom(12).hex())
    pipe = client.pipeline(transaction=False)
    number = first

    def mapping(whatsapp_id, session_id):
        pipe.set("whatsapp:" + hashlib.sha256((whatsapp_id + hash_salt).encode()).hexdigest(), session_id, ex=ttl)

    for kind in ("good", "other_keys", "malformed", "not_strings", "orphans"):
        for _ in range(counts[kind]):
            session_id = os.urandom(16).hex()
            whatsapp_id, value = session(session_id, number)
            number += 1
            if kind == "good":
                pipe.set("session:" + session_id, sealed(good, value), ex=ttl)
            elif kind == "other_keys":
                pipe.set("session:" + session_id, sealed(other, value), ex=ttl)
            elif kind == "malformed":
                pipe.set("session:" + session_id, "not a Pulse value %d" % number, ex=ttl)
            elif kind == "not_strings":
                pipe.hset("session:" + session_id, "field", "value")
            mapping(whatsapp_id, session_id)
            if len(pipe) >= batch:
                pipe.execute()
    for index in range(counts["cache"]):
        pipe.set("cache:seed:%d" % index, "cached", ex=ttl)
    pipe.execute()
    bad = counts["other_keys"] + counts["malformed"] + counts["not_strings"]
    return {
        "sessions_ok": counts["good"], "sessions_unopenable": counts["other_keys"],
        "sessions_malformed": counts["malformed"] + counts["not_strings"],
        "mappings_ok": counts["good"], "mappings_orphaned": bad + counts["orphans"], "cache_keys": counts["cache"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--ttl", type=int, default=86400)
    parser.add_argument("--first", type=int, default=0, help="number of the first user")
    for kind in ("good", "other-keys", "malformed", "not-strings", "orphans", "cache"):
        parser.add_argument("--" + kind, type=int, default=0)
    args = parser.parse_args()
    client = redis.Redis(host=args.host, port=args.port, password=os.environ.get("REDIS_PASSWORD") or None)
    counts = dict((kind, getattr(args, kind)) for kind in
                  ("good", "other_keys", "malformed", "not_strings", "orphans", "cache"))
    expected = seed(client, counts, os.environ["PULSE_ENCRYPTION_KEY"], os.environ["PULSE_ENCRYPTION_SALT"],
                    os.environ["PULSE_HASH_SALT"], ttl=args.ttl, first=args.first)
    json.dump(expected, sys.stdout)
    print()


if __name__ == "__main__":
    main()
