# -*- coding: utf-8 -*-
# Shared Redis connection code for pulse-ops modules.
#
# Every module that talks to Redis takes the same connection options, imports
# redis-py the same guarded way and turns connection failures into the same
# operator-facing messages. It must run with Debian 12's python3-redis 4.3 on
# targets as well as with the newer redis-py in the controller's venv.



import re
import time
import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.exceptions import (
        AuthenticationError,
        RedisError,
    )
    from redis.exceptions import (
        ConnectionError as RedisConnectionError,
    )
    from redis.exceptions import (
        TimeoutError as RedisTimeoutError,
    )
    from redis.retry import Retry
except ImportError:
    REDIS_IMPORT_ERROR = traceback.format_exc()
    HAS_REDIS = False
else:
    REDIS_IMPORT_ERROR = None
    HAS_REDIS = True


# Options shared by every module; documented once in each module's DOCUMENTATION.
CONNECTION_ARGUMENT_SPEC = dict(
    login_host=dict(type="str", default="127.0.0.1"),
    login_port=dict(type="int", default=6379),
    login_unix_socket=dict(type="path"),
    login_user=dict(type="str"),
    login_password=dict(type="str", no_log=True),
    db=dict(type="int", default=0),
    tls=dict(type="bool", default=False),
    validate_certs=dict(type="bool", default=True),
    ca_certs=dict(type="path"),
    client_cert_file=dict(type="path"),
    client_key_file=dict(type="path"),
    connect_timeout=dict(type="float", default=5.0),
)

CONNECTION_REQUIRED_TOGETHER = [["client_cert_file", "client_key_file"]]

# What the server says when it refuses credentials, across Redis 5 to 7.
_AUTH_REFUSED = ("WRONGPASS", "invalid password", "invalid username-password")
_AUTH_MISSING = ("NOAUTH", "Authentication required")
_CONNECTION_CAUSES = (
    ("Connection refused", "connection refused"),
    ("No such file or directory", "no such socket"),
    ("Name or service not known", "host name not found"),
    ("Temporary failure in name resolution", "host name not found"),
    ("No route to host", "no route to host"),
    ("Network is unreachable", "network unreachable"),
    ("Timeout", "no answer (timed out)"),
    ("timed out", "no answer (timed out)"),
)
_AUTH_NOT_SET = ("without any password configured", "no password is set")
# Refusals a running server gives by name (the first word of its error), with what they mean and the fix.
_REFUSALS = (
    ("MISCONF", "MISCONF: Redis refuses writes because its last background save failed (see "
                "rdb_last_bgsave_status; the data directory is full or not writable): free space or fix the "
                "directory, then check the Redis log"),
    ("LOADING", "LOADING: Redis is still loading its dataset from disk; wait until it has loaded and run again"),
    ("OOM", "OOM: Redis has reached maxmemory and, with noeviction, refuses writes: raise redis_maxmemory or "
            "free memory (never switch to an evicting policy: it would drop sessions)"),
    ("READONLY", "READONLY: this server is a read-only replica; point the connection at the primary"),
    ("NOPERM", "NOPERM: the Redis user may not run this command or touch these keys (its ACL)"),
    ("BUSY", "BUSY: Redis is running a script; wait for it or end it with SCRIPT KILL"),
    ("MASTERDOWN", "MASTERDOWN: this replica lost its primary and serves no data until it is back"),
)


def connection_argument_spec(**extra):
    """Return the shared connection options merged with a module's own."""
    spec = dict((name, dict(opts)) for name, opts in CONNECTION_ARGUMENT_SPEC.items())
    spec.update(extra)
    return spec


def describe_target(params):
    """Name the server in messages: the socket path or host:port, never a secret."""
    if params.get("login_unix_socket"):
        return "unix:%s" % params["login_unix_socket"]
    return "%s:%s" % (params["login_host"], params["login_port"])


def ensure_redis_library(module):
    """Fail with Ansible's standard hint when redis-py is not importable."""
    if not HAS_REDIS:
        module.fail_json(
            msg=missing_required_lib(
                "redis", reason="to talk to Redis (on Debian: apt-get install python3-redis)"
            ),
            exception=REDIS_IMPORT_ERROR,
        )


# redis-py turns some refusals into classes of their own and drops the code from the text.
_REFUSAL_CLASSES = {"BusyLoadingError": "LOADING", "ReadOnlyError": "READONLY", "NoPermissionError": "NOPERM",
                    "OutOfMemoryError": "OOM", "MasterDownError": "MASTERDOWN"}


_PIPELINE_PREFIX = re.compile(r"^Command # \d+ \(.*?\) of pipeline caused error: ", re.S)


