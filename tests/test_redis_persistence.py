"""library/redis_persistence.py against a real redis-server."""

import time

import pytest
from conftest import run_module

PULSE = {
    "save": ["900 1", "300 10", "60 10000"],
    "appendonly": True,
    "appendfsync": "everysec",
    "stop_writes_on_bgsave_error": True,
    "maxmemory_policy": "noeviction",
}


def settings(server, *names):
    client = server.client()
    return {name: client.config_get(name)[name] for name in names}


def test_check_mode_reports_the_change_and_changes_nothing(redis_server):
    before = settings(redis_server, "save", "appendonly")
    result = run_module("redis_persistence", dict(redis_server.args, **PULSE), check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["changed_settings"] == ["save", "appendonly"]
    assert result["diff"]["before"]["appendonly"] == "no"
    assert result["diff"]["after"]["appendonly"] == "yes"
    assert result["after"]["save"] == "900 1 300 10 60 10000"
    assert settings(redis_server, "save", "appendonly") == before


def test_applies_live_then_is_idempotent_in_both_modes(redis_server):
    result = run_module("redis_persistence", dict(redis_server.args, **PULSE))
    assert result["changed"] is True
    assert result["changed_settings"] == ["save", "appendonly"]
    assert result["aof_rewrite_seconds"] >= 0
    assert settings(redis_server, "save", "appendonly", "appendfsync") == {
        "save": "900 1 300 10 60 10000", "appendonly": "yes", "appendfsync": "everysec",
    }
    for check_mode in (False, True):
        again = run_module("redis_persistence", dict(redis_server.args, **PULSE), check_mode=check_mode)
        assert again["changed"] is False
        assert again["changed_settings"] == []
    assert "diff" not in again


def test_rule_order_does_not_count_as_a_change(redis_server):
    run_module("redis_persistence", dict(redis_server.args, save=["900 1", "300 10"]))
    result = run_module("redis_persistence", dict(redis_server.args, save=["300 10", "900  1"]))
    assert result["changed"] is False


def test_turning_aof_on_keeps_an_rdb_only_dataset_across_restart(redis_server):
    """redis/redis#12484: AOF turned on in the file only would start empty."""
    client = redis_server.client()
    client.mset({"session:%04d" % i: "v%d" % i for i in range(500)})
    client.save()
    result = run_module("redis_persistence", dict(redis_server.args, appendonly=True))
    assert result["changed"] is True
    assert client.dbsize() == 500
    # What the role does next: the config file says appendonly yes, then a restart.
    redis_server.restart(extra=["--appendonly", "yes"])
    assert redis_server.client().dbsize() == 500


def test_maxmemory_units_are_compared_in_bytes(redis_server):
    result = run_module("redis_persistence", dict(redis_server.args, maxmemory="64mb"))
    assert result["changed"] is True
    assert result["after"]["maxmemory"] == str(64 * 1024 * 1024)
    assert run_module("redis_persistence", dict(redis_server.args, maxmemory="67108864"))["changed"] is False


@pytest.mark.parametrize("rules, message", [
    (["900 1", "300"], "invalid save rules ['900 1', '300']: 3 numbers make no whole pairs; each rule is "
                       "'<seconds> <changes>', for example '900 1'"),
    (["900 one"], "invalid save rules ['900 one']: 'one' is not a whole number of at least 1; each rule is "
                  "'<seconds> <changes>', for example '900 1'"),
    (["-900 1"], "invalid save rules ['-900 1']: '-900' is not a whole number of at least 1; each rule is "
                 "'<seconds> <changes>', for example '900 1'"),
    (["900 0"], "invalid save rules ['900 0']: '0' is not a whole number of at least 1; each rule is "
                "'<seconds> <changes>', for example '900 1'"),
])
def test_bad_save_rules_fail_before_touching_the_server(redis_server, rules, message):
    before = settings(redis_server, "save", "appendonly")
    result = run_module("redis_persistence", dict(redis_server.args, save=rules, appendonly=True))
    assert result["failed"] is True
    assert result["msg"] == message
    assert settings(redis_server, "save", "appendonly") == before


def test_unknown_appendfsync_is_refused(redis_server):
    result = run_module("redis_persistence", dict(redis_server.args, appendfsync="sometimes"))
    assert result["failed"] is True
    assert result["msg"] == ("value of appendfsync must be one of: always, everysec, no, got: sometimes")
    assert settings(redis_server, "appendfsync") == {"appendfsync": "everysec"}


def test_bad_maxmemory_is_refused(redis_server):
    result = run_module("redis_persistence", dict(redis_server.args, maxmemory="lots"))
    assert result["failed"] is True
    assert result["msg"] == ("invalid maxmemory 'lots': use bytes or a number with k, kb, m, mb, g or gb, "
                             "for example '512mb' (0 means no limit)")


def test_failed_aof_rewrite_puts_every_setting_back(unprivileged_server):
    before = settings(unprivileged_server, "save", "appendonly", "appendfsync")
    result = run_module("redis_persistence", dict(
        unprivileged_server.args, save=["900 1"], appendfsync="always", appendonly=True, aof_rewrite_timeout=5,
    ))
    assert result["failed"] is True
    assert result["msg"].startswith("cannot apply persistence settings on Redis at 127.0.0.1:%d: "
                                    % unprivileged_server.port)
    assert result["msg"].endswith("settings put back as they were: save, appendfsync, appendonly")
    time.sleep(0.2)
    assert settings(unprivileged_server, "save", "appendonly", "appendfsync") == before


def test_empty_save_rules_turn_snapshots_off_with_a_warning(redis_server):
    run_module("redis_persistence", dict(redis_server.args, save=["900 1"]))
    result = run_module("redis_persistence", dict(redis_server.args, save=[]))
    assert result["changed"] is True
    assert result["after"]["save"] == ""
    assert result["warnings"] == ["save rules are empty: Redis will write no RDB snapshots"]
