"""filter_plugins/pulse_secrets.py: Pulse's rules for secrets, and fingerprints."""

import hashlib
import importlib.util

import pytest
from conftest import ROOT

_spec = importlib.util.spec_from_file_location("pulse_secrets", ROOT / "filter_plugins" / "pulse_secrets.py")
pulse_secrets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pulse_secrets)

GOOD = {
    "encryption_key": "K" * 40 + "1",
    "encryption_salt": "S" * 20 + "2",
    "hash_salt": "H" * 20 + "3",
    "jwt_secret": "J" * 64 + "4",
    "session_secret": "E" * 40 + "5",
    "webhook_secret": "W" * 40 + "6",
    "redis_password": "R" * 20 + "7",
}


def problems(**changes):
    secrets = dict(GOOD, **changes)
    return pulse_secrets.secret_problems({k: v for k, v in secrets.items() if v is not ...})


def test_good_secrets_have_no_problems():
    assert problems() == []


def test_missing_secret():
    assert problems(hash_salt=...) == ["vault_hash_salt is missing: run 'make secrets ENV=<env>' to generate it"]
    assert problems(hash_salt=None) == ["vault_hash_salt is missing: run 'make secrets ENV=<env>' to generate it"]


def test_short_encryption_key_names_the_silent_fallback():
    assert problems(encryption_key="k" * 31) == [
        "vault_encryption_key is 31 characters, shorter than Pulse's minimum of 32 "
        "(Pulse would silently use its public default key)",
    ]


@pytest.mark.parametrize("password, named", [
    ("R" * 20 + "@x", "'@'"), ("R" * 20 + "/", "'/'"), ("R" * 20 + ":", "':'"), ("#" + "R" * 20, "'#'"),
    ("R" * 20 + "?", "'?'"), ("R" * 20 + "%41", "'%'"), ("a:b@c/" + "R" * 20, "'@' and '/' and ':'"),
])
def test_a_redis_password_that_breaks_pulses_url_is_refused_naming_the_character(password, named):
    """Pulse builds redis://:<password>@host:port/db without URL-encoding the password."""
    assert problems(redis_password=password) == [
        "vault_redis_password holds %s, which breaks the redis://:<password>@host URL Pulse builds from it "
        "(Pulse does not URL-encode it): choose a password without @ / : # ? %%, or generate one with "
        "'make secrets' (letters and digits)" % named]


def test_other_punctuation_in_the_redis_password_is_fine():
    assert problems(redis_password="R" * 20 + "-_.~!$&*+=") == []


def test_a_jwt_secret_pulse_would_replace_by_a_random_one_is_refused():
    """Pulse's validation takes 32 characters; security.config.ts uses the secret only from 64 on."""
    assert problems(jwt_secret="j" * 63) == [
        "vault_jwt_secret is 63 characters, shorter than Pulse's minimum of 64 "
        "(Pulse would silently use a random one, new at every start)",
    ]


def test_short_salt():
    assert problems(encryption_salt="s" * 15) == [
        "vault_encryption_salt is 15 characters, shorter than Pulse's minimum of 16 "
        "(Pulse refuses to start in production)",
    ]


@pytest.mark.parametrize("value, what", [
    ("pulse-default-encryption-key-32-chars-minimum!!", "Pulse's built-in ENCRYPTION_KEY"),
    ("flash-connect-salt-default-16chr", "Pulse's built-in ENCRYPTION_SALT"),
    ("pulse-hash-salt-default-value", "Pulse's built-in HASH_SALT"),
])
def test_public_defaults_are_refused_wherever_they_appear(value, what):
    assert problems(jwt_secret=value) == [
        "vault_jwt_secret equals %s, which is public: generate a new value with 'make secrets'" % what,
    ]


@pytest.mark.parametrize("value", [
    "", "   ", "your_encryption_key_here", "YOUR-KEY", "changeme", "CHANGE_ME", "change-me-please-0123456789abcdef",
    "xxx", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "<encryption key>",
])
def test_placeholders_are_refused(value):
    assert problems(session_secret=value) == [
        "vault_session_secret is empty or a placeholder: generate it with 'make secrets'",
    ]


def test_shared_values_are_refused_by_name():
    assert problems(webhook_secret=GOOD["jwt_secret"]) == [
        "vault_jwt_secret and vault_webhook_secret share one value: every secret must be different",
    ]


def test_messages_never_hold_a_value():
    bad = dict(GOOD, encryption_key="short-key-value", hash_salt=GOOD["encryption_salt"])
    text = " ".join(pulse_secrets.secret_problems(bad))
    for value in bad.values():
        assert value not in text


def test_fingerprint_is_a_sha256_prefix():
    assert pulse_secrets.fingerprint("abc") == hashlib.sha256(b"abc").hexdigest()[:16]
    expected = {"hash_salt": pulse_secrets.fingerprint(GOOD["hash_salt"])}
    assert pulse_secrets.fingerprints(GOOD, ["hash_salt"]) == expected


def test_changed_fingerprints_ignores_names_never_recorded():
    wanted = {"encryption_key": "a", "encryption_salt": "b", "hash_salt": "c"}
    assert pulse_secrets.changed_fingerprints(wanted, {}) == []
    assert pulse_secrets.changed_fingerprints(wanted, {"encryption_key": "a", "hash_salt": "x"}) == ["hash_salt"]


def test_fingerprint_report_marks_generated_values():
    report = pulse_secrets.fingerprint_report({"a_key": "1", "b": "2"}, ["b", "a_key"], ["b"])
    assert report == [
        "a_key  %s  kept" % pulse_secrets.fingerprint("1"),
        "b      %s  generated now" % pulse_secrets.fingerprint("2"),
    ]
    assert pulse_secrets.fingerprint_report({"b": "2"}, ["b"]) == ["b  %s" % pulse_secrets.fingerprint("2")]


def test_a_public_default_kept_on_purpose_is_accepted_for_that_name_only():
    """adopt.yml's pulse_accept_public_keys: the sessions taken over are sealed with the default."""
    secrets = dict(GOOD, hash_salt="pulse-hash-salt-default-value")
    assert pulse_secrets.secret_problems(secrets, accept_public=["hash_salt"]) == []
    assert pulse_secrets.secret_problems(secrets, accept_public=["encryption_key"]) == [
        "vault_hash_salt equals Pulse's built-in HASH_SALT, which is public: generate a new value with 'make secrets'"]
