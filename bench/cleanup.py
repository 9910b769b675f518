"""Time pulse_session_cleanup's audit against the upstream pattern, side by side.

    python bench/cleanup.py [sizes...]      (default: 10000 100000; `make bench-cleanup`)

For each size, a throwaway redis-server (loopback, random port, stopped by its
PID) is seeded with that many good sessions and their mappings, plus 1% of
sessions sealed with other keys. Then, in the same run:

- the module's audit: pulse_session_cleanup in check mode (the preview), run
  in-process as Ansible runs it, which opens every session and classes every
  mapping;
- the upstream pattern: KEYS session:*, then one GET per key, opening each
  value with the same code (upstream cleanup scripts do not even open them).

Prints sessions per second for both and the ratio. Figures go in BENCHMARKS.md.
"""

import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import redis  # noqa: E402
import redis.utils  # noqa: E402
from conftest import RedisServer, run_module  # noqa: E402  (also maps module_utils/ onto ansible.module_utils)
from seed_sessions import seed  # noqa: E402

Keys = importlib.import_module("ansible.module_utils.pulse_sessions").Keys

KEYS = {"encryption_key": "bench-encryption-key-0123456789abcdef", "encryption_salt": "bench-salt-0123456"}


def upstream(client, keys):
    """KEYS, then a GET per key: what the guide's scripts do."""
    classes = {}
    for name in client.keys("session:*"):
        kind = keys.classify(client.get(name))
        classes[kind] = classes.get(kind, 0) + 1
    return classes


def measure(size):
    data_dir = tempfile.mkdtemp(prefix="pulse-bench-cleanup-")
    server = RedisServer(data_dir).start()
    try:
        client = redis.Redis(port=server.port)
        bad = size // 100
        seed(client, {"good": size - bad, "other_keys": bad, "malformed": 0, "not_strings": 0, "orphans": 0,
                      "cache": 0}, KEYS["encryption_key"], KEYS["encryption_salt"], "bench-hash-salt-0123")
        start = time.perf_counter()
        result = run_module("pulse_session_cleanup", dict(server.args, **KEYS), check_mode=True)
        audit = time.perf_counter() - start
        assert result["counts"]["sessions"] == size and result["counts"]["sessions_unopenable"] == bad, result
        start = time.perf_counter()
        classes = upstream(client, Keys(KEYS))
        pattern = time.perf_counter() - start
        assert sum(classes.values()) == size
        return audit, pattern
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main():
    sizes = [int(arg) for arg in sys.argv[1:]] or [10000, 100000]
    print("hiredis parser: %s; %d cores" % ("yes" if redis.utils.HIREDIS_AVAILABLE else "no", os.cpu_count()))
    print("| sessions | module audit | sessions/s | KEYS + GET | sessions/s | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size in sizes:
        audit, pattern = measure(size)
        print("| %d | %.2f s | %.0f | %.2f s | %.0f | %.1fx |"
              % (size, audit, size / audit, pattern, size / pattern, pattern / audit))


if __name__ == "__main__":
    main()
