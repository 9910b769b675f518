"""library/redis_persistence_info.py against a real redis-server."""

import pytest
from conftest import load_module, run_module
from test_redis_persistence import PULSE


def test_bare_server_reports_that_nothing_reaches_disk(redis_server):
    result = run_module("redis_persistence_info", redis_server.args)
    assert result["changed"] is False
    assert result["problems"] == [
        "save rules are empty and appendonly is off: nothing reaches the disk, every key is lost on restart",
    ]
    assert result["key_count"] == 0
    assert result["loading"] is False
    assert result["data_dir"]["path"] == str(redis_server.data_dir)
    assert result["data_dir"]["writable_by_server"] is True


def test_configured_server_has_no_problems_and_counts_keys(redis_server):
    run_module("redis_persistence", dict(redis_server.args, **PULSE))
    client = redis_server.client()
    client.mset({"a": 1, "b": 2})
    client.select(3)
    client.execute_command("SELECT", 3)
    client.set("c", 3)
    result = run_module("redis_persistence_info", redis_server.args, check_mode=True)
    assert result["problems"] == []
    assert result["key_count"] == 3
    assert result["config"]["appendonly"] == "yes"
    assert result["changed"] is False


def test_evicting_policy_is_a_problem(redis_server):
    run_module("redis_persistence", dict(redis_server.args, **dict(PULSE, maxmemory_policy="allkeys-lru")))
    result = run_module("redis_persistence_info", redis_server.args)
    assert result["problems"] == [
        "maxmemory-policy is allkeys-lru: Redis may evict sessions when memory is full (use noeviction)",
    ]


def test_unwritable_dir_and_misconf_are_reported(unprivileged_server):
    run_module("redis_persistence", dict(unprivileged_server.args, save=["900 1"]))
    run_module("redis_lastsave", dict(unprivileged_server.args, timeout=10))
    result = run_module("redis_persistence_info", unprivileged_server.args)
    path = str(unprivileged_server.data_dir)
    assert result["problems"] == [
        "appendonly is off: writes since the last snapshot are lost on a crash",
        "the last background save failed (rdb_last_bgsave_status:err)",
        "MISCONF: Redis refuses writes until a background save succeeds",
        "data directory %s (root:root 0755) is not writable by the Redis process's user" % path,
    ]
    assert result["data_dir"]["owner"] == "root"
    assert result["data_dir"]["writable_by_server"] is False


RULES = {"save": "900 1 300 10 60 10000", "appendonly": "yes", "stop-writes-on-bgsave-error": "yes",
         "maxmemory-policy": "noeviction", "rdbchecksum": "yes"}


@pytest.mark.parametrize("changes, age, rule", [
    (0, 86400, None),        # idle for a day: an old LASTSAVE is right
    (1, 905, None),          # "900 1" met 5 s ago: Redis has 10 s to act
    (1, 911, "900 1"),
    (9, 899, None),
    (10, 311, "300 10"),
    (10000, 71, "60 10000"),
])
def test_a_save_is_overdue_only_when_a_rule_was_met_and_not_acted_on(changes, age, rule):
    module = load_module("redis_persistence_info")
    info = {"rdb_changes_since_last_save": changes, "rdb_bgsave_in_progress": 0}
    assert module.overdue_save(RULES, info, age) == rule
    problems = module.config_problems(RULES, info, age)
    if rule:
        assert problems == ['a save is overdue: %d changes since the last save %d s ago, and the rule "%s" should '
                            'have saved them (read the Redis log for why it did not)' % (changes, age, rule)]
    else:
        assert problems == []


def test_a_save_in_progress_is_not_overdue():
    module = load_module("redis_persistence_info")
    info = {"rdb_changes_since_last_save": 50000, "rdb_bgsave_in_progress": 1}
    assert module.overdue_save(RULES, info, 3600) is None
