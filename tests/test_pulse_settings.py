"""filter_plugins/pulse_settings.py: the pre-flight's conversion and checks of the redis role's settings.

Each bad input is refused with a message that names the variable, the rule and the fix (never a secret);
what an operator types with -e (strings) is converted as the inventory's typed values would be."""

import importlib.util

import pytest
from conftest import ROOT

_spec = importlib.util.spec_from_file_location("pulse_settings", ROOT / "filter_plugins" / "pulse_settings.py")
pulse_settings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pulse_settings)

PASSWORD = "test-only-password-0123456789"  # noqa: S105 - test-only value
GOOD = {"redis_requirepass": PASSWORD}


def check(**changes):
    return pulse_settings.role_settings(dict(GOOD, **changes), "redis")


def test_defaults_pass_and_the_public_settings_hold_no_secret():
    result = check()
    assert result["problems"] == []
    assert result["settings"]["port"] == 6379
    assert result["settings"]["save_rules"] == ["900 1", "300 10", "60 10000"]
    assert "requirepass" not in result["settings"] and PASSWORD not in repr(result)


@pytest.mark.parametrize("given, name, expected", [
    ({"redis_port": "6380"}, "port", 6380),
    ({"redis_port": 6380.0}, "port", 6380),
    ({"redis_appendonly": "true"}, "appendonly", True),
    ({"redis_protected_mode": "yes"}, "protected_mode", True),
    ({"redis_tune_kernel": "false"}, "tune_kernel", False),
    ({"redis_tune_kernel": "0"}, "tune_kernel", False),
    ({"redis_save_timeout": "600"}, "save_timeout", 600),
    ({"redis_bind": "127.0.0.1,::1"}, "bind", ["127.0.0.1", "::1"]),
    ({"redis_maxmemory": 1073741824}, "maxmemory", "1073741824"),
    ({"redis_accept_weaker_durability": "true", "redis_appendonly": "false"}, "appendonly", False),
])
def test_values_typed_as_strings_are_converted_as_typed_ones_would_be(given, name, expected):
    result = check(**given)
    assert result["problems"] == []
    assert result["settings"][name] == expected


