"""module_utils/pulse_redis.py: connection and the messages operators see."""

import importlib
import sys

from ansible.module_utils import pulse_redis
from ansible.module_utils.pulse_redis import explain_error
from conftest import RedisServer, run_module
from redis.exceptions import ResponseError


def test_wrong_password_names_server_and_fix(redis_server):
    result = run_module("redis_persistence_info", dict(redis_server.args, login_password="not-the-password"))
    assert result["failed"] is True
    assert result["msg"] == (
        "cannot read persistence on Redis at 127.0.0.1:%d: the password was refused "
        "(login_password does not match the server's requirepass; use the value from the vault)"
        % redis_server.port
    )


def test_missing_password_says_one_is_required(redis_server):
    result = run_module("redis_persistence_info", {"login_port": redis_server.port})
    assert result["failed"] is True
    assert result["msg"] == (
        "cannot read persistence on Redis at 127.0.0.1:%d: the server requires a password and none "
        "was given (set login_password to the server's requirepass)" % redis_server.port
    )


def test_password_for_open_server_is_explained():
    """redis-py 4.3 (Debian 12) raises this; newer redis-py connects anyway."""
    error = ResponseError("AUTH <password> called without any password configured for the default user. "
                          "Are you sure your configuration is correct?")
    params = {"login_host": "127.0.0.1", "login_port": 6379, "login_password": "x" * 32}
    assert explain_error(params, "read persistence", error) == (
        "cannot read persistence on Redis at 127.0.0.1:6379: a password was given but the server has none "
        "configured (leave login_password empty, or set requirepass on the server first)"
    )


def test_server_down_says_where_to_look(down_port):
    result = run_module("redis_lastsave", {"login_port": down_port, "connect_timeout": 2})
    assert result["failed"] is True
    assert result["msg"] == (
        "cannot start a background save on Redis at 127.0.0.1:%d: connection refused (is redis-server running "
        "and listening there? check 'systemctl status redis-server')" % down_port
    )


def test_missing_socket_says_where_to_look(tmp_path):
    sock = str(tmp_path / "absent.sock")
    result = run_module("redis_persistence", {"login_unix_socket": sock, "appendonly": True})
    assert result["failed"] is True
    assert result["msg"] == (
        "cannot read persistence settings on Redis at unix:%s: no such socket (is redis-server running "
        "and listening there? check 'systemctl status redis-server')" % sock
    )


def test_password_never_appears_in_a_result(redis_server):
    secret = redis_server.password
    for name in ("redis_persistence_info", "redis_lastsave", "redis_persistence"):
        result = run_module(name, redis_server.args)
        assert secret not in repr(result), name
    wrong = "wrong-" + secret
    result = run_module("redis_persistence", dict(redis_server.args, login_password=wrong))
    assert wrong not in repr(result)


def test_unix_socket_connection(tmp_path):
    sock = str(tmp_path / "redis.sock")
    server = RedisServer(tmp_path, password="p" * 32, extra=["--unixsocket", sock, "--unixsocketperm", "700"]).start()
    try:
        result = run_module("redis_persistence_info", {"login_unix_socket": sock, "login_password": "p" * 32})
    finally:
        server.stop()
    assert result["changed"] is False
    assert result["data_dir"]["checked"] is True


def test_missing_redis_library_names_the_debian_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)  # makes "import redis" fail
    importlib.reload(pulse_redis)
    try:
        result = run_module("redis_lastsave", {"login_port": 6379})
    finally:
        monkeypatch.undo()
        importlib.reload(pulse_redis)
    assert result["failed"] is True
    assert result["msg"].startswith("Failed to import the required Python library (redis) on ")
    assert "to talk to Redis (on Debian: apt-get install python3-redis)" in result["msg"]


KEYS = {"encryption_key": "k" * 48, "encryption_salt": "s" * 24, "hash_salt": "h" * 24}


def canary_write(server):
    return run_module("pulse_session", dict(server.args, whatsapp_id="0012345678@c.us", state="present", **KEYS))


def assert_names(result, server, action, meaning):
    assert result["failed"] is True
    prefix = "cannot %s on Redis at 127.0.0.1:%d: %s (the server said: " % (action, server.port, meaning)
    assert result["msg"].startswith(prefix), result["msg"]


def test_misconf_is_named_with_its_cause_and_fix(unprivileged_server):
    run_module("redis_persistence", dict(unprivileged_server.args, save=["900 1"]))
    run_module("redis_lastsave", dict(unprivileged_server.args, timeout=10))
    assert_names(canary_write(unprivileged_server), unprivileged_server, "write the canary session",
                 "MISCONF: Redis refuses writes because its last background save failed (see rdb_last_bgsave_status;"
                 " the data directory is full or not writable): free space or fix the directory, then check the "
                 "Redis log")


def test_oom_is_named_and_never_answered_with_an_evicting_policy(redis_server):
    client = redis_server.client()
    client.set("ballast", "x" * 2_000_000)
    client.config_set("maxmemory", "1mb")
    client.config_set("maxmemory-policy", "noeviction")
    assert_names(canary_write(redis_server), redis_server, "write the canary session",
                 "OOM: Redis has reached maxmemory and, with noeviction, refuses writes: raise redis_maxmemory or "
                 "free memory (never switch to an evicting policy: it would drop sessions)")


def test_readonly_replica_is_named(redis_server):
    redis_server.client().execute_command("REPLICAOF", "127.0.0.1", "1")
    assert_names(canary_write(redis_server), redis_server, "write the canary session",
                 "READONLY: this server is a read-only replica; point the connection at the primary")


def test_an_acl_refusal_is_named(redis_server):
    redis_server.client().execute_command("ACL", "SETUSER", "reader", "on", ">reader-password-0123456789",
                                          "~*", "+@read", "+ping", "+info")
    args = dict(redis_server.args, login_user="reader", login_password="reader-password-0123456789")
    result = run_module("pulse_session", dict(args, whatsapp_id="0012345678@c.us", state="present", **KEYS))
    assert_names(result, redis_server, "write the canary session",
                 "NOPERM: the Redis user may not run this command or touch these keys (its ACL)")


def test_loading_is_named():
    """A server loading its dataset cannot be held in that state reliably in a test: the code path, both ways
    redis-py words it (its own class, or the code kept in the text)."""
    from redis.exceptions import BusyLoadingError  # noqa: PLC0415
    params = {"login_host": "127.0.0.1", "login_port": 6379}
    for error in (BusyLoadingError("Redis is loading the dataset in memory"),
                  ResponseError("LOADING Redis is loading the dataset in memory")):
        assert explain_error(params, "read persistence", error).startswith(
            "cannot read persistence on Redis at 127.0.0.1:6379: LOADING: Redis is still loading its dataset from "
            "disk; wait until it has loaded and run again (the server said: ")
