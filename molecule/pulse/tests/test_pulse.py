"""The full stack with the real upstream Pulse on one host (tests run in order, sharing 1000 users).

Every "found" here is Pulse's own code: `pulse sessions find` runs the release's compiled
SessionService.getSessionByWhatsappId with its Node and env file (read-only)."""

import gzip
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
INVENTORY = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
ARCHIVE = Path(os.environ["PULSE_ARCHIVE"])
HOST = "pulse-molecule-pulse"
COMMIT = "4e63375b0d93ea162e7224de8b276cb5d184c47f"
ENV_FILE = "/etc/pulse/pulse.env"
OLD_KEY = "molecule-only-encryption-key-0123456789abcdef"
NODE = "/opt/pulse/runtimes/node-v22.23.5"
# 500 users linked by Pulse's own code, 500 seeded by pulse-ops in Pulse's format.
LINKED = ["1876555%04d@c.us" % number for number in range(500)]
SEEDED = ["1876444%05d@c.us" % number for number in range(50000, 50500)]  # apart from test_operator's
USERS = LINKED + SEEDED
SETTINGS_SOURCE = "set -a; . %s; set +a; " % ENV_FILE


def podman(*args, check=True, timeout=300, **kwargs):
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=check, **kwargs)


def sh(command, check=True, timeout=300):
    """Run a shell command in the container (faster than testinfra's backend for many calls)."""
    result = podman("exec", HOST, "bash", "-c", command, check=False, timeout=timeout)
    if check:
        assert result.returncode == 0, "%s: %s%s" % (command, result.stdout, result.stderr)
    return result