BAD = [
    # types
    ({"redis_port": "six"}, 'redis_port is "six": it must be a whole number'),
    ({"redis_port": "6379.5"}, 'redis_port is "6379.5": it must be a whole number'),
    ({"redis_port": 6379.5}, "redis_port is 6379.5: it must be a whole number"),
    ({"redis_port": True}, "redis_port is true: it must be a whole number"),
    ({"redis_port": [6379]}, "redis_port is [6379]: it must be a whole number"),
    ({"redis_appendonly": "maybe"}, 'redis_appendonly is "maybe": it must be true or false'),
    ({"redis_rdbchecksum": "2"}, 'redis_rdbchecksum is "2": it must be true or false'),
    ({"redis_tune_kernel": {"a": 1}}, 'redis_tune_kernel is {"a": 1}: it must be true or false'),
    ({"redis_save_rules": {"900": 1}}, 'redis_save_rules is {"900": 1}: it must be a list of strings'),
    ({"redis_save_timeout": "soon"}, 'redis_save_timeout is "soon": it must be a whole number'),
    ({"redis_restart_timeout": "10 min"}, 'redis_restart_timeout is "10 min": it must be a whole number'),
    ({"redis_maxmemory": ["1gb"]}, 'redis_maxmemory is ["1gb"]: it must be a string'),
    ({"redis_accept_weaker_durability": "please"}, 'redis_accept_weaker_durability is "please": it must be true or'),
    # choices
    ({"redis_appendfsync": "sometimes"}, 'redis_appendfsync is "sometimes": choose one of always, everysec, no'),
    ({"redis_appendfsync": False}, "redis_appendfsync is false: choose one of always, everysec, no (YAML reads a bare "
                                   "no or yes as a boolean: quote it)"),
    ({"redis_maxmemory_policy": "lru"}, 'redis_maxmemory_policy is "lru": choose one of noeviction'),
    # ranges
    ({"redis_port": 70000}, "redis_port is 70000: a TCP port is 1 to 65535 (Redis's own is 6379)."),
    ({"redis_port": "70000"}, "redis_port is 70000: a TCP port is 1 to 65535"),
    ({"redis_port": 0}, "redis_port is 0: a TCP port is 1 to 65535"),
    ({"redis_port": -1}, "redis_port is -1: a TCP port is 1 to 65535"),
    ({"redis_save_timeout": 0}, "redis_save_timeout is 0: give seconds from 1 to 86400."),
    ({"redis_aof_rewrite_timeout": "-5"}, "redis_aof_rewrite_timeout is -5: give seconds from 1 to 86400."),
    ({"redis_restart_timeout": 864000}, "redis_restart_timeout is 864000: give seconds from 1 to 86400."),
    ({"redis_maxmemory": "lots"}, 'redis_maxmemory is "lots": use bytes or a number with k, kb, m, mb, g or gb'),
    ({"redis_maxmemory": "-1"}, 'redis_maxmemory is "-1": use bytes'),
    ({"redis_maxmemory": "2tb"}, 'redis_maxmemory is "2tb": use bytes'),
    # policies
    ({"redis_maxmemory_policy": "allkeys-lru"}, "redis_maxmemory_policy is allkeys-lru: only noeviction keeps every"),
    ({"redis_maxmemory_policy": "volatile-ttl"}, "The others evict keys when memory is full, volatile-* ones too"),
    ({"redis_maxmemory_policy": "allkeys-lru", "redis_accept_weaker_durability": True},
     "redis_maxmemory_policy is allkeys-lru: only noeviction"),
    ({"redis_save_rules": []}, "redis_save_rules is [] (no snapshots): this weakens what keeps sessions on disk. Use "
                               "the defaults, or set redis_accept_weaker_durability: true to accept it on purpose."),
    ({"redis_appendonly": "false"}, "redis_appendonly is false (no AOF: a crash loses every write since the last"),
    ({"redis_appendonly": False}, "redis_appendonly is false (no AOF"),
    ({"redis_appendfsync": "no"}, 'redis_appendfsync is "no" (the kernel decides when the AOF reaches the disk)'),
    ({"redis_rdbchecksum": "no"}, "redis_rdbchecksum is false (a damaged dump.rdb would load without error)"),
    ({"redis_stop_writes_on_bgsave_error": "off"}, "redis_stop_writes_on_bgsave_error is false"),
    ({"redis_appendonly": "false", "redis_accept_weaker_durability": "false"}, "redis_appendonly is false"),
    # rules
    ({"redis_save_rules": ["900 1", "300"]}, 'redis_save_rules has invalid rules ["300"]: each rule is'),
    ({"redis_save_rules": ["900 -1", "abc 1", "60 10000"]}, 'redis_save_rules has invalid rules ["900 -1", "abc 1"]'),
    ({"redis_save_rules": ["0 1"]}, 'redis_save_rules has invalid rules ["0 1"]'),
    ({"redis_save_rules": ["900 1 300 10"]}, 'redis_save_rules has invalid rules ["900 1 300 10"]'),
    # paths
    ({"redis_data_dir": "relative/dir"}, 'redis_data_dir is "relative/dir": give an absolute path'),
    ({"redis_data_dir": "/"}, 'redis_data_dir is "/": give an absolute path'),
    ({"redis_data_dir": "/var"}, 'redis_data_dir is "/var": give an absolute path'),
    ({"redis_data_dir": "/etc/"}, 'redis_data_dir is "/etc/": give an absolute path'),
    ({"redis_data_dir": "/srv/redis data"}, 'redis_data_dir is "/srv/redis data": give an absolute path, without'),
    ({"redis_data_dir": '/srv/"x"'}, "give an absolute path, without spaces or quotes"),
    # names and addresses
    ({"redis_bind": ["10.0.0.5"]}, 'redis_bind is ["10.0.0.5"]: add 127.0.0.1 (or ::1)'),
    ({"redis_bind": []}, "redis_bind is []: give a list of IP addresses"),
    ({"redis_bind": ["127.0.0.1", "redis.example.com"]}, "give a list of IP addresses"),
    ({"redis_bind": ["127.0.0.1; rm -rf /"]}, "give a list of IP addresses"),
    # secrets (never shown)
    ({"redis_requirepass": ""}, "redis_requirepass is empty: Redis would accept any client."),
    ({"redis_requirepass": "Zq9x"}, "redis_requirepass is too short or holds spaces, quotes or backslashes"),
    ({"redis_requirepass": 'with "quotes" and spaces 0123'}, "redis_requirepass is too short or holds spaces"),
    ({"redis_requirepass": "back\\slash-0123456789abc"}, "redis_requirepass is too short or holds spaces"),
    ({"redis_requirepass": ["a-list-is-not-a-password"]}, "redis_requirepass (not shown): it must be a string"),
]


