"""library/redis_lastsave.py against a real redis-server."""

from conftest import run_module


def test_save_advances_lastsave(redis_server):
    redis_server.client().set("canary", "1")
    result = run_module("redis_lastsave", redis_server.args)
    assert result["changed"] is True
    assert result["lastsave"] > result["lastsave_before"]
    assert result["lastsave"] >= int(result["began"])
    assert result["rdb_last_bgsave_status"] == "ok"
    assert result["duration"] >= 0
    assert (redis_server.data_dir / "dump.rdb").exists()


def test_two_saves_in_a_row_each_advance(redis_server):
    first = run_module("redis_lastsave", redis_server.args)
    second = run_module("redis_lastsave", redis_server.args)
    assert second["lastsave"] > first["lastsave"]


def test_check_mode_reports_a_save_without_saving(redis_server):
    result = run_module("redis_lastsave", redis_server.args, check_mode=True)
    assert result["changed"] is True
    assert result["lastsave"] == result["lastsave_before"]
    assert not (redis_server.data_dir / "dump.rdb").exists()


def test_waits_for_a_save_in_progress_then_saves_again(redis_server):
    client = redis_server.client()
    # Enough data, and a slow child, that the first save is still running.
    client.config_set("rdbcompression", "no")
    pipe = client.pipeline(transaction=False)
    for i in range(200):
        pipe.set("k%d" % i, "x" * 100000)
    pipe.execute()
    client.config_set("rdb-key-save-delay", "2000")  # microseconds per key
    client.bgsave()
    result = run_module("redis_lastsave", dict(redis_server.args, timeout=60))
    assert result["waited_for_running_save"] is True
    assert result["lastsave"] > result["lastsave_before"]


def test_unwritable_dir_fails_with_the_cause(unprivileged_server):
    result = run_module("redis_lastsave", dict(unprivileged_server.args, timeout=10))
    assert result["failed"] is True
    assert result["msg"] == (
        "background save on Redis at 127.0.0.1:%d failed (rdb_last_bgsave_status:err): Redis could not write "
        "its snapshot in %s; check that the directory exists, is writable by the redis user and has free "
        "space, then read the Redis log" % (unprivileged_server.port, unprivileged_server.data_dir)
    )
    assert result["lastsave"] == result["lastsave_before"]


def test_timeout_below_one_second_is_refused(redis_server):
    result = run_module("redis_lastsave", dict(redis_server.args, timeout=0))
    assert result["failed"] is True
    assert result["msg"] == "invalid timeout 0: give at least 1 second"