def pulse_sessions(action, users=()):
    """`pulse sessions <action>` on the host: Pulse's own code; IDs on stdin, counts back."""
    result = podman("exec", "-i", HOST, "pulse", "sessions", action, input="".join(u + "\n" for u in users),
                    check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def found_by_pulse(users=USERS):
    return pulse_sessions("find", users)["found"]


def playbook(name, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    args = ["ansible-playbook", "playbooks/%s" % name, "-i", str(INVENTORY)]
    for item in extra:
        args += ["-e", json.dumps(item)] if isinstance(item, dict) else [item]
    result = subprocess.run(args, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=1200, check=False)
    result.text = " ".join((result.stdout + result.stderr).split())  # messages as one line, unwrapped
    return result


def current_release():
    return sh("basename $(readlink -f /opt/pulse/current)").stdout.strip()


def running_release():
    """The release the running Pulse was started from: the native addon it loaded (secp256k1's
    prebuild) is mapped under the release's real path. Its own user may read its maps."""
    mapped = sh("runuser -u pulse -- grep -o '/opt/pulse/releases/[^/]*' /proc/%s/maps | sort -u" % pulse_pid())
    releases = mapped.stdout.split()
    assert len(releases) == 1, releases
    return releases[0].rsplit("/", 1)[-1]


def pulse_pid():
    return sh("systemctl show -p MainPID --value pulse").stdout.strip()


def wait_ready(timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sh("pulse verify", check=False).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError("Pulse did not become ready: %s" % sh("pulse status", check=False).stdout)


def wait_booted(timeout=180):
    deadline = time.monotonic() + timeout
    while podman("exec", HOST, "systemctl", "is-system-running", check=False).stdout.strip() not in (
            "running", "degraded"):
        assert time.monotonic() < deadline, "the container did not finish booting"
        time.sleep(1)


def variant(workdir, name, edit):
    """A copy of the upstream archive, same commit id, with edit(path, text) -> text applied to its files.

    A different source gives another release of the same commit (another digest)."""
    out = Path(workdir) / ("pulse-%s.tar.gz" % name)
    with tarfile.open(ARCHIVE) as source, io.BytesIO() as buffer:
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT,
                          pax_headers=source.pax_headers) as target:
            for member in source.getmembers():
                data = source.extractfile(member).read() if member.isfile() else None
                if data is not None:
                    changed = edit(member.name.split("/", 1)[-1], data.decode("utf-8", "surrogateescape"))
                    data = changed.encode("utf-8", "surrogateescape")
                    member.size = len(data)
                target.addfile(member, io.BytesIO(data) if data is not None else None)
        out.write_bytes(gzip.compress(buffer.getvalue()))
    return str(out)


@pytest.fixture(scope="module")
def users():
    """1000 users: 500 linked by Pulse's own code, 500 seeded in Pulse's format; all found before any test."""
    assert pulse_sessions("create", LINKED) == {"action": "create", "read_only": False, "asked": 500, "created": 500}
    script = (PROJECT / "tests" / "seed_sessions.py").read_text()
    command = (SETTINGS_SOURCE + "REDIS_PASSWORD=$REDIS_PASSWORD PULSE_ENCRYPTION_KEY=$ENCRYPTION_KEY "
               "PULSE_ENCRYPTION_SALT=$ENCRYPTION_SALT PULSE_HASH_SALT=$HASH_SALT python3 - --port $REDIS_PORT "
               "--good 500 --first 50000")
    assert json.loads(podman("exec", "-i", HOST, "bash", "-c", command, input=script).stdout)["sessions_ok"] == 500
    assert pulse_sessions("find", USERS) == {"action": "find", "read_only": True, "asked": 1000, "found": 1000,
                                             "missing": 0}
    return USERS


@pytest.fixture(scope="module")
def workdir():
    path = tempfile.mkdtemp(prefix="pulse-molecule-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- what converge left --------------------------------------------------------
def test_pulse_runs_as_its_own_system_user_without_a_login(host):
    user = host.user("pulse")
    assert user.group == "pulse"
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000
    assert host.service("pulse").is_running
    assert host.service("pulse").is_enabled
    assert host.process.get(pid=int(pulse_pid())).user == "pulse"


def test_the_release_is_the_real_upstream_built_with_the_pinned_node():
    release = current_release()
    assert re.fullmatch(r"4e63375b0d93-[0-9a-f]{12}", release)
    record = json.loads(sh("cat /opt/pulse/current/.pulse-release").stdout)
    assert record["commit"] == COMMIT and record["release"] == release
    assert release.endswith(record["digest"][:12])
    assert set(record["inputs"]) == {"keying", "source_tree", "package_json", "package_lock_json", "node_version",
                                     "node_integrity", "npm_version", "npm_integrity", "recipe"}
    assert sh("readlink /opt/pulse/current/.runtime").stdout.strip() == NODE
    assert sh("%s/bin/node --version" % NODE).stdout.strip() == "v22.23.5"
    assert json.loads(sh("cat /opt/pulse/current/package.json").stdout)["name"] == "flash-whatsapp-service"
    # The production tree only: no sources, no dev dependencies.
    assert sh("ls /opt/pulse/current/src /opt/pulse/current/node_modules/@nestjs/cli", check=False).returncode != 0
    assert sh("test -f /opt/pulse/current/node_modules/@nestjs/core/package.json", check=False).returncode == 0
    assert "nodejs" not in sh("dpkg -l nodejs 2>/dev/null | grep ^ii || true").stdout


@pytest.mark.parametrize("path, owner, mode", [
    ("/var/lib/pulse", ("pulse", "pulse"), 0o750),
    ("/var/lib/pulse/whatsapp-sessions", ("pulse", "pulse"), 0o700),
    ("/var/lib/pulse/credentials", ("pulse", "pulse"), 0o750),
    ("/var/lib/pulse/logs", ("pulse", "pulse"), 0o750),
    ("/opt/pulse", ("root", "root"), 0o755),
    ("/opt/pulse/releases", ("root", "root"), 0o755),
    ("/opt/pulse/current/dist/main.js", ("root", "root"), 0o644),
    (NODE + "/bin/node", ("root", "root"), 0o755),
    (ENV_FILE, ("root", "pulse"), 0o640),
    ("/etc/pulse/keys.fingerprint", ("root", "root"), 0o600),
    ("/etc/systemd/system/pulse.service", ("root", "root"), 0o644),
    ("/usr/local/bin/pulse", ("root", "root"), 0o755),
    ("/usr/local/lib/pulse/pulse-ready", ("root", "root"), 0o755),
    ("/usr/local/lib/pulse/pulse-sessions.js", ("root", "root"), 0o644),
])
def test_owners_and_modes(host, path, owner, mode):
    item = host.file(path)
    assert item.exists
    assert (item.user, item.group) == owner
    assert item.mode == mode


def test_env_file_holds_what_pulse_requires_and_leaves_unset_settings_out(host):
    assert sh("runuser -u pulse -- cat %s >/dev/null" % ENV_FILE, check=False).returncode == 0
    assert sh("runuser -u nobody -- cat %s" % ENV_FILE, check=False).returncode != 0
    lines = [line for line in host.file(ENV_FILE).content_string.splitlines() if line and not line.startswith("#")]
    settings = dict(line.split("=", 1) for line in lines)
    assert set(settings) == {
        "NODE_ENV", "PORT", "LOG_LEVEL", "NO_COLOR", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB",
        "SESSION_EXPIRY", "CACHE_WARMUP_SESSION", "ENCRYPTION_KEY", "ENCRYPTION_SALT", "HASH_SALT", "JWT_SECRET",
        "SESSION_SECRET", "WEBHOOK_SECRET", "RABBITMQ_URL", "WHATSAPP_INSTANCES", "PUPPETEER_SKIP_DOWNLOAD",
        "PUPPETEER_EXECUTABLE_PATH"}
    # Upstream's cache warmer would rewrite linked users' sessions in clear, and Pulse then delete them.
    assert settings["CACHE_WARMUP_SESSION"] == '"false"'
    assert '""' not in settings.values()
    assert settings["NODE_ENV"] == '"production"'
    assert settings["WHATSAPP_INSTANCES"] == '"18765550001"'
    assert settings["PUPPETEER_EXECUTABLE_PATH"] == '"/usr/bin/chromium"'


def test_unit_is_sandboxed_restarts_crashes_and_bounds_memory_and_logs():
    keys = ["User", "Group", "WorkingDirectory", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
            "PrivateDevices", "ReadWritePaths", "Restart", "RestrictSUIDSGID", "CapabilityBoundingSet",
            "ProtectKernelTunables", "ProtectControlGroups", "After", "Wants", "Requires", "UMask",
            "SuccessExitStatus", "StartLimitIntervalUSec", "MemoryMax", "LogRateLimitIntervalUSec",
            "LogRateLimitBurst", "ExecStart", "ProtectProc"]
    shown = sh("systemctl show pulse " + " ".join("-p " + k for k in keys)).stdout
    unit = dict(line.split("=", 1) for line in shown.splitlines())
    assert (unit["User"], unit["Group"]) == ("pulse", "pulse")
    assert unit["WorkingDirectory"] == "/var/lib/pulse"
    assert unit["NoNewPrivileges"] == "yes"
    assert unit["ProtectSystem"] == "strict"
    assert unit["ProtectHome"] == "yes"
    assert unit["PrivateTmp"] == "yes"
    assert unit["PrivateDevices"] == "yes"
    assert unit["ProtectProc"] == "invisible"
    assert unit["ReadWritePaths"] == "/var/lib/pulse"
    assert unit["Restart"] == "always"
    assert unit["SuccessExitStatus"].split()[0] == "1"
    assert unit["StartLimitIntervalUSec"] == "0"
    assert unit["MemoryMax"] == str(1536 * 1024 * 1024)
    assert (unit["LogRateLimitIntervalUSec"], unit["LogRateLimitBurst"]) == ("30s", "1000")
    assert unit["RestrictSUIDSGID"] == "yes"
    assert unit["CapabilityBoundingSet"] == ""
    assert unit["ProtectKernelTunables"] == "yes"
    assert unit["ProtectControlGroups"] == "yes"
    assert unit["UMask"] == "0027"
    assert "--max-old-space-size=256" in unit["ExecStart"]
    assert "/opt/pulse/current/.runtime/bin/node" in unit["ExecStart"]
    assert "redis-server.service" in unit["After"].split()
    assert "redis-server.service" in unit["Wants"].split()
    assert "pulse-devtools-guard.service" in unit["Requires"].split()


def test_the_pulse_user_cannot_change_its_code_or_config_even_outside_the_sandbox():
    probe = "runuser -u pulse -- touch %s"
    for path in ("/opt/pulse/current/dist/x", "/opt/pulse/current/x", "/opt/pulse/releases/x", "/etc/pulse/x",
                 NODE + "/bin/x"):
        assert sh(probe % path, check=False).returncode != 0, path
    assert sh(probe % "/var/lib/pulse/whatsapp-sessions/probe", check=False).returncode == 0
    sh("rm -f /var/lib/pulse/whatsapp-sessions/probe")


def test_operator_command():
    assert re.fullmatch(r"PASS: pulse\.service active, release 4e63375b0d93-[0-9a-f]{12}, ready",
                        sh("pulse verify").stdout.splitlines()[-1])
    status = sh("pulse status").stdout
    assert "release: 4e63375b0d93-" in status and "Pulse is ready" in status
    assert "Nest application successfully started" in sh("pulse logs -n all").stdout
    wrong = sh("pulse frobnicate", check=False)
    assert wrong.returncode == 2
    assert "usage: pulse start|stop|restart|status|logs" in wrong.stderr
    bad = podman("exec", "-i", HOST, "pulse", "sessions", "find", input="+18765550000\n", check=False)
    assert bad.returncode == 2 and "are not WhatsApp IDs" in bad.stderr


def test_ready_means_pulse_itself_is_connected_to_redis():
    pool = sh(SETTINGS_SOURCE + "REDISCLI_AUTH=$REDIS_PASSWORD redis-cli --no-auth-warning CLIENT LIST").stdout
    assert re.search(r"name=pulse-pool-\d+ .* user=default", pool)
    # /health answers ok with Redis down (upstream checks nothing there); readiness does not.
    sh("systemctl stop redis-server")
    try:
        health = sh("python3 -c \"import urllib.request; print(urllib.request.urlopen("
                    "'http://127.0.0.1:3000/health').read().decode())\"").stdout
        assert json.loads(health)["status"] == "ok"
        not_ready = sh("/usr/local/lib/pulse/pulse-ready", check=False)
        assert not_ready.returncode == 1 and "Pulse is not ready" in not_ready.stderr
    finally:
        sh("systemctl start redis-server")
    wait_ready()


# --- WhatsApp Web: Chromium under the hardened unit, its hazards contained -------------
def test_chromium_runs_as_pulse_inside_the_unit_and_keeps_its_state_in_the_state_dir():
    deadline = time.monotonic() + 60
    while "chromium" not in sh("systemd-cgls --no-pager -u pulse.service", check=False).stdout:
        assert time.monotonic() < deadline, "Chromium did not start under pulse.service"
        time.sleep(1)
    owners = set(sh("ps -o user= -C chromium").stdout.split())
    assert owners == {"pulse"}
    assert sh("test -d /var/lib/pulse/whatsapp-sessions/18765550001", check=False).returncode == 0
    assert sh("test -d /var/lib/pulse/logs/security-audit", check=False).returncode == 0
    assert "PUPPETEER" not in sh("ls -a /opt/pulse/current").stdout
    # Nothing written into the release after it was marked complete (the marker's time has whole seconds).
    marked = int(sh("stat -c %Y /opt/pulse/current/.pulse-release").stdout)
    assert sh("find /opt/pulse/current/ -mindepth 1 -newermt @%d -print -quit" % (marked + 1)).stdout == ""


def connect_devtools(user):
    return sh("runuser -u %s -- python3 -c \"import socket; socket.create_connection(('127.0.0.1', 9222), 3)\""
              % user, check=False)


def test_chromium_debugging_port_is_usable_by_pulse_only():
    assert "pulse_ops_devtools" in sh("nft list tables").stdout
    deadline = time.monotonic() + 60
    while connect_devtools("pulse").returncode != 0:
        assert time.monotonic() < deadline, "Chromium's debugging port never answered Pulse's user"
        time.sleep(1)
    for user in ("nobody", "root"):
        refused = connect_devtools(user)
        assert refused.returncode != 0 and "ConnectionRefusedError" in refused.stderr, user


# Directories upstream's clean-up deletes by name in os.tmpdir(), outside Pulse's space: the host's
# /tmp. Owned by pulse, so only the unit's own /tmp (PrivateTmp) keeps them out of its reach.
BAIT_DIRS = ("/tmp/.wwebjs_auth", "/tmp/puppeteer_dev_chrome_profile-bait")  # noqa: S108 bait, on purpose


# In Pulse's own working directory: its clean-up removes these, which shows it ran.
OWN_DIRS = ("/var/lib/pulse/.wwebjs_cache", "/var/lib/pulse/puppeteer_dev_chrome_profile-own")


def hazard_bait():
    """A browser-like process of another user, and puppeteer/wwebjs directories in the host's /tmp."""
    sh("id victim >/dev/null 2>&1 || useradd -m victim")
    sh("install -d -o pulse -g pulse %s %s" % (" ".join(BAIT_DIRS), " ".join(OWN_DIRS)))
    sh("systemd-run --unit bait-chrome --uid victim bash -c "
       "'exec -a \"chrome --remote-debugging-port=9555 --user-data-dir=/home/victim/puppeteer\" sleep infinity'")
    time.sleep(1)
    pid = sh("systemctl show -p MainPID --value bait-chrome").stdout.strip()
    assert "chrome --remote-debugging-port" in sh("ps -o args= -p %s" % pid).stdout
    return pid


def bait_survived(pid):
    assert sh("ps -o user=,args= -p %s" % pid).stdout.startswith("victim ")
    for path in BAIT_DIRS:
        assert sh("test -d %s" % path, check=False).returncode == 0, path


def cleanup_ran():
    """Upstream's clean-up deleted the directories in its own working directory."""
    for path in OWN_DIRS:
        assert sh("test -e %s" % path, check=False).returncode != 0, "%s is still there: no clean-up ran" % path


def test_the_start_up_clean_up_spares_other_users_and_other_places():
    pid = hazard_bait()
    try:
        sh("pulse restart")
        cleanup_ran()
        bait_survived(pid)
        # The unauthenticated logout route runs the same clean-up (today it answers 500 before reaching it).
        sh("install -d -o pulse -g pulse %s" % " ".join(OWN_DIRS))
        sh("python3 -c \"import urllib.request as r; r.urlopen(r.Request('http://127.0.0.1:3000/whatsapp-web/logout',"
           " method='POST'), timeout=30)\"", check=False)
        time.sleep(3)
        bait_survived(pid)
    finally:
        sh("systemctl stop bait-chrome; rmdir %s %s" % (" ".join(BAIT_DIRS), " ".join(OWN_DIRS)), check=False)
    wait_ready()


# --- re-runs: a check that disturbs nothing; the restart proof only when due ---------------
SERVICES = ("redis-server", "pulse", "pulse-devtools-guard")
RECORD = "/var/lib/pulse-ops/restart-proof.json"


def invocations():
    """systemd's InvocationID of each service: a new one means it was (re)started."""
    return dict((name, sh("systemctl show -p InvocationID --value %s" % name).stdout.strip()) for name in SERVICES)


def said(result):
    """The run's output as one line, single-spaced, with the callback's escaped quotes undone (\\' and YAML's '')."""
    return result.text.replace("\\'", "'").replace("''", "'")


def recap_changed(result):
    counts = re.findall(r"%s\s*:\s*ok=\d+\s+changed=(\d+)" % HOST, result.stdout)
    assert counts, result.text[-3000:]
    return int(counts[-1])


def test_the_first_deploy_proved_the_restarts_and_recorded_what_it_saw():
    assert sh("stat -c '%U:%G %a' " + RECORD).stdout.split() == ["root:root", "600"]
    record = json.loads(sh("cat " + RECORD).stdout)
    assert record["why"] == "first verification on this host"
    assert set(record["inputs"]) == {"/etc/redis/redis.conf", "/etc/systemd/system/redis-server.service.d/"
                                     "pulse-data-dir.conf", ENV_FILE, "/etc/systemd/system/pulse.service",
                                     "/opt/pulse/current"}
    assert record["inputs"]["/opt/pulse/current"] == "link:/opt/pulse/releases/" + current_release()


def test_a_rerun_changes_nothing_restarts_nothing_and_still_checks_with_pulses_code(users):
    before = invocations()
    result = playbook("site.yml")
    assert result.returncode == 0, result.text[-3000:]
    assert recap_changed(result) == 0
    assert invocations() == before
    for line in ("PASS persistence settings as declared", "PASS key material matches the host's record",
                 "PASS canary user linked by Pulse's own code", "PASS canary found by Pulse's own code ",
                 "PASS no persistence problems (saves, AOF writes, data dir) last save and AOF write ok",
                 "restart proof: not due (last passed "):
        assert line in said(result), line
    assert "LASTSAVE advanced" not in result.text
    # The canary was unique to the run and is gone: only the 1000 users' sessions remain.
    assert found_by_pulse() == 1000
    assert sh("redis-cli --no-auth-warning -a %s --scan --pattern 'pulse-ops:verify:*'"
              % os.environ["REDIS_PASSWORD"]).stdout.strip() == ""


def test_the_restart_proof_runs_on_request_and_after_a_change_to_what_pulse_restarts_for(users):
    before = invocations()
    requested = playbook("verify.yml", "-e", "verify_restarts=true")  # a string, as an operator types it
    assert requested.returncode == 0, requested.text[-3000:]
    assert "restart proof: run now, requested (verify_restarts=true)" in requested.text
    assert "PASS LASTSAVE advanced" in said(requested)
    assert "PASS every key back after the Redis restart" in said(requested)
    assert recap_changed(requested) == 0
    after = invocations()
    assert after["redis-server"] != before["redis-server"] and after["pulse"] != before["pulse"]
    # Not requested ("false" is false), nothing changed: not due.
    quiet = playbook("verify.yml", "-e", "verify_restarts=false")
    assert "restart proof: not due" in quiet.text and invocations() == after
    # A change Pulse restarts for (its unit) makes the proof due in that run, and only then.
    changed = playbook("site.yml", {"pulse_log_burst": 1001})
    try:
        assert changed.returncode == 0, changed.text[-3000:]
        assert "restart proof: run now, changed since the last proof: pulse.service" in changed.text
    finally:
        back = playbook("site.yml")
    assert back.returncode == 0, back.text[-3000:]
    assert "restart proof: run now, changed since the last proof: pulse.service" in back.text
    assert found_by_pulse() == 1000


LOCK = "/var/lib/pulse-ops/run.lock"


def write_lock(controller, boot_id, pid, started):
    record = {"run": {"controller": controller, "boot_id": boot_id, "pid": pid, "started": started, "user": "alice",
                      "id": "%s-%s-%d-%d" % (controller, boot_id[:8], pid, started)},
              "playbook": "Switch Pulse back to the previous release", "since": "2026-12-03T10:00:00Z"}
    podman("exec", "-i", HOST, "bash", "-c", "umask 077; mkdir -p /var/lib/pulse-ops; cat > " + LOCK,
           input=json.dumps(record))
    return record["run"]["id"]


def test_one_run_at_a_time_changes_the_host(users):
    first = subprocess.Popen(["ansible-playbook", "playbooks/site.yml", "-i", str(INVENTORY)], cwd=PROJECT,
                             env=dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg")),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while sh("test -s " + LOCK, check=False).returncode != 0:
            assert time.monotonic() < deadline and first.poll() is None, "the first run took no lock"
            time.sleep(0.5)
        second = playbook("verify.yml")
        assert second.returncode != 0
        assert re.search(r"Another pulse-ops run holds the lock on %s \(%s\), started with the play \"Check "
                         r"Pulse's secrets .*, pid %d, since .*; its ansible-playbook process \(pid %d\) still "
                         r"runs. Nothing was changed." % (HOST, LOCK, first.pid, first.pid), said(second)), \
            said(second)[-2000:]
    finally:
        output, _ = first.communicate(timeout=900)
    assert first.returncode == 0, output[-3000:]
    assert sh("test -e " + LOCK, check=False).returncode != 0, "site.yml left its lock"


def test_a_lock_whose_run_ended_is_taken_over_and_another_controllers_is_broken_only_on_request(users):
    # A run of this controller that died (its process is gone): taken over, saying so.
    with open("/proc/sys/kernel/random/boot_id") as handle:
        boot_id = handle.read().strip()
    write_lock(socket.gethostname(), boot_id, 4194000, 1)
    taken = playbook("verify.yml")
    assert taken.returncode == 0, taken.text[-3000:]
    assert "Took over the run lock on %s from the run started with the play" % HOST in said(taken)
    assert "its ansible-playbook process (pid 4194000) has ended" in said(taken)
    # A run of another controller cannot be judged from here: refused, then broken by its id.
    run_id = write_lock("ops-laptop", "0f0f0f0f-boot", 4242, 1)
    before = host_state()
    refused = playbook("verify.yml")
    assert refused.returncode != 0 and host_state() == before
    assert ("it runs from another controller (ops-laptop). Nothing was changed. Wait for it to end and run again. "
            "If you know that run is over (its connection was lost), run again with -e pulse_ops_break_lock=%s."
            % run_id) in said(refused)
    broken = playbook("verify.yml", "-e", "pulse_ops_break_lock=" + run_id)
    assert broken.returncode == 0, broken.text[-3000:]
    assert "broken on request" in said(broken)
    assert sh("test -e " + LOCK, check=False).returncode != 0


def redis_listens_on():
    return sorted(set(re.findall(r":(\d+)\s", sh("ss -ltnpH | grep redis-server").stdout)))


def test_a_run_stopped_after_writing_a_new_port_and_before_the_restart_is_converged_by_the_next(users):
    # The state such a run leaves: redis.conf says 6380, Redis still runs on 6379 (the handler never ran).
    sh("sed -i 's/^port 6379$/port 6380/' /etc/redis/redis.conf")
    assert redis_listens_on() == ["6379"]
    try:
        moved = playbook("site.yml", {"redis_port": 6380})
        assert moved.returncode == 0, moved.text[-3000:]
        assert redis_listens_on() == ["6380"]
        assert "changed since the last proof: pulse.env, redis.conf" in moved.text
        assert found_by_pulse() == 1000
    finally:
        back = playbook("site.yml")
    assert back.returncode == 0, back.text[-3000:]
    assert redis_listens_on() == ["6379"]
    assert found_by_pulse() == 1000


# --- 1000 users through restarts -------------------------------------------------
def test_1000_users_found_after_a_redis_restart(users):
    sh("systemctl restart redis-server")
    wait_ready()
    assert found_by_pulse() == 1000


def test_1000_users_found_after_pulse_restart(users):
    before = pulse_pid()
    sh("pulse restart")
    assert pulse_pid() != before
    assert found_by_pulse() == 1000


def test_1000_users_found_after_redis_is_killed(users):
    time.sleep(2)  # appendfsync everysec: what was acknowledged 2 s ago is on disk
    sh("kill -9 $(systemctl show -p MainPID --value redis-server)")
    deadline = time.monotonic() + 60
    while sh("systemctl is-active redis-server", check=False).stdout.strip() != "active":
        assert time.monotonic() < deadline, "redis-server was not restarted by systemd"
        time.sleep(1)
    wait_ready()
    assert found_by_pulse() == 1000


def test_1000_users_found_after_pulse_is_killed(users):
    before = pulse_pid()
    sh("kill -9 %s" % before)
    deadline = time.monotonic() + 60
    while pulse_pid() in ("0", before):
        assert time.monotonic() < deadline, "pulse.service was not restarted by systemd"
        time.sleep(1)
    wait_ready()
    assert found_by_pulse() == 1000


def test_1000_users_found_after_a_reboot(users):
    podman("restart", "--time", "30", HOST)
    wait_booted()
    wait_ready()
    assert found_by_pulse() == 1000


def sessions_in_clear():
    """How many session:* values are plain JSON instead of Pulse's sealed form."""
    script = ("import os, redis; r = redis.Redis(port=int(os.environ['REDIS_PORT']), "
              "password=os.environ['REDIS_PASSWORD']); "
              "print(sum(1 for key in r.scan_iter('session:*', count=1000) if (r.get(key) or b'').startswith(b'{')))")
    return int(sh(SETTINGS_SOURCE + "python3 -c \"%s\"" % script).stdout)


def test_upstreams_cache_warmer_leaves_linked_users_sessions_sealed(users):
    """5 s after each start (and hourly) upstream's cache warmer writes every linked user's session back to
    session:<id> in clear, with a 30-minute expiry; Pulse then deletes it. The env file turns it off."""
    sh("pulse restart")
    time.sleep(15)
    assert sessions_in_clear() == 0
    assert found_by_pulse() == 1000


def test_a_stop_is_not_a_failure_and_an_unrequested_exit_1_is_restarted(users):
    sh("systemctl stop pulse")
    shown = sh("systemctl show pulse -p ActiveState -p Result -p ExecMainStatus").stdout
    assert "ActiveState=inactive" in shown and "Result=success" in shown and "ExecMainStatus=1" in shown
    assert sh("systemctl is-failed pulse", check=False).returncode != 0
    sh("pulse start")
    # A SIGTERM systemd did not send: upstream exits 1, as a crash does. It must come back.
    before, restarts = pulse_pid(), int(sh("systemctl show -p NRestarts --value pulse").stdout)
    sh("kill -TERM %s" % before)
    deadline = time.monotonic() + 60
    while pulse_pid() in ("0", before):
        assert time.monotonic() < deadline, "an exit 1 that systemd did not ask for was not restarted"
        time.sleep(1)
    assert int(sh("systemctl show -p NRestarts --value pulse").stdout) == restarts + 1
    wait_ready()
    assert found_by_pulse() == 1000


def test_a_long_redis_outage_keeps_memory_and_logs_bounded_and_pulse_comes_back_alone(users):
    """Redis down for about two minutes: first Pulse left alone in upstream's reconnect loop (memory
    and journal must stay bounded), then killed each time systemd starts it again, twelve times, more
    than a start limit would allow (the unit had StartLimitBurst=10). Once Redis is back, Pulse is
    ready again without anyone touching it."""
    journal_before = int(sh("journalctl -u pulse -o cat --no-pager | wc -c").stdout)
    sh("systemctl stop redis-server")
    rss, killed = [], []
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            pid = pulse_pid()
            sample = sh("ps -o rss= -p %s" % pid, check=False).stdout.strip() if pid != "0" else ""
            rss.append(int(sample or 0))
            time.sleep(2)
        deadline = time.monotonic() + 150
        while len(killed) < 12 and time.monotonic() < deadline:
            pid = pulse_pid()
            if pid not in ("0", *killed):
                sh("kill -9 %s" % pid, check=False)
                killed.append(pid)
            time.sleep(0.5)
        journal = int(sh("journalctl -u pulse -o cat --no-pager | wc -c").stdout) - journal_before
        state = sh("systemctl show -p ActiveState -p SubState --value pulse").stdout.split()
    finally:
        sh("systemctl start redis-server")
    # V8's heap is capped at 256 MB; uncapped, the process passes 1 GB within 15 s of the outage.
    assert 0 < max(rss) < 600 * 1024, "RSS reached %d kB" % max(rss)
    # journald keeps 1000 lines per 30 s of it: a few MB at most, against tens of MB per second.
    assert journal < 8 * 1024 * 1024, "the journal grew by %d bytes" % journal
    assert "from pulse.service" in sh("journalctl --no-pager -t systemd-journald | grep Suppressed | tail -1").stdout
    assert len(killed) == 12, "systemd stopped starting Pulse after %d kills" % len(killed)
    assert state != ["failed", "failed"], "pulse.service gave up"
    wait_ready(timeout=240)
    assert found_by_pulse() == 1000


# --- releases ------------------------------------------------------------------------
def test_a_second_release_of_the_same_commit_keeps_state_and_every_session(users, workdir):
    first = current_release()
    sh("runuser -u pulse -- sh -c 'mkdir -p /var/lib/pulse/whatsapp-sessions/session-main && "
       "echo login > /var/lib/pulse/whatsapp-sessions/session-main/Default'")
    second = variant(workdir, "second", lambda path, text: text + "\n" if path == "README.md" else text)
    result = playbook("site.yml", {"pulse_archive": second})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Verification PASSED" in result.text
    release = current_release()
    assert release != first and release.startswith("4e63375b0d93-")
    assert running_release() == release
    assert sh("basename $(readlink /opt/pulse/previous)").stdout.strip() == first
    assert sh("cat /var/lib/pulse/whatsapp-sessions/session-main/Default").stdout == "login\n"
    assert found_by_pulse() == 1000


def test_rollback_returns_to_the_previous_release(users):
    previous = sh("basename $(readlink /opt/pulse/previous)").stdout.strip()
    newer = current_release()
    result = playbook("rollback.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "runs release %s again" % previous in result.text
    assert current_release() == running_release() == previous
    assert sh("basename $(readlink /opt/pulse/previous)").stdout.strip() == newer
    assert found_by_pulse() == 1000


def test_a_release_that_does_not_build_leaves_the_running_one(users, workdir):
    pid, release = pulse_pid(), current_release()
    broken = variant(workdir, "unbuildable",
                     lambda path, text: text + "\nconst broken: number = 'text';\n" if path == "src/main.ts" else text)
    result = playbook("pulse.yml", {"pulse_archive": broken})
    assert result.returncode != 0
    assert "cannot build Pulse 4e63375b0d93" in result.text and "npm run build failed" in result.text
    assert "TS2322" in result.text
    assert (pulse_pid(), current_release()) == (pid, release)
    assert ".partial" not in sh("ls -A /opt/pulse/releases").stdout


def test_a_release_that_never_gets_ready_is_switched_back(users, workdir):
    pid, release = pulse_pid(), current_release()
    never = variant(workdir, "never-ready", lambda path, text: (
        text.replace("async function bootstrap() {", "async function bootstrap() {\n  process.exit(3);")
        if path == "src/main.ts" else text))
    result = playbook("pulse.yml", {"pulse_archive": never, "pulse_ready_timeout": 15})
    assert result.returncode != 0
    assert re.search(r"Pulse release 4e63375b0d93-[0-9a-f]{12} did not become ready \(GET "
                     r"http://127\.0\.0\.1:3000/health ok and its Redis pool connected\) within 15 s", result.text)
    assert "Switched back to %s, which is running and ready" % release in result.text
    assert current_release() == running_release() == release
    assert pulse_pid() != pid
    assert found_by_pulse() == 1000


def test_only_the_newest_releases_are_kept():
    releases = sh("ls /opt/pulse/releases").stdout.split()
    assert len(releases) <= 3
    assert current_release() in releases
    assert sh("ls /opt/pulse/runtimes").stdout.split() == ["node-v22.23.5"]


# --- bad input: clear errors, host and running release unchanged --------------------
def unchanged(before):
    assert (pulse_pid(), current_release(), sh("sha256sum %s" % ENV_FILE).stdout) == before


@pytest.mark.parametrize("settings, message", [
    ({"pulse_version": "0123456789abcdef0123456789abcdef01234567"},
     "No lockfile is recorded for Pulse commit 0123456789abcdef0123456789abcdef01234567 in "),
    ({"pulse_version": "4e63375"}, "pulse_version is \"4e63375\": give upstream Pulse's full commit id"),
    ({"pulse_archive": "/nonexistent/pulse.tar.gz"}, "/nonexistent/pulse.tar.gz"),
    ({"pulse_node_integrity": "sha512-" + "A" * 86 + "=="}, "does not match its pinned integrity"),
    ({"redis_requirepass": "pass@word/0123456789abc"},
     "holds '@' and '/', which breaks the redis://:<password>@host URL Pulse builds"),
    ({"pulse_flash_api_url": "not a url"}, "\"FLASH_API_URL\" must be a valid uri"),
    ({"pulse_redis_port": 6399}, "Pulse would not reach its Redis"),
    ({"pulse_rabbitmq_url": "amqp://guest:guest@127.0.0.1:5999"},
     "Pulse would not reach RabbitMQ at 127.0.0.1:5999 (from pulse_rabbitmq_url)"),
    ({"pulse_node_runtime": "debian"},
     "pulse_node_runtime is debian, and Debian's Node.js on pulse-molecule-pulse is 18."),
])
def test_bad_input_is_refused_before_the_host_changes(users, settings, message):
    before = (pulse_pid(), current_release(), sh("sha256sum %s" % ENV_FILE).stdout)
    result = playbook("site.yml", settings)
    assert result.returncode != 0
    assert message in result.text, result.text[-3000:]
    unchanged(before)
    assert "pass@word/0123456789abc" not in result.text


def host_state():
    """Everything a refused run must leave as it was: files, Redis's running settings and users, kernel settings,
    and each service's invocation (a restart makes a new one)."""
    redis_cli = "redis-cli --no-auth-warning -a %s " % os.environ["REDIS_PASSWORD"]
    return {
        "files": sh("sha256sum /etc/redis/redis.conf /etc/redis/pulse-live.conf %s /etc/pulse/keys.fingerprint %s "
                    "/etc/systemd/system/pulse.service" % (ENV_FILE, RECORD)).stdout,
        "config": sorted(sh(redis_cli + "CONFIG GET '*'").stdout.splitlines()),
        "acl": sh(redis_cli + "ACL LIST").stdout,
        "sysctl": sh("sysctl -n vm.overcommit_memory").stdout,
        "services": invocations(),
        "release": current_release(),
    }


@pytest.mark.parametrize("settings, message", [
    ({"redis_port": "70000"}, "redis_port is 70000: a TCP port is 1 to 65535"),
    ({"redis_maxmemory_policy": "allkeys-lru"}, "redis_maxmemory_policy is allkeys-lru: only noeviction keeps every"),
    ({"redis_save_rules": []}, "redis_save_rules is [] (no snapshots): this weakens what keeps sessions on disk."),
    ({"redis_rdbchecksum": "no"}, "redis_rdbchecksum is false (a damaged dump.rdb would load without error)"),
    ({"redis_appendonly": "false"}, "set redis_accept_weaker_durability: true to accept it on purpose"),
    ({"redis_bind": ["10.0.0.5"]}, 'redis_bind is ["10.0.0.5"]: add 127.0.0.1 (or ::1)'),
    ({"redis_save_timeout": "soon"}, "redis_save_timeout"),
])
def test_settings_redis_would_refuse_or_that_cost_sessions_change_nothing_on_the_host(users, settings, message):
    before = host_state()
    result = playbook("site.yml", settings)
    assert result.returncode != 0
    assert message in result.text, result.text[-3000:]
    assert host_state() == before
    # Refused in the pre-flight, before the Redis play.
    assert "PLAY [Provision Redis" not in result.stdout and "PLAY [Provision" not in result.stdout


def test_values_given_as_strings_are_used_as_their_types(users):
    settled = playbook("site.yml")  # the tests before left releases and settings the restart proof has not seen
    assert settled.returncode == 0, settled.text[-3000:]
    before = host_state()
    result = playbook("site.yml", "-e", "redis_save_timeout=600", "-e", "redis_tune_kernel=false",
                      "-e", "pulse_ready_timeout=60")  # the scenario's own value, as a string
    assert result.returncode == 0, result.text[-3000:]
    assert recap_changed(result) == 0 and host_state() == before


def test_a_redis_port_held_by_another_program_is_refused(users):
    before = host_state()
    sh("systemd-run --unit squatter-6390 python3 -c \"import socket, time; s = socket.socket(); "
       "s.bind(('127.0.0.1', 6390)); s.listen(); time.sleep(600)\"")
    try:
        time.sleep(1)
        result = playbook("site.yml", {"redis_port": 6390})
    finally:
        sh("systemctl stop squatter-6390", check=False)
    assert result.returncode != 0
    assert re.search(r"Port 6390 \(redis_port\) is held by python3 pid \d+, not by Redis", result.text)
    after = host_state()
    assert after == before


def test_a_corrupt_archive_or_one_of_another_commit_is_refused(users, workdir):
    before = (pulse_pid(), current_release(), sh("sha256sum %s" % ENV_FILE).stdout)
    corrupt = Path(workdir) / "corrupt.tar.gz"
    corrupt.write_bytes(ARCHIVE.read_bytes()[:100000])
    result = playbook("pulse.yml", {"pulse_archive": str(corrupt)})
    assert result.returncode != 0 and str(corrupt) in result.text
    other = Path(workdir) / "other-commit.tar.gz"
    with tarfile.open(ARCHIVE) as source, io.BytesIO() as buffer:
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT,
                          pax_headers={"comment": "1" * 40}) as target:
            for member in source.getmembers():
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
        other.write_bytes(gzip.compress(buffer.getvalue()))
    result = playbook("pulse.yml", {"pulse_archive": str(other)})
    assert result.returncode != 0
    assert "1" * 40 in result.text and COMMIT in result.text
    unchanged(before)


def test_git_that_cannot_be_reached_names_the_archive_option(users):
    before = (pulse_pid(), current_release(), sh("sha256sum %s" % ENV_FILE).stdout)
    result = playbook("pulse.yml", {"pulse_archive": "", "pulse_git_repo": "http://127.0.0.1:9/lnflash/pulse.git"})
    assert result.returncode != 0
    assert "could not reach http://127.0.0.1:9/lnflash/pulse.git" in result.text
    assert "-e pulse_archive=PATH" in result.text and "make deploy PULSE_ARCHIVE=PATH" in result.text
    unchanged(before)


def test_a_port_held_by_another_program_is_refused(users):
    sh("systemd-run --unit squatter python3 -m http.server 3100 --bind 127.0.0.1")
    try:
        time.sleep(1)
        before = (pulse_pid(), current_release(), sh("sha256sum %s" % ENV_FILE).stdout)
        result = playbook("pulse.yml", {"pulse_port": 3100})
        assert result.returncode != 0
        assert re.search(r"Port 3100 \(pulse_port\) is held by python3 pid \d+, not by Pulse", result.text)
        unchanged(before)
    finally:
        sh("systemctl stop squatter", check=False)


def test_verify_names_the_cause_when_redis_is_down(users):
    sh("systemctl stop redis-server")
    try:
        result = playbook("verify.yml")
    finally:
        sh("systemctl start redis-server")
    assert result.returncode != 0
    assert "Verification on %s: FAIL" % HOST in result.stdout
    assert "FAIL  Redis answers  no answer" in result.stdout
    assert "cannot read persistence on Redis at 127.0.0.1:6379: connection refused (is redis-server running" \
        in result.text
    wait_ready()
    assert found_by_pulse() == 1000


def test_verify_names_misconf_when_redis_cannot_save(users):
    redis_cli = "redis-cli --no-auth-warning -a %s " % os.environ["REDIS_PASSWORD"]
    sh("chmod 0550 /var/lib/redis && %s BGSAVE" % redis_cli)
    try:
        deadline = time.monotonic() + 30
        while "rdb_last_bgsave_status:err" not in sh(redis_cli + "INFO persistence").stdout:
            assert time.monotonic() < deadline, "the save did not fail"
            time.sleep(0.5)
        result = playbook("verify.yml")
    finally:
        sh("chmod 0750 /var/lib/redis && %s BGSAVE" % redis_cli)
    assert result.returncode != 0
    text = said(result)
    assert "FAIL canary user linked failed (the cause is below)" in text
    assert "MISCONF: Redis refuses writes until a background save succeeds" in text
    assert "cannot create sessions with Pulse's code: MISCONF Redis is configured to save RDB snapshots" in text
    assert "Replacement index" not in text
    deadline = time.monotonic() + 30
    while "rdb_last_bgsave_status:ok" not in sh(redis_cli + "INFO persistence").stdout:
        assert time.monotonic() < deadline, "the save after the repair did not succeed"
        time.sleep(0.5)
    assert found_by_pulse() == 1000


# --- key drift -----------------------------------------------------------------------
def test_a_changed_encryption_key_stops_site_yml_before_pulse_restarts(users):
    env_before = sh("sha256sum %s" % ENV_FILE).stdout
    pid = pulse_pid()
    new_key = {"pulse_encryption_key": "another-encryption-key-0123456789abcdef-XYZ"}
    refused = playbook("site.yml", new_key)
    assert refused.returncode != 0
    assert "ENCRYPTION_KEY in the vault no longer matches what this host recorded" in refused.text
    overridden = playbook("site.yml", new_key, {"pulse_keys_accept_change": True})
    assert overridden.returncode != 0
    assert "none of the 200 sampled opens with the ENCRYPTION_KEY and ENCRYPTION_SALT" in overridden.text
    assert "it was NOT restarted" in overridden.text
    assert sh("sha256sum %s" % ENV_FILE).stdout == env_before
    assert pulse_pid() == pid
    assert OLD_KEY not in refused.text + overridden.text
    assert new_key["pulse_encryption_key"] not in refused.text + overridden.text
    assert found_by_pulse() == 1000


def test_a_lookup_with_wrong_keys_deletes_nothing(users):
    """Pulse deletes what it cannot decrypt; `pulse sessions find` runs it through a read-only Redis user."""
    dbsize = "REDISCLI_AUTH=$REDIS_PASSWORD redis-cli --no-auth-warning DBSIZE"
    before = sh(SETTINGS_SOURCE + dbsize).stdout
    sh("cp -p %s /root/pulse.env.saved && sed -i 's/^ENCRYPTION_KEY=.*/ENCRYPTION_KEY=\"%s\"/' %s"
       % (ENV_FILE, "wrong-encryption-key-0123456789abcdef-XYZ", ENV_FILE))
    try:
        assert pulse_sessions("find", USERS[:50]) == {"action": "find", "read_only": True, "asked": 50, "found": 0,
                                                     "missing": 50}
    finally:
        sh("cp -p /root/pulse.env.saved %s && rm /root/pulse.env.saved" % ENV_FILE)
    assert sh(SETTINGS_SOURCE + dbsize).stdout == before
    assert "pulse-ops-readonly" not in sh(SETTINGS_SOURCE + "REDISCLI_AUTH=$REDIS_PASSWORD redis-cli "
                                          "--no-auth-warning ACL USERS").stdout
    assert found_by_pulse() == 1000
