#!/usr/bin/env bash
# End-to-end smoke test of the privacyIDEA test peer: starts privacyIDEA afresh in DIR
# (scripts/start-privacyidea.sh), the SMS and SMTP sinks (tests/py/sms_sink.py,
# tests/py/smtp_sink.py) on free ports, seeds it (scripts/seed-privacyidea.py), then
# checks TOTP (accept, replay, wrong code), HOTP, the SMS challenge (via
# /validate/check and via /validate/triggerchallenge with the admin JWT, OTP read
# from the SMS sink) and the e-mail challenge (OTP from the SMTP sink). One line per
# check, then the timings; exit status 1 if any check failed. privacyIDEA and the
# sinks are stopped at the end (MFAGATE_PI_KEEP=1: left running, sinks too).
# usage: privacyidea-check.sh DIR
# env:   MFAGATE_PI_VENV  privacyIDEA's venv (see start-privacyidea.sh; default DIR/venv)
#        MFAGATE_PI_PORT  privacyIDEA's port (default: a free one)
#        MFAGATE_PI_KEEP  1: leave privacyIDEA and the sinks running
# needs: curl, python3 (stdlib only; smtp_sink.py runs in privacyIDEA's venv).
# Files: DIR/sinks/{sms,smtp}.jsonl (what the sinks got), DIR/sinks/*.log, DIR/seed.json.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then echo "usage: $0 DIR" >&2; exit 2; fi
D=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PY=${MFAGATE_PI_CHECK_PYTHON:-python3}
for c in curl "$PY"; do command -v "$c" >/dev/null || { echo "$0: $c missing" >&2; exit 1; }; done

ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { printf '%d.%01d s' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }
t0=$(ms)

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=${MFAGATE_PI_PORT:-$(free_port)}

SINK_PIDS=()
# shellcheck disable=SC2317  # (called by the EXIT trap only)
cleanup() {
  local p
  if [ "${MFAGATE_PI_KEEP:-}" = 1 ]; then
    echo "left running (MFAGATE_PI_KEEP=1): privacyIDEA (env: $D/env), sinks pids ${SINK_PIDS[*]:-none}"
    return
  fi
  for p in "${SINK_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${SINK_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  "$HERE/stop-privacyidea.sh" "$D" >/dev/null || true
}
trap cleanup EXIT

# --- privacyIDEA, afresh -----------------------------------------------------------
"$HERE/stop-privacyidea.sh" "$D"
rm -f "$D/env"  # so start-privacyidea.sh starts anew (it wipes DIR, keeps a venv)
"$HERE/start-privacyidea.sh" "$D" "$PORT"
D=$(cd "$D" && pwd -P)
V=${MFAGATE_PI_VENV:-$D/venv}
t1=$(ms)

# --- sinks (after the start: it wipes DIR) -----------------------------------------
mkdir -p "$D/sinks"
# start_sink NAME PYTHON SCRIPT: port 0 = a free one, read back from its first line
start_sink() {
  local name=$1 py=$2 script=$3 port=
  : >"$D/sinks/$name.log"  # exists before the sink runs: the poll below reads it at once
  "$py" "$script" 0 "$D/sinks/$name.jsonl" >"$D/sinks/$name.log" 2>&1 &
  SINK_PIDS+=("$!")
  for _ in $(seq 100); do
    port=$(sed -n 's/^{"listening": \([0-9]*\)}$/\1/p' "$D/sinks/$name.log")
    [ -n "$port" ] && break
    kill -0 "$!" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "$0: $name sink did not start:" >&2; cat "$D/sinks/$name.log" >&2; exit 1
  fi
  echo "$port"
}
# (not in $(...): the pid must land in this shell's SINK_PIDS)
start_sink sms "$PY" "$REPO/tests/py/sms_sink.py" >"$D/sinks/sms.port"
start_sink smtp "$V/bin/python" "$REPO/tests/py/smtp_sink.py" >"$D/sinks/smtp.port"
SMS_PORT=$(cat "$D/sinks/sms.port"); SMTP_PORT=$(cat "$D/sinks/smtp.port")
echo "sinks: sms http://127.0.0.1:$SMS_PORT/sms, smtp 127.0.0.1:$SMTP_PORT"
t2=$(ms)

