"""The operators' playbooks on the converged full stack: cleanup (preview, clean, restore, reset),
diagnose, the ElevenLabs policy and the checklist, each item shown failing when broken.

Runs before test_pulse.py and leaves the host as converge left it (its own users aside)."""

import json
import re

import pytest
from test_pulse import ENV_FILE, HOST, PROJECT, playbook, podman, pulse_pid, pulse_sessions, sh, wait_ready

PREFIX = "1876777"  # these tests' users: 1876777NNNN@c.us, linked by Pulse's own code
USERS = 200
OPERATOR_USERS = ["%s%04d@c.us" % (PREFIX, number) for number in range(USERS)]
FAKE_API = {"pulse_elevenlabs_api_url": "http://127.0.0.1:8099"}
REDIS_ITEMS = ["Save rules present", "AOF on and healthy", "LASTSAVE recent (a real BGSAVE probe)",
               "Data directory exists, owned by redis, closed to others"]
PULSE_ITEMS = ["ENCRYPTION_KEY set", "ENCRYPTION_SALT set", "HASH_SALT set", "One Redis instance", "Pulse healthy"]
SETTINGS_SOURCE = "set -a; . %s; set +a; " % ENV_FILE


def found_by_pulse():
    """How many of these tests' users Pulse's own code finds (read-only)."""
    return pulse_sessions("find", OPERATOR_USERS)["found"]


def redis(command):
    """redis-cli on the host with the env file's password (passed by environment, not argv)."""
    return sh(SETTINGS_SOURCE + "REDISCLI_AUTH=$REDIS_PASSWORD redis-cli --no-auth-warning " + command).stdout.strip()


def session_keys():
    """Keys of the families the cleanup works on (session:*, whatsapp:*, cache:*). Not DBSIZE: the running Pulse
    writes keys of its own meanwhile."""
    return sum(len(redis("--scan --pattern '%s:*'" % family).split()) for family in ("session", "whatsapp", "cache"))


def seed(hash_salt=None, **counts):
    """Write a mix of keys with tests/seed_sessions.py, sealed with the env file's keys."""
    script = (PROJECT / "tests" / "seed_sessions.py").read_text()
    args = " ".join("--%s %d" % (name.replace("_", "-"), count) for name, count in counts.items())
    command = (SETTINGS_SOURCE + "REDIS_PASSWORD=$REDIS_PASSWORD PULSE_ENCRYPTION_KEY=$ENCRYPTION_KEY "
               "PULSE_ENCRYPTION_SALT=$ENCRYPTION_SALT PULSE_HASH_SALT=%s python3 - --port $REDIS_PORT %s"
               % ("'%s'" % hash_salt if hash_salt else "$HASH_SALT", args))
    return json.loads(podman("exec", "-i", HOST, "bash", "-c", command, input=script).stdout)


def found(text):
    """The classes cleanup-sessions.yml reported."""
    match = re.search(r"Sessions: (\d+) open, (\d+) sealed with other keys, (\d+) malformed\. Mappings: (\d+) lead to "
                      r"a session that opens, (\d+) orphaned\. Cache keys: (\d+)\.", text)
    assert match, text[-3000:]
    return dict(zip(("sessions_ok", "sessions_unopenable", "sessions_malformed", "mappings_ok", "mappings_orphaned",
                     "cache_keys"), map(int, match.groups()), strict=True))


def secrets():
    """Every secret value in the env file (test values), to grep outputs for."""
    values = {}
    for line in sh("cat %s" % ENV_FILE).stdout.splitlines():
        name, _, value = line.partition("=")
        if name.endswith(("KEY", "SALT", "SECRET", "PASSWORD")) and len(value.strip('"')) >= 8:
            values[name] = value.strip('"')
    return values


@pytest.fixture(scope="module")
def operator_users():
    assert pulse_sessions("create", OPERATOR_USERS)["created"] == USERS
    assert found_by_pulse() == USERS


