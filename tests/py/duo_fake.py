#!/usr/bin/env python3
"""Fake Duo Auth API v2 server for mfagate's tests (run as a subprocess).

usage: duo_fake.py --port PORT --ikey IKEY --skey SKEY --host API_HOST
                   --script SCRIPT.json --log CALLS.jsonl [--verbose]

PORT 0 picks a free port. The first line on stdout is "PORT <n>" (flushed).

Signatures are checked with Duo's reference client code (duo_client.client.sign,
which calls duo_client.client.canonicalize), not with code of our own:
  * ikey must match --ikey, the signature is recomputed for the request's method,
    the configured API host (--host, NOT the Host header), the path, the date from
    the Date header (X-Duo-Date if present, as Duo's own mockduo does) and the
    params/body exactly as duo_client builds them for each sig_version:
      - v5: HMAC-SHA512; POST body = the raw JSON body (params {}), GET = query
            params with body "" ; X-Duo-* headers hashed (empty set if none).
      - v2: query params (GET) / form-encoded body (POST); HMAC-SHA1 as Duo's
            docs describe it, or HMAC-SHA512 (what duo_client sends by default).
    v5 is tried first, then v2; digests compared with hmac.compare_digest.
  * the date must be within 300 s of now.
  On failure: HTTP 401 {"stat":"FAIL","code":40103,
                        "message":"Invalid signature in request credentials"}.

/auth/v2/ping needs no signature (Duo docs: "Unlike the other endpoints, this one
does not have to be signed with the Authorization header").

SCRIPT.json is re-read on every request:
  {"users": {
      "<name>": {"preauth": "auth"|"allow"|"deny"|"enroll",
                 "push": "allow"|"deny"|"fraud"|"timeout",   (default "deny")
                 "delay_ms": <int>,                           (default 0)
                 "passcode": "<code>",                        (accepted passcode)
                 "status_msg": "<text>",                      (preauth msg override)
                 "device": "<id>", "number": "XXX-XXX-0100"}, (device overrides)
      ...},
   "unknown_user": "enroll"|"allow"|"deny",   (default "enroll": Duo's default
                                               new-user policy, "Require enrollment")
   "fault": null|"500"|"429"|"garbage"|"hang"|"close"}

CALLS.jsonl gets one JSON object per request:
  {"time", "method", "path", "params", "sig_ok", "sig_version", "sig_digest",
   "status", "fault"}   (status null when the fault is "hang" or "close")
"""
import argparse
import base64
import email.utils
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duo_client.client as duo_client_client  # noqa: E402  (Duo's reference code)

DATE_WINDOW_SECS = 300

ERR_SIG = {"stat": "FAIL", "code": 40103,
           "message": "Invalid signature in request credentials"}
ERR_NOT_FOUND = {"stat": "FAIL", "code": 40401, "message": "Resource not found"}
ERR_METHOD = {"stat": "FAIL", "code": 40501, "message": "Method not allowed"}
ERR_RATE = {"stat": "FAIL", "code": 42901, "message": "Too Many Requests"}
ERR_INTERNAL = {"stat": "FAIL", "code": 50001, "message": "Internal server error"}

MSG_ALLOW = "Success. Logging you in..."
MSG_PUSHED = "Pushed a login request to your device..."
MSG_DENY = "Login request denied."
MSG_FRAUD = "Login request reported as fraudulent."
MSG_TIMEOUT = "Login timed out."
MSG_BAD_PASSCODE = "Invalid passcode, please try again."
MSG_SMS_SENT = "New SMS passcodes sent."
MSG_ENROLL = "Enroll an authentication device to proceed"
MSG_ACTIVE = "Account is active"

FACTORS = ("auto", "push", "passcode", "sms", "phone")

ENDPOINTS = {
    "/auth/v2/ping": "GET",
    "/auth/v2/check": "GET",
    "/auth/v2/preauth": "POST",
    "/auth/v2/auth": "POST",
    "/auth/v2/auth_status": "GET",
}


def err_params(detail):
    return {"stat": "FAIL", "code": 40002, "message": "Invalid request parameters",
            "message_detail": detail}


class ParamError(Exception):
    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


