"""playbooks/adopt.yml on a stand-in upstream install: a .env like Pulse's installer writes, and a
real redis-server holding sessions sealed with its keys. The host stands in through a local connection."""

import hashlib
import json
import os
import subprocess
import sys

import pytest
import redis
import yaml
from conftest import ROOT
from seed_sessions import seed

pytestmark = pytest.mark.playbook

UPSTREAM = {
    "ENCRYPTION_KEY": "upstream-encryption-key-0123456789abcdef",
    "ENCRYPTION_SALT": "upstream-encryption-salt",
    "HASH_SALT": "upstream-hash-salt-0123",
    "JWT_SECRET": "upstream-jwt-secret-0123456789abcdef-0123456789abcdef-0123456789abcdef",
    "SESSION_SECRET": "upstream-session-secret-0123456789abc",
    "WEBHOOK_SECRET": "upstream-webhook-secret-0123456789abc",
    "FLASH_API_KEY": "upstream-flash-api-key",
    "ADMIN_PHONE_NUMBERS": "18765550000,18765550001",
    "ELEVENLABS_API_KEY": "",
}
DEFAULT_KEY = "pulse-default-encryption-key-32-chars-minimum!!"
DEFAULT_HASH_SALT = "pulse-hash-salt-default-value"
MIX = {"good": 30, "other_keys": 2, "malformed": 0, "not_strings": 0, "orphans": 0, "cache": 0}


def fingerprint(value):
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class Upstream:
    """An inventory 'adopttest' whose pulse host is this machine, a .env and a Redis with sessions."""

    def __init__(self, tmp_path, server):
        self.server = server
        self.inventory = tmp_path / "inventories" / "adopttest"
        (self.inventory / "group_vars" / "all").mkdir(parents=True)
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"pulse": {"hosts": {
            "upstream-host": {"ansible_connection": "local", "ansible_become": False,
                              "ansible_python_interpreter": sys.executable}}}}}}))
        self.vault = self.inventory / "group_vars" / "all" / "vault.yml"
        self.password = tmp_path / "adopttest.pass"
        self.password.write_text("test-only-vault-password-0123\n")
        self.env_file = tmp_path / "opt-pulse.env"

    def write_env(self, settings):
        settings = dict(settings, REDIS_HOST="127.0.0.1", REDIS_PORT=str(self.server.port),
                        REDIS_PASSWORD=self.server.password)
        self.env_file.write_text("# written by Pulse's installer\n" + "".join(
            "%s=%s\n" % (name, value) for name, value in settings.items()))
        return settings

    def adopt(self, **extra):
        env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
        args = ["ansible-playbook", "playbooks/adopt.yml", "-i", str(self.inventory),
                "--vault-id", "adopttest@%s" % self.password,
                "-e", json.dumps(dict({"pulse_vault_password_file": str(self.password),
                                       "adopt_env_file": str(self.env_file)}, **extra))]
        result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
        result.text = " ".join((result.stdout + result.stderr).split())
        return result

    def read_vault(self):
        result = subprocess.run(["ansible-vault", "view", "--vault-id", "adopttest@%s" % self.password,
                                 str(self.vault)], capture_output=True, text=True, check=True)
        return yaml.safe_load(result.stdout)

    def record(self):
        return yaml.safe_load((self.inventory / "adopted" / "upstream-host.yml").read_text())


@pytest.fixture
def upstream(tmp_path, redis_server):
    return Upstream(tmp_path, redis_server)


def assert_no_secret(result, settings):
    for name, value in settings.items():
        if value and name != "REDIS_HOST" and len(value) > 6:
            assert value not in result.stdout + result.stderr, "adopt.yml shows %s" % name


def test_a_fresh_vault_takes_every_setting_and_the_sessions_are_counted(upstream):
    settings = upstream.write_env(UPSTREAM)
    client = redis.Redis(port=upstream.server.port, password=upstream.server.password)
    seed(client, MIX, UPSTREAM["ENCRYPTION_KEY"], UPSTREAM["ENCRYPTION_SALT"], UPSTREAM["HASH_SALT"])
    env_before, keys_before = upstream.env_file.read_text(), client.dbsize()

    result = upstream.adopt()
    assert result.returncode == 0, result.text[-3000:]
    vault = upstream.read_vault()
    assert vault == {
        "vault_encryption_key": UPSTREAM["ENCRYPTION_KEY"], "vault_encryption_salt": UPSTREAM["ENCRYPTION_SALT"],
        "vault_hash_salt": UPSTREAM["HASH_SALT"], "vault_jwt_secret": UPSTREAM["JWT_SECRET"],
        "vault_session_secret": UPSTREAM["SESSION_SECRET"], "vault_webhook_secret": UPSTREAM["WEBHOOK_SECRET"],
        "vault_redis_password": upstream.server.password, "vault_flash_api_key": UPSTREAM["FLASH_API_KEY"],
        "vault_admin_phone_numbers": UPSTREAM["ADMIN_PHONE_NUMBERS"]}
    assert "imported vault_admin_phone_numbers, vault_encryption_key" in result.text
    record = upstream.record()
    assert record["sessions"] == 32 and record["sessions_open"] == 30 and record["sessions_not_open"] == 2
    assert record["fingerprints"]["hash_salt"] == fingerprint(UPSTREAM["HASH_SALT"])
    assert "Sessions on upstream-host: 32, of which 30 open with these keys" in result.text
    assert "ROTATION NEEDED" not in result.text
    assert not (upstream.inventory / "group_vars" / "all" / "adopted.yml").exists()
    assert_no_secret(result, settings)
    # Read-only on the host.
    assert upstream.env_file.read_text() == env_before and client.dbsize() == keys_before

    again = upstream.adopt()
    assert again.returncode == 0 and "imported nothing (it held every value)" in again.text
    assert upstream.read_vault() == vault