def refusal_code(error):
    """The server's error code (MISCONF, OOM, LOADING, ...) whether redis-py kept it in the text or not."""
    for cls in type(error).__mro__:
        if cls.__name__ in _REFUSAL_CLASSES:
            return _REFUSAL_CLASSES[cls.__name__]
    first = server_text(error).split(" ", 1)[0]
    return first if first.isupper() else None


def server_text(error):
    """What the server said, without the "Command # n (...) of pipeline caused error: " redis-py puts before it."""
    return _PIPELINE_PREFIX.sub("", str(error), count=1)


def _auth_cause(params, error):
    """What is wrong with the credentials, or None when the error is not about them."""
    text = str(error)
    if isinstance(error, AuthenticationError) or any(s in text for s in _AUTH_REFUSED + _AUTH_MISSING):
        if not params.get("login_password") or any(s in text for s in _AUTH_MISSING):
            return "the server requires a password and none was given (set login_password to the server's requirepass)"
        return ("the password was refused (login_password does not match the server's requirepass; use the value "
                "from the vault)")
    if any(s in text for s in _AUTH_NOT_SET):
        return ("a password was given but the server has none configured (leave login_password empty, or set "
                "requirepass on the server first)")
    return None


def _cause(params, error):
    """What went wrong and the fix, in words, for one redis-py error."""
    text = str(error)
    auth = _auth_cause(params, error)
    if auth:
        return auth
    code = refusal_code(error)
    for known, meaning in _REFUSALS:
        if code == known:
            return "%s (the server said: %s)" % (meaning, server_text(error))
    if isinstance(error, RedisTimeoutError):
        return ("no answer within %s s (is the server overloaded, or a firewall dropping packets?)"
                % params.get("connect_timeout"))
    if isinstance(error, RedisConnectionError):
        # redis-py words these differently from version to version; name the cause once.
        causes = [cause for marker, cause in _CONNECTION_CAUSES if marker in text]
        return ("%s (is redis-server running and listening there? check 'systemctl status redis-server')"
                % (causes[0] if causes else text.rstrip(".")))
    return "the server answered: %s" % text


def explain_error(params, action, error):
    """Turn a redis-py error into a message naming action, server, cause and fix."""
    return "cannot %s on Redis at %s: %s" % (action, describe_target(params), _cause(params, error))


def connect(module, action="connect", decode_responses=True):
    """Return a connected redis.Redis client, or fail the module with a clear message.

    The client decodes replies as UTF-8 text unless decode_responses is false
    (bulk readers keep bytes), and a PING proves both the connection and the
    credentials before any module does anything else.
    """
    ensure_redis_library(module)
    params = module.params
    kwargs = dict(
        db=params["db"],
        password=params.get("login_password") or None,
        username=params.get("login_user") or None,
        socket_connect_timeout=params["connect_timeout"],
        socket_timeout=max(params["connect_timeout"], 10.0),
        decode_responses=decode_responses,
        # One attempt, as in every redis-py version: newer ones retry with
        # back-off by default, which only delays a clear error. Playbooks
        # that must wait for Redis retry the whole task (until/retries).
        retry=Retry(NoBackoff(), 0),
    )
    if params.get("login_unix_socket"):
        kwargs["unix_socket_path"] = params["login_unix_socket"]
    else:
        kwargs.update(host=params["login_host"], port=params["login_port"])
        if params["tls"]:
            kwargs.update(
                ssl=True,
                ssl_cert_reqs="required" if params["validate_certs"] else "none",
                ssl_ca_certs=params.get("ca_certs"),
                ssl_certfile=params.get("client_cert_file"),
                ssl_keyfile=params.get("client_key_file"),
            )
    try:
        client = redis.Redis(**kwargs)
        client.ping()
    except RedisError as error:
        # Redis refuses even PING while a failed save blocks writes; the
        # connection and the credentials are fine, and callers report MISCONF.
        if not str(error).startswith("MISCONF"):
            module.fail_json(msg=explain_error(params, action, error))
    return client


def run(module, action, call, *args, **kwargs):
    """Run one client call; a Redis error fails the module with a clear message."""
    try:
        return call(*args, **kwargs)
    except RedisError as error:
        module.fail_json(msg=explain_error(module.params, action, error))


def config_get(module, client, name):
    """Return one setting from CONFIG GET as text ('' when the server has none)."""
    reply = run(module, "read setting %s" % name, client.config_get, name)
    return reply.get(name, "")


def server_time(client):
    """The server's clock as float seconds: LASTSAVE is measured on it, not ours."""
    seconds, micros = client.time()
    return seconds + micros / 1e6


def lastsave(client):
    """LASTSAVE as Unix seconds (redis-py hands it back as a local datetime)."""
    value = client.lastsave()
    return int(value.timestamp()) if hasattr(value, "timestamp") else int(value)


def wait_for(predicate, timeout, interval=0.1):
    """Poll predicate() until it returns a truthy value or timeout seconds pass.

    Returns the last value predicate() produced (falsy on timeout).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
