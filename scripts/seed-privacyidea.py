#!/usr/bin/env python3
"""Seeds the privacyIDEA of scripts/start-privacyidea.sh DIR with one token per test
user, the SMS gateway and SMTP server they send through, the PUSH policies and an
admin policy.

usage: seed-privacyidea.py DIR SMS_SINK_URL SMTP_PORT
       (any python3 >= 3.8; the PUSH token's RSA keys need the package cryptography:
       a python without it re-runs this script with privacyIDEA's venv python, PI_VENV
       of DIR/env, else $MFAGATE_PI_VENV or DIR/venv)

  DIR           the DIR of start-privacyidea.sh (reads DIR/env; the server must run)
  SMS_SINK_URL  where privacyIDEA's HttpSMSProvider POSTs each SMS, e.g. the
                tests/py/sms_sink.py at http://127.0.0.1:PORT/sms
  SMTP_PORT     port of the SMTP server on 127.0.0.1 (plain, no TLS, no AUTH) that
                e-mail OTPs go to, e.g. tests/py/smtp_sink.py

Re-running re-seeds (the users' old tokens are deleted first, new seeds made).
Prints one JSON object on stdout describing what it made (also written to
DIR/seed.json, mode 0600: it holds the token seeds and the phone's private key);
progress goes to stderr.

What it sets up (all users in realm PI_REALM, tokens without PIN):
  alice  TOTP  serial TOTP-ALICE, random 20-byte seed (printed), sha1, 6 digits, 30 s.
         /validate/check user=alice pass=<otp> accepts: an empty token PIN with the
         default otppin=tokenpin makes pass = "" + OTP. Verified here with the code
         of the PREVIOUS 30 s step (privacyIDEA's default TOTP window is 180 s), so
         the current step's code is still unused when this script ends. (Every success
         stores the token's drift, tokeninfo timeShift = start of the matched step - now,
         here -30..-60 s, and centres later windows on it; the token owns that key,
         admins cannot reset it; the next success with a current code moves it back.)
  bob    HOTP  serial HOTP-BOB, random seed (printed). Verified here with counter 0:
         the next unused counter is 1 (printed as next_counter).
  carol  SMS   serial SMS-CAROL, phone +15550001003. /validate/check user=carol pass=
         (empty: the PIN) sends the SMS and answers with a transaction_id; then
         /validate/check user=carol transaction_id=T pass=<otp> accepts.
  dave   EMAIL serial EMAIL-DAVE, dave@example.test; the same challenge flow by e-mail.
  erin   PUSH  serial PUSH-ERIN, poll-only (no Firebase): the phone is emulated by
         tests/py/pi_phone.py (its module does the enrollment here too). Enrolled in
         two steps: POST /token/init type=push genkey=1 gives the QR code URL
         (otpauth://pipush/PUSH-ERIN?url=<PI_URL>/ttype/push&ttl=10&...
         &enrollment_credential=..&serial=..&sslverify=0&poll_only=True); the phone
         makes an RSA 4096 key pair (as the privacyIDEA Authenticator app) and POSTs
         enrollment_credential, serial, fbtoken=no_firebase_token, pubkey to that url,
         which answers with privacyIDEA's public key for the token. Login: a challenge
         (/validate/triggerchallenge with the admin JWT, or /validate/check user=erin
         pass= (empty: the PIN)) gives a transaction_id T; the phone polls GET
         /ttype/push and answers; /validate/polltransaction?transaction_id=T says
         value true + challenge_status "accept" (or false + "declined" / "cancelled" /
         "pending"; "pending" also for a T that is unknown, expired or already
         finalized); /validate/check user=erin pass= transaction_id=T then ACCEPTs
         (once: the challenge is gone after it). It REJECTs ("Response did not match
         the challenge.") a declined, cancelled or still pending T, without counting
         a failure; a T that is gone (finalized, expired, unknown) REJECTs as "wrong
         otp pin" and raises the token's failcount (maxfail 10; a success resets it).
         privacyIDEA's challenges live 120 s (DefaultChallengeValidityTime): the
         phone must answer within that; an answer keeps the challenge redeemable for
         300 s more (PushChallengeFinalizeGrace). Seeding leaves no open challenge.
SMS, e-mail and PUSH tokens are challenge-response by nature: no authentication
policy is needed for that (challenge_response=... is only for HOTP/TOTP and friends).

PUSH policies: "mfagate-push-enroll" (scope enrollment): push_firebase_configuration=
poll only (no push gateway: the phone polls), push_registration_url=<PI_URL>/ttype/push
(required, at enrollment and at every poll of the phone), push_ttl=10 (minutes for the
second enrollment step), push_ssl_verify=0 (http on loopback). "mfagate-push-auth" (scope authentication): push_allow_polling=
allow (the default, explicit), push_ssl_verify=0 (the sslverify field of challenges).
Authorization policy "mfagate-authz": application_tokentype, so a caller may pass
type=push to /validate/triggerchallenge (mfagate does inside an LDAP bind).

SMS gateway "mfagate-sms-sink" (HttpSMSProvider): POST to SMS_SINK_URL as an HTML
form (application/x-www-form-urlencoded, not JSON), body phone=<phone>&text=<SMS
text>; privacyIDEA's default SMS text is the bare OTP ("<otp>"). Success = HTTP
200/201/202 with "OK" in the reply body (sms_sink.py answers "OK").
SMTP server "mfagate-smtp-sink": 127.0.0.1:SMTP_PORT, no TLS, no AUTH, sender
privacyidea@example.test; privacyIDEA's default mail: subject "Your OTP", body
the bare OTP (base64 transfer encoding).

Admin policy "mfagate-admin" (scope admin): triggerchallenge, so the admin JWT may
call /validate/triggerchallenge. Careful: once ANY admin-scope policy exists the
admin may do only what admin policies allow (with none, everything), so the policy
grants every boolean admin action privacyIDEA defines (GET /policy/defs/admin; among
them enrollPUSH), except the "*_force_server_generate" ones, which would forbid
enrolling a known seed. Verified here: triggerchallenge for carol returns a
transaction_id (one SMS goes to the sink); triggerchallenge for erin, the phone
approves, polltransaction says accept and /validate/check pass= transaction_id=T
ACCEPTs; and the admin still sees the five tokens.

seed.json tokens.erin (for tests/py/pi_phone.py): type push, serial, pin "",
registration_url (<PI_URL>/ttype/push: the phone polls and answers there),
phone_private_key_pem (PKCS#8), phone_public_key (base64 SubjectPublicKeyInfo, as
sent), server_public_key_pem (privacyIDEA's key for the token, SubjectPublicKeyInfo
PEM: verifies the challenges), server_public_key_pkcs1 (as privacyIDEA sent it),
sslverify, poll_only, fbtoken, python (a python with cryptography, for pi_phone.py).
"""
import base64
import hashlib
import hmac
import importlib.util
import json
import os
import secrets
import shlex
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SMS_GATEWAY = "mfagate-sms-sink"
SMTP_SERVER = "mfagate-smtp-sink"
ADMIN_POLICY = "mfagate-admin"
SENDER = "privacyidea@example.test"
CAROL_PHONE = "+15550001003"
DAVE_EMAIL = "dave@example.test"
PUSH_SERIAL = "PUSH-ERIN"
PUSH_ENROLL_POLICY = "mfagate-push-enroll"
PUSH_AUTH_POLICY = "mfagate-push-auth"
AUTHZ_POLICY = "mfagate-authz"
USERS = ("alice", "bob", "carol", "dave", "erin")
HERE = os.path.dirname(os.path.abspath(__file__))
PI_PHONE = os.path.join(HERE, "..", "tests", "py", "pi_phone.py")


