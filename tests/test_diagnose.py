"""pulse_session_info's diagnosis of one user, against a real redis-server."""

import hashlib
import json

import pytest
from conftest import load_module, run_module
from seed_sessions import cipher, sealed

KEYS = {"encryption_key": "k" * 48, "encryption_salt": "s" * 24, "hash_salt": "h" * 24}
USER = "18764250250@c.us"
SESSION_ID = "0123456789abcdef0123456789abcdef"


def store(client, *, value=None, hash_salt=KEYS["hash_salt"], key=KEYS["encryption_key"], index=True, session=True,
          verified=True):
    """Write USER's session the way Pulse does (or a damaged variant of it)."""
    if session:
        if value is None:
            value = sealed(cipher(key, KEYS["encryption_salt"]), {
                "sessionId": SESSION_ID, "whatsappId": USER, "phoneNumber": "+18764250250", "isVerified": verified,
                "flashAuthToken": "secret-token-value", "createdAt": "2026-11-25T10:00:00.000Z"})
        client.set("session:" + SESSION_ID, value, ex=3600)
    if index:
        client.set("whatsapp:" + hashlib.sha256((USER + hash_salt).encode()).hexdigest(), SESSION_ID, ex=3600)


def diagnose(server, whatsapp_id=USER):
    result = run_module("pulse_session_info", dict(server.args, whatsapp_id=whatsapp_id, **KEYS))
    text = json.dumps(result)
    for secret in list(KEYS.values()) + ["18764250250", "8764250", "secret-token-value", SESSION_ID]:
        assert secret not in text, "the diagnosis shows %r" % secret
    return result


def test_healthy(redis_server):
    store(redis_server.client())
    result = diagnose(redis_server)
    assert result["changed"] is False
    found = result["diagnosis"]
    assert found["state"] == "healthy" and found["verdict"].startswith("healthy: the index leads to a session")
    assert found["user"] == "18*******50@c.us"
    assert found["index_present"] is True and 3590 <= found["index_ttl"] <= 3600
    assert found["session_present"] is True and 3590 <= found["session_ttl"] <= 3600
    assert found["opens"] is True and found["is_verified"] is True
    assert found["fields"] == ["createdAt", "flashAuthToken", "isVerified", "phoneNumber", "sessionId", "whatsappId"]


def test_healthy_but_not_verified(redis_server):
    store(redis_server.client(), verified=False)
    found = diagnose(redis_server)["diagnosis"]
    assert found["state"] == "healthy" and found["is_verified"] is False
    assert found["verdict"].startswith("healthy, but not verified")


def test_a_changed_hash_salt_is_named(redis_server):
    store(redis_server.client(), hash_salt="another-hash-salt-0123")
    found = diagnose(redis_server)["diagnosis"]
    assert found["state"] == "hash_salt_differs"
    assert found["verdict"].startswith("index missing: HASH_SALT differs from the one that linked this user")
    assert "another whatsapp: key, written under another HASH_SALT, does" in found["verdict"]
    assert found["index_present"] is False and found["opens"] is True


def test_a_session_sealed_with_other_keys_is_named(redis_server):
    store(redis_server.client(), key="another-encryption-key-0123456789abcdef")
    found = diagnose(redis_server)["diagnosis"]
    assert found["state"] == "sealed_with_other_keys"
    assert found["verdict"].startswith("session present but sealed with other keys: session:0123.. does not open")
    assert found["opens"] is False and found["fields"] == [] and found["is_verified"] is None


@pytest.mark.parametrize("damage", ["string", "hash"])
def test_a_damaged_session_is_named(redis_server, damage):
    client = redis_server.client()
    if damage == "string":
        store(client, value="not a Pulse value")
    else:
        store(client, session=False)
        client.hset("session:" + SESSION_ID, "field", "value")
    found = diagnose(redis_server)["diagnosis"]
    assert found["state"] == "malformed" and found["verdict"].startswith("session damaged: session:0123..")


def test_an_expired_session_is_named(redis_server):
    store(redis_server.client(), session=False)
    found = diagnose(redis_server)["diagnosis"]
    assert found["state"] == "expired"
    assert found["verdict"].startswith("expired: the index remains but session:0123.. is gone")
    assert found["session_present"] is False and found["session_ttl"] is None


def test_a_user_never_linked(redis_server):
    found = diagnose(redis_server)["diagnosis"]
    assert found["state"] == "not_linked" and found["verdict"].endswith("the user must link")
    store(redis_server.client(), key="another-encryption-key-0123456789abcdef", index=False)
    found = diagnose(redis_server)["diagnosis"]
    assert found["state"] == "not_linked" and found["unopenable_sessions"] == 1
    assert "1 sessions here do not open with the current keys" in found["verdict"]


@pytest.mark.parametrize("whatsapp_id", ["18764250250", "+18764250250@c.us", "abc@c.us", "18764250250@g.us", ""])
def test_an_invalid_whatsapp_id_is_refused_with_the_format(redis_server, whatsapp_id):
    result = run_module("pulse_session_info", dict(redis_server.args, whatsapp_id=whatsapp_id, **KEYS))
    assert result["failed"] is True
    assert result["msg"].endswith("expected digits then @c.us or @lid, for example 15551234567@c.us")
    assert "8764250" not in result["msg"]


def test_without_a_user_there_is_no_diagnosis(redis_server):
    assert run_module("pulse_session_info", dict(redis_server.args, **KEYS))["diagnosis"] is None


@pytest.mark.parametrize("given, shown", [
    ("18764250250@c.us", "18*******50@c.us"),
    ("12345678@lid", "12****78@lid"),
    ("abc", "***"),
    ("1234567@c.us", "*******@c.us"),
    ("", ""),
    ("@c.us", "@c.us"),
])
def test_the_mask_never_shows_more_than_four_characters_of_a_number_nor_invents_any(given, shown):
    assert load_module("pulse_session_info").mask_id(given) == shown
