"""The full stack on one host (tests run in order, sharing 1000 linked users)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
INVENTORY = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
HOST = "pulse-molecule-pulse"
USERS = 1000
ALL_ANSWER = {"200": USERS}
ENV_FILE = "/etc/pulse/pulse.env"
OLD_KEY = "molecule-only-encryption-key-0123456789abcdef"


def podman(*args, check=True, timeout=300, **kwargs):
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=check, **kwargs)


def sh(command, check=True):
    """Run a shell command in the container (faster than testinfra's backend for many calls)."""
    result = podman("exec", HOST, "bash", "-c", command, check=False)
    if check:
        assert result.returncode == 0, "%s: %s%s" % (command, result.stdout, result.stderr)
    return result


def users(action, count=USERS):
    script = (Path(__file__).parent / "users.py").read_text()
    result = podman("exec", "-i", HOST, "python3", "-", action, str(count), input=script)
    return json.loads(result.stdout)


def playbook(name, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    args = ["ansible-playbook", "playbooks/%s" % name, "-i", str(INVENTORY)]
    for item in extra:
        args += ["-e", json.dumps(item)] if isinstance(item, dict) else [item]
    result = subprocess.run(args, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900, check=False)
    result.text = " ".join((result.stdout + result.stderr).split())  # messages as one line, unwrapped
    return result


def current_release():
    return sh("basename $(readlink -f /opt/pulse/current)").stdout.strip()


def running_release():
    """The version the running app reports on /health (build_source stamps each release's own)."""
    health = sh("python3 -c 'import urllib.request; print(urllib.request.urlopen("
                "\"http://127.0.0.1:3000/health\").read().decode())'").stdout
    return json.loads(health)["version"]


def pulse_pid():
    return sh("systemctl show -p MainPID --value pulse").stdout.strip()


def wait_healthy(timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sh("pulse verify", check=False).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError("Pulse did not become healthy: %s" % sh("pulse status", check=False).stdout)


def build_source(tmp, version, broken=None):
    """A copy of reference-pulse; broken='exit' makes a build that never answers /health."""
    source = Path(tmp) / ("src-%s" % version)
    shutil.copytree(PROJECT / "reference-pulse", source, ignore=shutil.ignore_patterns("node_modules", "dist"))
    package = json.loads((source / "package.json").read_text())
    (source / "package.json").write_text(json.dumps(dict(package, version=version)))
    if broken == "exit":
        main = source / "src" / "main.js"
        main.write_text("process.exit(3);\n" + main.read_text())
    if broken == "no-lock":
        (source / "package-lock.json").unlink()
    return str(source)


@pytest.fixture(scope="module")
def linked():
    """1000 users linked through the app, all answering before any test disturbs them."""
    assert users("link") == {"201": USERS}
    assert users("check") == ALL_ANSWER
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


@pytest.mark.parametrize("path, owner, mode", [
    ("/var/lib/pulse", ("pulse", "pulse"), 0o750),
    ("/var/lib/pulse/whatsapp-sessions", ("pulse", "pulse"), 0o700),
    ("/var/lib/pulse/credentials", ("pulse", "pulse"), 0o750),
    ("/var/lib/pulse/logs", ("pulse", "pulse"), 0o750),
    ("/opt/pulse", ("root", "root"), 0o755),
    ("/opt/pulse/releases/1.0.0", ("root", "root"), 0o755),
    ("/opt/pulse/releases/1.0.0/dist/main.js", ("root", "root"), 0o644),
    (ENV_FILE, ("root", "pulse"), 0o640),
    ("/etc/pulse/keys.fingerprint", ("root", "root"), 0o600),
    ("/etc/systemd/system/pulse.service", ("root", "root"), 0o644),
    ("/usr/local/bin/pulse", ("root", "root"), 0o755),
])
def test_owners_and_modes(host, path, owner, mode):
    item = host.file(path)
    assert item.exists
    assert (item.user, item.group) == owner
    assert item.mode == mode


def test_env_file_is_readable_by_pulse_only_and_holds_every_setting(host):
    assert sh("runuser -u pulse -- cat %s >/dev/null" % ENV_FILE, check=False).returncode == 0
    assert sh("runuser -u nobody -- cat %s" % ENV_FILE, check=False).returncode != 0
    names = {line.split("=", 1)[0] for line in host.file(ENV_FILE).content_string.splitlines()
             if line and not line.startswith("#")}
    assert names == {
        "NODE_ENV", "PORT", "LOG_LEVEL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB", "SESSION_EXPIRY",
        "ENCRYPTION_KEY", "ENCRYPTION_SALT", "HASH_SALT", "JWT_SECRET", "SESSION_SECRET", "WEBHOOK_SECRET",
        "RABBITMQ_URL", "FLASH_API_URL", "FLASH_API_KEY", "GEMINI_API_KEY", "ADMIN_PHONE_NUMBERS",
        "CORS_ALLOWED_ORIGINS", "WHATSAPP_SESSION_PATH", "GOOGLE_CLOUD_KEYFILE", "ELEVENLABS_API_KEY",
        "ELEVENLABS_VOICE_ID"}
    assert host.file(ENV_FILE).contains('^NODE_ENV="production"$')
    assert host.file(ENV_FILE).contains('^WHATSAPP_SESSION_PATH="/var/lib/pulse/whatsapp-sessions"$')


def test_release_links_its_state_and_env_outside_itself(host):
    assert host.file("/opt/pulse/current").linked_to == "/opt/pulse/releases/1.0.0"
    release = "/opt/pulse/releases/1.0.0"
    assert host.file(release + "/.env").linked_to == ENV_FILE
    for name in ("whatsapp-sessions", "credentials", "logs"):
        assert host.file("%s/%s" % (release, name)).linked_to == "/var/lib/pulse/" + name
    assert json.loads(host.file(release + "/.pulse-release").content_string)["version"] == "1.0.0"


def test_unit_is_sandboxed_and_ordered_after_redis():
    keys = ["User", "Group", "WorkingDirectory", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
            "PrivateDevices", "ReadWritePaths", "Restart", "RestrictSUIDSGID", "CapabilityBoundingSet",
            "ProtectKernelTunables", "ProtectControlGroups", "After", "Wants", "UMask"]
    shown = sh("systemctl show pulse " + " ".join("-p " + k for k in keys)).stdout
    unit = dict(line.split("=", 1) for line in shown.splitlines())
    assert (unit["User"], unit["Group"]) == ("pulse", "pulse")
    assert unit["WorkingDirectory"] == "/opt/pulse/current"
    assert unit["NoNewPrivileges"] == "yes"
    assert unit["ProtectSystem"] == "strict"
    assert unit["ProtectHome"] == "yes"
    assert unit["PrivateTmp"] == "yes"
    assert unit["PrivateDevices"] == "yes"
    assert unit["ReadWritePaths"] == "/var/lib/pulse"
    assert unit["Restart"] == "on-failure"
    assert unit["RestrictSUIDSGID"] == "yes"
    assert unit["CapabilityBoundingSet"] == ""
    assert unit["ProtectKernelTunables"] == "yes"
    assert unit["ProtectControlGroups"] == "yes"
    assert unit["UMask"] == "0027"
    assert "redis-server.service" in unit["After"].split()
    assert "redis-server.service" in unit["Wants"].split()


def test_the_pulse_user_cannot_change_its_code_or_config_even_outside_the_sandbox():
    probe = "runuser -u pulse -- touch %s"
    for path in ("/opt/pulse/current/dist/x", "/opt/pulse/current/x", "/opt/pulse/releases/x", "/etc/pulse/x"):
        assert sh(probe % path, check=False).returncode != 0, path
    assert sh(probe % "/var/lib/pulse/whatsapp-sessions/probe", check=False).returncode == 0
    sh("rm -f /var/lib/pulse/whatsapp-sessions/probe")


def test_operator_command():
    assert sh("pulse verify").stdout.splitlines()[-1] == "PASS: pulse.service active, release 1.0.0, healthy"
    assert "release: 1.0.0" in sh("pulse status").stdout
    assert "reference-pulse listening" in sh("pulse logs -n 200").stdout
    wrong = sh("pulse frobnicate", check=False)
    assert wrong.returncode == 2
    assert "usage: pulse start|stop|restart|status|logs" in wrong.stderr


# --- 1000 users through restarts -------------------------------------------------
def test_1000_users_answer_after_a_redis_restart(linked):
    sh("systemctl restart redis-server")
    wait_healthy()
    assert users("check") == ALL_ANSWER


def test_1000_users_answer_after_pulse_restart(linked):
    before = pulse_pid()
    sh("pulse restart")
    assert pulse_pid() != before
    assert users("check") == ALL_ANSWER


def test_1000_users_answer_after_redis_is_killed(linked):
    time.sleep(2)  # appendfsync everysec: what was acknowledged 2 s ago is on disk
    sh("kill -9 $(systemctl show -p MainPID --value redis-server)")
    deadline = time.monotonic() + 60
    while sh("systemctl is-active redis-server", check=False).stdout.strip() != "active":
        assert time.monotonic() < deadline, "redis-server was not restarted by systemd"
        time.sleep(1)
    wait_healthy()
    assert users("check") == ALL_ANSWER


def test_1000_users_answer_after_a_reboot(linked):
    podman("restart", "--time", "30", HOST)
    deadline = time.monotonic() + 120
    while podman("exec", HOST, "systemctl", "is-system-running", check=False).stdout.strip() not in (
            "running", "degraded"):
        assert time.monotonic() < deadline, "the container did not finish booting"
        time.sleep(1)
    wait_healthy()
    assert users("check") == ALL_ANSWER


# --- deploys -----------------------------------------------------------------------
def test_a_new_release_keeps_whatsapp_sessions_and_every_session(linked, workdir):
    sh("runuser -u pulse -- sh -c 'mkdir -p /var/lib/pulse/whatsapp-sessions/session-main && "
       "echo login > /var/lib/pulse/whatsapp-sessions/session-main/Default'")
    result = playbook("site.yml", {"pulse_version": "1.0.1",
                                   "pulse_artifact_source_dir": build_source(workdir, "1.0.1")})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Verification PASSED" in result.text
    assert current_release() == running_release() == "1.0.1"
    assert sh("basename $(readlink /opt/pulse/previous)").stdout.strip() == "1.0.0"
    assert sh("cat /var/lib/pulse/whatsapp-sessions/session-main/Default").stdout == "login\n"
    assert users("check") == ALL_ANSWER


def test_rollback_returns_to_the_previous_release(linked):
    result = playbook("rollback.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "runs release 1.0.0 again" in result.text
    assert current_release() == running_release() == "1.0.0"
    assert sh("basename $(readlink /opt/pulse/previous)").stdout.strip() == "1.0.1"
    assert users("check") == ALL_ANSWER


def closed_tarball(workdir, version):
    """A release tarball from a CI that packed under umask 077: nothing readable by group or others."""
    built = Path(workdir) / ("pulse-%s.tar.gz" % version)
    subprocess.run([str(PROJECT / "roles/pulse/files/build-artifact.sh"), build_source(workdir, version), version,
                    str(built)], check=True, capture_output=True)
    tree = Path(workdir) / ("tree-%s" % version)
    tree.mkdir()
    subprocess.run(["tar", "-C", str(tree), "-xzf", str(built)], check=True)
    subprocess.run(["chmod", "-R", "go-rwx", str(tree)], check=True)
    closed = Path(workdir) / ("closed-%s.tar.gz" % version)
    subprocess.run(["tar", "-C", str(tree), "-czf", str(closed), "."], check=True)
    return str(closed)


def test_only_the_newest_releases_are_kept(linked, workdir):
    # 1.0.2 comes as a ready tarball (pulse_artifact_file) whose files only root could read.
    for version, source in (("1.0.2", {"pulse_artifact_file": closed_tarball(workdir, "1.0.2")}),
                            ("1.0.3", {"pulse_artifact_source_dir": build_source(workdir, "1.0.3")})):
        result = playbook("pulse.yml", dict(source, pulse_version=version))
        assert result.returncode == 0, result.stdout[-3000:]
        assert running_release() == version
    assert sh("ls /opt/pulse/releases").stdout.split() == ["1.0.1", "1.0.2", "1.0.3"]
    assert current_release() == running_release() == "1.0.3"
    assert sh("cat /var/lib/pulse/whatsapp-sessions/session-main/Default").stdout == "login\n"
    assert users("check") == ALL_ANSWER


# --- bad input: clear errors, the running release keeps running --------------------
def test_an_unknown_version_is_refused_before_the_host_changes(linked):
    result = playbook("pulse.yml", {"pulse_version": "9.9.9", "pulse_artifact_source_dir": ""})
    assert result.returncode != 0
    assert "No release tarball for pulse_version 9.9.9" in result.text
    assert "the running release keeps running" in result.text
    assert current_release() == running_release() == "1.0.3"
    assert sh("ls -A /opt/pulse/releases").stdout.split() == ["1.0.1", "1.0.2", "1.0.3"]


def test_an_unbuildable_source_is_refused_before_the_host_changes(linked, workdir):
    result = playbook("pulse.yml", {"pulse_version": "1.0.4",
                                    "pulse_artifact_source_dir": build_source(workdir, "1.0.4", broken="no-lock")})
    assert result.returncode != 0
    assert "cannot build Pulse 1.0.4" in result.text
    assert "no package-lock.json there" in result.text
    assert current_release() == running_release() == "1.0.3"


def test_a_release_that_never_gets_healthy_is_switched_back(linked, workdir):
    pid = pulse_pid()
    result = playbook("pulse.yml", {"pulse_version": "1.0.5", "pulse_health_timeout": 8,
                                    "pulse_artifact_source_dir": build_source(workdir, "1.0.5", broken="exit")})
    assert result.returncode != 0
    assert "Pulse release 1.0.5 did not answer GET http://127.0.0.1:3000/health with status ok within 8 s" \
        in result.text
    assert "Switched back to 1.0.3, which is running and healthy" in result.text
    assert current_release() == running_release() == "1.0.3"
    assert pulse_pid() != pid
    assert users("check") == ALL_ANSWER


def test_a_failed_start_with_no_release_to_return_to_says_pulse_is_down(linked):
    sh("rm /opt/pulse/current /opt/pulse/previous")  # as on a first deploy: no release to return to
    try:
        result = playbook("pulse.yml", {"pulse_version": "1.0.5", "pulse_health_timeout": 8})
        assert result.returncode != 0
        assert "Pulse release 1.0.5 did not answer" in result.text
        assert "There is no other release to return to: Pulse is down." in result.text
        assert sh("pulse verify", check=False).returncode != 0
    finally:
        repaired = playbook("pulse.yml", {"pulse_version": "1.0.3"})
    assert repaired.returncode == 0, repaired.stdout[-3000:]
    assert current_release() == running_release() == "1.0.3"
    assert users("check") == ALL_ANSWER


def test_verify_names_the_cause_when_redis_is_down(linked):
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
    wait_healthy()
    assert users("check") == ALL_ANSWER


# --- key drift -----------------------------------------------------------------------
def test_a_changed_encryption_key_stops_site_yml_before_pulse_restarts(linked):
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
    assert users("check") == ALL_ANSWER


# --- source: git, built on the host -----------------------------------------------------
GIT_APP = {
    "package.json": json.dumps({"name": "git-app", "version": "2.0.0", "private": True,
                                "scripts": {"build": "mkdir -p dist && cp src/main.js dist/main.js"}}),
    # No dependencies, so `npm ci` needs no registry (the container cannot reach it).
    "package-lock.json": json.dumps({"name": "git-app", "version": "2.0.0", "lockfileVersion": 3, "requires": True,
                                     "packages": {"": {"name": "git-app", "version": "2.0.0"}}}),
    "src/main.js": "require('http').createServer((q, r) => r.end(JSON.stringify({status: 'ok', version: "
                   "'2.0.0'}))).listen(process.env.PORT);\n",
}


def test_a_git_source_is_cloned_and_built_on_the_host_as_the_pulse_user(linked):
    for name, content in GIT_APP.items():
        podman("exec", "-i", HOST, "bash", "-c", "mkdir -p /srv/git-app/$(dirname %s) && cat > /srv/git-app/%s"
               % (name, name), input=content)
    # The repository the role clones; git for it is the one the role will install anyway.
    sh("apt-get install -y -qq git >/dev/null && cd /srv/git-app && git init -q && git add -A && "
       "git -c user.name=t -c user.email=t@t commit -qm app && git tag v2.0.0")
    result = playbook("pulse.yml", {"pulse_source": "git", "pulse_git_repo": "/srv/git-app", "pulse_version": "v2.0.0"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert current_release() == "v2.0.0"
    assert running_release() == "2.0.0"
    record = json.loads(sh("cat /opt/pulse/releases/v2.0.0/.pulse-release").stdout)
    commit = sh("git -C /srv/git-app rev-parse HEAD").stdout.strip()
    assert (record["source"], record["checksum"]) == ("git", commit)
    assert sh("find /opt/pulse/releases/v2.0.0 ! -user root | head -1").stdout == ""
    assert sh("cat /var/lib/pulse/whatsapp-sessions/session-main/Default").stdout == "login\n"


def test_an_unknown_git_ref_is_refused_and_the_running_release_keeps_running():
    result = playbook("pulse.yml", {"pulse_source": "git", "pulse_git_repo": "/srv/git-app", "pulse_version": "v9.9.9"})
    assert result.returncode != 0
    assert "Release v9.9.9 could not be prepared (Clone Pulse at v9.9.9:" in result.text
    assert "Nothing was switched; the running release keeps running." in result.text
    assert current_release() == "v2.0.0"
    assert ".v9.9.9.partial" not in sh("ls -A /opt/pulse/releases").stdout


def test_rollback_from_the_git_release_brings_every_user_back(linked):
    result = playbook("rollback.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert current_release() == running_release() == "1.0.3"
    assert users("check") == ALL_ANSWER


def test_chromium_is_installed_from_debian_when_asked():
    """Check mode only (the download is large): apt resolves the packages the role would install."""
    pid, env_before = pulse_pid(), sh("sha256sum %s" % ENV_FILE).stdout
    result = playbook("pulse.yml", "--check", {"pulse_install_chromium": True})
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"Install Node\.js and the libraries pulse-ops' session checks use\] \**\s*changed:", result.text)
    assert sh("dpkg -s chromium", check=False).returncode != 0  # check mode installed nothing
    assert (pulse_pid(), sh("sha256sum %s" % ENV_FILE).stdout) == (pid, env_before)
