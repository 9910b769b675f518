"""Pulse's keys on a real host, through site.yml with a real vault (tests run in order)."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
HOST = "pulse-molecule-keys"
WATCHED = ["/etc/redis/redis.conf", "/etc/redis/pulse-live.conf", "/etc/pulse/keys.fingerprint", "/etc/pulse/pulse.env"]


def run(*args, **kwargs):
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    return subprocess.run(list(args), cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600,
                          check=False, **kwargs)


def fingerprint(value):
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class Env:
    def __init__(self, root):
        self.root = root
        self.inventory = root / "inventories" / "keystest"
        (self.inventory / "group_vars" / "all").mkdir(parents=True)
        connection = {"ansible_connection": "podman_exec",
                      "ansible_python_interpreter": "/usr/bin/python3"}
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {
            "redis": {"hosts": {HOST: connection}}, "pulse": {"hosts": {HOST: None}}}}}))
        shutil.copy(PROJECT / "inventories/staging/group_vars/all/vars.yml", self.inventory / "group_vars/all/vars.yml")
        # Pulse too (the real upstream, built here from PULSE_ARCHIVE), so its env file is in the leak tests.
        (self.inventory / "group_vars" / "pulse.yml").write_text(yaml.safe_dump({
            "pulse_archive": os.environ["PULSE_ARCHIVE"], "pulse_whatsapp_web": False,
            "pulse_rabbitmq_url": "amqp://guest:guest@127.0.0.1:5672"}))
        self.vault = self.inventory / "group_vars" / "all" / "vault.yml"
        self.password = root / "keystest.pass"
        self.password.write_text("test-only-vault-password-0123\n")
        self.backup = root / "backup" / "keys.vault"
        self.backup_password = root / "backup.pass"
        self.backup_password.write_text("backup-only-password-0123\n")
        self.args = {"pulse_env": "keystest", "pulse_vault_password_file": str(self.password),
                     "pulse_inventories_dir": str(root / "inventories"),
                     "pulse_backup_file": str(self.backup), "pulse_backup_password_file": str(self.backup_password)}

    def controller(self, name):
        return run("ansible-playbook", "-i", "localhost,", "playbooks/%s" % name, "-e", json.dumps(self.args))

    def site(self, *extra):
        return run("ansible-playbook", "playbooks/site.yml", "-i", str(self.inventory),
                   "--vault-id", "keystest@%s" % self.password, *extra)

    def read(self):
        result = run("ansible-vault", "view", "--vault-id", "keystest@%s" % self.password, str(self.vault))
        return yaml.safe_load(result.stdout)

    def write(self, data):
        run("ansible-vault", "encrypt", "--vault-id", "keystest@%s" % self.password, "--encrypt-vault-id",
            "keystest", "--output", str(self.vault), "-", input=yaml.safe_dump(data))


@pytest.fixture(scope="module")
def env():
    root = Path(tempfile.mkdtemp(prefix="pulse-keys-"))
    env = Env(root)
    made = env.controller("secrets.yml")
    assert made.returncode == 0, made.stdout + made.stderr
    yield env
    shutil.rmtree(root, ignore_errors=True)


def watched(host):
    return {path: host.file(path).md5sum for path in WATCHED}


def flat(result):
    return " ".join((result.stdout + result.stderr).split())


def assert_no_secret_in(result, env, what):
    output = result.stdout + result.stderr
    assert len(output) > 10000, what  # really verbose
    leaked = [fingerprint(value) for value in env.read().values() if value in output]
    assert leaked == [], "%s printed the secrets with fingerprints %s" % (what, leaked)


def test_first_deploy_at_vvv_with_diff_leaks_nothing_and_records_fingerprints(host, env):
    """The first deploy writes every file that holds a secret: its diff is where a leak would show."""
    result = env.site("-vvv", "--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    assert_no_secret_in(result, env, "the first deploy at -vvv --diff")
    record = host.file("/etc/pulse/keys.fingerprint")
    assert (record.user, record.group, record.mode) == ("root", "root", 0o600)
    assert host.file("/etc/pulse").mode == 0o755
    data = yaml.safe_load(record.content_string)
    keys = env.read()
    assert data["current"] == {name: fingerprint(keys["vault_" + name])
                               for name in ("encryption_key", "encryption_salt", "hash_salt")}
    assert [event["event"] for event in data["history"]] == ["recorded"]
    env_file = host.file("/etc/pulse/pulse.env")
    assert (env_file.user, env_file.group, env_file.mode) == ("root", "pulse", 0o640)
    holds_the_key = 'ENCRYPTION_KEY="%s"' % keys["vault_encryption_key"] in env_file.content_string
    assert holds_the_key, "pulse.env was written without the vault's ENCRYPTION_KEY: the leak test proves nothing"


def test_check_mode_run_leaks_nothing_and_changes_nothing(host, env):
    result = env.site("-vvv", "--diff", "--check")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "changed=0" in result.stdout
    assert_no_secret_in(result, env, "the --check run at -vvv --diff")


def test_backup_drill_restores_keys_the_host_accepts(host, env):
    original = env.read()
    assert env.controller("backup-keys.yml").returncode == 0
    env.vault.unlink()
    restored = env.controller("restore-keys.yml")
    assert restored.returncode == 0, restored.stdout
    assert env.read() == original
    before = watched(host)
    again = env.site()
    assert again.returncode == 0, again.stdout[-3000:]
    assert "changed=0" in again.stdout
    assert watched(host) == before


def test_a_changed_key_is_refused_before_anything_is_written(host, env):
    keys = env.read()
    keys["vault_hash_salt"] = "a-different-hash-salt-0123456789"
    env.write(keys)
    before = watched(host)
    result = env.site()
    assert result.returncode != 0
    assert ("HASH_SALT in the vault no longer matches what this host recorded at its last deploy "
            "(/etc/pulse/keys.fingerprint). Pulse would be unable to open the existing sessions and would DELETE "
            "every one it touches. Nothing was changed.") in flat(result)
    assert "-e pulse_keys_accept_change=true" in flat(result)
    assert "a-different-hash-salt-0123456789" not in result.stdout + result.stderr
    assert "TASK [redis :" not in result.stdout
    assert watched(host) == before


def test_the_override_is_accepted_and_logged(host, env):
    result = env.site("-e", "pulse_keys_accept_change=true")
    assert result.returncode == 0, result.stdout[-3000:]
    data = yaml.safe_load(host.file("/etc/pulse/keys.fingerprint").content_string)
    assert data["current"]["hash_salt"] == fingerprint("a-different-hash-salt-0123456789")
    assert [event["event"] for event in data["history"]] == ["recorded", "override: hash_salt replaced"]
