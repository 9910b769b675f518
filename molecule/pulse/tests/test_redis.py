"""Redis on the full-stack host after converge: files, service, network exposure, settings, crash.

Once molecule/default (a Redis-only host); the pulse host runs the same redis role."""

import os
import time

import pytest

PASSWORD = os.environ["REDIS_PASSWORD"]


def cli(host, command, auth=True):
    """Run redis-cli in the container; the password goes by environment, not argv."""
    env = "REDISCLI_AUTH=%s " % PASSWORD if auth else ""
    return host.run("%sredis-cli --no-auth-warning %s" % (env, command))


def test_service_runs_and_starts_at_boot(host):
    service = host.service("redis-server")
    assert service.is_running
    assert service.is_enabled


def test_data_dir_is_redis_only(host):
    data = host.file("/var/lib/redis")
    assert data.is_directory
    assert (data.user, data.group, data.mode) == ("redis", "redis", 0o750)


@pytest.mark.parametrize("path", ["/etc/redis/redis.conf", "/etc/redis/pulse-live.conf"])
def test_config_files_are_closed_to_others(host, path):
    conf = host.file(path)
    assert (conf.user, conf.group, conf.mode) == ("root", "redis", 0o640)


def test_etc_redis_stays_roots_through_debians_own_scripts(host):
    """Debian makes /etc/redis redis:redis 2770 (the redis user could replace redis.conf) and reapplies it when
    the package is configured; the statoverrides the role records keep it root's."""
    overrides = host.check_output("dpkg-statoverride --list | grep /etc/redis").splitlines()
    assert sorted(overrides) == ["root redis 640 /etc/redis/redis.conf", "root redis 750 /etc/redis"]
    host.check_output("DEBIAN_FRONTEND=noninteractive dpkg-reconfigure redis-tools 2>&1")
    etc = host.file("/etc/redis")
    assert (etc.user, etc.group, etc.mode) == ("root", "redis", 0o750)
    assert host.run("runuser -u redis -- touch /etc/redis/planted").rc != 0
    assert host.run("runuser -u redis -- cat /etc/redis/redis.conf").rc == 0


def test_password_is_in_the_live_file_only(host):
    assert host.file("/etc/redis/pulse-live.conf").contains("^requirepass ")
    assert not host.file("/etc/redis/redis.conf").contains("requirepass")


def test_listens_on_loopback_only(host):
    listeners = host.check_output("ss -Hltn 'sport = :6379'").splitlines()
    addresses = sorted(line.split()[3].rsplit(":", 1)[0] for line in listeners)
    assert addresses == ["127.0.0.1", "[::1]"]


def test_unauthenticated_ping_is_refused(host):
    assert "NOAUTH" in cli(host, "PING", auth=False).stdout
    assert cli(host, "PING").stdout.strip() == "PONG"


@pytest.mark.parametrize("name, value", [
    ("save", "900 1 300 10 60 10000"),
    ("appendonly", "yes"),
    ("appendfsync", "everysec"),
    ("stop-writes-on-bgsave-error", "yes"),
    ("rdbchecksum", "yes"),
    ("maxmemory-policy", "noeviction"),
    ("protected-mode", "yes"),
    ("dir", "/var/lib/redis"),
])
def test_running_settings(host, name, value):
    assert cli(host, "--raw CONFIG GET %s" % name).stdout.splitlines()[1] == value


def test_kernel_settings_where_the_host_allows(host):
    writable = host.run("test -w /proc/sys/vm/overcommit_memory").rc == 0
    sysctl_file = host.file("/etc/sysctl.d/30-redis.conf")
    if writable:
        assert host.sysctl("vm.overcommit_memory") == 1
        assert sysctl_file.contains("^vm.overcommit_memory *= *1")
    else:
        # Read-only /proc/sys (a container): the role says so and writes nothing.
        assert not sysctl_file.exists


def test_a_crash_loses_no_acknowledged_key(host):
    """1000 keys, 2 s for the AOF's everysec fsync, kill -9, systemd restarts Redis."""
    keys = " ".join("crash:%d" % i for i in range(1000))
    load = host.run("for i in $(seq 0 999); do echo \"SET crash:$i v$i\"; done "
                    "| REDISCLI_AUTH=%s redis-cli --no-auth-warning --pipe" % PASSWORD)
    assert "errors: 0, replies: 1000" in load.stdout
    time.sleep(2)
    pid = host.check_output("systemctl show -p MainPID --value redis-server")
    host.run_test("kill -9 %s" % pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new_pid = host.check_output("systemctl show -p MainPID --value redis-server")
        if new_pid not in ("0", pid) and cli(host, "PING").stdout.strip() == "PONG":
            break
        time.sleep(0.5)
    else:
        pytest.fail("systemd did not restart redis-server within 60 s after kill -9")
    assert cli(host, "EXISTS %s" % keys).stdout.strip() == "1000"
    cli(host, "DEL %s" % keys)
