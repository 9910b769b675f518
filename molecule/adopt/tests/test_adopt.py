"""adopt.yml, then site.yml, on servers set up by Pulse's installer (converge.yml): not one session lost."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
WORK = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
USERS = 300
PREFIX = "1876888"
OLD_REDIS_PASSWORD = "upstream-redis-password-0123456789"  # noqa: S105 test-only, set by converge.yml
# Host -> (note adopt.yml must print, or None).
HOSTS = {
    "pulse-molecule-adopt": None,
    "pulse-molecule-adopt-default": "ROTATION NEEDED: HASH_SALT is unset: Pulse has used its public default salt",
}
# Every entry below a directory with its owner and mode, and every file's checksum (the directory
# itself is left out: the pulse role closes it to others, 0700 or 0750).
STATE = "cd %s && find . -mindepth 1 -printf '%%p %%u %%g %%m\\n' | sort && find . -type f -exec sha256sum {} + | sort"


def podman(*args, **kwargs):
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=300, check=False, **kwargs)


def sh(host, command):
    result = podman("exec", host, "bash", "-c", command)
    assert result.returncode == 0, "%s: %s%s" % (command, result.stdout, result.stderr)
    return result.stdout


def users(host, action):
    script = (PROJECT / "molecule" / "pulse" / "tests" / "users.py").read_text()
    result = podman("exec", "-i", host, "python3", "-", action, str(USERS), "3000", PREFIX, input=script)
    return json.loads(result.stdout)


class Inventory:
    """inventories/<name> for one host, like an operator's: vars mapped from the vault adopt.yml fills."""

    def __init__(self, host):
        self.host = host
        self.name = host.replace("pulse-molecule-", "").replace("-", "_")
        self.dir = WORK / "inventories" / self.name
        (self.dir / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
        (self.dir / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {
            "redis": {"hosts": {host: {"ansible_connection": "containers.podman.podman",
                                       "ansible_python_interpreter": "/usr/bin/python3"}}},
            "pulse": {"hosts": {host: {}}}}}}))
        (self.dir / "group_vars" / "all" / "vars.yml").write_text(yaml.safe_dump({
            "pulse_encryption_key": "{{ vault_encryption_key }}",
            "pulse_encryption_salt": "{{ vault_encryption_salt }}",
            "pulse_hash_salt": "{{ vault_hash_salt }}",
            "pulse_jwt_secret": "{{ vault_jwt_secret }}",
            "pulse_session_secret": "{{ vault_session_secret }}",
            "pulse_webhook_secret": "{{ vault_webhook_secret }}",
            "redis_requirepass": "{{ vault_redis_password }}",
            "pulse_rabbitmq_url": "{{ vault_rabbitmq_url }}",
            "pulse_flash_api_url": "{{ vault_flash_api_url | default('') }}",
            "pulse_flash_api_key": "{{ vault_flash_api_key | default('') }}",
            "pulse_admin_phone_numbers": "{{ vault_admin_phone_numbers | default('') | split(',') | select | list }}",
            "pulse_version": "1.0.0",
            "pulse_source": "artifact",
            "pulse_artifact_source_dir": str(PROJECT / "reference-pulse"),
            "pulse_artifact_dir": str(WORK / "artifacts"),
            "pulse_install_chromium": False,
            "pulse_verify_api": True,
            "pulse_health_timeout": 30,
        }))
        self.password = WORK / ("%s.pass" % self.name)
        self.password.write_text("test-only-vault-password-%s\n" % self.name)

    def playbook(self, name, **extra):
        env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
        args = ["ansible-playbook", "playbooks/%s" % name, "-i", str(self.dir),
                "--vault-id", "%s@%s" % (self.name, self.password)]
        if extra:
            args += ["-e", json.dumps(extra)]
        result = subprocess.run(args, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=1200,
                                check=False)
        result.text = " ".join((result.stdout + result.stderr).split())
        return result


