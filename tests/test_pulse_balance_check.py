"""library/pulse_balance_check.py: a real redis-server with sessions, and a stand-in balance endpoint."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import free_port, run_module
from seed_sessions import seed

KEYS = {"encryption_key": "k" * 48, "encryption_salt": "s" * 24}
MIX = {"good": 30, "other_keys": 5, "malformed": 2, "not_strings": 0, "orphans": 0, "cache": 0}


@pytest.fixture
def app():
    """GET /balance answers 200 for users 187644400000..187644400009 only, 404 for the others."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            user = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)["whatsappId"][0]
            known = user.startswith("18764440000")
            body = json.dumps({"balance": 1} if known else {"error": "re-link needed"}).encode()
            self.send_response(200 if known else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()


def test_users_whose_sessions_open_are_asked_for_their_balance(redis_server, app):
    seed(redis_server.client(), MIX, KEYS["encryption_key"], KEYS["encryption_salt"], "h" * 20)
    result = run_module("pulse_balance_check", dict(redis_server.args, url=app, sample_size=100, **KEYS))
    assert result["changed"] is False
    assert result["sampled"] == 30
    assert result["answered"] == 10 and result["statuses"] == {"200": 10, "404": 20}
    assert "1876444" not in json.dumps(result)


def test_the_sample_is_capped_and_a_down_app_is_counted(redis_server):
    seed(redis_server.client(), MIX, KEYS["encryption_key"], KEYS["encryption_salt"], "h" * 20)
    result = run_module("pulse_balance_check", dict(redis_server.args, url="http://127.0.0.1:%d" % free_port(),
                                                    sample_size=7, **KEYS))
    assert result["sampled"] == 7 and result["answered"] == 0 and result["statuses"] == {"0": 7}