# --- seed --------------------------------------------------------------------------
"$PY" "$HERE/seed-privacyidea.py" "$D" "http://127.0.0.1:$SMS_PORT/sms" "$SMTP_PORT" >"$D/seed.out" ||
  { echo "$0: seeding failed" >&2; exit 1; }
t3=$(ms)
echo "seeded in $(secs $(( t3 - t2 ))): $D/seed.json"

# --- checks ------------------------------------------------------------------------
status=0
"$PY" - "$D" <<'PY' || status=$?
import hashlib, hmac, json, shlex, struct, sys, time, urllib.error, urllib.parse, urllib.request

d = sys.argv[1]
env = {}
for line in open(f"{d}/env"):
    w = shlex.split(line, comments=True)
    if w and w[0] == "export":
        env.update(x.split("=", 1) for x in w[1:])
seed = json.load(open(f"{d}/seed.json"))
url, realm = env["PI_URL"], env["PI_REALM"]
failed = 0


def call(method, path, data, jwt=None):
    body = urllib.parse.urlencode(data).encode() if method == "POST" else None
    full = url + path + ("?" + urllib.parse.urlencode(data) if method == "GET" else "")
    req = urllib.request.Request(full, data=body, method=method)
    if jwt:
        req.add_header("PI-Authorization", jwt)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def check(label, want, method, path, data, jwt=None):
    """One request; want = result.authentication (ACCEPT/REJECT/CHALLENGE)."""
    global failed
    t = time.perf_counter()
    out = call(method, path, data, jwt)
    ms = (time.perf_counter() - t) * 1000
    res, det = out.get("result", {}), out.get("detail") or {}
    got = res.get("authentication") or ("ERROR " + json.dumps(res.get("error")))
    ok = got == want
    failed += not ok
    extra = f" transaction_id={det['transaction_id']}" if det.get("transaction_id") else ""
    print(f"{'ok  ' if ok else 'FAIL'} {label:<48} {got:<9} {ms:6.1f} ms  {det.get('message', '')!r}{extra}",
          flush=True)
    return out


def note(label, ok, text):
    global failed
    failed += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {label:<48} {text}", flush=True)