def test_a_jwt_secret_pulse_never_used_is_not_imported(upstream):
    """Below 64 characters, Pulse's security.config.ts replaces JWT_SECRET by a random one at each start."""
    settings = upstream.write_env(dict(UPSTREAM, JWT_SECRET="upstream-jwt-secret-0123456789abcdef"))
    result = upstream.adopt()
    assert result.returncode == 0, result.text[-3000:]
    assert "vault_jwt_secret" not in upstream.read_vault()
    assert ("NOT IMPORTED: JWT_SECRET is 36 characters, shorter than 64: Pulse has used a random one instead, new "
            "at every start, so nothing depends on it; run make secrets ENV=<env> to generate one") in result.text
    assert_no_secret(result, settings)


def test_a_vault_holding_other_keys_stops_with_fingerprints_and_writes_nothing(upstream):
    settings = upstream.write_env(UPSTREAM)
    subprocess.run(["ansible-vault", "encrypt", "--vault-id", "adopttest@%s" % upstream.password,
                    "--encrypt-vault-id", "adopttest", "--output", str(upstream.vault), "-"],
                   input=yaml.safe_dump({"vault_encryption_key": "another-encryption-key-0123456789abcdef"}),
                   capture_output=True, text=True, check=True)
    before = upstream.vault.read_bytes()
    result = upstream.adopt()
    assert result.returncode != 0
    assert ("vault_encryption_key (vault %s, host %s)" % (fingerprint("another-encryption-key-0123456789abcdef"),
                                                          fingerprint(UPSTREAM["ENCRYPTION_KEY"]))) in result.text
    assert "Nothing was imported" in result.text
    assert upstream.vault.read_bytes() == before
    assert not (upstream.inventory / "adopted").exists()
    assert_no_secret(result, dict(settings, OTHER="another-encryption-key-0123456789abcdef"))


@pytest.mark.parametrize("changes, expect", [
    ({"HASH_SALT": ""}, dict(key=UPSTREAM["ENCRYPTION_KEY"], hash_salt=DEFAULT_HASH_SALT, public=["hash_salt"],
                             note="HASH_SALT is unset")),
    ({"HASH_SALT": DEFAULT_HASH_SALT}, dict(key=UPSTREAM["ENCRYPTION_KEY"], hash_salt=DEFAULT_HASH_SALT,
                                            public=["hash_salt"],
                                            note="HASH_SALT equals the public default built into Pulse")),
    ({"ENCRYPTION_KEY": "too-short-key"}, dict(
        key=DEFAULT_KEY, hash_salt=UPSTREAM["HASH_SALT"], public=["encryption_key"],
        note="ENCRYPTION_KEY is 13 characters, shorter than 32: Pulse has used its public default key instead")),
])
def test_public_or_short_keys_are_imported_as_pulse_uses_them_and_reported(upstream, changes, expect):
    upstream.write_env(dict(UPSTREAM, **changes))
    client = redis.Redis(port=upstream.server.port, password=upstream.server.password)
    seed(client, MIX, expect["key"], UPSTREAM["ENCRYPTION_SALT"], expect["hash_salt"])
    result = upstream.adopt()
    assert result.returncode == 0, result.text[-3000:]
    assert "ROTATION NEEDED: " + expect["note"] in result.text
    vault = upstream.read_vault()
    assert vault["vault_encryption_key"] == expect["key"] and vault["vault_hash_salt"] == expect["hash_salt"]
    assert upstream.record()["sessions_open"] == 30
    adopted = yaml.safe_load((upstream.inventory / "group_vars" / "all" / "adopted.yml").read_text())
    assert adopted == {"pulse_accept_public_keys": expect["public"]}


def test_a_server_without_an_upstream_install_is_named(upstream):
    result = upstream.adopt()
    assert result.returncode != 0
    assert "%s does not exist on upstream-host: adopt.yml takes over servers set up by Pulse's installer" \
        % upstream.env_file in result.text
    assert not upstream.vault.exists()
