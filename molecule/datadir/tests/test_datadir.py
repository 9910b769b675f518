"""Data in /srv/redis-data: opened by a drop-in, written by saves, and not moved away empty."""

import json
import os
import subprocess

PASSWORD = os.environ["REDIS_PASSWORD"]
DATA = "/srv/redis-data"


def cli(host, command):
    return host.check_output("REDISCLI_AUTH=%s redis-cli --no-auth-warning --raw %s" % (PASSWORD, command))


def test_data_dir_is_redis_only(host):
    data = host.file(DATA)
    assert data.is_directory
    assert (data.user, data.group, data.mode) == ("redis", "redis", 0o750)


def test_unit_may_write_the_moved_dir(host):
    dropin = host.file("/etc/systemd/system/redis-server.service.d/pulse-data-dir.conf")
    assert dropin.contains("^ReadWritePaths=%s$" % DATA)
    assert DATA in host.check_output("systemctl show -p ReadWritePaths --value redis-server")


def test_saves_land_in_the_moved_dir(host):
    assert cli(host, "CONFIG GET dir").splitlines()[1] == DATA
    before = int(cli(host, "LASTSAVE"))
    cli(host, "SET datadir:probe 1")
    cli(host, "SAVE")
    assert int(cli(host, "LASTSAVE")) >= before
    assert host.file(DATA + "/dump.rdb").user == "redis"
    assert host.file(DATA + "/appendonlydir").is_directory


def test_moving_a_live_dataset_to_an_empty_dir_is_refused_and_changes_nothing(host):
    keys = cli(host, "DBSIZE")
    config_before = host.file("/etc/redis/redis.conf").md5sum
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    env = dict(os.environ, ANSIBLE_ROLES_PATH=project + "/roles", ANSIBLE_LIBRARY=project + "/library",
               ANSIBLE_MODULE_UTILS=project + "/module_utils", ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        ["ansible-playbook", project + "/playbooks/redis.yml", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
         "-e", json.dumps({"redis_data_dir": "/srv/elsewhere"})],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert ("Redis holds %s keys in %s, and /srv/elsewhere has no dump.rdb or appendonlydir: a restart there "
            "would start empty. Nothing was changed." % (keys, DATA)) in output
    assert "changed=0" in output
    assert not host.file("/srv/elsewhere").exists
    assert host.file("/etc/redis/redis.conf").md5sum == config_before
    assert cli(host, "CONFIG GET dir").splitlines()[1] == DATA
    assert cli(host, "DBSIZE") == keys
