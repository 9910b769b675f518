# -*- coding: utf-8 -*-
# Pulse's storage crypto in Python, byte for byte as Pulse (Node.js) does it:
#
#   key    = PBKDF2-HMAC-SHA256(ENCRYPTION_KEY as UTF-8, ENCRYPTION_SALT as UTF-8, 100000, 32 bytes)
#   stored = base64(IV[16] || TAG[16] || AES-256-GCM ciphertext of the UTF-8 JSON value)
#   hash   = lowercase hex SHA-256(UTF-8(whatsappId + HASH_SALT))
#
# Runs on targets with Debian 12's python3-cryptography 38 as well as newer.

import base64
import binascii
import functools
import hashlib
import json
import os
import traceback

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
except ImportError:
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
    HAS_CRYPTOGRAPHY = False
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None
    HAS_CRYPTOGRAPHY = True

PBKDF2_ITERATIONS = 100000
KEY_LENGTH = 32
IV_LENGTH = 16
TAG_LENGTH = 16

# Strict base64 (only the alphabet, proper padding): what base64.b64decode(validate=True) does
# since Python 3.11, without its two Python-level calls per value.
BASE64_STRICT = functools.partial(binascii.a2b_base64, strict_mode=True)


class PulseCryptoError(ValueError):
    """A value that does not open; the message says why, never what it holds."""


class SealedWithOtherKey(PulseCryptoError):
    """A well-formed Pulse value whose tag does not verify: written under other keys (or altered)."""


def derive_key(encryption_key, encryption_salt):
    """The 32-byte AES key Pulse derives; the key text and salt are used as given."""
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=KEY_LENGTH,
        salt=encryption_salt.encode("utf-8"),
        iterations=PBKDF2_ITERATIONS,
    )
    return kdf.derive(encryption_key.encode("utf-8"))


def to_json(value):
    """JSON text as JavaScript's JSON.stringify writes it for Pulse's objects."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def seal(key, value):
    """Encrypt a JSON-able value the way Pulse stores it, with a fresh random IV."""
    iv = os.urandom(IV_LENGTH)
    sealed = AESGCM(key).encrypt(iv, to_json(value).encode("utf-8"), None)
    ciphertext, tag = sealed[:-TAG_LENGTH], sealed[-TAG_LENGTH:]
    return base64.b64encode(iv + tag + ciphertext).decode("ascii")


def cipher(key):
    """The AES-256-GCM cipher for a derived key; build it once and reuse it for many values."""
    return AESGCM(key)


def unseal_all(aead, values):
    """Decrypt many stored values (text or bytes) with cipher(key), in one tight loop: an audit's
    hot path. Returns, for each value, its plaintext bytes or, when it does not open, the
    PulseCryptoError that says why (not raised): SealedWithOtherKey when the tag does not
    verify, PulseCryptoError when the value is not a Pulse encrypted value at all.
    """
    decode, decrypt = BASE64_STRICT, aead.decrypt
    opened = []
    for stored in values:
        try:
            raw = decode(stored)
        except (binascii.Error, ValueError, TypeError):
            opened.append(PulseCryptoError("not a Pulse encrypted value (not base64)"))
            continue
        if len(raw) < IV_LENGTH + TAG_LENGTH:
            opened.append(PulseCryptoError("not a Pulse encrypted value (%d bytes, shorter than IV and tag)"
                                           % len(raw)))
            continue
        try:  # stored: IV, tag, ciphertext; AES-GCM takes the ciphertext followed by the tag
            opened.append(decrypt(raw[:IV_LENGTH], raw[IV_LENGTH + TAG_LENGTH:] + raw[IV_LENGTH:IV_LENGTH + TAG_LENGTH],
                                  None))
        except InvalidTag:
            opened.append(SealedWithOtherKey(
                "key does not match (ENCRYPTION_KEY or ENCRYPTION_SALT differs from the one that wrote it, "
                "or the value was altered)"))
    return opened


def unseal(aead, stored):
    """Decrypt one stored value with cipher(key) and return the plaintext bytes; raise
    SealedWithOtherKey or PulseCryptoError as unseal_all() reports them."""
    opened = unseal_all(aead, (stored,))[0]
    if isinstance(opened, PulseCryptoError):
        raise opened
    return opened


def open_value(key, stored, aead=None):
    """Decrypt a stored value into its JSON value; raise PulseCryptoError when it does not open."""
    plaintext = unseal(aead or cipher(key), stored)
    try:
        return json.loads(plaintext.decode("utf-8"))
    except ValueError:
        raise PulseCryptoError("opened, but the content is not JSON") from None


def hash_id(whatsapp_id, hash_salt):
    """The index hash Pulse uses in whatsapp:<hash>: plain concatenation, then SHA-256."""
    return hashlib.sha256((whatsapp_id + hash_salt).encode("utf-8")).hexdigest()
