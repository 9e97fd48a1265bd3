#!/usr/bin/env python3
"""A privacyIDEA Authenticator app in poll-only mode (no Firebase), for the PUSH token
that scripts/seed-privacyidea.py enrolls (erin, serial PUSH-ERIN): it polls
privacyIDEA for the token's open challenges, checks privacyIDEA's signature on the
one it takes, and answers it the way the app does when the user taps a button.

usage: pi_phone.py --seed SEED.json ACTION [--timeout SECS] [--delay SECS]
                   [--user NAME] [--new-only]

  ACTION       approve  the user accepts: POST /ttype/push nonce, serial,
                        signature = SIGN(nonce|serial)
               decline  "this was not me": decline=1, decline_reason=unknown_trigger,
                        signature = SIGN(nonce|serial|decline|unknown_trigger);
                        /validate/polltransaction then says challenge_status "declined"
               cancel   the user aborts a login of their own: decline=1,
                        decline_reason=cancelled (signed the same way);
                        challenge_status "cancelled"
  --seed       the JSON that seed-privacyidea.py printed / wrote to DIR/seed.json
               (its tokens.<user> has the serial, the phone's private key, privacyIDEA's
               public key and the /ttype/push URL)
  --timeout    seconds to wait for an open challenge (default 10)
  --delay      seconds to wait between receiving the challenge and answering it, the
               user reading the phone (default 0)
  --user       whose PUSH token (default: the seed's only push token)
  --new-only   ignore challenges already open at the first poll: answer only one
               that appears later (start the phone, wait for its stderr line
               "pi_phone.py: polling for SERIAL; N open challenge(s) ignored", then
               trigger the login; a challenge made before that line may be ignored)

Which challenge: privacyIDEA's poll lists only challenges that can still be answered
(not expired, not answered, not declined or cancelled), so an answered challenge is
never answered again. Of several open ones the phone takes the newest (the last one
privacyIDEA lists: creation order with sqlite), or with --new-only the newest that was
not open at the first poll. Each run answers one challenge and exits. A challenge
nobody answers stays open for 120 s (privacyIDEA's DefaultChallengeValidityTime), so
a later run takes it when nothing newer is open: --new-only avoids that.

Prints one JSON line on stdout: action, serial, nonce (the phone never learns the
transaction_id: privacyIDEA's challenge to the phone carries only the nonce), question,
title, http_status, result (privacyIDEA's "result" object: status, value) and detail,
open_challenges (how many the last poll listed) and waited_s. Exit 0 when privacyIDEA
took the answer (HTTP 200, result.value true); exit 1 with a message on stderr when no
challenge came within --timeout, privacyIDEA's signature on it was wrong, or
privacyIDEA refused the answer (then the JSON line is printed too, if there was an
answer); exit 2 for bad usage.

The protocol (privacyIDEA 3.14 lib/tokens/pushtoken.py, the privacyIDEA Authenticator
app): RSA 4096 key pairs on both sides, signatures RSASSA-PKCS1-v1_5 with SHA-256,
base32 with padding.
  poll     GET  /ttype/push?serial=S&timestamp=T&signature=SIGN(S|T), T = ISO 8601 UTC
           (privacyIDEA accepts +-1 minute); answer: result.value = a list of
           {nonce, question, serial, title, sslverify, url, signature, capabilities,
           capabilities_signature}, signature = privacyIDEA's over
           nonce|url|serial|question|title|sslverify (|require_presence if present),
           capabilities_signature over RFC 8785 JSON {"capabilities": .., "nonce": ..}
  answer   POST the challenge's url (= /ttype/push), form-encoded, as above.
  enroll   (seed-privacyidea.py, through enroll() here) POST /ttype/push
           enrollment_credential, serial, fbtoken=no_firebase_token (the app's value
           in poll-only mode), pubkey = base64 X.509 SubjectPublicKeyInfo DER (no PEM
           armour); answer: detail.public_key = privacyIDEA's PKCS#1 public key, base64.
Not emulated: push_require_presence and push_code_to_phone challenges (approve
refuses a challenge with require_presence), Firebase.

Python: needs `cryptography` (the project's .venv has none; privacyIDEA's venv has:
PI_VENV in DIR/env, e.g. /tmp/pi-venv/bin/python or .pi-venv/bin/python). Run with a
python that lacks it, it re-executes itself with the python the seed names
(tokens.<user>.python), so `python3 tests/py/pi_phone.py ...` works too. E.g.
  "$PI_VENV/bin/python" tests/py/pi_phone.py --seed "$MFAGATE_PI_SEED" approve --delay 1
"""
import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    HAVE_CRYPTO = True
except ImportError:  # see main(): re-executed with privacyIDEA's venv python
    HAVE_CRYPTO = False