def test_cleanup_previews_then_removes_only_what_cannot_open_and_restores(operator_users):
    base = playbook("cleanup-sessions.yml", "--check")
    assert base.returncode == 0, base.text[-3000:]
    before_seed = found(base.text)
    assert before_seed["sessions_unopenable"] == before_seed["sessions_malformed"] == 0
    seeded = seed(other_keys=40, malformed=7, not_strings=3, orphans=25, cache=6)
    expected = dict((name, before_seed[name] + seeded[name]) for name in before_seed)
    keys_before = session_keys()

    preview = playbook("cleanup-sessions.yml")
    assert preview.returncode != 0 and "Nothing was removed: this was a preview" in preview.text
    assert re.search(r"ok=\d+ changed=0 ", preview.text), preview.text[-2000:]
    assert "run again with -e confirm=yes" in preview.text
    assert found(preview.text) == expected
    assert "Would remove: 50 sessions, 75 mappings, 0 cache keys" in preview.text
    assert session_keys() == keys_before

    clean = playbook("cleanup-sessions.yml", {"confirm": "yes", "include_cache": True})
    assert clean.returncode == 0, clean.text[-3000:]
    assert found(clean.text) == expected
    assert "Removed: 50 sessions, 75 mappings, %d cache keys" % expected["cache_keys"] in clean.text
    assert found_by_pulse() == USERS
    removed = 50 + 75 + expected["cache_keys"]
    assert session_keys() == keys_before - removed
    backup = re.search(r"Backup: (/var/backups/pulse-ops/\S+\.jsonl)", clean.text).group(1)
    assert sh("stat -c '%%a %%U' %s /var/backups/pulse-ops" % backup).stdout.split("\n")[:2] == ["600 root",
                                                                                               "700 root"]

    again = playbook("cleanup-sessions.yml", {"confirm": "yes"})
    assert again.returncode == 0 and "Removed: 0 sessions, 0 mappings, 0 cache keys" in again.text
    assert "Backup: none" in again.text and "changed=0" in again.text

    restore = playbook("cleanup-sessions.yml", {"cleanup_mode": "restore", "backup_file": backup})
    assert restore.returncode == 0 and "Restored %d keys" % removed in restore.text
    assert session_keys() == keys_before
    assert playbook("cleanup-sessions.yml", {"confirm": "yes"}).returncode == 0


def test_reset_needs_its_own_confirmation_and_a_restore_brings_every_user_back(operator_users):
    keys_before = session_keys()
    wrong = playbook("cleanup-sessions.yml", {"cleanup_mode": "reset", "confirm": "yes"})
    assert wrong.returncode != 0 and "run again with -e confirm=reset-every-session" in wrong.text
    assert session_keys() == keys_before

    reset = playbook("cleanup-sessions.yml", {"cleanup_mode": "reset", "confirm": "reset-every-session"})
    assert reset.returncode == 0 and "Every user must link again" in reset.text
    assert found_by_pulse() == 0
    backup = re.search(r"Backup: (/var/backups/pulse-ops/\S+\.jsonl)", reset.text).group(1)
    restore = playbook("cleanup-sessions.yml", {"cleanup_mode": "restore", "backup_file": backup})
    assert restore.returncode == 0, restore.text[-3000:]
    assert found_by_pulse() == USERS
    assert session_keys() == keys_before


def test_diagnose_names_the_cause_and_shows_no_secret_or_number(operator_users):
    # User 187644490000@c.us, indexed under another HASH_SALT (numbered apart from the cleanup's seeds).
    seed(hash_salt="another-hash-salt-0123456789", good=1, first=90000)
    runs = {
        # Linked by Pulse's own createSession without a Flash account: its isVerified is false.
        "18767770007@c.us": "healthy, but not verified: the session opens, and its isVerified is false",
        "187644490000@c.us": "index missing: HASH_SALT differs from the one that linked this user",
        "15550001234@c.us": "not linked: no index and no session for this WhatsApp ID",
    }
    outputs = []
    for whatsapp_id, verdict in runs.items():
        result = playbook("diagnose.yml", {"whatsapp_id": whatsapp_id})
        assert result.returncode == 0, result.text[-3000:]
        assert verdict in result.text
        assert "%s%s%s@c.us" % (whatsapp_id[:2], "*" * (len(whatsapp_id) - 9), whatsapp_id[-7:-5]) in result.text
        assert "HASH_SALT: host" in result.text and "match" in result.text
        assert "save rules 900 1 300 10 60 10000, appendonly yes" in result.text
        outputs.append((whatsapp_id, result.stdout + result.stderr))
    invalid = playbook("diagnose.yml", {"whatsapp_id": "+18767770007@c.us"})
    assert invalid.returncode != 0 and "expected digits then @c.us or @lid" in invalid.text
    outputs.append(("18767770007", invalid.stdout + invalid.stderr))
    for whatsapp_id, output in outputs:
        assert whatsapp_id.split("@")[0].lstrip("+") not in output, "the diagnosis shows the phone number"
        assert "+1876" not in output
        for name, value in secrets().items():
            assert value not in output, "the diagnosis shows %s" % name


