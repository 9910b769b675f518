"""reference-pulse (TEST-ONLY stand-in for Pulse) against real Redis, checked with
pulse-ops' own Python crypto and modules: the two must agree byte for byte."""

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import ROOT, free_port, run_module

APP = ROOT / "reference-pulse"
KEYS = {"encryption_key": "e" * 40 + "-key", "encryption_salt": "reference-salt-0123",
        "hash_salt": "reference-hash-0123"}
USER = "18764250250@c.us"


@pytest.fixture(scope="session")
def built_app():
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: apt-get install nodejs npm (make test does)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=APP, check=True, timeout=300)
    subprocess.run(["npm", "run", "build", "--silent"], cwd=APP, check=True, timeout=120, capture_output=True)
    return APP / "dist" / "main.js"


class App:
    def __init__(self, main, server, **env):
        self.port = free_port()
        self.env = dict(os.environ, PORT=str(self.port), REDIS_PORT=str(server.port), REDIS_PASSWORD=server.password,
                        ENCRYPTION_KEY=KEYS["encryption_key"], ENCRYPTION_SALT=KEYS["encryption_salt"],
                        HASH_SALT=KEYS["hash_salt"], SESSION_EXPIRY="3600")
        self.env.update(env)
        self.process = subprocess.Popen(["node", str(main)], env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)

    def wait_healthy(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("reference-pulse exited: %s" % self.process.stdout.read())
            try:
                if self.call("GET", "/health")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("reference-pulse did not become healthy")

    def call(self, method, path, body=None):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), method=method,  # noqa: S310 - loopback test app
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback test app
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def balance(self, whatsapp_id):
        return self.call("GET", "/balance?whatsappId=%s" % urllib.request.quote(whatsapp_id))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def app(built_app, redis_server):
    started = App(built_app, redis_server).wait_healthy()
    yield started
    started.stop()


def test_a_linked_user_has_a_balance_and_python_finds_the_session(app, redis_server):
    status, body = app.call("POST", "/link", {"whatsappId": USER})
    assert status == 201
    assert app.balance(USER)[0] == 200
    found = run_module("pulse_session", dict(redis_server.args, whatsapp_id=USER, **KEYS))
    assert found["found"] is True and found["session_id"] == body["sessionId"]
    assert 3590 <= redis_server.client().ttl("session:" + body["sessionId"]) <= 3600


def test_the_app_opens_a_session_written_in_python(app, redis_server):
    run_module("pulse_session", dict(redis_server.args, state="present", **KEYS))
    assert app.balance("0000000000@c.us")[0] == 200


def test_sessions_survive_a_redis_restart(app, redis_server):
    app.call("POST", "/link", {"whatsappId": USER})
    redis_server.client().save()
    redis_server.restart()
    deadline = time.monotonic() + 10
    while app.balance(USER)[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # ioredis reconnects
    assert app.balance(USER)[0] == 200


def test_unknown_user_must_relink(app):
    assert app.balance("19999999999@c.us") == (404, {"error": "re-link needed"})


def test_other_keys_make_pulse_delete_the_session(built_app, app, redis_server):
    """What pulse-ops guards against: Pulse started with another ENCRYPTION_KEY erases sessions."""
    session_id = app.call("POST", "/link", {"whatsappId": USER})[1]["sessionId"]
    info = run_module("pulse_session_info", dict(redis_server.args, **dict(KEYS, encryption_key="x" * 48)))
    assert (info["sampled"], info["opened"]) == (1, 0)  # what the role will check before a restart
    other = App(built_app, redis_server, ENCRYPTION_KEY="x" * 48).wait_healthy()
    try:
        assert other.balance(USER) == (404, {"error": "re-link needed"})
    finally:
        other.stop()
    assert not redis_server.client().exists("session:" + session_id)
    assert app.balance(USER)[0] == 404


def test_production_refuses_short_secrets_by_name(built_app, redis_server):
    process = subprocess.run(
        ["node", str(built_app)], capture_output=True, text=True, timeout=30, check=False,
        env=dict(os.environ, NODE_ENV="production", ENCRYPTION_KEY="short-secret-value", REDIS_HOST="127.0.0.1",
                 REDIS_PORT=str(redis_server.port)),
    )
    assert process.returncode == 1
    assert "ENCRYPTION_KEY < 32 chars" in process.stderr
    assert "RABBITMQ_URL unset" in process.stderr
    assert "short-secret-value" not in process.stderr + process.stdout