NO_FIREBASE_TOKEN = "no_firebase_token"  # what the app sends as fbtoken in poll-only mode
KEY_BITS = 4096  # the app's RSA key size (public exponent 65537)
POLL_INTERVAL = 0.3  # seconds between polls (the app: 3 s; tests want less)
ACTIONS = {  # ACTION -> decline_reason (None: approve)
    "approve": None,
    "decline": "unknown_trigger",
    "cancel": "cancelled",
}


class PhoneError(Exception):
    pass


# --- crypto --------------------------------------------------------------------------
def generate_key():
    """The phone's key pair, as the app makes it: RSA 4096, e = 65537."""
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key):
    """SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY") of a public key."""
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def pubkey_param(key):
    """What the app posts as pubkey: base64 of the SubjectPublicKeyInfo DER, no armour."""
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def server_key_from_b64(b64):
    """privacyIDEA's detail.public_key (PKCS#1 RSAPublicKey, base64, maybe urlsafe or
    with PEM armour) as a key object."""
    b64 = "".join(l for l in b64.strip().splitlines() if not l.startswith("-----"))
    der = base64.b64decode(b64.replace("-", "+").replace("_", "/"))
    return serialization.load_der_public_key(der)


def sign(key, text):
    sig = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b32encode(sig).decode()  # with "=" padding: privacyIDEA's b32decode needs it


