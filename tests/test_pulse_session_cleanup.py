"""library/pulse_session_cleanup.py against a real redis-server seeded with a mix of keys."""

import json
import os
import stat
import time

import conftest
import pytest
from conftest import load_module, run_module
from seed_sessions import seed

KEYS = {"encryption_key": "k" * 48, "encryption_salt": "s" * 24}
HASH_SALT = "h" * 24
MIX = {"good": 60, "other_keys": 25, "malformed": 7, "not_strings": 3, "orphans": 11, "cache": 4}
EXPECTED = {"sessions": 95, "sessions_ok": 60, "sessions_unopenable": 25, "sessions_malformed": 10,
            "mappings": 106, "mappings_ok": 60, "mappings_orphaned": 46, "cache_keys": 4}


@pytest.fixture
def mixed(redis_server, tmp_path):
    """A server holding MIX, and the module arguments that clean it into tmp_path/backups."""
    client = redis_server.client()
    seeded = seed(client, MIX, KEYS["encryption_key"], KEYS["encryption_salt"], HASH_SALT)
    assert all(EXPECTED[name] == count for name, count in seeded.items())
    args = dict(redis_server.args, backup_dir=str(tmp_path / "backups"), batch_size=7, **KEYS)
    return client, args


def snapshot(client):
    """Every key with its value (strings) or type, to compare whole keyspaces."""
    return dict((key, client.get(key) if client.type(key) == "string" else client.type(key))
                for key in client.scan_iter(count=1000))


def good_keys(client):
    """The keys of good sessions and their mappings (seeded sessions that open)."""
    keep = set()
    for key in client.scan_iter(match="whatsapp:*"):
        target = "session:%s" % client.get(key)
        if client.type(target) == "string" and not client.get(target).startswith("not a Pulse"):
            keep.add((key, target))
    return keep


def test_check_mode_previews_exact_counts_and_changes_nothing(mixed):
    client, args = mixed
    before = snapshot(client)
    result = run_module("pulse_session_cleanup", args, check_mode=True)
    assert result["changed"] is True
    assert result["counts"] == EXPECTED
    assert result["removed"] == {"sessions": 35, "mappings": 46, "cache": 0}
    assert result["deleted"] == 81
    assert result["backup_file"] is None
    assert sorted(result["examples"]) == ["malformed", "orphaned", "unopenable"]
    assert all(len(names) == 5 for names in result["examples"].values())
    assert all(name.startswith("session:") for name in result["examples"]["unopenable"])
    assert all(name.startswith("whatsapp:") for name in result["examples"]["orphaned"])
    assert snapshot(client) == before
    assert not os.path.exists(args["backup_dir"])


def test_clean_removes_only_what_cannot_open_and_backs_it_up(mixed):
    client, args = mixed
    before = snapshot(client)
    result = run_module("pulse_session_cleanup", args)
    assert result["changed"] is True
    assert result["counts"] == EXPECTED
    assert result["removed"] == {"sessions": 35, "mappings": 46, "cache": 0}
    assert result["left_changed"] == 0
    after = snapshot(client)
    # Every good session and its mapping is untouched; nothing else of Pulse's is left.
    assert len(after) == 60 + 60 + 4
    assert all(before[key] == value for key, value in after.items())
    backup = result["backup_file"]
    assert os.path.dirname(backup) == args["backup_dir"]
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(args["backup_dir"]).st_mode) == 0o700
    with open(backup) as handle:
        lines = handle.read().splitlines()
    assert json.loads(lines[0])["format"] == "pulse-ops-redis-dump/1"
    assert len(lines) == 1 + 81

    again = run_module("pulse_session_cleanup", args)
    assert again["changed"] is False and again["deleted"] == 0 and again["backup_file"] is None
    assert again["counts"] == dict(EXPECTED, sessions=60, sessions_unopenable=0, sessions_malformed=0,
                                   mappings=60, mappings_orphaned=0)

    restored = run_module("pulse_session_cleanup", dict(args, state="restored", backup_file=backup))
    assert restored["changed"] is True and restored["restored"] == 81
    assert restored["restore_skipped"] == {"exists": 0, "expired": 0}
    assert snapshot(client) == before
    assert all(0 < client.ttl(key) <= 86400 for key in before if not key.startswith("session:") or
               client.type(key) == "string")
    twice = run_module("pulse_session_cleanup", dict(args, state="restored", backup_file=backup))
    assert twice["changed"] is False and twice["restore_skipped"] == {"exists": 81, "expired": 0}


def test_include_cache_drops_the_cache_too(mixed):
    client, args = mixed
    preview = run_module("pulse_session_cleanup", dict(args, include_cache=True), check_mode=True)
    assert preview["removed"] == {"sessions": 35, "mappings": 46, "cache": 4}
    assert client.exists("cache:seed:0") == 1
    result = run_module("pulse_session_cleanup", dict(args, include_cache=True))
    assert result["removed"]["cache"] == 4 and result["examples"]["cache"][0].startswith("cache:")
    assert list(client.scan_iter(match="cache:*")) == []


def test_reset_removes_every_session_and_mapping_backed_up(mixed):
    client, args = mixed
    before = snapshot(client)
    reset = dict(redis_server_args(args), state="reset")
    preview = run_module("pulse_session_cleanup", reset, check_mode=True)
    assert preview["changed"] is True
    assert preview["counts"] == {"sessions": 95, "sessions_ok": None, "sessions_unopenable": None,
                                 "sessions_malformed": None, "mappings": 106, "mappings_ok": None,
                                 "mappings_orphaned": None, "cache_keys": 4}
    assert snapshot(client) == before
    result = run_module("pulse_session_cleanup", reset)
    assert result["removed"] == {"sessions": 95, "mappings": 106, "cache": 0}
    assert sorted(snapshot(client)) == ["cache:seed:%d" % index for index in range(4)]
    run_module("pulse_session_cleanup", dict(reset, state="restored", backup_file=result["backup_file"]))
    assert snapshot(client) == before


