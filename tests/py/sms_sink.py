#!/usr/bin/env python3
"""HTTP sink: the SMS gateway that privacyIDEA's HttpSMSProvider (or mfagate) posts to.

usage: sms_sink.py PORT OUTFILE      (stdlib only; any python3)

Listens on 127.0.0.1:PORT (0: a free port) and answers every request (any method,
any path) with 200 and the body "OK". Each request is appended to OUTFILE as one
JSON line, flushed before the answer goes out:

  {"time": 1700000000.123, "method": "POST", "path": "/sms?x=1",
   "headers": {"Content-Type": "...", ...}, "body": "<raw body, utf-8>",
   "query": {"x": "1"},                                (only with a query string)
   "form": {"phone": "+1555...", "text": "123456"},   (only for form-encoded bodies)
   "json": {...}}                                      (only for JSON bodies)
(query and form: single values unwrapped, repeated keys as lists)

Once listening it prints one line on stdout: {"listening": PORT} (the real port,
also for PORT 0). Stops on SIGTERM/SIGINT.
"""
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()


def flat(qs):
    return {k: v[0] if len(v) == 1 else v for k, v in qs.items()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        body = raw.decode("utf-8", errors="replace")
        rec = {"time": round(time.time(), 3), "method": self.command, "path": self.path,
               "headers": dict(self.headers.items()), "body": body}
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        query = urlsplit(self.path).query
        if query:
            rec["query"] = flat(parse_qs(query, keep_blank_values=True))
        if ctype == "application/x-www-form-urlencoded":
            rec["form"] = flat(parse_qs(body, keep_blank_values=True))
        if ctype == "application/json" or ctype.endswith("+json"):
            try:
                rec["json"] = json.loads(body)
            except ValueError:
                pass
        line = json.dumps(rec, sort_keys=True) + "\n"
        with LOCK, open(self.server.outfile, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
        out = b"OK"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def log_message(self, *args):
        pass


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        sys.exit(f"usage: {sys.argv[0]} PORT OUTFILE")
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.daemon_threads = True
    srv.outfile = sys.argv[2]
    open(srv.outfile, "a").close()  # exists (empty) from the start
    # shutdown() must come from another thread than serve_forever()
    stop = lambda *_: threading.Thread(target=srv.shutdown, daemon=True).start()  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"listening": srv.server_address[1]}), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
