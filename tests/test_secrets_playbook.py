"""playbooks/secrets.yml, backup-keys.yml and restore-keys.yml on the controller."""

import hashlib
import json
import os
import re
import subprocess

import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.playbook

MINIMUM = {"vault_encryption_key": 32, "vault_encryption_salt": 16, "vault_hash_salt": 16, "vault_jwt_secret": 64,
           "vault_session_secret": 32, "vault_webhook_secret": 32, "vault_redis_password": 16}


def run(*args, **environment):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    env.update(environment)
    return subprocess.run(list(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)


def playbook(name, environment=None, **extra):
    return run("ansible-playbook", "-i", "localhost,", "playbooks/%s" % name, "-e", json.dumps(extra),
               **(environment or {}))


class Env:
    """An inventory 'keystest' in a temporary inventories dir, with its password file."""

    def __init__(self, tmp_path):
        self.root = tmp_path / "inventories"
        (self.root / "keystest" / "group_vars" / "all").mkdir(parents=True)
        self.vault = self.root / "keystest" / "group_vars" / "all" / "vault.yml"
        self.password = tmp_path / "keystest.pass"
        self.password.write_text("test-only-vault-password-0123\n")
        self.password.chmod(0o600)
        self.args = {"pulse_env": "keystest", "pulse_vault_password_file": str(self.password),
                     "pulse_inventories_dir": str(self.root)}

    def secrets(self):
        return playbook("secrets.yml", **self.args)

    def read(self, path=None, vault_id=None):
        result = run("ansible-vault", "view", "--vault-id", vault_id or "keystest@%s" % self.password,
                     str(path or self.vault))
        assert result.returncode == 0, result.stderr
        return yaml.safe_load(result.stdout)

    def write(self, data):
        result = subprocess.run(
            ["ansible-vault", "encrypt", "--vault-id", "keystest@%s" % self.password, "--encrypt-vault-id",
             "keystest", "--output", str(self.vault), "-"],
            input=yaml.safe_dump(data), capture_output=True, text=True, check=True,
        )
        return result


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generates_the_whole_key_set_once_and_shows_only_fingerprints(env):
    result = env.secrets()
    assert result.returncode == 0, result.stdout + result.stderr
    data = env.read()
    assert sorted(data) == sorted(MINIMUM)
    assert all(len(data[name]) > MINIMUM[name] for name in MINIMUM)
    assert len(set(data.values())) == len(data)
    assert env.vault.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;keystest\n")
    for name, value in data.items():
        assert value not in result.stdout + result.stderr
        assert "%s  %s  generated now" % (name.ljust(21), hashlib.sha256(value.encode()).hexdigest()[:16]) \
            in result.stdout

    before = sha(env.vault)
    again = env.secrets()
    assert again.returncode == 0
    assert "changed=0" in again.stdout
    assert sha(env.vault) == before


def test_the_vault_is_read_whatever_ansible_variables_are_set(env):
    """ansible-vault prints more than the content at higher verbosity: the vault is read with Ansible's own library."""
    noisy = {"ANSIBLE_VERBOSITY": "3", "ANSIBLE_FORCE_COLOR": "1"}
    first = playbook("secrets.yml", noisy, **env.args)
    assert first.returncode == 0, first.stdout[-3000:]
    before = sha(env.vault)
    again = playbook("secrets.yml", noisy, **env.args)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "changed=0" in re.sub(r"\x1b\[[0-9;]*m", "", again.stdout) and sha(env.vault) == before
    for value in env.read().values():
        assert value not in first.stdout + first.stderr + again.stdout + again.stderr


def test_a_vault_missing_one_key_gets_only_that_key(env):
    env.secrets()
    data = env.read()
    data.pop("vault_hash_salt")
    data["vault_flash_api_key"] = "operator-added-value"
    env.write(data)
    result = env.secrets()
    assert result.returncode == 0
    after = env.read()
    assert {k: v for k, v in after.items() if k != "vault_hash_salt"} == data
    assert len(after["vault_hash_salt"]) == 32
    assert "vault_hash_salt        %s  generated now" % hashlib.sha256(
        after["vault_hash_salt"].encode()).hexdigest()[:16] in result.stdout


def test_wrong_vault_password_changes_nothing(env):
    env.secrets()
    before = sha(env.vault)
    env.password.write_text("not-the-password\n")
    result = env.secrets()
    assert result.returncode != 0
    assert "exists but does not open with the password file of vault id keystest. Nothing was changed." \
        in " ".join(result.stdout.split())
    assert sha(env.vault) == before


def test_missing_password_file_is_explained(env):
    env.password.unlink()
    result = env.secrets()
    assert result.returncode != 0
    assert "The vault password file %s does not exist." % env.password in " ".join(result.stdout.split())
    assert not env.vault.exists()


def test_backup_drill_restores_identical_keys(env, tmp_path):
    env.secrets()
    original = env.read()
    backup = tmp_path / "backup" / "keys.vault"
    backup.parent.mkdir()
    backup_pass = tmp_path / "backup.pass"
    backup_pass.write_text("backup-only-password-0123\n")
    args = dict(env.args, pulse_backup_file=str(backup), pulse_backup_password_file=str(backup_pass))

    made = playbook("backup-keys.yml", **args)
    assert made.returncode == 0, made.stdout
    assert backup.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;backup\n")
    fingerprints = yaml.safe_load((tmp_path / "backup" / "keys.vault.fingerprints").read_text())["fingerprints"]
    assert fingerprints == {k: hashlib.sha256(v.encode()).hexdigest()[:16] for k, v in original.items()}
    assert playbook("backup-keys.yml", **args).returncode != 0  # never overwrites a backup

    env.vault.unlink()
    restored = playbook("restore-keys.yml", **args)
    assert restored.returncode == 0, restored.stdout
    assert env.read() == original
    for value in original.values():
        assert value not in made.stdout + restored.stdout


def test_restore_refuses_a_backup_that_does_not_match_its_fingerprints(env, tmp_path):
    env.secrets()
    backup = tmp_path / "keys.vault"
    backup_pass = tmp_path / "backup.pass"
    backup_pass.write_text("backup-only-password-0123\n")
    args = dict(env.args, pulse_backup_file=str(backup), pulse_backup_password_file=str(backup_pass))
    assert playbook("backup-keys.yml", **args).returncode == 0
    prints = tmp_path / "keys.vault.fingerprints"
    prints.write_text(prints.read_text().replace("vault_hash_salt: ", "vault_hash_salt: 0"))
    before = sha(env.vault)
    result = playbook("restore-keys.yml", **args)
    assert result.returncode != 0
    assert "it is damaged or not the backup those fingerprints describe. Nothing was changed." \
        in " ".join(result.stdout.split())
    assert sha(env.vault) == before
