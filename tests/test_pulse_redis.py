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
