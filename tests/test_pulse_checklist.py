"""filter_plugins/pulse_checklist.py: each item PASSes on a healthy host's facts and FAILs when broken."""

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "filter_plugins"))
from pulse_checklist import checklist, checklist_line, checklist_markdown  # noqa: E402

FP = {"encryption_key": "0b61ea8d94ea8484", "encryption_salt": "b09a2d7cffa3c616", "hash_salt": "d4d3dee8b7d22231"}
HEALTHY = {
    "redis": {
        "config": {"save": "900 1 300 10 60 10000", "appendonly": "yes"},
        "persistence": {"aof_last_write_status": "ok", "aof_last_bgrewrite_status": "ok"},
        "data_dir": {"path": "/var/lib/redis", "checked": True, "exists": True, "owner": "redis", "group": "redis",
                     "mode": "0750", "fstype": "ext4", "writable_by_server": True},
        "server": {"process_id": 4242},
    },
    "conf_lines": ["save 900 1 300 10 60 10000", "appendonly yes"],
    "lastsave": {"changed": True, "duration": 0.05, "lastsave_before": 1795600000, "lastsave": 1795600001},
    "host_keys": dict(FP), "vault_keys": dict(FP), "record_keys": dict(FP), "host_key_problems": [],
    "redis_pids": ["4242"], "redis_main_pid": "4242", "redis_target": "127.0.0.1:6379",
    "pulse": True,
    "health": {"status": 200, "json": {"status": "ok"}},
    "elevenlabs": {"state": "unset", "msg": "no ElevenLabs key"},
}
IDS = ["save_rules", "aof", "lastsave", "data_dir", "data_dir_persistent", "encryption_key", "encryption_salt",
       "hash_salt", "one_redis", "pulse_health", "elevenlabs"]


def judged(facts):
    return dict((item["id"], item) for item in checklist(facts))


def test_a_healthy_host_passes_every_item_in_the_guides_order():
    items = checklist(HEALTHY)
    assert [item["id"] for item in items] == IDS
    assert all(item["status"] == "PASS" for item in items), items


def broken(path, value):
    facts = copy.deepcopy(HEALTHY)
    target = facts
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    return facts


@pytest.mark.parametrize("ident, facts, cause", [
    ("save_rules", broken(("redis", "config", "save"), ""), "no save rules"),
    ("save_rules", broken(("conf_lines",), ["appendonly yes"]), "are not the config file's (none)"),
    ("aof", broken(("redis", "config", "appendonly"), "no"), "appendonly is no"),
    ("aof", broken(("conf_lines",), ["save 900 1 300 10 60 10000"]), "not in the config file"),
    ("aof", broken(("redis", "persistence", "aof_last_write_status"), "err"), "aof_last_write_status is err"),
    ("lastsave", broken(("lastsave",), {"failed": False, "msg": "MISCONF", "lastsave_before": 1795600000,
                                        "lastsave": 1795600000}), "the probe's save failed: MISCONF"),
    ("lastsave", broken(("lastsave",), {"failed": False, "msg": "cannot connect"}), "failed: cannot connect"),
    ("data_dir", broken(("redis", "data_dir", "mode"), "0777"), "mode 0777 lets others in"),
    ("data_dir", broken(("redis", "data_dir", "owner"), "root"), "owned by root:redis, not redis:redis"),
    ("data_dir", broken(("redis", "data_dir", "exists"), False), "does not exist"),
    ("data_dir_persistent", broken(("redis", "data_dir", "fstype"), "tmpfs"), "is on tmpfs"),
    ("encryption_key", broken(("host_keys", "encryption_key"), "ffff"), "ENCRYPTION_KEY differs: host ffff"),
    ("encryption_key", broken(("host_key_problems",), ["encryption_key is 12 characters, shorter"]),
     "ENCRYPTION_KEY on the host: is 12 characters"),
    ("encryption_salt", broken(("vault_keys", "encryption_salt"), "ffff"), "vault ffff"),
    ("hash_salt", broken(("record_keys",), {"encryption_key": FP["encryption_key"],
                                            "encryption_salt": FP["encryption_salt"]}),
     "no fingerprint recorded for HASH_SALT"),
    ("one_redis", broken(("redis_pids",), ["4242", "5151"]), "2 redis-server processes"),
    ("one_redis", broken(("redis", "server", "process_id"), 5151), "is pid 5151, not redis-server.service's"),
    ("pulse_health", broken(("health",), {"status": -1, "msg": "Connection refused"}), "answered -1"),
    ("elevenlabs", broken(("elevenlabs",), {"state": "invalid", "msg": "ElevenLabs refuses the key"}), "refuses"),
    ("elevenlabs", broken(("elevenlabs",), {"state": "unreachable", "msg": "cannot reach"}), "cannot reach"),
])
def test_each_item_fails_with_its_cause_and_fix(ident, facts, cause):
    items = judged(facts)
    assert items[ident]["status"] == "FAIL"
    assert cause in items[ident]["detail"]
    assert items[ident]["fix"]
    assert [other for other in IDS if items[other]["status"] != "PASS"] == [ident]


def test_redis_unreachable_fails_its_items_with_the_cause():
    items = judged(broken(("redis",), {"failed": True, "msg": "connection refused"}))
    for ident in ("save_rules", "aof", "data_dir", "data_dir_persistent"):
        assert items[ident]["status"] == "FAIL" and "cannot read Redis: connection refused" in items[ident]["detail"]


def test_a_redis_only_host_skips_pulse_and_check_mode_skips_the_probe():
    items = judged(dict(broken(("pulse",), False), lastsave={"skipped": True}))
    assert [ident for ident in IDS if items[ident]["status"] == "SKIP"] == ["lastsave", "pulse_health", "elevenlabs"]


def test_the_report_reads_as_a_table_and_as_lines():
    report = {"host": "h", "at": "2026-11-25T00:00:00Z", "result": "FAIL",
              "items": checklist(broken(("redis", "config", "save"), ""))}
    text = checklist_markdown(report)
    assert text.startswith("# Pulse checklist: h\n\nFAIL at 2026-11-25T00:00:00Z: 10 PASS, 1 FAIL, 0 SKIP\n")
    assert "| Save rules present | FAIL | no save rules: Redis writes no snapshot | run playbooks/redis.yml" in text
    assert checklist_line(report["items"][0]).startswith("[FAIL] Save rules present: no save rules")
