#!/usr/bin/env bash
# Starts a throw-away privacyIDEA 3.14 (a real MFA service: the peer of mfagate's
# privacyIDEA provider) on 127.0.0.1:PORT under gunicorn (2 workers, daemonized),
# with sqlite, keys and logs in DIR. Any user, root or not (no privileged port).
# usage: start-privacyidea.sh DIR [PORT]     (PORT default 5001)
# stop:  scripts/stop-privacyidea.sh DIR [--clean]
# seed:  scripts/seed-privacyidea.py DIR SMS_SINK_URL SMTP_PORT (tokens, policies)
# needs: python3 (>= 3.10, with venv), curl; PyPI on the first run (the venv).
# env:   MFAGATE_PI_VENV    venv with privacyidea==3.14, gunicorn and aiosmtpd (for
#                           tests/py/smtp_sink.py) (default DIR/venv; made or completed
#                           if anything is missing, ~30 s and ~520 MB: keep one outside
#                           DIR to reuse it across DIRs)
#        MFAGATE_PI_PYTHON  python that makes the venv (default python3)
#
# Idempotent: when DIR/env exists and that server answers (health and admin login),
# nothing is done. Otherwise DIR is started afresh (all but the venv is wiped, and
# only if DIR is empty or from this script).
#
# Realm "mfarealm" (the default realm) from a flat-file (passwd) resolver with the
# users alice, bob, carol, dave, erin; each has the password "<name>-Passw0rd" (for
# otppin=userstore) and, in the gecos field, a phone and an e-mail address
# (+1555000100N, <name>@example.test; N = 1..5). Admin "admin" with a random
# password. Hash parameters are privacyIDEA's own test ones (argon2 with 1 round,
# 8 KiB): its production defaults cost ~200 ms per PIN/password check (~4 req/s);
# and sqlite runs without fsync (WAL, synchronous=OFF): throw-away data.
# Files: DIR/env (source it; mode 0600: holds the admin password; PI_VENV names the
#        venv), DIR/pi.cfg, DIR/privacyidea.sqlite, DIR/users.passwd, DIR/gunicorn.pid,
#        DIR/gunicorn.log (server errors), DIR/privacyidea.log (privacyIDEA's log).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then echo "usage: $0 DIR [PORT]" >&2; exit 2; fi
D=$1
PORT=${2:-5001}
case "$PORT" in '' | *[!0-9]*) echo "$0: PORT must be a number, not '$PORT'" >&2; exit 2 ;; esac
PORT=$((10#$PORT))
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then echo "$0: PORT out of range: $PORT" >&2; exit 2; fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${MFAGATE_PI_PYTHON:-python3}
REALM=mfarealm
ADMIN="admin"
URL=http://127.0.0.1:$PORT
MARKER=.mfagate-privacyidea

command -v curl >/dev/null || { echo "$0: curl missing" >&2; exit 1; }

ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { printf '%d.%01d s' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }
t0=$(ms)

# --- already running? --------------------------------------------------------------
# "answers" = /healthz/ is 200 and the admin of DIR/env can log in (so it is this
# DIR's server, not another one on the port).
answers() { # URL ADMIN PASSWORD
  [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$1/healthz/")" = 200 ] &&
    printf 'username=%s&password=%s' "$2" "$3" |
      curl -sf -m 10 -o /dev/null --data-binary @- "$1/auth"
}
if [ -f "$D/env" ]; then
  # shellcheck source=/dev/null
  if (. "$D/env" && answers "$PI_URL" "$PI_ADMIN" "$PI_ADMIN_PASSWORD"); then
    running=$(. "$D/env" && echo "$PI_URL")
    if [ $# -eq 2 ] && [ "$running" != "$URL" ]; then
      echo "$0: privacyIDEA of $D already runs on $running, not $URL; stop it first" \
           "(scripts/stop-privacyidea.sh $D)" >&2
      exit 1
    fi
    echo "privacyIDEA already running on $running (env: $D/env); nothing to do"
    exit 0
  fi
fi

# --- fresh DIR -------------------------------------------------------------------
# DIR is wiped (all but a venv inside it): only when it is ours or empty.
if [ -e "$D" ] && [ ! -d "$D" ]; then echo "$0: $D is not a directory" >&2; exit 1; fi
if [ -e "$D" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/$MARKER" ]; then
  echo "$0: $D exists and is not a privacyIDEA dir from this script; not wiping it" >&2; exit 1
fi
# A server from the same DIR (env missing, or not answering) would hold files and port.
"$HERE/stop-privacyidea.sh" "$D"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "$0: 127.0.0.1:$PORT is already in use (another privacyIDEA? scripts/stop-privacyidea.sh DIR);" \
       "stop it or choose another PORT" >&2
  exit 1
fi
mkdir -p "$D"
D=$(cd "$D" && pwd -P)  # absolute and physical: pi.cfg paths must not depend on the cwd
V=${MFAGATE_PI_VENV:-$D/venv}
case "$V" in /*) ;; *) V=$PWD/$V ;; esac
V=${V%/}
# (a venv at DIR/venv stays even when MFAGATE_PI_VENV now names another one;
# stop-privacyidea.sh DIR --clean removes it)
find "$D" -mindepth 1 -maxdepth 1 ! -path "$D/venv" ! -path "$V" -exec rm -rf {} +
touch "$D/$MARKER"

# --- venv --------------------------------------------------------------------------
venv_ok() {
  "$V/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if m.version("privacyidea") == "3.14" and m.version("gunicorn") and m.version("aiosmtpd") else 1)
PY
}
if ! venv_ok; then
  if [ -e "$V" ] && [ ! -f "$V/pyvenv.cfg" ] && [ -n "$(ls -A "$V")" ]; then
    echo "$0: $V exists and is not a Python venv; not touching it (MFAGATE_PI_VENV?)" >&2; exit 1
  fi
  command -v "$PYTHON" >/dev/null || { echo "$0: $PYTHON missing (MFAGATE_PI_PYTHON)" >&2; exit 1; }
  echo "installing privacyidea==3.14, gunicorn and aiosmtpd into $V (PyPI; ~30 s) ..."
  tv=$(ms)
  if [ ! -x "$V/bin/python" ]; then
    "$PYTHON" -m venv "$V" || { echo "$0: '$PYTHON -m venv $V' failed (python3-venv missing?)" >&2; exit 1; }
  fi
  "$V/bin/pip" install -q --disable-pip-version-check 'privacyidea==3.14' gunicorn aiosmtpd >"$D/pip.log" 2>&1 ||
    { echo "$0: pip install into $V failed:" >&2; tail -20 "$D/pip.log" >&2; exit 1; }
  venv_ok || { echo "$0: $V still lacks privacyidea 3.14 / gunicorn / aiosmtpd after pip install" >&2; exit 1; }
  echo "venv ready in $(secs $(( $(ms) - tv ))): $V"
fi
t1=$(ms)

# --- config ------------------------------------------------------------------------
rnd() { head -c 36 /dev/urandom | base64 -w0 | tr -d '/+='; }
ADMIN_PASSWORD=$(rnd)
umask 077  # keys, secrets, the database: ours alone
cat >"$D/pi.cfg" <<EOF
# written by scripts/start-privacyidea.sh (throw-away test server; never production)
SQLALCHEMY_DATABASE_URI = 'sqlite:///$D/privacyidea.sqlite'
# two gunicorn workers share the sqlite file: wait for its lock instead of failing
SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"timeout": 30}}
SECRET_KEY = '$(rnd)'
PI_PEPPER = '$(rnd)'
PI_ENCFILE = '$D/enckey'
PI_AUDIT_KEY_PRIVATE = '$D/private.pem'
PI_AUDIT_KEY_PUBLIC = '$D/public.pem'
PI_LOGFILE = '$D/privacyidea.log'
PI_LOGLEVEL = 20
PI_UUID_FILE = '$D/uuid.txt'
PI_NODE = 'mfagate-test'
PI_BASE_URL = '$URL'
# privacyIDEA's own test parameters (privacyidea/config.py, TestingConfig): argon2's
# production defaults cost ~200 ms per hash and cap the server at ~4 requests/s.
PI_HASH_ALGO_PARAMS = {"argon2__rounds": 1, "argon2__memory_cost": 8, "argon2__parallelism": 1}
PI_AUDIT_NO_PRIVATE_KEY_CHECK = True
PI_RESPONSE_NO_PRIVATE_KEY_CHECK = True

# sqlite without an fsync per commit (a /validate/check makes ~4 commits, token and
# audit): ~130 ms -> ~40 ms a request. WAL lets the two workers read while one
# writes. Throw-away data only: a crash of the machine may lose or corrupt it.
from sqlalchemy import event as _event
from sqlalchemy.engine import Engine as _Engine

@_event.listens_for(_Engine, "connect")
def _mfagate_sqlite_pragmas(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()
EOF
umask 022

# Users: name:crypt:uid:gid:gecos:home:shell, gecos "Given Surname,,office,home,email"
# (PasswdIdResolver reads the phones from fields 3 and 4, an e-mail from 5 on).
# sha512_crypt with the minimum rounds: a password check must not cost 0.3 s either.
"$V/bin/python" - "$D/users.passwd" <<'PY'
import sys
from passlib.hash import sha512_crypt
users = ["alice", "bob", "carol", "dave", "erin"]
with open(sys.argv[1], "w") as f:
    for i, u in enumerate(users, 1):
        h = sha512_crypt.using(rounds=1000).hash(f"{u}-Passw0rd")
        f.write(f"{u}:{h}:{2000 + i}:{2000 + i}:{u.capitalize()} Test,,+1555000100{i},"
                f"+1555000100{i},{u}@example.test:/home/{u}:/bin/sh\n")
PY
echo "{'fileName': '$D/users.passwd'}" >"$D/resolver.conf"

# pi-manage's own commands, all in one python process: each pi-manage run spends
# ~3 s importing privacyIDEA (7 runs: 21 s; this: ~7 s). The admin password goes
# in through the environment, not a command line.
export PRIVACYIDEA_CONFIGFILE=$D/pi.cfg
PI_SETUP_ADMIN_PASSWORD=$ADMIN_PASSWORD "$V/bin/python" - "$D" "$ADMIN" "$REALM" \
  >"$D/setup.log" 2>&1 <<'PY' || { echo "$0: privacyIDEA setup failed:" >&2; tail -30 "$D/setup.log" >&2; exit 1; }
import os, sys
from privacyidea.cli import create_silent_app
from privacyidea.cli.pimanage import cli
d, admin, realm = sys.argv[1:4]
for args in (["setup", "create_enckey"], ["setup", "create_audit_keys"], ["setup", "create_tables"],
             ["admin", "add", admin, "-p", os.environ.pop("PI_SETUP_ADMIN_PASSWORD")],
             ["config", "resolver", "create", "flatusers", "passwdresolver", f"{d}/resolver.conf"],
             ["config", "realm", "create", realm, "flatusers"],
             ["config", "realm", "set_default", realm]):
    print("+ pi-manage", " ".join(args[:3]), flush=True)
    try:
        cli.main(args=args, prog_name="pi-manage", standalone_mode=False)
    except SystemExit as e:
        if e.code:
            raise
# some commands only print their failure: check the outcome
from privacyidea.lib.realm import get_default_realm, get_realms
with create_silent_app().app_context():
    got = get_realms().get(realm, {})
    assert [r.get("name") for r in got.get("resolver", [])] == ["flatusers"], f"realm {realm}: {got}"
    assert get_default_realm() == realm, f"default realm is {get_default_realm()!r}"
print("setup done")
PY
t2=$(ms)

# --- run ---------------------------------------------------------------------------
# --no-control-socket: gunicorn 27's default socket is one per user ($HOME), which a
# second server would fight over.
(cd "$D" && "$V/bin/gunicorn" --daemon --workers 2 --bind "127.0.0.1:$PORT" \
  --pid "$D/gunicorn.pid" --error-logfile "$D/gunicorn.log" --no-control-socket \
  --timeout 60 \
  "privacyidea.app:create_app(config_name='production', config_file='$D/pi.cfg', silent=True)") ||
  { echo "$0: gunicorn failed to start:" >&2; tail -30 "$D/gunicorn.log" >&2 || true; exit 1; }

up=
for _ in $(seq 600); do  # up to 60 s
  if [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$URL/healthz/")" = 200 ]; then up=1; break; fi
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "$0: privacyIDEA did not answer $URL/healthz/ within 60 s; gunicorn.log:" >&2
  tail -30 "$D/gunicorn.log" >&2 || true
  echo "--- privacyidea.log:" >&2
  tail -30 "$D/privacyidea.log" >&2 || true
  "$HERE/stop-privacyidea.sh" "$D" || true
  exit 1
fi
if ! answers "$URL" "$ADMIN" "$ADMIN_PASSWORD"; then
  echo "$0: privacyIDEA on $URL refuses admin login; privacyidea.log:" >&2
  tail -30 "$D/privacyidea.log" >&2 || true
  "$HERE/stop-privacyidea.sh" "$D" || true
  exit 1
fi
t3=$(ms)

# What the tests need to reach the server (0600: it holds the admin password).
umask 077
cat >"$D/env" <<ENV
# written by scripts/start-privacyidea.sh; source it
export PI_URL=$URL PI_REALM=$REALM
export PI_ADMIN=$ADMIN PI_ADMIN_PASSWORD='$ADMIN_PASSWORD'
# users of PI_REALM; user NAME's userstore password is NAME\$PI_USER_PASSWORD_SUFFIX
export PI_USERS='alice bob carol dave erin' PI_USER_PASSWORD_SUFFIX=-Passw0rd
export PI_DIR=$(printf %q "$D")
# privacyIDEA's venv; its python has cryptography (seed-privacyidea.py and
# tests/py/pi_phone.py use it for the PUSH token's RSA keys)
export PI_VENV=$(printf %q "$V")
ENV
chmod 600 "$D/env"
echo "privacyIDEA 3.14 pid $(cat "$D/gunicorn.pid") ready on $URL, realm $REALM," \
     "in $(secs $(( t3 - t0 ))) (venv $(secs $(( t1 - t0 ))), setup $(secs $(( t2 - t1 )))," \
     "start $(secs $(( t3 - t2 )))); env: $D/env"