def die(msg):
    print(f"seed-privacyidea.py: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_env(path):
    """The export lines of DIR/env (values shell-quoted) as a dict."""
    env = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        die(f"cannot read {path} ({e.strerror}): start it first (scripts/start-privacyidea.sh DIR)")
    for line in lines:
        words = shlex.split(line, comments=True)
        if words and words[0] == "export":
            for w in words[1:]:
                k, _, v = w.partition("=")
                env[k] = v
    for k in ("PI_URL", "PI_ADMIN", "PI_ADMIN_PASSWORD", "PI_REALM"):
        if not env.get(k):
            die(f"{path} has no {k}")
    return env


class Pi:
    def __init__(self, url):
        self.url = url.rstrip("/")
        self.jwt = None

    def call(self, method, path, data=None, auth=True, ok=True):
        """One API call; form-encoded parameters. Returns the parsed JSON answer; with
        ok=True, anything but HTTP 200 with result.status true is fatal."""
        url = self.url + path
        body = None
        if data and method in ("GET", "DELETE"):
            url += "?" + urllib.parse.urlencode(data)
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(url, data=body, method=method)
        if auth and self.jwt:
            req.add_header("PI-Authorization", self.jwt)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, out = r.status, json.load(r)
        except urllib.error.HTTPError as e:
            status = e.code
            try:
                out = json.load(e)
            except ValueError:
                out = {"raw": "(not JSON)"}
        except (urllib.error.URLError, OSError) as e:
            die(f"{method} {url}: {e} (is it running? scripts/start-privacyidea.sh DIR)")
        if ok and (status != 200 or not out.get("result", {}).get("status")):
            err = out.get("result", {}).get("error") or out
            die(f"{method} {path} failed (HTTP {status}): {json.dumps(err)[:500]}")
        return out

    def value(self, method, path, data=None, auth=True):
        return self.call(method, path, data, auth)["result"]["value"]


def otp(key, counter, digits=6):
    """RFC 4226 HOTP (sha1); TOTP = HOTP of the time step."""
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return str((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


def b32(key):
    return base64.b32encode(key).decode().rstrip("=")


def ensure_cryptography(env, d):
    """The PUSH token's RSA keys need the package cryptography: without it, re-run this
    script with privacyIDEA's venv python (which has it)."""
    try:
        import cryptography  # noqa: F401
        return
    except ImportError:
        pass
    venvs = [env.get("PI_VENV"), os.environ.get("MFAGATE_PI_VENV"), os.path.join(d, "venv")]
    for v in venvs:
        py = os.path.join(v, "bin", "python") if v else ""
        if (py and os.access(py, os.X_OK) and os.path.abspath(py) != os.path.abspath(sys.executable)
                and not os.environ.get("MFAGATE_SEED_REEXEC")):
            log(f"{sys.executable} has no cryptography: re-running with {py}")
            os.environ["MFAGATE_SEED_REEXEC"] = "1"
            os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])
    die(f"{sys.executable} has no python package cryptography (the PUSH token's RSA keys) and "
        "no privacyIDEA venv python was found (PI_VENV in DIR/env, MFAGATE_PI_VENV, DIR/venv)")


def load_pi_phone():
    """tests/py/pi_phone.py as a module: the phone emulator also does the enrollment."""
    spec = importlib.util.spec_from_file_location("pi_phone", PI_PHONE)
    if spec is None:
        die(f"cannot load {PI_PHONE}")
    mod = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True  # no tests/py/__pycache__ in the work tree
    try:
        spec.loader.exec_module(mod)
    except OSError as e:
        die(f"cannot load {PI_PHONE}: {e}")
    return mod


def main():
    if len(sys.argv) != 4:
        print(f"usage: {sys.argv[0]} DIR SMS_SINK_URL SMTP_PORT", file=sys.stderr)
        sys.exit(2)
    d, sms_url, smtp_port = sys.argv[1:4]
    if not smtp_port.isdigit() or not 0 < int(smtp_port) < 65536:
        die(f"SMTP_PORT must be a port number, not {smtp_port!r}")
    if urllib.parse.urlsplit(sms_url).scheme not in ("http", "https"):
        die(f"SMS_SINK_URL must be an http(s) URL, not {sms_url!r}")
    t0 = time.monotonic()
    env = read_env(os.path.join(d, "env"))
    ensure_cryptography(env, d)
    pi_phone = load_pi_phone()
    realm = env["PI_REALM"]
    pi = Pi(env["PI_URL"])
    push_url = pi.url + "/ttype/push"

    # admin JWT (raw in the PI-Authorization header; "Authorization" works too)
    pi.jwt = pi.value("POST", "/auth", {"username": env["PI_ADMIN"],
                                        "password": env["PI_ADMIN_PASSWORD"]}, auth=False)["token"]

    # --- delivery: SMS gateway, SMTP server, system-wide defaults --------------------
    pi.value("POST", "/smsgateway", {
        "name": SMS_GATEWAY,
        "module": "privacyidea.lib.smsprovider.HttpSMSProvider.HttpSMSProvider",
        "description": "mfagate tests: tests/py/sms_sink.py",
        "option.URL": sms_url, "option.HTTP_METHOD": "POST",
        "option.SEND_DATA_AS_JSON": "no", "option.CHECK_SSL": "no",
        "option.RETURN_SUCCESS": "OK", "option.TIMEOUT": "5",
        # any other option is a request parameter; {phone} and {otp} (the SMS text)
        # are filled in
        "option.phone": "{phone}", "option.text": "{otp}",
    })
    pi.value("POST", f"/smtpserver/{SMTP_SERVER}", {
        "server": "127.0.0.1", "port": smtp_port, "tls": "0", "sender": SENDER,
        "timeout": "5", "description": "mfagate tests: tests/py/smtp_sink.py",
    })
    pi.value("POST", "/system/setConfig", {"sms.identifier": SMS_GATEWAY,
                                           "email.identifier": SMTP_SERVER})
    log(f"sms gateway {SMS_GATEWAY} -> {sms_url}; smtp server {SMTP_SERVER} -> 127.0.0.1:{smtp_port}")

    # --- PUSH: poll only (no Firebase gateway); the phone polls /ttype/push -----------
    # (a value may hold a space, "poll only": privacyIDEA reads these actions with
    # allow_white_space_in_action)
    push_enroll = {"push_firebase_configuration": "poll only",
                   "push_registration_url": push_url, "push_ttl": "10", "push_ssl_verify": "0"}
    push_auth = {"push_allow_polling": "allow", "push_ssl_verify": "0"}
    for name, scope, acts in ((PUSH_ENROLL_POLICY, "enrollment", push_enroll),
                              (PUSH_AUTH_POLICY, "authentication", push_auth)):
        pi.value("POST", f"/policy/{name}", {
            "scope": scope, "active": "true", "description": "mfagate tests: PUSH, poll only",
            "action": ",".join(f"{k}={v}" for k, v in acts.items())})
    log(f"push policies {PUSH_ENROLL_POLICY}, {PUSH_AUTH_POLICY}: poll only, {push_url}")
    # The caller may restrict /validate/triggerchallenge to one token type (mfagate asks
    # for type=push inside an LDAP bind, which cannot carry a code).
    pi.value("POST", f"/policy/{AUTHZ_POLICY}", {
        "scope": "authorization", "active": "true", "action": "application_tokentype",
        "description": "mfagate tests: the caller may choose the token type"})

    # --- tokens (the users' old ones go first) ----------------------------------------
    for user in USERS:
        toks = pi.value("GET", "/token/", {"user": user, "realm": realm})["tokens"]
        for t in toks:
            pi.value("DELETE", f"/token/{urllib.parse.quote(t['serial'])}")

    totp_key, hotp_key = secrets.token_bytes(20), secrets.token_bytes(20)
    base = {"realm": realm, "pin": "", "description": "mfagate test token"}
    pi.value("POST", "/token/init", dict(base, type="totp", user="alice", serial="TOTP-ALICE",
                                         otpkey=totp_key.hex(), otplen=6, hashlib="sha1", timeStep=30))
    pi.value("POST", "/token/init", dict(base, type="hotp", user="bob", serial="HOTP-BOB",
                                         otpkey=hotp_key.hex(), otplen=6, hashlib="sha1"))
    pi.value("POST", "/token/init", dict(base, type="sms", user="carol", serial="SMS-CAROL",
                                         genkey=1, phone=CAROL_PHONE))
    pi.value("POST", "/token/init", dict(base, type="email", user="dave", serial="EMAIL-DAVE",
                                         genkey=1, email=DAVE_EMAIL))
    # PUSH, step 1: privacyIDEA makes the token (rollout_state clientwait) and the QR
    # code URL; step 2: the phone (pi_phone.enroll) posts its public key to that URL
    init = pi.call("POST", "/token/init", dict(base, type="push", user="erin", serial=PUSH_SERIAL,
                                               genkey=1))
    qr = ((init.get("detail") or {}).get("pushurl") or {}).get("value")
    if not qr:
        die(f"push enrollment step 1: no detail.pushurl.value: {json.dumps(init.get('detail'))[:400]}")
    try:
        push = pi_phone.enroll(qr)
    except pi_phone.PhoneError as e:
        die(f"push enrollment step 2: {e}")
    tok = pi.value("GET", "/token/", {"serial": PUSH_SERIAL})["tokens"]
    if not tok or tok[0].get("rollout_state") != "enrolled" or not tok[0].get("active"):
        die(f"push token {PUSH_SERIAL} not enrolled and active after step 2: {json.dumps(tok)[:400]}")
    log("tokens TOTP-ALICE, HOTP-BOB, SMS-CAROL, EMAIL-DAVE, PUSH-ERIN enrolled")

    # --- admin policy (last: from here on the admin has only what it grants) ----------
    defs = pi.value("GET", "/policy/defs/admin")
    actions = sorted(a for a, d in defs.items()
                     if d.get("type") == "bool" and not a.endswith("_force_server_generate"))
    for need in ("triggerchallenge", "enrollPUSH"):
        if need not in actions:
            die(f"privacyIDEA defines no boolean admin action {need}")
    pi.value("POST", f"/policy/{ADMIN_POLICY}", {
        "scope": "admin", "action": ",".join(actions), "active": "true",
        "description": "mfagate tests: triggerchallenge (and every other admin right)"})
    log(f"admin policy {ADMIN_POLICY}: triggerchallenge + {len(actions) - 1} other actions")

    # --- verification -----------------------------------------------------------------
    verified = {}

    def check(label, data, want, hint=""):
        out = pi.call("POST", "/validate/check", data, auth=False, ok=False)
        got = (out.get("result") or {}).get("authentication")
        if got != want:
            die(f"verify {label}: want {want}, got {got}: "
                f"{json.dumps(out.get('detail') or out.get('result'))[:400]}{hint}")
        verified[label] = got
        return out

    step = int(time.time()) // 30
    check("alice_totp_previous_step", {"user": "alice", "realm": realm,
                                       "pass": otp(totp_key, step - 1)}, "ACCEPT")
    check("bob_hotp_counter_0", {"user": "bob", "realm": realm, "pass": otp(hotp_key, 0)}, "ACCEPT")
    # exception=1: a failed delivery is an error, not a challenge without an SMS
    # (with exception=1 privacyIDEA answers a failed delivery with a bare HTTP 500)
    out = check("carol_check_empty_pass", {"user": "carol", "realm": realm, "pass": "",
                                           "exception": "1"}, "CHALLENGE",
                f" (SMS delivery failed? is the sink at {sms_url} up? see PI_DIR/privacyidea.log)")
    verified["carol_check_transaction_id"] = out["detail"]["transaction_id"]
    out = check("dave_check_empty_pass", {"user": "dave", "realm": realm, "pass": "",
                                          "exception": "1"}, "CHALLENGE",
                f" (e-mail delivery failed? is an SMTP server on 127.0.0.1:{smtp_port}? "
                "see PI_DIR/privacyidea.log)")
    verified["dave_check_transaction_id"] = out["detail"]["transaction_id"]
    out = pi.call("POST", "/validate/triggerchallenge", {"user": "carol", "realm": realm,
                                                        "exception": "1"}, ok=False)
    txid = (out.get("detail") or {}).get("transaction_id")
    if not txid or (out.get("result") or {}).get("value") != 1:
        die(f"verify triggerchallenge carol: no transaction_id: {json.dumps(out)[:400]}")
    verified["carol_triggerchallenge_transaction_id"] = txid

    # PUSH: trigger, (pending), the phone approves, polltransaction accept, finalize
    out = pi.call("POST", "/validate/triggerchallenge", {"user": "erin", "realm": realm}, ok=False)
    mc = [c for c in (out.get("detail") or {}).get("multi_challenge") or []
          if c.get("serial") == PUSH_SERIAL]
    if not mc or not mc[0].get("transaction_id"):
        die(f"verify triggerchallenge erin: no push challenge: {json.dumps(out)[:400]}")
    txid = mc[0]["transaction_id"]
    verified["erin_triggerchallenge_transaction_id"] = txid

    def poll_tx(want_value, want_status):
        out = pi.call("GET", "/validate/polltransaction", {"transaction_id": txid}, auth=False,
                      ok=False)
        got = ((out.get("result") or {}).get("value"),
               (out.get("detail") or {}).get("challenge_status"))
        if got != (want_value, want_status):
            die(f"verify polltransaction {txid}: want {(want_value, want_status)}, got {got}: "
                f"{json.dumps(out)[:400]}")
        return want_status

    verified["erin_polltransaction_before"] = poll_tx(False, "pending")
    phone = pi_phone.Phone(push["registration_url"], PUSH_SERIAL, push["phone_private_key_pem"],
                           push["server_public_key_pem"])
    try:
        ans = pi_phone.wait_and_answer(phone, "approve", timeout=10)
    except pi_phone.PhoneError as e:
        die(f"verify push erin: the phone: {e}")
    if ans["http_status"] != 200 or (ans.get("result") or {}).get("value") is not True:
        die(f"verify push erin: privacyIDEA refused the approval: {json.dumps(ans)[:400]}")
    verified["erin_phone_approve"] = True
    verified["erin_polltransaction_after"] = poll_tx(True, "accept")
    check("erin_check_empty_pass_transaction_id", {"user": "erin", "realm": realm, "pass": "",
                                                   "transaction_id": txid}, "ACCEPT")

    n = pi.value("GET", "/token/", {"realm": realm})["count"]
    if n != 5:
        die(f"verify: the admin sees {n} tokens in {realm}, not 5 (admin policy too narrow?)")
    verified["admin_sees_tokens"] = n

    result = {
        "url": pi.url, "realm": realm, "admin": env["PI_ADMIN"],
        "tokens": {
            "alice": {"type": "totp", "serial": "TOTP-ALICE", "pin": "", "seed_base32": b32(totp_key),
                      "seed_hex": totp_key.hex(), "algorithm": "sha1", "digits": 6, "period": 30,
                      "used_step": step - 1},
            "bob": {"type": "hotp", "serial": "HOTP-BOB", "pin": "", "seed_base32": b32(hotp_key),
                    "seed_hex": hotp_key.hex(), "algorithm": "sha1", "digits": 6, "next_counter": 1},
            "carol": {"type": "sms", "serial": "SMS-CAROL", "pin": "", "phone": CAROL_PHONE},
            "dave": {"type": "email", "serial": "EMAIL-DAVE", "pin": "", "email": DAVE_EMAIL},
            "erin": {"type": "push", "serial": PUSH_SERIAL, "pin": "",
                     "registration_url": push["registration_url"],
                     "phone_private_key_pem": push["phone_private_key_pem"],
                     "phone_public_key": push["phone_public_key"],
                     "server_public_key_pem": push["server_public_key_pem"],
                     "server_public_key_pkcs1": push["server_public_key_pkcs1"],
                     "sslverify": push["sslverify"], "poll_only": push["poll_only"],
                     "fbtoken": pi_phone.NO_FIREBASE_TOKEN, "python": sys.executable},
        },
        "sms_gateway": {"identifier": SMS_GATEWAY, "url": sms_url, "method": "POST",
                        "encoding": "form", "fields": {"phone": "{phone}", "text": "{otp}"},
                        "text": "the bare OTP (privacyIDEA's default SMS text)"},
        "smtp_server": {"identifier": SMTP_SERVER, "host": "127.0.0.1", "port": int(smtp_port),
                        "tls": False, "auth": False, "sender": SENDER,
                        "subject": "Your OTP", "body": "the bare OTP"},
        "policies": {ADMIN_POLICY: {"scope": "admin", "includes": "triggerchallenge,enrollPUSH",
                                    "actions": len(actions)},
                     PUSH_ENROLL_POLICY: {"scope": "enrollment", "actions": push_enroll},
                     PUSH_AUTH_POLICY: {"scope": "authentication", "actions": push_auth},
                     AUTHZ_POLICY: {"scope": "authorization",
                                    "actions": {"application_tokentype": True}}},
        "verified": verified,
        "seconds": round(time.monotonic() - t0, 2),
    }
    text = json.dumps(result, indent=2, sort_keys=True)
    path = os.path.join(d, "seed.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
