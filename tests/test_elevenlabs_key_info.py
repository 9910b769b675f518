"""library/elevenlabs_key_info.py against a local fake of the ElevenLabs API (never the real one)."""

import json

import pytest
from conftest import free_port, run_module
from fake_elevenlabs import start

GOOD = "sk_test_good_0123456789abcdef"
RESTRICTED = "sk_test_restricted_0123456789"
BAD = "sk_test_wrong_0123456789abcdef"


@pytest.fixture
def api():
    server = start(valid=[GOOD], restricted=[RESTRICTED])
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()


def check(api_url, key, **extra):
    result = run_module("elevenlabs_key_info", dict(api_url=api_url, api_key=key, **extra))
    for secret in (GOOD, RESTRICTED, BAD):
        assert secret not in json.dumps(result), "the result shows a key"
    return result


def test_a_valid_key(api):
    result = check(api, GOOD)
    assert result["changed"] is False
    assert result["state"] == "valid" and result["status"] == 200
    assert result["subscription"] == {"tier": "free", "character_count": 1200, "character_limit": 10000}
    assert result["msg"] == "ElevenLabs accepts the key (tier free, 1200 of 10000 characters used)"


def test_a_refused_key(api):
    result = check(api, BAD)
    assert result["state"] == "invalid" and result["status"] == 401
    assert result["msg"].startswith("ElevenLabs refuses the key (HTTP 401, invalid_api_key): Pulse would use")
    assert "pulse_elevenlabs_policy=disable" in result["msg"]


def test_a_key_without_user_read_is_valid(api):
    result = check(api, RESTRICTED)
    assert result["state"] == "valid" and result["status"] == 401
    assert "lacks the user_read permission" in result["msg"]


def test_an_empty_key_is_unset(api):
    for key in ("", "  "):
        result = check(api, key)
        assert result["state"] == "unset" and result["status"] is None
        assert result["msg"].startswith("no ElevenLabs key: Pulse uses Google Cloud TTS")


def test_nothing_listening_is_unreachable():
    result = check("http://127.0.0.1:%d" % free_port(), GOOD, timeout=3)
    assert result["state"] == "unreachable" and result["status"] is None
    assert result["msg"].startswith("cannot reach ElevenLabs at http://127.0.0.1:")
    assert "the key itself was not checked" in result["msg"]


def test_a_server_error_says_nothing_about_the_key():
    server = start(valid=[GOOD], status=503)
    try:
        result = check("http://127.0.0.1:%d" % server.server_port, GOOD)
    finally:
        server.shutdown()
    assert result["state"] == "unreachable" and result["status"] == 503
    assert "answered HTTP 503, which says nothing about the key" in result["msg"]


@pytest.mark.parametrize("url", ["api.elevenlabs.io", "ftp://api.elevenlabs.io"])
def test_a_bad_url_is_refused(url):
    result = run_module("elevenlabs_key_info", dict(api_url=url, api_key=GOOD))
    assert result["failed"] is True
    assert result["msg"].startswith("invalid api_url %r: give an http:// or https:// URL" % url)