def test_the_elevenlabs_policy_fails_warns_or_disables():
    podman("cp", str(PROJECT / "tests" / "fake_elevenlabs.py"), "%s:/usr/local/lib/fake_elevenlabs.py" % HOST)
    sh("systemd-run --unit fake-elevenlabs python3 /usr/local/lib/fake_elevenlabs.py --port 8099 "
       "--valid sk_test_good_key_0123")
    bad = dict(FAKE_API, pulse_elevenlabs_api_key="sk_test_wrong_key_0123")
    env_before, pid = sh("sha256sum %s" % ENV_FILE).stdout, pulse_pid()

    stop = playbook("pulse.yml", dict(bad, pulse_elevenlabs_policy="fail"))
    assert stop.returncode != 0
    assert "ElevenLabs refuses the key (HTTP 401, invalid_api_key)" in stop.text
    assert "pulse_elevenlabs_policy is fail, so the deploy stopped before the host changed" in stop.text
    assert sh("sha256sum %s" % ENV_FILE).stdout == env_before and pulse_pid() == pid

    warn = playbook("pulse.yml", dict(bad, pulse_elevenlabs_policy="warn"))
    assert warn.returncode == 0, warn.text[-3000:]
    assert "WARNING: ElevenLabs refuses the key" in warn.text and "the key is kept" in warn.text
    assert sh("grep -c '^ELEVENLABS_API_KEY=\"sk_test_wrong_key_0123\"$' %s" % ENV_FILE).stdout.strip() == "1"
    wait_ready()
    checklist = playbook("checklist.yml", FAKE_API)
    assert checklist.returncode != 0
    assert "[FAIL] ElevenLabs key state: ElevenLabs refuses the key" in checklist.text
    assert checklist.text.count("[PASS] ") == 10

    disable = playbook("pulse.yml", dict(bad, pulse_elevenlabs_policy="disable"))
    assert disable.returncode == 0, disable.text[-3000:]
    assert "pulse_elevenlabs_policy is disable: Pulse gets no ELEVENLABS_API_KEY" in disable.text
    assert sh("grep -c '^ELEVENLABS_API_KEY=' %s" % ENV_FILE, check=False).stdout.strip() == "0"
    wait_ready()
    sh("systemctl stop fake-elevenlabs")


def test_each_checklist_item_fails_when_broken_then_passes(operator_users):
    def checklist():
        return playbook("checklist.yml", FAKE_API)

    passed = checklist()
    assert passed.returncode == 0, passed.text[-3000:]
    assert passed.text.count("[PASS] ") == 11 and "Every item PASSes" in passed.text
    report = json.loads((PROJECT / "reports" / HOST / "checklist.json").read_text())
    assert report["result"] == "PASS" and len(report["items"]) == 11
    assert "| Save rules present | PASS |" in (PROJECT / "reports" / HOST / "checklist.md").read_text()

    # Redis: no save rules, no AOF, a data directory redis-server cannot write (the probe's save fails).
    redis("CONFIG SET save ''")
    redis("CONFIG SET appendonly no")
    sh("chmod 0555 /var/lib/redis")
    try:
        broken = checklist()
    finally:
        sh("chmod 0750 /var/lib/redis")
        redis("CONFIG SET save '900 1 300 10 60 10000'")
        redis("CONFIG SET appendonly yes")
        redis("BGSAVE SCHEDULE")
        sh("for i in $(seq 1 60); do %s redis-cli --no-auth-warning INFO persistence | grep -q "
           "'rdb_last_bgsave_status:ok' && exit 0; sleep 1; done; exit 1"
           % (SETTINGS_SOURCE + "REDISCLI_AUTH=$REDIS_PASSWORD"))
    assert broken.returncode != 0
    for item in REDIS_ITEMS:
        assert "[FAIL] %s" % item in broken.text, item
    assert broken.text.count("[FAIL] ") == len(REDIS_ITEMS)
    assert json.loads((PROJECT / "reports" / HOST / "checklist.json").read_text())["result"] == "FAIL"

    # Pulse: other key material in its env file, Pulse stopped, and a second Redis, kept in a tmpfs
    # directory, which the env file now names.
    sh("cp -p %s /root/pulse.env.saved && systemctl stop pulse" % ENV_FILE)
    sh(SETTINGS_SOURCE + "redis-server --port 6390 --bind 127.0.0.1 --requirepass \"$REDIS_PASSWORD\" --save '' "
       "--appendonly no --dir /dev/shm --daemonize yes --pidfile /run/rogue-redis.pid --logfile ''")
    sh("sed -i -e 's/^ENCRYPTION_KEY=.*/ENCRYPTION_KEY=\"another-encryption-key-0123456789abcdef\"/' "
       "-e 's/^ENCRYPTION_SALT=.*/ENCRYPTION_SALT=\"another-salt-0123456\"/' "
       "-e 's/^HASH_SALT=.*/HASH_SALT=\"another-hash-salt-0123456\"/' "
       "-e 's/^REDIS_PORT=.*/REDIS_PORT=\"6390\"/' %s" % ENV_FILE)
    try:
        broken = checklist()
    finally:
        sh("kill $(cat /run/rogue-redis.pid)")
        sh("cp -p /root/pulse.env.saved %s && rm /root/pulse.env.saved && systemctl start pulse" % ENV_FILE)
        wait_ready()
    assert broken.returncode != 0
    failed = REDIS_ITEMS[:2] + [REDIS_ITEMS[3], "Nothing wipes the data directory on restart"] + PULSE_ITEMS
    for item in failed:
        assert "[FAIL] %s" % item in broken.text, item
    assert broken.text.count("[FAIL] ") == len(failed)
    assert "/dev/shm is on tmpfs: everything is lost on reboot" in broken.text  # noqa: S108 the tmpfs, on purpose
    assert "2 redis-server processes run on the host" in broken.text
    assert "HASH_SALT differs: host" in broken.text

    fixed = checklist()
    assert fixed.returncode == 0 and fixed.text.count("[PASS] ") == 11
    assert found_by_pulse() == USERS
