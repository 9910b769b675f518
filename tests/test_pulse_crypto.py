"""module_utils/pulse_crypto.py against reference-pulse's Node crypto (through tests/node/pulse_crypto.js)."""

import base64
import json
import shutil
import subprocess

import pytest
from ansible.module_utils.pulse_crypto import (
    PulseCryptoError,
    SealedWithOtherKey,
    cipher,
    derive_key,
    hash_id,
    open_value,
    seal,
    unseal_all,
)
from conftest import ROOT

KEY = "a" * 40 + "-encryption-key"
SALT = "pulse-test-salt-0123"
HASH_SALT = "pulse-test-hash-salt-0123"
SESSION = {
    "sessionId": "0123456789abcdef0123456789abcdef",
    "whatsappId": "18764250250@c.us",
    "phoneNumber": "+18764250250",
    "isVerified": True,
    "createdAt": "2026-11-25T12:00:00.000Z",
    "expiresAt": "2026-11-26T12:00:00.000Z",
    "lastActivity": "2026-11-25T12:00:00.000Z",
    "mfaVerified": False,
    "consentGiven": True,
    "profileName": "Zoë ✓",
    "metadata": {"source": "test", "n": 3},
}


def node(**request):
    if shutil.which("node") is None:
        pytest.fail("node is not installed: apt-get install nodejs (make test does)")
    result = subprocess.run(["node", str(ROOT / "tests/node/pulse_crypto.js"), json.dumps(request)],
                            capture_output=True, text=True, check=True, timeout=60)
    return json.loads(result.stdout)


def test_key_derivation_matches_node():
    assert derive_key(KEY, SALT).hex() == node(op="derive", key=KEY, salt=SALT)["key"]


def test_a_value_sealed_by_node_opens_in_python():
    stored = node(op="seal", key=KEY, salt=SALT, value=SESSION)["stored"]
    assert open_value(derive_key(KEY, SALT), stored) == SESSION


def test_a_value_sealed_in_python_opens_in_node():
    stored = seal(derive_key(KEY, SALT), SESSION)
    assert node(op="open", key=KEY, salt=SALT, stored=stored) == {"value": SESSION}


def test_layout_is_iv_tag_ciphertext_with_a_fresh_iv():
    key = derive_key(KEY, SALT)
    first, second = base64.b64decode(seal(key, "x")), base64.b64decode(seal(key, "x"))
    assert len(first) == 16 + 16 + len('"x"')
    assert first[:16] != second[:16]


def test_identifier_hash_matches_node():
    for whatsapp_id in ("18764250250@c.us", "120363025246125486@lid"):
        assert hash_id(whatsapp_id, HASH_SALT) == node(op="hash", id=whatsapp_id, hashSalt=HASH_SALT)["hash"]


@pytest.mark.parametrize("key, salt", [(KEY + "x", SALT), (KEY, SALT + "x")], ids=["wrong key", "wrong salt"])
def test_wrong_key_or_salt_does_not_open_in_either(key, salt):
    stored = node(op="seal", key=KEY, salt=SALT, value=SESSION)["stored"]
    with pytest.raises(PulseCryptoError, match=r"^key does not match \(ENCRYPTION_KEY or ENCRYPTION_SALT"):
        open_value(derive_key(key, salt), stored)
    assert node(op="open", key=key, salt=salt, stored=stored) == {
        "error": "Decryption failed: Unsupported state or unable to authenticate data",
    }


@pytest.mark.parametrize("position", [0, 20, 40], ids=["iv", "tag", "ciphertext"])
def test_a_tampered_byte_does_not_open(position):
    raw = bytearray(base64.b64decode(seal(derive_key(KEY, SALT), SESSION)))
    raw[position] ^= 0x01
    tampered = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(PulseCryptoError, match="or the value was altered"):
        open_value(derive_key(KEY, SALT), tampered)
    assert "error" in node(op="open", key=KEY, salt=SALT, stored=tampered)


def test_garbage_is_not_mistaken_for_a_session():
    key = derive_key(KEY, SALT)
    with pytest.raises(PulseCryptoError, match=r"^not a Pulse encrypted value \(not base64\)$"):
        open_value(key, "not base64 at all!")
    with pytest.raises(PulseCryptoError, match=r"^not a Pulse encrypted value \(3 bytes"):
        open_value(key, base64.b64encode(b"abc").decode())


def test_a_batch_opens_value_by_value_in_order():
    """unseal_all, the audit's hot path, answers each value as open_value would, without raising."""
    key = derive_key(KEY, SALT)
    good = seal(key, SESSION)
    other = seal(derive_key(KEY, SALT + "-other"), SESSION)
    values = [good, good.encode(), other, "not base64 at all!", base64.b64encode(b"abc"), good + "=", "\u00e9t\u00e9"]
    opened = unseal_all(cipher(key), values)
    assert [json.loads(opened[0]), json.loads(opened[1])] == [SESSION, SESSION]
    assert isinstance(opened[2], SealedWithOtherKey)
    assert [str(error) for error in opened[3:]] == [
        "not a Pulse encrypted value (not base64)",
        "not a Pulse encrypted value (3 bytes, shorter than IV and tag)",
        "not a Pulse encrypted value (not base64)",
        "not a Pulse encrypted value (not base64)",
    ]
    assert not any(isinstance(error, SealedWithOtherKey) for error in opened[3:])
