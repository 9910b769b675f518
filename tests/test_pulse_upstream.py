"""pulse-ops' Python crypto and session code against upstream Pulse's OWN compiled code.

The real release is built once (library/pulse_release_build, in the role's cache: $XDG_CACHE_HOME/pulse-ops,
by default ~/.cache/pulse-ops) from the upstream archive (PULSE_ARCHIVE, or ../shared/upstream/ beside the
project), and roles/pulse/files/pulse-sessions.js runs its SessionService against a throwaway redis-server:
what Pulse writes, pulse-ops opens; what pulse-ops writes, Pulse finds; and a lookup with wrong keys deletes
nothing."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from ansible.module_utils.pulse_crypto import derive_key, hash_id, seal
from conftest import ROOT, run_module

sys.path.insert(0, str(ROOT / "filter_plugins"))
from pulse_env import env_file  # noqa: E402 the filter plugin, loaded as Ansible would

COMMIT = "4e63375b0d93ea162e7224de8b276cb5d184c47f"
ARCHIVE = os.environ.get("PULSE_ARCHIVE") or str(ROOT.parent / "shared" / "upstream" / "pulse-4e63375.tar.gz")
SESSIONS_JS = ROOT / "roles" / "pulse" / "files" / "pulse-sessions.js"
ENV_CHECK_JS = ROOT / "roles" / "pulse" / "files" / "pulse-env-check.js"
KEYS = {"ENCRYPTION_KEY": "k" * 48, "ENCRYPTION_SALT": "s" * 24, "HASH_SALT": "h" * 24}
SECRETS = {"JWT_SECRET": "j" * 64, "SESSION_SECRET": "e" * 48, "WEBHOOK_SECRET": "w" * 48}
USERS = ["1876123%04d@c.us" % number for number in range(300)]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The real release, unpacked, and the pinned Node it was built with."""
    if not Path(ARCHIVE).is_file():
        pytest.fail("the upstream source archive is missing: set PULSE_ARCHIVE to pulse-4e63375.tar.gz")
    built = run_module("pulse_release_build", {
        "commit": COMMIT, "archive": ARCHIVE, "builds_dir": str(ROOT / "roles/pulse/files/builds"),
        "cache_dir": str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pulse-ops"),
        "recipe": str(ROOT / "roles/pulse/files/build-release.sh"),
    })
    assert not built.get("failed"), built.get("msg")
    root = tmp_path_factory.mktemp("release")
    with tarfile.open(built["artifact"]) as artifact:
        artifact.extractall(root / "release", filter="tar")
    with tarfile.open(built["node_package"]) as package:
        package.extractall(root / "node", members=[m for m in package.getmembers() if m.name == "package/bin/node"],
                           filter="tar")
    return {"dir": root / "release", "node": str(root / "node" / "package" / "bin" / "node"), "root": root}


def settings(server, **changes):
    values = dict(NODE_ENV="production", REDIS_HOST="127.0.0.1", REDIS_PORT=server.port,
                  REDIS_PASSWORD=server.password, REDIS_DB=0, RABBITMQ_URL="amqp://127.0.0.1:5672",
                  **KEYS, **SECRETS)
    values.update(changes)
    return values