def otp(key, counter):
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return str((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 10 ** 6).zfill(6)


def lines(name):
    with open(f"{d}/sinks/{name}.jsonl", encoding="utf-8") as f:
        return f.read().splitlines()


def await_otp(name, mark, match, field):
    """The OTP in the first message after line `mark` of a sink that `match`es."""
    for _ in range(100):
        for line in lines(name)[mark:]:
            rec = json.loads(line)
            if match(rec):
                return "".join(ch for ch in field(rec) if ch.isdigit())
        time.sleep(0.1)
    return None


# alice: TOTP, no PIN -> pass is the bare code
alice = seed["tokens"]["alice"]
key = bytes.fromhex(alice["seed_hex"])
step = int(time.time()) // alice["period"]
code = otp(key, step)
check("alice TOTP current code", "ACCEPT", "POST", "/validate/check", {"user": "alice", "pass": code})
check("alice TOTP same code again (replay)", "REJECT", "POST", "/validate/check",
      {"user": "alice", "pass": code})
window = {otp(key, step + i) for i in range(-8, 9)}
wrong = next(c for c in (str((int(code) + k) % 10 ** 6).zfill(6) for k in range(1, 100)) if c not in window)
check("alice TOTP wrong code", "REJECT", "POST", "/validate/check", {"user": "alice", "pass": wrong})

# bob: HOTP
bob = seed["tokens"]["bob"]
key = bytes.fromhex(bob["seed_hex"])
n = bob["next_counter"]
check(f"bob HOTP counter {n}", "ACCEPT", "POST", "/validate/check", {"user": "bob", "pass": otp(key, n)})
check(f"bob HOTP counter {n} again (replay)", "REJECT", "POST", "/validate/check",
      {"user": "bob", "pass": otp(key, n)})
check(f"bob HOTP counter {n + 2} (skips one)", "ACCEPT", "POST", "/validate/check",
      {"user": "bob", "pass": otp(key, n + 2)})

# carol: SMS challenge via /validate/check with an empty pass (= her empty PIN)
phone = seed["tokens"]["carol"]["phone"]
is_carol = lambda r: (r.get("form") or {}).get("phone") == phone  # noqa: E731
sms_text = lambda r: r["form"]["text"]  # noqa: E731
mark = len(lines("sms"))
out = check("carol /validate/check pass='' -> SMS", "CHALLENGE", "POST", "/validate/check",
            {"user": "carol", "pass": ""})
tx = (out.get("detail") or {}).get("transaction_id")
code = await_otp("sms", mark, is_carol, sms_text)
note("carol SMS reached the sink", bool(code), f"otp={code}")
if tx and code:
    poll = call("GET", "/validate/polltransaction", {"transaction_id": tx})
    note("carol polltransaction (open SMS challenge)",
         poll["result"].get("value") is False and poll["detail"].get("challenge_status") == "pending",
         f"value={poll['result'].get('value')} challenge_status={poll['detail'].get('challenge_status')}")
    bad = "000000" if code != "000000" else "111111"
    check("carol answer wrong OTP", "REJECT", "POST", "/validate/check",
          {"user": "carol", "transaction_id": tx, "pass": bad})
    check("carol answer right OTP (after a wrong one)", "ACCEPT", "POST", "/validate/check",
          {"user": "carol", "transaction_id": tx, "pass": code})
    check("carol same answer again (challenge used)", "REJECT", "POST", "/validate/check",
          {"user": "carol", "transaction_id": tx, "pass": code})

# carol: SMS challenge via /validate/triggerchallenge with the admin JWT
jwt = call("POST", "/auth", {"username": env["PI_ADMIN"], "password": env["PI_ADMIN_PASSWORD"]})
jwt = jwt["result"]["value"]["token"]
mark = len(lines("sms"))
out = check("carol /validate/triggerchallenge (admin JWT)", "CHALLENGE", "POST",
            "/validate/triggerchallenge", {"user": "carol"}, jwt)
tx = (out.get("detail") or {}).get("transaction_id")
code = await_otp("sms", mark, is_carol, sms_text)
note("carol SMS reached the sink", bool(code), f"otp={code}")
if tx and code:
    check("carol answer triggered challenge", "ACCEPT", "POST", "/validate/check",
          {"user": "carol", "transaction_id": tx, "pass": code})
out = call("POST", "/validate/triggerchallenge", {"user": "carol"})
err = (out.get("result") or {}).get("error") or {}
note("triggerchallenge without JWT refused", out["result"].get("status") is False,
     f"error {err.get('code')}: {err.get('message')}")

# dave: e-mail challenge
mail = seed["tokens"]["dave"]["email"]
mark = len(lines("smtp"))
out = check("dave /validate/check pass='' -> e-mail", "CHALLENGE", "POST", "/validate/check",
            {"user": "dave", "pass": ""})
tx = (out.get("detail") or {}).get("transaction_id")
code = await_otp("smtp", mark, lambda r: mail in r.get("to", []), lambda r: r["body"])
note("dave e-mail reached the sink", bool(code), f"otp={code}")
if tx and code:
    check("dave answer right OTP", "ACCEPT", "POST", "/validate/check",
          {"user": "dave", "transaction_id": tx, "pass": code})

# the userstore password of the passwd resolver (e.g. for otppin=userstore): a user login
out = call("POST", "/auth", {"username": "alice", "password": "alice" + env["PI_USER_PASSWORD_SUFFIX"]})
role = ((out.get("result") or {}).get("value") or {}).get("role")
note("alice userstore password (POST /auth)", role == "user", f"role={role}")
out = call("POST", "/auth", {"username": "alice", "password": "wrong"})
note("alice wrong userstore password refused", out["result"].get("status") is False,
     f"error {((out.get('result') or {}).get('error') or {}).get('code')}")

# unknown user: an error, not a REJECT
out = call("POST", "/validate/check", {"user": "nobody", "pass": "123456"})
err = (out.get("result") or {}).get("error") or {}
note("unknown user", out["result"].get("status") is False or out["result"].get("value") is False,
     f"status={out['result'].get('status')} error {err.get('code')}: {err.get('message')}")

print(f"{failed} failed" if failed else "all checks passed")
sys.exit(1 if failed else 0)
PY
t4=$(ms)
echo "times: total $(secs $(( t4 - t0 ))) = privacyIDEA start $(secs $(( t1 - t0 ))), sinks $(secs $(( t2 - t1 )))," \
     "seed $(secs $(( t3 - t2 ))), checks $(secs $(( t4 - t3 )))"
exit "$status"
