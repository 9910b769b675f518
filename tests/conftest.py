"""Fixtures for the unit tests: real throwaway redis-servers, and a way to run
a module's main() in-process exactly as Ansible would hand it its arguments."""

import importlib.util
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import ansible.module_utils
import pytest
import redis
from ansible.module_utils.testing import patch_module_args

ROOT = Path(__file__).resolve().parent.parent
# Ansible maps the project's module_utils/ onto ansible.module_utils; do the same.
ansible.module_utils.__path__.append(str(ROOT / "module_utils"))

REDIS_SERVER = shutil.which("redis-server")


def load_module(name):
    """Import library/<name>.py as a fresh Python module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "library" / ("%s.py" % name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_module(name, args, check_mode=False, diff=False):
    """Run library/<name>.py's main() with args; return its JSON result.

    The result has 'failed': True when the module called fail_json.
    """
    module = load_module(name)
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out):
        with pytest.raises(SystemExit):
            module.main()
    result = json.loads(out.getvalue())
    # ansible-core 2.19 wraps warnings in event objects; keep only their text.
    result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return result


_CALL_PLUGIN = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("plugin", sys.argv[1])
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
print(json.dumps(getattr(plugin, sys.argv[2])(*json.loads(sys.argv[3]))))
"""


def call_plugin(path, function, *args):
    """Call function(*args) of a controller plugin (lookup_plugins/...) in a process of its own, and return its
    JSON-able result. Importing controller code here would put the test process in Ansible's controller mode,
    where modules' warnings no longer reach their results (other tests assert them)."""
    result = subprocess.run([sys.executable, "-c", _CALL_PLUGIN, str(ROOT / path), function, json.dumps(args)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server on a free loopback port, stopped by its PID."""

    def __init__(self, data_dir, password=None, user=None, extra=()):
        self.data_dir = Path(data_dir)
        self.password = password
        self.port = free_port()
        self.user = user
        self.extra = list(extra)
        self.process = None

    @property
    def args(self):
        """Module arguments that reach this server."""
        args = {"login_port": self.port}
        if self.password:
            args["login_password"] = self.password
        return args

    def client(self):
        return redis.Redis(port=self.port, password=self.password, decode_responses=True)

    def start(self):
        command = [
            REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.data_dir), "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--logfile", "",
        ]
        if self.password:
            command += ["--requirepass", self.password]
        command += self.extra
        if self.user:
            command = ["setpriv", "--reuid", self.user, "--regid", "nogroup", "--clear-groups"] + command
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.client().ping()
                return self
            except redis.exceptions.AuthenticationError:
                return self
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None:
                    raise RuntimeError("redis-server exited with %s" % self.process.returncode) from None
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer on port %d" % self.port)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # Redis refuses SIGTERM while its shutdown save fails (MISCONF).
                self.process.kill()
                self.process.wait(timeout=10)

    def restart(self, extra=None):
        """Stop (Redis saves on SIGTERM when rules exist) and start on the same dir."""
        self.stop()
        if extra is not None:
            self.extra = list(extra)
        return self.start()


needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")


@pytest.fixture
def redis_server(tmp_path):
    """A running server with a password, data in a fresh temporary directory."""
    if REDIS_SERVER is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (make test does)")
    server = RedisServer(tmp_path, password=secrets.token_hex(16)).start()
    yield server
    server.stop()


@pytest.fixture
def unprivileged_server():
    """A server running as 'nobody' in a directory owned by root: it cannot save."""
    if REDIS_SERVER is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (make test does)")
    if os.geteuid() != 0:
        pytest.skip("needs root to start redis-server as another user")
    data_dir = tempfile.mkdtemp(prefix="pulse-ops-ro-")
    os.chmod(data_dir, 0o755)
    server = RedisServer(data_dir, password=secrets.token_hex(16), user="nobody").start()
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def down_port():
    """A loopback port where nothing listens."""
    return free_port()


sys.path.insert(0, str(ROOT / "tests"))
