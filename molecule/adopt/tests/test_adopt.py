"""adopt.yml, then site.yml, on servers set up by Pulse's installer (converge.yml): not one session lost.

Every user here is linked, and every "found" is counted, by Pulse's OWN compiled code: the
SessionService of the release in question, run by roles/pulse/files/pulse-sessions.js. Before the
takeover it runs from the upstream checkout (/opt/pulse, its .env, the Node on the PATH); after it,
as `pulse sessions` under the pulse role (the deployed release and its env file)."""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
WORK = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
ARCHIVE = os.environ["PULSE_ARCHIVE"]
USERS = ["1876888%04d@c.us" % number for number in range(300)]
OLD_REDIS_PASSWORD = "upstream-redis-password-0123456789"  # noqa: S105 test-only, set by converge.yml
# pulse-sessions.js on the upstream hosts, readable by pulse (the role's copy comes with site.yml).
SESSIONS_JS = "/usr/local/share/pulse-ops-test/pulse-sessions.js"
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


def counts(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def upstream_sessions(host, action, users=USERS):
    """Pulse's own SessionService from the upstream checkout, as user pulse, with its .env and Node."""
    return counts(podman("exec", "-i", "--user", "pulse", "--workdir", "/opt/pulse", host,
                         "env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/pulse", "NO_COLOR=1",
                         "PULSE_RELEASE=/opt/pulse", "PULSE_ENV_FILE=/opt/pulse/.env",
                         "/usr/local/bin/node", SESSIONS_JS, action, input="".join(u + "\n" for u in users)))


def pulse_sessions(host, action, users=USERS):
    """`pulse sessions <action>` on the host taken over: the deployed release's own code."""
    return counts(podman("exec", "-i", host, "pulse", "sessions", action, input="".join(u + "\n" for u in users)))


def found(users=USERS):
    return {"action": "find", "read_only": True, "asked": len(users), "found": len(users), "missing": 0}


def wait_ready(host, timeout=120):
    deadline = time.monotonic() + timeout
    while podman("exec", host, "pulse", "verify").returncode != 0:
        assert time.monotonic() < deadline, "Pulse did not become ready: %s" % podman(
            "exec", host, "pulse", "status").stdout
        time.sleep(1)


def pm2_pulse_pid(host):
    return sh(host, "runuser -l pulse -c 'pm2 pid pulse'").strip()


class Inventory:
    """inventories/<name> for one host, like an operator's: vars mapped from the vault adopt.yml fills."""

    def __init__(self, host):
        self.host = host
        self.name = host.replace("pulse-molecule-", "").replace("-", "_")
        self.dir = WORK / "inventories" / self.name
        (self.dir / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
        (self.dir / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {
            "redis": {"hosts": {host: {"ansible_connection": "podman_exec",
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
            "pulse_gemini_api_key": "{{ vault_gemini_api_key | default('') }}",
            "pulse_elevenlabs_api_key": "{{ vault_elevenlabs_api_key | default('') }}",
            "pulse_admin_phone_numbers": "{{ vault_admin_phone_numbers | default('') | split(',') | select | list }}",
            # The same source archive converge.yml built: the same cached release.
            "pulse_archive": ARCHIVE,
            "pulse_ready_timeout": 60,
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
        # Messages as one line, unwrapped; the YAML result format single-quotes a message that holds
        # ": " and doubles each apostrophe in it ("Pulse''s own code"): undo that.
        result.text = " ".join((result.stdout + result.stderr).split()).replace("''", "'")
        return result


@pytest.fixture(scope="module", params=sorted(HOSTS))
def taken_over(request):
    """Each host: 300 users linked by Pulse's own code under pm2, adopt.yml, then site.yml."""
    host = request.param
    script = (PROJECT / "roles" / "pulse" / "files" / "pulse-sessions.js").read_text()
    assert podman("exec", "-i", host, "sh", "-c", "mkdir -p %s && cat > %s && chmod 0644 %s"
                  % (os.path.dirname(SESSIONS_JS), SESSIONS_JS, SESSIONS_JS), input=script).returncode == 0
    assert upstream_sessions(host, "create") == {"action": "create", "read_only": False, "asked": 300,
                                                 "created": 300}
    assert upstream_sessions(host, "find") == found()
    inventory = Inventory(host)
    before = dict(state=sh(host, STATE % "/opt/pulse/whatsapp-sessions"),
                  credentials=sh(host, STATE % "/opt/pulse/credentials"),
                  env=sh(host, "sha256sum /opt/pulse/.env"),
                  head=sh(host, "runuser -u pulse -- git -C /opt/pulse rev-parse HEAD"),
                  pm2_pid=pm2_pulse_pid(host))

    adopt = inventory.playbook("adopt.yml", pulse_vault_password_file=str(inventory.password),
                               adopt_install_libraries=True)
    assert adopt.returncode == 0, adopt.text[-3000:]
    assert "Sessions on %s: %d, of which %d open with these keys" % (host, len(USERS), len(USERS)) in adopt.text
    if HOSTS[host]:
        assert HOSTS[host] in adopt.text
    else:
        assert "ROTATION NEEDED" not in adopt.text
    # adopt.yml changed nothing of Pulse's or Redis's: the same files, the same Pulse process under
    # pm2, and Pulse's own code still finds every user.
    assert sh(host, "sha256sum /opt/pulse/.env") == before["env"]
    assert sh(host, STATE % "/opt/pulse/whatsapp-sessions") == before["state"]
    assert sh(host, STATE % "/opt/pulse/credentials") == before["credentials"]
    assert sh(host, "systemctl is-active pm2-pulse").strip() == "active"
    assert pm2_pulse_pid(host) == before["pm2_pid"]
    assert upstream_sessions(host, "find") == found()

    site = inventory.playbook("site.yml")
    assert site.returncode == 0, site.text[-4000:]
    return dict(host=host, inventory=inventory, before=before, site=site)


def test_site_yml_confirms_every_session_after_the_takeover(taken_over):
    text = taken_over["site"].text
    assert ("Takeover confirmed: %d users found by Pulse's own code, %d sessions open (adopt.yml counted %d)"
            % (len(USERS), len(USERS), len(USERS))) in text, text[-3000:]
    assert "Verification PASSED" in text
    assert ("ROTATION NEEDED" in text) == bool(HOSTS[taken_over["host"]])
    record = yaml.safe_load(sh(taken_over["host"], "cat /var/lib/pulse/.pulse-ops-adopted"))
    assert record == {"sessions_before": len(USERS), "sessions_after": len(USERS), "found_by_pulse": len(USERS),
                      "upstream_kept_in": "/opt/pulse.upstream"}


def test_every_user_is_found_by_pulses_own_code_after_the_takeover(taken_over):
    host = taken_over["host"]
    wait_ready(host)
    assert pulse_sessions(host, "find") == found()
    # Every stored session opens and its user is found again through the index: none left behind.
    assert pulse_sessions(host, "audit", ()) == {"action": "audit", "read_only": True, "sessions": len(USERS),
                                                 "found": len(USERS), "not_indexed": 0, "not_opened": 0}


def test_pm2_is_gone_and_pulse_service_runs(taken_over):
    host = taken_over["host"]
    assert podman("exec", host, "systemctl", "is-active", "pm2-pulse").stdout.strip() != "active"
    assert podman("exec", host, "test", "-e", "/etc/systemd/system/pm2-pulse.service").returncode != 0
    assert podman("exec", host, "pgrep", "-f", "PM2 v").returncode != 0
    assert sh(host, "systemctl is-active pulse").strip() == "active"
    wait_ready(host)
    assert re.fullmatch(r"PASS: pulse\.service active, release 4e63375b0d93-[0-9a-f]{12}, ready",
                        sh(host, "pulse verify").splitlines()[-1])
    command = sh(host, "cat /usr/local/bin/pulse")
    assert "operator commands for Pulse under systemd (pulse.service)" in command and "pm2" not in command
    # Nothing runs from the old checkout any more.
    assert podman("exec", host, "pgrep", "-f", "/opt/pulse.upstream").returncode != 0


def test_the_state_moved_with_its_content_and_owners_and_nothing_was_deleted(taken_over):
    host, before = taken_over["host"], taken_over["before"]
    assert sh(host, STATE % "/var/lib/pulse/whatsapp-sessions") == before["state"]
    assert sh(host, STATE % "/var/lib/pulse/credentials") == before["credentials"]
    assert sh(host, "stat -c '%U %G %a' /var/lib/pulse/whatsapp-sessions /var/lib/pulse/credentials").split("\n")[:2] \
        == ["pulse pulse 700", "pulse pulse 750"]
    # The checkout is kept whole: its .env, its state, its build, its commit, pm2's unit beside them.
    assert sh(host, "sha256sum /opt/pulse.upstream/.env").split()[0] == before["env"].split()[0]
    assert sh(host, STATE % "/opt/pulse.upstream/whatsapp-sessions") == before["state"]
    assert sh(host, STATE % "/opt/pulse.upstream/credentials") == before["credentials"]
    assert sh(host, "ls /opt/pulse.upstream/pm2-pulse.service /opt/pulse.upstream/dist/main.js "
                    "/opt/pulse.upstream/node_modules/@nestjs/core/package.json")
    git = "runuser -u pulse -- git -C /opt/pulse.upstream "
    assert sh(host, git + "rev-parse HEAD") == before["head"]
    assert sh(host, git + "status --porcelain") == "?? pm2-pulse.service\n"


def test_redis_kept_its_password_and_no_longer_evicts(taken_over):
    host = taken_over["host"]
    cli = "REDISCLI_AUTH=%s redis-cli --no-auth-warning " % OLD_REDIS_PASSWORD
    assert sh(host, cli + "PING").strip() == "PONG"
    assert sh(host, cli + "CONFIG GET maxmemory-policy").split() == ["maxmemory-policy", "noeviction"]
    assert sh(host, cli + "CONFIG GET appendonly").split() == ["appendonly", "yes"]
    # Pulse itself is connected to it, with that password.
    assert re.search(r"name=pulse-pool-\d+ ", sh(host, cli + "CLIENT LIST"))


def test_a_second_site_yml_changes_nothing(taken_over):
    host = taken_over["host"]
    again = taken_over["inventory"].playbook("site.yml")
    assert again.returncode == 0, again.text[-3000:]
    assert re.findall(r"changed=(\d+)", again.text) and set(re.findall(r"changed=(\d+)", again.text)) == {"0"}
    wait_ready(host)
    assert pulse_sessions(host, "find") == found()