def pulse_sessions(release, server, action, users=(), *flags, **changes):
    """pulse-sessions.js with the release's Node, as `pulse sessions` runs it; the env file in Pulse's format."""
    env_path = release["root"] / "pulse.env"
    env_path.write_text(env_file(settings(server, **changes)))
    result = subprocess.run([release["node"], str(SESSIONS_JS), action, *flags], input="".join(u + "\n" for u in users),
                            capture_output=True, text=True, timeout=120, check=False,
                            env={"PATH": "/usr/bin:/bin", "PULSE_RELEASE": str(release["dir"]),
                                 "PULSE_ENV_FILE": str(env_path), "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def seed(server, users, key=KEYS["ENCRYPTION_KEY"]):
    """Sessions written by pulse-ops' own code, in Pulse's exact format."""
    aead_key = derive_key(key, KEYS["ENCRYPTION_SALT"])
    client = server.client()
    for number, whatsapp_id in enumerate(users):
        session_id = "%032x" % (number + 1)
        value = {"sessionId": session_id, "whatsappId": whatsapp_id, "phoneNumber": "+" + whatsapp_id[:-5],
                 "isVerified": True, "createdAt": "2026-12-01T10:00:00.000Z", "expiresAt": "2026-12-02T10:00:00.000Z",
                 "lastActivity": "2026-12-01T10:00:00.000Z", "mfaVerified": False, "consentGiven": True}
        client.set("session:" + session_id, seal(aead_key, value), ex=86400)
        client.set("whatsapp:" + hash_id(whatsapp_id, KEYS["HASH_SALT"]), session_id, ex=86400)


def test_pulse_finds_the_sessions_pulse_ops_writes(release, redis_server):
    seed(redis_server, USERS)
    assert pulse_sessions(release, redis_server, "find", USERS) == {
        "action": "find", "read_only": True, "asked": 300, "found": 300, "missing": 0}
    assert pulse_sessions(release, redis_server, "audit") == {
        "action": "audit", "read_only": True, "sessions": 300, "found": 300, "not_indexed": 0, "not_opened": 0}


def test_pulse_ops_opens_the_sessions_pulse_writes(release, redis_server):
    assert pulse_sessions(release, redis_server, "create", USERS) == {
        "action": "create", "read_only": False, "asked": 300, "created": 300}
    keys = {"encryption_key": KEYS["ENCRYPTION_KEY"], "encryption_salt": KEYS["ENCRYPTION_SALT"],
            "hash_salt": KEYS["HASH_SALT"]}
    info = run_module("pulse_session_info", dict(redis_server.args, sample_size=300, **keys))
    assert (info["sessions"], info["sampled"], info["opened"]) == (300, 300, 300)
    one = run_module("pulse_session", dict(redis_server.args, whatsapp_id=USERS[7], state="checked", **keys))
    assert one["found"] is True
    # Upstream's TTL, whatever SESSION_EXPIRY says (two config factories define it; the second wins).
    client = redis_server.client()
    assert 86390 <= client.ttl(client.keys("session:*")[0]) <= 86400


def test_a_lookup_with_wrong_keys_deletes_nothing_and_writable_shows_why(release, redis_server):
    seed(redis_server, USERS[:20])
    client = redis_server.client()
    wrong = {"ENCRYPTION_KEY": "x" * 48}
    assert pulse_sessions(release, redis_server, "find", USERS[:20], **wrong)["found"] == 0
    assert pulse_sessions(release, redis_server, "audit", **wrong)["not_opened"] == 20
    assert client.dbsize() == 40
    assert client.acl_users() == ["default"]
    # The same lookup with write rights: Pulse deletes every session it cannot open.
    assert pulse_sessions(release, redis_server, "find", USERS[:5], "--writable", **wrong)["found"] == 0
    assert client.dbsize() == 35


def test_a_lookup_refuses_what_is_not_a_whatsapp_id(release, redis_server):
    env_path = release["root"] / "pulse.env"
    env_path.write_text(env_file(settings(redis_server)))
    result = subprocess.run([release["node"], str(SESSIONS_JS), "find"], input="+18761230000\n", capture_output=True,
                            text=True, timeout=60, check=False,
                            env={"PULSE_RELEASE": str(release["dir"]), "PULSE_ENV_FILE": str(env_path)})
    assert result.returncode == 2
    assert "1 of 1 lines on stdin are not WhatsApp IDs (<digits>@c.us or <digits>@lid)" in result.stderr


def env_check(release, values):
    result = subprocess.run([release["node"], str(ENV_CHECK_JS), str(release["dir"])], input=json.dumps(values),
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_the_release_own_validation_judges_the_env_file(release, redis_server):
    good = {name: str(value) for name, value in settings(redis_server).items()}
    assert env_check(release, good) == []
    bad = dict(good, FLASH_API_URL="", JWT_SECRET="short-secret", REDIS_PORT="not-a-port")
    bad.pop("HASH_SALT")
    assert env_check(release, bad) == [
        '"REDIS_PORT" must be a number', '"JWT_SECRET" length must be at least 32 characters long',
        '"HASH_SALT" is required', '"FLASH_API_URL" is not allowed to be empty']