@pytest.fixture(scope="module", params=sorted(HOSTS))
def taken_over(request):
    """Each host: users linked under pm2, adopt.yml, then site.yml."""
    host = request.param
    assert users(host, "link") == {"201": USERS}
    inventory = Inventory(host)
    before = dict(state=sh(host, STATE % "/opt/pulse/whatsapp-sessions"),
                  credentials=sh(host, STATE % "/opt/pulse/credentials"),
                  env=sh(host, "sha256sum /opt/pulse/.env"))

    adopt = inventory.playbook("adopt.yml", pulse_vault_password_file=str(inventory.password),
                               adopt_install_libraries=True)
    assert adopt.returncode == 0, adopt.text[-3000:]
    assert "Sessions on %s: %d, of which %d open with these keys" % (host, USERS, USERS) in adopt.text
    if HOSTS[host]:
        assert HOSTS[host] in adopt.text
    else:
        assert "ROTATION NEEDED" not in adopt.text
    # adopt.yml changed nothing of Pulse's or Redis's.
    assert sh(host, "sha256sum /opt/pulse/.env") == before["env"]
    assert sh(host, "systemctl is-active pm2-pulse").strip() == "active"
    assert users(host, "check") == {"200": USERS}

    site = inventory.playbook("site.yml")
    assert site.returncode == 0, site.text[-4000:]
    return dict(host=host, inventory=inventory, before=before, site=site)


def test_site_yml_confirms_every_session_after_the_takeover(taken_over):
    assert ("Takeover confirmed: %d sessions open (adopt.yml counted %d), and 20 of 20 users asked got their balance"
            % (USERS, USERS)) in taken_over["site"].text
    assert "Verification PASSED" in taken_over["site"].text


def test_pm2_is_gone_and_pulse_service_runs(taken_over):
    host = taken_over["host"]
    assert podman("exec", host, "systemctl", "is-active", "pm2-pulse").stdout.strip() != "active"
    assert podman("exec", host, "test", "-e", "/etc/systemd/system/pm2-pulse.service").returncode != 0
    assert podman("exec", host, "pgrep", "-f", "PM2 v").returncode != 0
    assert sh(host, "systemctl is-active pulse").strip() == "active"
    command = sh(host, "cat /usr/local/bin/pulse")
    assert "operator commands for Pulse under systemd (pulse.service)" in command and "pm2" not in command


def test_the_state_moved_with_its_content_and_owners_and_nothing_was_deleted(taken_over):
    host, before = taken_over["host"], taken_over["before"]
    assert sh(host, STATE % "/var/lib/pulse/whatsapp-sessions") == before["state"]
    assert sh(host, STATE % "/var/lib/pulse/credentials") == before["credentials"]
    assert sh(host, "stat -c '%U %G %a' /var/lib/pulse/whatsapp-sessions /var/lib/pulse/credentials").split("\n")[:2] \
        == ["pulse pulse 700", "pulse pulse 750"]
    assert sh(host, "sha256sum /opt/pulse.upstream/.env").split()[0] == before["env"].split()[0]
    assert sh(host, "ls /opt/pulse.upstream/pm2-pulse.service /opt/pulse.upstream/whatsapp-sessions")


def test_every_user_answers_balance(taken_over):
    assert users(taken_over["host"], "check") == {"200": USERS}


def test_redis_kept_its_password_and_no_longer_evicts(taken_over):
    host = taken_over["host"]
    cli = "REDISCLI_AUTH=%s redis-cli --no-auth-warning " % OLD_REDIS_PASSWORD
    assert sh(host, cli + "PING").strip() == "PONG"
    assert sh(host, cli + "CONFIG GET maxmemory-policy").split() == ["maxmemory-policy", "noeviction"]
    assert sh(host, cli + "CONFIG GET appendonly").split() == ["appendonly", "yes"]


def test_a_second_site_yml_changes_nothing(taken_over):
    again = taken_over["inventory"].playbook("site.yml")
    assert again.returncode == 0, again.text[-3000:]
    assert re.findall(r"changed=(\d+)", again.text) and set(re.findall(r"changed=(\d+)", again.text)) == {"0"}
    assert users(taken_over["host"], "check") == {"200": USERS}
