"""filter_plugins/pulse_verify.py: when verify.yml's restart proof is due."""

import importlib.util

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("pulse_verify", ROOT / "filter_plugins" / "pulse_verify.py")
pulse_verify = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pulse_verify)

STATS = [
    {"item": "/etc/redis/redis.conf", "stat": {"exists": True, "islnk": False, "checksum": "ab12"}},
    {"item": "/etc/systemd/system/redis-server.service.d/pulse-data-dir.conf", "stat": {"exists": False}},
    {"item": "/opt/pulse/current", "stat": {"exists": True, "islnk": True, "lnk_source": "/opt/pulse/releases/r1"}},
]


def test_each_input_is_reduced_to_its_content_its_link_target_or_its_absence():
    assert pulse_verify.file_identities(STATS) == {
        "/etc/redis/redis.conf": "sha256:ab12",
        "/etc/systemd/system/redis-server.service.d/pulse-data-dir.conf": "absent",
        "/opt/pulse/current": "link:/opt/pulse/releases/r1",
    }


def test_the_proof_is_due_for_each_input_that_differs_from_the_record_and_only_those():
    now = pulse_verify.file_identities(STATS)
    assert pulse_verify.changed_inputs(now, dict(now)) == []
    assert pulse_verify.changed_inputs(now, {}) == ["redis.conf", "pulse-data-dir.conf", "current"]
    assert pulse_verify.changed_inputs(now, None) == ["redis.conf", "pulse-data-dir.conf", "current"]
    moved = dict(now, **{"/opt/pulse/current": "link:/opt/pulse/releases/r2"})
    assert pulse_verify.changed_inputs(now, moved) == ["current"]
    created = dict(now, **{"/etc/systemd/system/redis-server.service.d/pulse-data-dir.conf": "sha256:cd34"})
    assert pulse_verify.changed_inputs(now, created) == ["pulse-data-dir.conf"]