@pytest.mark.parametrize("given, message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_is_refused_by_name_with_the_fix(given, message):
    result = check(**given)
    assert result["problems"], given
    assert message in " ".join(result["problems"])
    for value in given.values():
        if given.get("redis_requirepass") is value and value:
            assert repr(value) not in repr(result) and str(value) not in " ".join(result["problems"])


PULSE = {"pulse_version": "4e63375b0d93ea162e7224de8b276cb5d184c47f"}


@pytest.mark.parametrize("given, message", [
    ({"pulse_port": "99999"}, "pulse_port is 99999: give 1 to 65535 (a TCP port)."),
    ({"pulse_ready_timeout": "soon"}, 'pulse_ready_timeout is "soon": it must be a whole number.'),
    ({"pulse_keep_releases": 1}, "pulse_keep_releases is 1: give 2 to 100 (the current release and one to roll back"),
    ({"pulse_heap_max_mb": "64"}, "pulse_heap_max_mb is 64: give 128 to 65536"),
    ({"pulse_redis_db": 16}, "pulse_redis_db is 16: give 0 to 15"),
    ({"pulse_whatsapp_web": "perhaps"}, 'pulse_whatsapp_web is "perhaps": it must be true or false.'),
    ({"pulse_whatsapp_instances": ["+1 876 555 0001"]}, "pulse_whatsapp_instances has 1 entries that are not a"),
    ({"pulse_devtools_ports": "9321-9222"}, 'pulse_devtools_ports is "9321-9222": give a port or a range'),
    ({"pulse_port": 9222}, "pulse_port 9222 lies in pulse_devtools_ports 9222-9321"),
    ({"pulse_node_runtime": "nodesource"}, 'pulse_node_runtime is "nodesource": choose one of bundled, debian.'),
    ({"pulse_accept_public_keys": ["jwt_secret"]}, 'pulse_accept_public_keys is ["jwt_secret"]: choose one of'),
    ({"pulse_extra_env": "A=1"}, 'pulse_extra_env is "A=1": it must be a mapping.'),
    ({"pulse_flash_api_key": ["not", "a", "string"]}, "pulse_flash_api_key (not shown): it must be a string."),
])
def test_pulse_settings_are_refused_by_name_with_the_fix(given, message):
    result = pulse_settings.role_settings(dict(PULSE, **given), "pulse")
    assert message in " ".join(result["problems"])


def test_pulse_settings_typed_as_strings_are_converted_and_hold_no_secret():
    result = pulse_settings.role_settings(dict(PULSE, pulse_ready_timeout="90", pulse_whatsapp_web="false",
                                               pulse_encryption_key="k" * 64), "pulse")
    assert result["problems"] == []
    assert result["settings"]["ready_timeout"] == 90 and result["settings"]["whatsapp_web"] is False
    assert "encryption_key" not in result["settings"] and "k" * 64 not in repr(result)


def test_at_least_forty_bad_inputs_are_covered():
    assert len(BAD) >= 40


def test_a_list_given_as_one_string_is_split_as_ansible_splits_it():
    assert check(redis_save_rules="900 1")["settings"]["save_rules"] == ["900 1"]
    assert check(redis_save_rules="900 1,60 10000")["settings"]["save_rules"] == ["900 1", "60 10000"]