def verify(pub, signature_b32, text):
    try:
        pub.verify(base64.b32decode(signature_b32), text.encode("utf-8"),
                   padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def jcs(obj):
    """RFC 8785 canonical JSON, enough for privacyIDEA's capabilities payload (str keys,
    str / bool / int / nested dict values)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def timestamp():
    """ISO 8601 UTC like the app's DateTime.now().toUtc().toIso8601String()."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- HTTP ----------------------------------------------------------------------------
def http(method, url, data=None, timeout=30):
    """(HTTP status, parsed JSON or None, raw body); form-encoded parameters."""
    body = None
    if data and method == "GET":
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(data)
    elif data is not None:
        body = urllib.parse.urlencode(data).encode()
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("User-Agent", "privacyIDEA-App/mfagate-pi_phone")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        raise PhoneError(f"{method} {url}: {e}") from e
    try:
        out = json.loads(raw)
    except ValueError:
        out = None
    return status, out, raw


def pi_error(out, raw):
    if isinstance(out, dict):
        return json.dumps((out.get("result") or {}).get("error") or out)[:500]
    return raw[:300].decode("utf-8", "replace")


# --- enrollment (seed-privacyidea.py) -----------------------------------------------
def parse_enroll_url(qr):
    """The otpauth://pipush/LABEL?url=..&ttl=..&issuer=..&enrollment_credential=..&v=1
    &serial=..&sslverify=..&poll_only=.. of the QR code, as a dict (str values)."""
    u = urllib.parse.urlsplit(qr)
    if u.scheme not in ("otpauth", "pia") or u.netloc != "pipush":
        raise PhoneError(f"not a privacyIDEA push enrollment URL: {qr[:120]}")
    q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
    q["label"] = urllib.parse.unquote(u.path.lstrip("/"))
    for k in ("url", "serial", "enrollment_credential"):
        if not q.get(k):
            raise PhoneError(f"enrollment URL without {k}: {qr[:200]}")
    return q


def enroll(qr, key=None):
    """Second enrollment step, as the app does after scanning the QR code qr: posts
    enrollment_credential, serial, fbtoken, pubkey to the URL of the QR code. Returns
    a dict with serial, registration_url, sslverify, poll_only, the phone's
    private key (PEM), privacyIDEA's public key (PEM) and privacyIDEA's answer."""
    q = parse_enroll_url(qr)
    key = key or generate_key()
    data = {"enrollment_credential": q["enrollment_credential"], "serial": q["serial"],
            "fbtoken": NO_FIREBASE_TOKEN, "pubkey": pubkey_param(key)}
    status, out, raw = http("POST", q["url"], data)
    if status != 200 or not (out or {}).get("result", {}).get("status"):
        raise PhoneError(f"enrollment step 2 (POST {q['url']}) failed, HTTP {status}: "
                         f"{pi_error(out, raw)}")
    detail = out.get("detail") or {}
    if not detail.get("public_key"):
        raise PhoneError(f"enrollment step 2: no detail.public_key in {json.dumps(out)[:400]}")
    server_pub = server_key_from_b64(detail["public_key"])
    return {"serial": q["serial"], "registration_url": q["url"],
            "sslverify": q.get("sslverify"), "poll_only": q.get("poll_only") == "True",
            "phone_private_key_pem": private_pem(key), "phone_public_key": data["pubkey"],
            "server_public_key_pem": public_pem(server_pub),
            "server_public_key_pkcs1": detail["public_key"], "answer": out}


# --- the phone -----------------------------------------------------------------------
class Phone:
    def __init__(self, registration_url, serial, private_key_pem, server_public_key_pem):
        self.url = registration_url
        self.serial = serial
        self.key = serialization.load_pem_private_key(private_key_pem.encode(), None)
        self.server = serialization.load_pem_public_key(server_public_key_pem.encode())

    @classmethod
    def from_seed(cls, tok):
        return cls(tok["registration_url"], tok["serial"], tok["phone_private_key_pem"],
                   tok["server_public_key_pem"])

    def poll(self):
        """The open challenges privacyIDEA lists for this token (GET /ttype/push)."""
        ts = timestamp()
        params = {"serial": self.serial, "timestamp": ts,
                  "signature": sign(self.key, f"{self.serial}|{ts}")}
        status, out, raw = http("GET", self.url, params)
        value = ((out or {}).get("result") or {}).get("value")
        if status != 200 or not isinstance(value, list):
            raise PhoneError(f"poll GET {self.url} failed, HTTP {status}: {pi_error(out, raw)}")
        return value

    def check(self, ch):
        """Refuses a challenge that privacyIDEA did not sign (as the app does)."""
        for k in ("nonce", "url", "serial", "question", "title", "sslverify", "signature"):
            if k not in ch:
                raise PhoneError(f"challenge without {k}: {json.dumps(ch)[:300]}")
        if ch["serial"] != self.serial:
            raise PhoneError(f"challenge for serial {ch['serial']!r}, not {self.serial!r}")
        text = "{nonce}|{url}|{serial}|{question}|{title}|{sslverify}".format(**ch)
        if "require_presence" in ch:
            text += f"|{ch['require_presence']}"
        if not verify(self.server, ch["signature"], text):
            raise PhoneError(f"privacyIDEA's signature on challenge {ch['nonce']} does not verify")
        if "capabilities" in ch:
            caps = json.loads(ch["capabilities"])
            signed = jcs({"capabilities": caps, "nonce": ch["nonce"]})
            try:
                self.server.verify(base64.b32decode(ch.get("capabilities_signature", "")), signed,
                                   padding.PKCS1v15(), hashes.SHA256())
            except (InvalidSignature, ValueError, TypeError):
                raise PhoneError(f"capabilities_signature on challenge {ch['nonce']} does not verify")

    def answer(self, ch, action):
        """POST the answer to the challenge's url; returns (HTTP status, JSON)."""
        if action not in ACTIONS:
            raise PhoneError(f"unknown action {action!r}")
        reason = ACTIONS[action]
        data = {"nonce": ch["nonce"], "serial": self.serial}
        text = f"{ch['nonce']}|{self.serial}"
        if reason is None:
            if "require_presence" in ch:
                raise PhoneError("challenge wants push_require_presence; not emulated")
        else:
            data["decline"] = "1"
            data["decline_reason"] = reason
            text += f"|decline|{reason}"
        data["signature"] = sign(self.key, text)
        status, out, _raw = http("POST", ch["url"], data)
        return status, out


def wait_and_answer(phone, action, timeout=10.0, delay=0.0, new_only=False):
    """Polls until an open challenge is there (at most timeout s), checks it, sleeps
    delay s, answers it. Returns the report dict; raises PhoneError if none came or
    privacyIDEA's signature on it is wrong."""
    t0 = time.monotonic()
    seen = None  # nonces open at the first poll (--new-only)
    while True:
        chs = phone.poll()
        if seen is None and new_only:
            seen = {c.get("nonce") for c in chs}
            # the marker to wait for before triggering the login
            print(f"pi_phone.py: polling for {phone.serial}; {len(seen)} open challenge(s) ignored",
                  file=sys.stderr, flush=True)
        fresh = [c for c in chs if not new_only or c.get("nonce") not in seen]
        if fresh:
            ch = fresh[-1]
            break
        if time.monotonic() - t0 >= timeout:
            msg = f"no {'new ' if new_only else ''}open challenge for {phone.serial} within {timeout:g} s"
            if new_only and chs:
                msg += f" ({len(chs)} open, all already at the first poll)"
            raise PhoneError(msg)
        time.sleep(POLL_INTERVAL)
    waited = time.monotonic() - t0
    phone.check(ch)
    if delay > 0:
        time.sleep(delay)
    status, out = phone.answer(ch, action)
    out = out or {}
    return {"action": action, "serial": phone.serial, "nonce": ch["nonce"],
            "question": ch.get("question"), "title": ch.get("title"),
            "http_status": status, "result": out.get("result"),
            "detail": out.get("detail"), "open_challenges": len(chs),
            "waited_s": round(waited, 2)}


# --- CLI -----------------------------------------------------------------------------
def push_token(seed, user):
    toks = {u: t for u, t in (seed.get("tokens") or {}).items() if t.get("type") == "push"}
    if user:
        if user not in toks:
            raise PhoneError(f"the seed has no push token for {user!r} (push tokens: {sorted(toks)})")
        return toks[user]
    if len(toks) != 1:
        raise PhoneError(f"the seed has {len(toks)} push tokens ({sorted(toks)}): name one with --user")
    return next(iter(toks.values()))


def main():
    ap = argparse.ArgumentParser(description="privacyIDEA Authenticator emulator (poll-only push)")
    ap.add_argument("--seed", required=True, help="seed.json of scripts/seed-privacyidea.py")
    ap.add_argument("action", choices=sorted(ACTIONS), metavar="ACTION",
                    help="approve | decline | cancel")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="seconds to wait for an open challenge (default 10)")
    ap.add_argument("--delay", type=float, default=0.0,
                    help="seconds between receiving and answering (default 0)")
    ap.add_argument("--user", help="whose push token (default: the seed's only one)")
    ap.add_argument("--new-only", action="store_true",
                    help="ignore challenges already open at the first poll")
    a = ap.parse_args()
    if a.timeout < 0 or a.delay < 0:
        ap.error("--timeout and --delay must not be negative")
    try:
        with open(a.seed, encoding="utf-8") as f:
            seed = json.load(f)
        tok = push_token(seed, a.user)
        if not HAVE_CRYPTO:
            py = tok.get("python")
            if py and os.path.abspath(py) != os.path.abspath(sys.executable) and \
                    os.access(py, os.X_OK) and not os.environ.get("PI_PHONE_REEXEC"):
                os.environ["PI_PHONE_REEXEC"] = "1"
                os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])
            raise PhoneError(f"{sys.executable} has no `cryptography`: run with privacyIDEA's "
                             "venv python (PI_VENV/bin/python in the privacyIDEA DIR/env)")
        report = wait_and_answer(Phone.from_seed(tok), a.action, a.timeout, a.delay, a.new_only)
    except (OSError, ValueError, KeyError) as e:
        print(f"pi_phone.py: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except PhoneError as e:
        print(f"pi_phone.py: {e}", file=sys.stderr)
        return 1
    print(json.dumps(report, sort_keys=True), flush=True)
    result = report.get("result") or {}
    if report["http_status"] != 200 or result.get("value") is not True:
        print(f"pi_phone.py: privacyIDEA refused the {a.action} answer to {report['nonce']}: "
              f"HTTP {report['http_status']}, result {json.dumps(result)[:300]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
