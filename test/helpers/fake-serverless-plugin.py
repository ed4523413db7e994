"""A fake plugin that speaks the Python SDK's serverless protocol, for `run --serverless` and
`package --serverless` tests: copied into a plugin as its entrypoint module (main.py).

Like the SDK's serverless mode it reads INSTALL_METHOD, SERVERLESS_HOST and SERVERLESS_PORT
(port 8080 by default), serves GET /health with "OK", and answers POST /invoke (one request as
JSON: event, session_id, data) with session messages, each a JSON object followed by a blank
line: the request's data echoed as a stream message, then an end message. It logs as the SDK
does, a JSON record on stdout. FAKE_CRASH=<text> makes it write <text> on stderr and exit 3
before it serves, FAKE_HANG=1 makes it never serve; FAKE_IMPORT=<module> imports that module first (a dependency the package
installed) and says so in its log.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def log(message):
    record = {"event": "log", "data": {"level": "INFO", "message": message, "timestamp": 0}}
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        sys.stderr.write("request: " + (format % args) + "\n")

    def do_GET(self):
        if self.path != "/health":
            self.send_error(404)
            return
        body = b"OK"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path.split("?")[0] != "/invoke":
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length))
            session = request["session_id"]
            data = request["data"]
        except Exception as e:
            body = str(e).encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        for inner in ({"type": "stream", "data": {"echo": data}}, {"type": "end", "data": {}}):
            message = {"event": "session", "session_id": session, "data": inner}
            self.wfile.write(json.dumps(message).encode() + b"\n\n")
            self.wfile.flush()


def main():
    if os.environ.get("INSTALL_METHOD") != "serverless":
        sys.stderr.write("INSTALL_METHOD is %r, not serverless\n" % os.environ.get("INSTALL_METHOD"))
        sys.exit(2)
    crash = os.environ.get("FAKE_CRASH")
    if crash:
        sys.stderr.write(crash + "\n")
        sys.exit(3)
    if os.environ.get("FAKE_HANG"):
        log("fake serverless plugin hanging (pid %d)" % os.getpid())
        while True:
            time.sleep(60)
    imported = os.environ.get("FAKE_IMPORT")
    if imported:
        module = __import__(imported)
        log("imported %s from %s" % (imported, os.path.dirname(module.__file__)))
    host = os.environ.get("SERVERLESS_HOST", "0.0.0.0")
    port = int(os.environ.get("SERVERLESS_PORT", "8080"))
    server = ThreadingHTTPServer((host, port), Handler)
    log("fake serverless plugin started (pid %d) on %s:%d" % (os.getpid(), host, port))
    server.serve_forever()


if __name__ == "__main__":
    main()
