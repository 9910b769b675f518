"""ansible.cfg and the redis role's input checks, run through ansible-playbook."""

import json
import os
import re
import subprocess

import pytest
from conftest import ROOT

pytestmark = pytest.mark.playbook

GOOD = {"redis_requirepass": "test-only-password-0123456789"}


def ansible(*args, **extra_vars):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    command = list(args)
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def converge(**extra_vars):
    """Run the Redis play in check mode against the stand-in host."""
    return ansible("ansible-playbook", "playbooks/redis.yml", "--check", "-i", "tests/inventory-validate.yml",
                   **dict(GOOD, **extra_vars))


# The run lock comes first in every play that changes hosts (playbooks/tasks/lock.yml); it writes nothing in
# --check, and is not what these tests are about.
LOCK_TASKS = {"Take the run lock (one run at a time changes a host)"} | set(
    re.findall(r"^- name: (.*)$", (ROOT / "playbooks" / "tasks" / "lock.yml").read_text(), re.MULTILINE))


def tasks_run(output):
    return [name for name in re.findall(r"^TASK \[(.*?)\]", output, re.MULTILINE) if name not in LOCK_TASKS]


def test_undefined_variable_stops_a_play():
    result = ansible("ansible", "validate-only", "-i", "tests/inventory-validate.yml",
                     "-m", "ansible.builtin.debug", "-a", "msg={{ no_such_variable }}")
    assert result.returncode != 0
    assert "'no_such_variable' is undefined" in result.stdout + result.stderr


def test_ansible_cfg_points_at_the_project():
    dump = ansible("ansible-config", "dump", "--only-changed", "--format", "json")
    settings = {item["name"]: item["value"] for item in json.loads(dump.stdout) if "name" in item}
    assert settings["DEFAULT_ROLES_PATH"] == [str(ROOT / "roles")]
    assert settings["DEFAULT_MODULE_PATH"] == [str(ROOT / "library")]
    assert settings["DEFAULT_MODULE_UTILS_PATH"] == [str(ROOT / "module_utils")]
    assert settings["DEFAULT_HOST_LIST"] == [str(ROOT / "inventories/sandbox/hosts.yml")]
    assert settings["ANSIBLE_PIPELINING"] is True


@pytest.mark.parametrize("extra, message", [
    ({"redis_requirepass": ""}, "redis_requirepass is empty: Redis would accept any client."),
    ({"redis_requirepass": "short"}, "redis_requirepass is too short or holds spaces, quotes or backslashes"),
    ({"redis_requirepass": 'with "quotes" and spaces 0123'},
     "redis_requirepass is too short or holds spaces, quotes or backslashes"),
    ({"redis_save_rules": ["900 1", "300"]}, 'redis_save_rules has invalid rules ["300"]'),
    ({"redis_save_rules": ["900 -1", "abc 1", "60 10000"]}, 'redis_save_rules has invalid rules ["900 -1", "abc 1"]'),
    ({"redis_maxmemory": "lots"}, 'redis_maxmemory is "lots": use bytes or a number with k, kb, m, mb, g or gb'),
    ({"redis_data_dir": "relative/dir"}, 'redis_data_dir is "relative/dir": give an absolute path'),
    ({"redis_bind": ["10.0.0.5"]}, 'redis_bind is ["10.0.0.5"]: add 127.0.0.1 (or ::1)'),
    ({"redis_port": "70000"}, "redis_port is 70000: a TCP port is 1 to 65535"),
    ({"redis_maxmemory_policy": "allkeys-lru"}, "redis_maxmemory_policy is allkeys-lru: only noeviction keeps every"),
    ({"redis_appendonly": "false"}, "redis_appendonly is false (no AOF"),
])
def test_bad_input_fails_in_validation_before_any_change(extra, message):
    result = converge(**extra)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in " ".join(output.split())
    assert all(name.startswith("redis : ") for name in tasks_run(result.stdout))
    assert not any("Install Debian" in name for name in tasks_run(result.stdout))
    assert "changed=0" in result.stdout


@pytest.mark.parametrize("extra, message", [
    ({"redis_appendfsync": "sometimes"},
     "value of redis_appendfsync must be one of: always, everysec, no, got: sometimes"),
    ({"redis_port": "six"}, "argument 'redis_port' is of type str and we were unable to convert to int"),
    ({"redis_appendonly": "maybe"}, "argument 'redis_appendonly' is of type str and we were unable to convert to bool"),
    ({"redis_save_rules": {"900": 1}}, "argument 'redis_save_rules' is of type dict"),
])
def test_wrong_types_fail_before_any_task(extra, message):
    result = converge(**extra)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "Validation of arguments failed" in output
    assert message in output
    assert tasks_run(result.stdout) == [
        "redis : Validating arguments against arg spec 'main' - Redis that keeps Pulse's sessions on disk",
    ]


def test_password_never_printed_when_validation_fails():
    secret = "Secret-Value-That-Is-Far-Too-Long But Has Spaces"  # noqa: S105 - test-only value
    result = converge(redis_requirepass=secret)
    assert result.returncode != 0
    assert secret not in result.stdout + result.stderr
