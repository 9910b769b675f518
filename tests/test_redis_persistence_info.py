"""library/redis_persistence_info.py against a real redis-server."""

from conftest import run_module
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