class State:
    def __init__(self, args):
        self.ikey = args.ikey
        self.skey = args.skey
        self.api_host = args.host
        self.script_path = args.script
        self.log_path = args.log
        self.verbose = args.verbose
        self.log_lock = threading.Lock()
        self.tx_lock = threading.Lock()
        self.txs = {}
        self.last_script = {"users": {}, "fault": None}

    def script(self):
        """Re-read the script; tolerate a test rewriting it right now."""
        for _ in range(10):
            try:
                with open(self.script_path, "r", encoding="utf-8") as f:
                    data = json.load(f)
                if isinstance(data, dict):
                    self.last_script = data
                    return data
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        return self.last_script

    def log(self, entry):
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self.log_lock:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()


def device_id_for(username):
    digest = hashlib.sha256(username.encode("utf-8")).hexdigest().upper()
    alnum = "".join(c for c in digest if c.isalnum())
    return "DP" + alnum[:18]


def parse_date(datestring):
    tup = email.utils.parsedate_tz(datestring)
    if tup is None:
        return None
    try:
        return email.utils.mktime_tz(tup)
    except (OverflowError, ValueError, TypeError):
        return None


class Handler(BaseHTTPRequestHandler):
    server_version = "DuoFake/1.0"
    protocol_version = "HTTP/1.1"
    state = None  # set in main()

    # ---- plumbing -------------------------------------------------------

    def log_message(self, fmt, *args):
        if self.state.verbose:
            sys.stderr.write("duo_fake: " + (fmt % args) + "\n")

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_json(self, status, obj):
        body = json.dumps(obj).encode("utf-8")
        self.send_raw(status, body, "application/json")

    def send_raw(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    # ---- signature ------------------------------------------------------

    def verify(self, method, path, query, raw_body):
        """Return (ok, sig_version, digest_name)."""
        st = self.state
        authz = self.headers.get("Authorization")
        datestring = self.headers.get("X-Duo-Date") or self.headers.get("Date")
        if not authz or not datestring:
            return False, None, None
        parts = authz.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "basic":
            return False, None, None
        try:
            ikey, sig = base64.b64decode(parts[1], validate=True).decode("utf-8").split(":", 1)
        except (ValueError, UnicodeDecodeError):
            return False, None, None
        if not hmac.compare_digest(ikey.encode("utf-8"), st.ikey.encode("utf-8")):
            return False, None, None
        when = parse_date(datestring)
        if when is None or abs(when - time.time()) > DATE_WINDOW_SECS:
            return False, None, None

        query_params = urllib.parse.parse_qs(query, keep_blank_values=True)
        x_duo = {k: v for k, v in self.headers.items() if k.lower().startswith("x-duo-")}
        try:
            body_text = raw_body.decode("utf-8")
        except UnicodeDecodeError:
            body_text = None

        candidates = []
        # sig_version 5, as duo_client.Client.api_call builds it.
        if body_text is not None:
            if method in ("POST", "PUT", "PATCH"):
                candidates.append((5, hashlib.sha512, query_params, body_text, x_duo))
            else:
                candidates.append((5, hashlib.sha512, query_params, "", x_duo))
        # sig_version 2: params are the query (GET) or the form body (POST).
        v2_params = {k: list(v) for k, v in query_params.items()}
        if method in ("POST", "PUT", "PATCH") and body_text is not None:
            for k, v in urllib.parse.parse_qs(body_text, keep_blank_values=True).items():
                v2_params.setdefault(k, []).extend(v)
        candidates.append((2, hashlib.sha1, v2_params, None, None))
        candidates.append((2, hashlib.sha512, v2_params, None, None))

        for version, digestmod, params, body, headers in candidates:
            try:
                expected = duo_client_client.sign(
                    st.ikey, st.skey, method, st.api_host, path, datestring,
                    version, params, body=body, digestmod=digestmod,
                    additional_headers=headers)
            except ValueError:
                continue
            exp_sig = base64.b64decode(expected.split(None, 1)[1]).decode("utf-8").split(":", 1)[1]
            if hmac.compare_digest(exp_sig.encode("utf-8"), sig.encode("utf-8")):
                return True, version, digestmod().name
        return False, None, None

    # ---- request handling -----------------------------------------------

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        st = self.state
        path, _, query = self.path.partition("?")
        raw_body = self.read_body()
        ok, version, digest = self.verify(method, path, query, raw_body)
        params = self.extract_params(method, query, raw_body)
        script = st.script()
        fault = script.get("fault")
        entry = {"time": time.time(), "method": method, "path": path,
                 "params": params if isinstance(params, dict) else {},
                 "sig_ok": ok, "sig_version": version, "sig_digest": digest,
                 "status": None, "fault": fault}

        if fault:
            fault = str(fault)
            if fault == "hang":
                st.log(entry)
                time.sleep(600)
                self.close_connection = True
                return
            if fault == "close":
                st.log(entry)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault == "500":
                entry["status"] = 500
                st.log(entry)
                return self.send_json(500, ERR_INTERNAL)
            if fault == "429":
                entry["status"] = 429
                st.log(entry)
                return self.send_json(429, ERR_RATE)
            if fault == "garbage":
                entry["status"] = 200
                st.log(entry)
                return self.send_raw(200, b"<html><body>502 Bad Gateway?!</body></html>\x00{",
                                     "text/html")

        status, obj = self.route(method, path, params, ok, script)
        entry["status"] = status
        st.log(entry)
        self.send_json(status, obj)

    def extract_params(self, method, query, raw_body):
        """Request parameters as a flat dict of strings (first value wins)."""
        params = {}
        for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items():
            params[k] = v[0]
        if method in ("POST", "PUT", "PATCH") and raw_body:
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            text = raw_body.decode("utf-8", errors="replace")
            if ctype == "application/json":
                try:
                    data = json.loads(text)
                except ValueError:
                    return None
                if not isinstance(data, dict):
                    return None
                for k, v in data.items():
                    if isinstance(v, bool):
                        v = "true" if v else "false"
                    elif isinstance(v, (int, float)):
                        v = str(v)
                    elif v is not None and not isinstance(v, str):
                        v = json.dumps(v)
                    params[k] = v
            else:
                for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items():
                    params[k] = v[0]
        return params

    def route(self, method, path, params, sig_ok, script):
        want = ENDPOINTS.get(path)
        if path == "/auth/v2/ping":
            if method != "GET":
                return 405, ERR_METHOD
            return 200, {"stat": "OK", "response": {"time": int(time.time())}}
        if not sig_ok:
            return 401, ERR_SIG
        if want is None:
            return 404, ERR_NOT_FOUND
        if method != want:
            return 405, ERR_METHOD
        if params is None:
            return 400, err_params("body")
        try:
            if path == "/auth/v2/check":
                return 200, {"stat": "OK", "response": {"time": int(time.time())}}
            if path == "/auth/v2/preauth":
                return 200, {"stat": "OK", "response": self.preauth(params, script)}
            if path == "/auth/v2/auth":
                return 200, {"stat": "OK", "response": self.auth(params, script)}
            if path == "/auth/v2/auth_status":
                return 200, {"stat": "OK", "response": self.auth_status(params)}
        except ParamError as e:
            return 400, err_params(e.detail)
        return 404, ERR_NOT_FOUND

    # ---- endpoints ------------------------------------------------------

    def user_of(self, params, script):
        username = params.get("username") or params.get("user_id")
        if not username:
            raise ParamError("username")
        users = script.get("users") or {}
        cfg = users.get(username)
        if cfg is None:
            cfg = {"preauth": script.get("unknown_user") or "enroll", "_unknown": True}
        return username, cfg

    def device_of(self, username, cfg):
        number = cfg.get("number", "XXX-XXX-0100")
        return {
            "device": cfg.get("device") or device_id_for(username),
            "type": "phone",
            "number": number,
            "name": "",
            "display_name": "iOS (%s)" % number,
            "capabilities": ["auto", "push", "sms", "phone", "mobile_otp"],
        }

    def preauth(self, params, script):
        username, cfg = self.user_of(params, script)
        kind = cfg.get("preauth", "auth")
        if kind == "auth":
            return {"result": "auth", "status_msg": cfg.get("status_msg", MSG_ACTIVE),
                    "devices": [self.device_of(username, cfg)]}
        if kind == "allow":
            return {"result": "allow", "status_msg": cfg.get("status_msg", "Allowing user")}
        if kind == "deny":
            return {"result": "deny",
                    "status_msg": cfg.get("status_msg", "Login denied: this account is disabled.")}
        # enroll (also the default for users the script does not know)
        code = hashlib.sha256(("enroll:" + username).encode("utf-8")).hexdigest()[:16]
        return {"result": "enroll", "status_msg": cfg.get("status_msg", MSG_ENROLL),
                "enroll_portal_url": "https://%s/portal?code=%s&akey=%s"
                                     % (self.state.api_host, code, self.state.ikey)}

    def auth(self, params, script):
        username, cfg = self.user_of(params, script)
        factor = params.get("factor")
        if factor not in FACTORS:
            raise ParamError("factor")
        if factor == "auto":
            factor = "push"
        is_async = params.get("async") == "1"
        kind = cfg.get("preauth", "auth")
        now = time.time()

        if factor == "passcode":
            passcode = params.get("passcode")
            if not passcode:
                raise ParamError("passcode")
        else:
            device = params.get("device")
            if not device:
                raise ParamError("device")
            if kind == "auth" and device not in ("auto", self.device_of(username, cfg)["device"]):
                raise ParamError("device")

        # Outcome and when it is reached.
        ready_at = now
        if kind == "allow":
            final = {"result": "allow", "status": "bypass", "status_msg": "Bypassing user"}
            waiting = None
        elif kind != "auth":
            final = {"result": "deny", "status": "deny",
                     "status_msg": cfg.get("status_msg", MSG_DENY)}
            waiting = None
        elif factor == "passcode":
            good = cfg.get("passcode")
            if good is not None and hmac.compare_digest(str(good), passcode):
                final = {"result": "allow", "status": "allow", "status_msg": MSG_ALLOW}
            else:
                final = {"result": "deny", "status": "deny", "status_msg": MSG_BAD_PASSCODE}
            waiting = None
        elif factor == "sms":
            final = {"result": "deny", "status": "sent", "status_msg": MSG_SMS_SENT}
            waiting = None
        else:  # push or phone
            outcome = cfg.get("push", "deny")
            ready_at = now + float(cfg.get("delay_ms", 0)) / 1000.0
            final = {
                "allow": {"result": "allow", "status": "allow", "status_msg": MSG_ALLOW},
                "deny": {"result": "deny", "status": "deny", "status_msg": MSG_DENY},
                "fraud": {"result": "deny", "status": "fraud", "status_msg": MSG_FRAUD},
                "timeout": {"result": "deny", "status": "timeout", "status_msg": MSG_TIMEOUT},
            }.get(outcome, {"result": "deny", "status": "deny", "status_msg": MSG_DENY})
            if factor == "push":
                waiting = {"result": "waiting", "status": "pushed", "status_msg": MSG_PUSHED}
            else:
                waiting = {"result": "waiting", "status": "calling",
                           "status_msg": "Dialing %s..." % cfg.get("number", "XXX-XXX-0100")}

        if is_async:
            txid = str(uuid.uuid4())
            with self.state.tx_lock:
                self.state.txs[txid] = {"final": final, "waiting": waiting,
                                        "ready_at": ready_at, "username": username}
            return {"txid": txid}
        delay = ready_at - time.time()
        if delay > 0:
            time.sleep(delay)
        return dict(final)

    def auth_status(self, params):
        txid = params.get("txid")
        if not txid:
            raise ParamError("txid")
        with self.state.tx_lock:
            tx = self.state.txs.get(txid)
        if tx is None:
            raise ParamError("txid")
        if tx["waiting"] is not None and time.time() < tx["ready_at"]:
            return dict(tx["waiting"])
        return dict(tx["final"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ikey", required=True)
    ap.add_argument("--skey", required=True)
    ap.add_argument("--host", required=True, help="API host the client signs with")
    ap.add_argument("--script", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    Handler.state = State(args)
    httpd = ThreadingHTTPServer((args.bind, args.port), Handler)
    httpd.daemon_threads = True
    print("PORT %d" % httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