def redis_server_args(args):
    """The cleanup's arguments without the encryption keys (reset and restore need none)."""
    return dict((name, value) for name, value in args.items() if not name.startswith("encryption_"))


def test_a_session_rewritten_during_the_run_is_left_alone(mixed):
    """The delete script compares each key with what the audit read."""
    client, _args = mixed
    module = load_module("pulse_session_cleanup")
    # Rewrite a condemned session between the audit and the delete: the script must keep it.
    victim = next(key for key in client.scan_iter(match="session:*")
                  if client.type(key) == "string" and client.get(key).startswith("not a Pulse"))
    script = client.register_script(module.DELETE_UNCHANGED)
    client.set(victim, "rewritten by Pulse")
    assert script(keys=[victim], args=["0", "snot a Pulse value"]) == 0
    assert client.get(victim) == "rewritten by Pulse"
    assert script(keys=[victim], args=["0", "srewritten by Pulse"]) == 1
    # A mapping goes only while its session is absent.
    mapping = next(iter(client.scan_iter(match="whatsapp:*")))
    target = client.get(mapping)
    client.set("session:" + target, "back again")
    assert script(keys=[mapping], args=["1", "s" + target]) == 0
    client.delete("session:" + target)
    assert script(keys=[mapping], args=["1", "s" + target]) == 1


@pytest.mark.parametrize("content, message", [
    ("", "line 1 is not a backup entry"),
    ('{"format": "something else"}\n', "not a pulse-ops backup"),
    ('{"format": "pulse-ops-redis-dump/1"}\n{"key": "not base64!", "expire_at_ms": -1, "dump": ""}\n',
     "line 2 is not a backup entry"),
])
def test_a_bad_backup_is_refused_before_anything_is_restored(redis_server, tmp_path, content, message):
    path = tmp_path / "backup.jsonl"
    path.write_text(content if content else "not json\n")
    result = run_module("pulse_session_cleanup", dict(redis_server.args, state="restored", backup_file=str(path)))
    assert result["failed"] is True
    assert message in result["msg"] and "nothing was restored" in result["msg"]
    assert redis_server.client().dbsize() == 0


def test_a_missing_backup_is_named(redis_server, tmp_path):
    result = run_module("pulse_session_cleanup", dict(redis_server.args, state="restored",
                                                      backup_file=str(tmp_path / "nope.jsonl")))
    assert result["failed"] is True
    assert result["msg"].startswith("cannot read the backup %s: No such file" % (tmp_path / "nope.jsonl"))


def test_expired_entries_are_not_restored(redis_server, tmp_path):
    client = redis_server.client()
    client.set("session:" + "a" * 32, "soon gone", px=1500)
    args = dict(redis_server.args, state="reset", backup_dir=str(tmp_path))
    result = run_module("pulse_session_cleanup", args)
    assert result["deleted"] == 1
    time.sleep(1.6)
    restored = run_module("pulse_session_cleanup", dict(args, state="restored", backup_file=result["backup_file"]))
    assert restored["changed"] is False and restored["restore_skipped"] == {"exists": 0, "expired": 1}
    assert client.dbsize() == 0


def test_an_unwritable_backup_dir_deletes_nothing(mixed, tmp_path):
    client, args = mixed
    blocker = tmp_path / "file"
    blocker.write_text("")
    before = snapshot(client)
    result = run_module("pulse_session_cleanup", dict(args, backup_dir=str(blocker / "sub")))
    assert result["failed"] is True
    assert "cannot write the backup in %s before deleting" % (blocker / "sub") in result["msg"]
    assert snapshot(client) == before


def test_keys_are_required_to_clean_and_never_shown(redis_server):
    result = run_module("pulse_session_cleanup", dict(redis_server.args))
    assert result["failed"] is True
    assert "encryption_key" in result["msg"]
    shown = run_module("pulse_session_cleanup", dict(redis_server.args, **KEYS), check_mode=True)
    assert KEYS["encryption_key"] not in json.dumps(shown)


def test_a_preview_past_the_ids_it_keeps_opens_the_sessions_again(mixed, monkeypatch):
    """Check mode keeps up to BAD_IDS_KEPT condemned ids; past that, the counts must not change."""
    _client, args = mixed
    module = load_module("pulse_session_cleanup")
    module.BAD_IDS_KEPT = 3
    monkeypatch.setattr(conftest, "load_module", lambda name: module)
    result = run_module("pulse_session_cleanup", args, check_mode=True)
    assert result["counts"] == EXPECTED
    assert result["removed"] == {"sessions": 35, "mappings": 46, "cache": 0}


def test_a_redis_error_in_a_walk_fails_with_its_cause_and_deletes_nothing(mixed):
    """SCAN and MGET run in reading threads; their errors still reach the operator as a failure."""
    client, args = mixed
    client.acl_setuser("noscan", enabled=True, passwords=["+noscan-pass"], keys=["*"],
                       commands=["+@all", "-scan"])
    before = snapshot(client)
    result = run_module("pulse_session_cleanup", dict(args, login_user="noscan", login_password="noscan-pass"))
    assert result["failed"] is True
    assert result["msg"].startswith("cannot walk the sessions on Redis at 127.0.0.1:%d: NOPERM: the Redis user may "
                                    "not run this command or touch these keys (its ACL) (the server said: "
                                    % args["login_port"]), result["msg"]
    assert "scan" in result["msg"].lower() and "noscan-pass" not in json.dumps(result)
    assert snapshot(client) == before
