"""An RDB-only Redis with keys, converged: the count holds, and holds after a restart."""

import os
import time

PASSWORD = os.environ["REDIS_PASSWORD"]
KEYS = os.environ["MIGRATION_KEYS"]


def cli(host, command):
    return host.check_output("REDISCLI_AUTH=%s redis-cli --no-auth-warning --raw %s" % (PASSWORD, command))


def wait_until_loaded(host):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = host.run("REDISCLI_AUTH=%s redis-cli --no-auth-warning INFO persistence" % PASSWORD)
        if "loading:0" in result.stdout:
            return
        time.sleep(0.5)
    raise AssertionError("Redis did not finish loading within 60 s")


def test_converge_kept_every_key_and_turned_aof_on(host):
    assert cli(host, "DBSIZE") == KEYS
    assert cli(host, "CONFIG GET appendonly").splitlines()[1] == "yes"
    assert host.file("/var/lib/redis/appendonlydir").is_directory


def test_every_key_survives_a_restart_with_aof_on(host):
    host.run_test("systemctl restart redis-server")
    wait_until_loaded(host)
    assert cli(host, "DBSIZE") == KEYS
    assert cli(host, "GET legacy:1234") == "value-1234"
