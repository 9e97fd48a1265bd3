#!/usr/bin/env bash
# Starts a private FreeRADIUS 3.2 (a real RADIUS peer for the tests) as root:
#   127.0.0.1:PORT auth, PORT+1 acct, PORT+2 inner-tunnel (loopback only;
#   pick ports away from 1812/1813), config and logs under DIR.
# usage: start-freeradius.sh DIR PORT        stop: scripts/stop-freeradius.sh DIR
# env:   RADIUS_SECRET  secret of client 127.0.0.1 (default bench-secret-0123456789abcdef)
#        FR_USERS       number of PAP users (default 20000): user000001/pass000001, ...
# needs: freeradius (scripts/install-test-deps.sh); the package's own service is
#        never used. Prints "freeradius pid N ready on 127.0.0.1:PORT" once it
#        answers a Status-Server; the pid is also in DIR/run/pid.
set -euo pipefail

if [ $# -ne 2 ]; then echo "usage: $0 DIR PORT" >&2; exit 2; fi
D=$1; PORT=$2
if [ -z "$D" ]; then echo "DIR must not be empty" >&2; exit 2; fi
SECRET=${RADIUS_SECRET:-bench-secret-0123456789abcdef}
NUSERS=${FR_USERS:-20000}
case "$PORT" in ''|*[!0-9]*) echo "PORT must be a number: $PORT" >&2; exit 2 ;; esac
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65533 ]; then echo "PORT out of range: $PORT" >&2; exit 2; fi
case "$NUSERS" in ''|*[!0-9]*) echo "FR_USERS must be a number: $NUSERS" >&2; exit 2 ;; esac
# /etc/freeradius holds root:freerad 0640 files (and the server runs as root here)
if [ "$(id -u)" -ne 0 ]; then echo "$0: must run as root" >&2; exit 1; fi
command -v freeradius >/dev/null || { echo "freeradius missing: run scripts/install-test-deps.sh" >&2; exit 1; }

# DIR is wiped: only when it is ours (a previous run) or empty, never anything else.
if [ -e "$D" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/radiusd.conf" ]; then
  echo "$0: $D exists and is not a FreeRADIUS dir from this script; not wiping it" >&2; exit 1
fi
# A previous instance from this DIR would hold the ports: stop it first.
"$(dirname "${BASH_SOURCE[0]}")/stop-freeradius.sh" "$D"
rm -rf "$D"; mkdir -p "$(dirname "$D")"
cp -a /etc/freeradius/3.0 "$D"; mkdir -p "$D/run" "$D/log"
D=$(cd "$D" && pwd)  # absolute: radiusd.conf paths must not depend on the cwd

# Own dirs, run as root (no user/group switch), no 1 s delay before rejects.
sed -i -e "s#^raddbdir = .*#raddbdir = $D#" -e "s#^logdir = .*#logdir = $D/log#" \
       -e "s#^run_dir = .*#run_dir = $D/run#" -e 's/^\(\s*\)\(user\|group\) = freerad/\1#\2 = freerad/' \
       -e 's/^\(\s*\)reject_delay = 1/\1reject_delay = 0/' "$D/radiusd.conf"

S=$D/sites-available/default
# The first two listen sections (IPv4 auth, acct) go to loopback and our ports;
# the IPv6 pair is dropped.
python3 - "$S" "$PORT" <<'PY'
import re, sys
p, port = sys.argv[1], int(sys.argv[2]); s = open(p).read()
blocks = list(re.finditer(r'^listen \{.*?^\}\n', s, re.S | re.M))
assert len(blocks) >= 2, "no listen sections found in " + p
out, last = [], 0
for i, m in enumerate(blocks):
    out.append(s[last:m.start()]); b = m.group(0)
    if i < 2:
        b = re.sub(r'^\tipaddr = \*', '\tipaddr = 127.0.0.1', b, flags=re.M)
        b = re.sub(r'^\tport = 0', f'\tport = {port + i}', b, flags=re.M)
        out.append(b)
    last = m.end()
out.append(s[last:])
# Sign every reply with a Message-Authenticator (BlastRADIUS): 3.2.1 does not by
# itself, and mfagate's upstream client may insist on it.
sign = '\tupdate reply {\n\t\t&Message-Authenticator := 0x00\n\t}\n'
s = ''.join(out).replace('authorize {\n', 'authorize {\n' + sign, 1)
# Status-Server replies skip the rest of authorize: sign them in their own section.
autz = '#\tAutz-Type Status-Server {\n#\n#\t}\n'
assert autz in s, "no Autz-Type Status-Server section in " + p
# ("ok": with only the update, whose result is "noop", the reply is a reject)
s = s.replace(autz, '\tAutz-Type Status-Server {\n\t\tupdate reply {\n'
              '\t\t\t&Message-Authenticator := 0x00\n\t\t}\n\t\tok\n\t}\n', 1)
open(p, 'w').write(s)
PY
sed -i "s/port = 18120/port = $((PORT + 2))/" "$D/sites-available/inner-tunnel"

# One client, which must sign its requests.
cat >"$D/clients.conf" <<CL
client localhost {
	ipaddr = 127.0.0.1
	secret = $SECRET
	require_message_authenticator = yes
}
CL

# PAP users user000001/pass000001 ... (Reply-Message lets tests see attributes pass).
python3 - "$NUSERS" >"$D/mods-config/files/authorize" <<'PY'
import sys
for i in range(1, int(sys.argv[1]) + 1):
    print(f'user{i:06d}\tCleartext-Password := "pass{i:06d}"\n\tReply-Message := "Hello user{i:06d}"\n')
PY

freeradius -C -d "$D" >"$D/log/check.log" 2>&1 || { cat "$D/log/check.log" >&2; exit 1; }
# -f: stay in the foreground, so $! is the server's own pid.
freeradius -f -d "$D" >"$D/log/stdout.log" 2>&1 </dev/null &
echo $! >"$D/run/pid"

# Ready once it answers a Status-Server (with Message-Authenticator, required here).
for _ in $(seq 200); do
  if printf 'Message-Authenticator = 0x00\n' |
       radclient -q -r 1 -t 0.2 "127.0.0.1:$PORT" status "$SECRET" >/dev/null 2>&1; then
    echo "freeradius pid $(cat "$D/run/pid") ready on 127.0.0.1:$PORT"
    exit 0
  fi
  if ! kill -0 "$(cat "$D/run/pid")" 2>/dev/null; then break; fi
  sleep 0.05
done
echo "$0: freeradius did not come up on 127.0.0.1:$PORT; last log lines:" >&2
tail -20 "$D/log/stdout.log" >&2
kill "$(cat "$D/run/pid")" 2>/dev/null || true
exit 1
