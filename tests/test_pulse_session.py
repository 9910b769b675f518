"""library/pulse_session.py and pulse_session_info.py against a real redis-server."""

import pytest
from ansible.module_utils.pulse_crypto import derive_key, hash_id, seal
from conftest import run_module
from test_pulse_crypto import node

KEYS = {"encryption_key": "k" * 48, "encryption_salt": "s" * 24, "hash_salt": "h" * 24}
CANARY = "0000000000@c.us"


def canary(server, **extra):
    return dict(server.args, **dict(KEYS, **extra))


def test_present_writes_a_session_pulse_can_find_and_open(redis_server):
    result = run_module("pulse_session", canary(redis_server, state="present"))
    assert result["changed"] is True
    assert result["found"] is False
    session_id = result["session_id"]
    assert len(session_id) == 32 and int(session_id, 16) >= 0
    index_key = "whatsapp:" + hash_id(CANARY, KEYS["hash_salt"])
    assert result["index_key"] == index_key
    assert 86390 <= result["ttl"] <= 86400
    client = redis_server.client()
    assert client.get(index_key) == session_id
    assert 86390 <= client.ttl(index_key) <= 86400
    # Node, with Pulse's algorithm, opens what the module wrote.
    opened = node(op="open", key=KEYS["encryption_key"], salt=KEYS["encryption_salt"],
                  stored=client.get("session:" + session_id))["value"]
    assert opened["sessionId"] == session_id and opened["whatsappId"] == CANARY
    assert opened["createdAt"].endswith("Z") and len(opened["createdAt"]) == 24

    again = run_module("pulse_session", canary(redis_server, state="present"))
    assert again["changed"] is False and again["found"] is True and again["session_id"] == session_id
    checked = run_module("pulse_session", canary(redis_server, state="checked"))
    assert checked["changed"] is False and checked["found"] is True


def test_a_session_written_by_node_is_found(redis_server):
    session_id = "0123456789abcdef0123456789abcdef"
    stored = node(op="seal", key=KEYS["encryption_key"], salt=KEYS["encryption_salt"],
                  value={"sessionId": session_id, "whatsappId": CANARY})["stored"]
    client = redis_server.client()
    client.set("session:" + session_id, stored, ex=600)
    client.set("whatsapp:" + node(op="hash", id=CANARY, hashSalt=KEYS["hash_salt"])["hash"], session_id, ex=600)
    result = run_module("pulse_session", canary(redis_server))
    assert result["found"] is True and result["session_id"] == session_id


def test_check_mode_is_honest(redis_server):
    result = run_module("pulse_session", canary(redis_server, state="present"), check_mode=True)
    assert result["changed"] is True
    assert redis_server.client().dbsize() == 0
    run_module("pulse_session", canary(redis_server, state="present"))
    gone = run_module("pulse_session", canary(redis_server, state="absent"), check_mode=True)
    assert gone["changed"] is True
    assert redis_server.client().dbsize() == 2


def test_absent_removes_both_keys_once(redis_server):
    run_module("pulse_session", canary(redis_server, state="present"))
    assert run_module("pulse_session", canary(redis_server, state="absent"))["changed"] is True
    assert redis_server.client().dbsize() == 0
    assert run_module("pulse_session", canary(redis_server, state="absent"))["changed"] is False


def test_other_encryption_key_names_the_cause(redis_server):
    session_id = run_module("pulse_session", canary(redis_server, state="present"))["session_id"]
    result = run_module("pulse_session", canary(redis_server, encryption_key="K" * 48))
    assert result["failed"] is True
    assert result["msg"] == (
        "canary session for 0000000000@c.us not found as Pulse would find it: cannot open session:%s..: key does "
        "not match (ENCRYPTION_KEY or ENCRYPTION_SALT differs from the one that wrote it, or the value was altered)"
        % session_id[:4]
    )


def test_other_hash_salt_names_the_cause(redis_server):
    run_module("pulse_session", canary(redis_server, state="present"))
    result = run_module("pulse_session", canary(redis_server, hash_salt="H" * 24))
    assert result["failed"] is True
    assert result["msg"] == (
        "canary session for 0000000000@c.us not found as Pulse would find it: no whatsapp:<hash> index for this "
        "WhatsApp ID (never linked, expired, or HASH_SALT differs from the one that wrote it)"
    )


def test_present_replaces_a_canary_that_no_longer_opens(redis_server):
    old = run_module("pulse_session", canary(redis_server, state="present"))["session_id"]
    new_keys = dict(encryption_key="K" * 48)
    result = run_module("pulse_session", canary(redis_server, state="present", **new_keys))
    assert result["changed"] is True and result["found"] is False and result["session_id"] != old
    assert not redis_server.client().exists("session:" + old)


def test_no_key_or_session_content_in_any_result(redis_server):
    results = [run_module("pulse_session", canary(redis_server, state=state)) for state in ("present", "checked")]
    results.append(run_module("pulse_session_info", canary(redis_server)))
    text = repr(results)
    for value in KEYS.values():
        assert value not in text
    assert "phoneNumber" not in text and redis_server.password not in text


def test_info_counts_and_samples_without_reading_keys_by_keys(redis_server):
    client = redis_server.client()
    good = derive_key(KEYS["encryption_key"], KEYS["encryption_salt"])
    other = derive_key("o" * 48, KEYS["encryption_salt"])
    for i in range(30):
        session_id = "%032x" % i
        client.set("session:" + session_id, seal(good if i < 20 else other, {"sessionId": session_id}))
        client.set("whatsapp:%064x" % i, session_id)
    client.set("cache:balance:1", "x")
    result = run_module("pulse_session_info", canary(redis_server, sample_size=30))
    assert result["changed"] is False
    assert (result["sessions"], result["index_keys"], result["cache_keys"]) == (30, 30, 1)
    assert (result["sampled"], result["opened"], result["not_opened"]) == (30, 20, 10)
    small = run_module("pulse_session_info", canary(redis_server, sample_size=5))
    assert small["sampled"] == 5 and small["opened"] + small["not_opened"] == 5


@pytest.mark.parametrize("name", ["pulse_session", "pulse_session_info"])
def test_keys_are_required(redis_server, name):
    result = run_module(name, redis_server.args)
    assert result["failed"] is True
    assert result["msg"] == "missing required arguments: encryption_key, encryption_salt, hash_salt"
