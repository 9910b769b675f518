"""A stand-in for the ElevenLabs API's GET /v1/user, so no test ever calls the real one.

    python3 fake_elevenlabs.py --port 8099 --valid KEY[,KEY] [--restricted KEY] [--status 503]

Answers 200 with a subscription for a valid key, 401 missing_permissions for a
restricted one, 401 invalid_api_key for any other, or --status for everything.
Standard library only: it also runs inside a test container. Keys given on
the command line are test values, never real ones.
"""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handler(valid, restricted, status=None):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            key = self.headers.get("xi-api-key", "")
            if status:
                self.reply(status, {"detail": "forced status"})
            elif self.path != "/v1/user":
                self.reply(404, {"detail": "Not Found"})
            elif key in valid:
                self.reply(200, {"subscription": {"tier": "free", "character_count": 1200,
                                                  "character_limit": 10000}})
            elif key in restricted:
                self.reply(401, {"detail": {"status": "missing_permissions",
                                            "message": "The API key you used is missing the permission user_read"}})
            else:
                self.reply(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


def start(valid=(), restricted=(), status=None, port=0):
    """Serve in a thread on 127.0.0.1; return the server (its URL: http://127.0.0.1:<server_port>)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(set(valid), set(restricted), status))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--valid", default="")
    parser.add_argument("--restricted", default="")
    parser.add_argument("--status", type=int)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(
        set(filter(None, args.valid.split(","))), set(filter(None, args.restricted.split(","))), args.status))
    server.serve_forever()


if __name__ == "__main__":
    main()
