#!/usr/bin/env bash
# Starts a private FreeRADIUS 3.2 standing in for the upstream RADIUS server
# (Microsoft NPS in production) that mfagate forwards Access-Requests to, as root:
#   127.0.0.1:PORT auth, PORT+1 acct, PORT+2 inner-tunnel (loopback only;
#   pick ports away from 1812/1813), config, certificates and logs under DIR.
# usage: start-radius-upstream.sh DIR PORT     stop: scripts/stop-freeradius.sh DIR
# env:   RADIUS_SECRET  secret of clients 127.0.0.1 and 127.0.0.2, both with
#                       require_message_authenticator = yes
#                       (default upstream-secret-0123456789)
#        FR_USERS       number of bulk users user000001/pass000001, ... (default 20)
# needs: freeradius, openssl (scripts/install-test-deps.sh); the package's own
#        service is never used. Prints "freeradius pid N ready on 127.0.0.1:PORT"
#        once it answers a Status-Server; the pid is also in DIR/run/pid.
#
# What it answers (every Access-Accept/-Reject/-Challenge and Status-Server
# reply carries a Message-Authenticator; 3.2.1 does not add one by itself):
#   users, each with a Cleartext-Password, so PAP, CHAP, MS-CHAP, MS-CHAPv2 and
#   EAP (PEAP/MS-CHAPv2, TTLS/PAP) all work:
#     alice / alice-pass-1  Class "upstream-class-alice", Filter-Id "vpn-users",
#                           Session-Timeout 3600, Framed-IP-Address 10.8.0.5,
#                           Cisco-AVPair "shell:priv-lvl=15", Tunnel-Type:1 L2TP,
#                           Tunnel-Medium-Type:1 IPv4, Tunnel-Password:1
#                           "tunnel-secret-1" (salt-encrypted, RFC 2868)
#     bob / bob-pass-1      Filter-Id "staff"
#     carol / carol-pass-1  no reply attributes
#     user000001 / pass000001 ... (FR_USERS of them, no reply attributes)
#   MS-CHAP(v2) accepts carry MS-CHAP2-Success (v2) and MPPE keys (mschap's
#   use_mppe = yes); a wrong MS-CHAPv2 password is a reject with MS-CHAP-Error
#   "E=691 ...".
#   RD Gateway stand-in: a request with MS-Network-Access-Server-Type =
#   Terminal-Server-Gateway and no password of any kind (no User-Password,
#   CHAP-Password, MS-CHAP(2)-Response, EAP-Message) is accepted with Class
#   "rdg-authorized" when its User-Name, less a "DOMAIN\" prefix or "@realm"
#   suffix, is alice, bob, carol or gina (case-insensitive), else rejected.
#   EAP: server certificate from a throw-away CA, made here: DIR/certs/test-ca.pem
#   (give it to eapol_test as ca_cert), DIR/certs/server.pem, DIR/certs/server.key.
#   No TLS session cache. The inner tunnel's reply (alice's Class, Filter-Id, ...)
#   is copied into the outer Access-Accept.
#   Accounting-Requests are answered and appended to DIR/log/accounting.detail.
set -euo pipefail

if [ $# -ne 2 ]; then echo "usage: $0 DIR PORT" >&2; exit 2; fi
D=$1; PORT=$2
if [ -z "$D" ]; then echo "DIR must not be empty" >&2; exit 2; fi
SECRET=${RADIUS_SECRET:-upstream-secret-0123456789}
NUSERS=${FR_USERS:-20}
case "$PORT" in ''|*[!0-9]*) echo "PORT must be a number: $PORT" >&2; exit 2 ;; esac
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65533 ]; then echo "PORT out of range: $PORT" >&2; exit 2; fi
case "$NUSERS" in ''|*[!0-9]*) echo "FR_USERS must be a number: $NUSERS" >&2; exit 2 ;; esac
case "$SECRET" in *[\"\\]*|'') echo "RADIUS_SECRET must be non-empty, without \" or \\" >&2; exit 2 ;; esac
# /etc/freeradius holds root:freerad 0640 files (and the server runs as root here)
if [ "$(id -u)" -ne 0 ]; then echo "$0: must run as root" >&2; exit 1; fi
for c in freeradius radclient openssl; do
  command -v "$c" >/dev/null || { echo "$c missing: run scripts/install-test-deps.sh" >&2; exit 1; }
done
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# DIR is wiped: only when it is ours (a previous run) or empty, never anything else.
if [ -e "$D" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/radiusd.conf" ]; then
  echo "$0: $D exists and is not a FreeRADIUS dir from this script; not wiping it" >&2; exit 1
fi
# A previous instance from this DIR would hold the ports: stop it first.
"$HERE/stop-freeradius.sh" "$D"
rm -rf "$D"; mkdir -p "$(dirname "$D")"
cp -a /etc/freeradius/3.0 "$D"; mkdir -p "$D/run" "$D/log"
D=$(cd "$D" && pwd)  # absolute: radiusd.conf paths must not depend on the cwd

# Own dirs, run as root (no user/group switch), no 1 s delay before rejects.
sed -i -e "s#^raddbdir = .*#raddbdir = $D#" -e "s#^logdir = .*#logdir = $D/log#" \
       -e "s#^run_dir = .*#run_dir = $D/run#" -e 's/^\(\s*\)\(user\|group\) = freerad/\1#\2 = freerad/' \
       -e 's/^\(\s*\)reject_delay = 1/\1reject_delay = 0/' "$D/radiusd.conf"

# EAP server certificate: a throw-away CA (EC P-256, 2 days) and a leaf it signed.
rm -rf "$D/certs"
"$HERE/make-test-cert.sh" "$D/certs"
cp "$D/certs/ca.pem" "$D/certs/test-ca.pem"

# One python run for all the config edits (each python start costs 0.1-0.3 s).
python3 - "$D" "$PORT" "$NUSERS" <<'PY'
import re, sys
D, port, nusers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def put(s, old, new, p):
    assert old in s, f"{old!r} not found in {p}"
    return s.replace(old, new, 1)

# --- sites-available/default ---
p = f"{D}/sites-available/default"; s = open(p).read()
# The first two listen sections (IPv4 auth, acct) go to loopback and our ports;
# the IPv6 pair is dropped.
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
s = ''.join(out)

sign = '\t\tupdate reply {\n\t\t\t&Message-Authenticator := 0x00\n\t\t}\n'
sign_top = '\tupdate reply {\n\t\t&Message-Authenticator := 0x00\n\t}\n'
# Sign every reply with a Message-Authenticator (BlastRADIUS): 3.2.1 does not by
# itself. Set first thing in authorize, so rejects from later on carry it too.
# Then the RD Gateway stand-in policy: NPS's "authorize only" answer to RD
# Gateway's password-less Access-Request (User-Name and MS-Network-Access-Server-Type).
s = put(s, 'authorize {\n', 'authorize {\n' + sign_top + r'''
	if (&MS-Network-Access-Server-Type == Terminal-Server-Gateway && !&User-Password && !&CHAP-Password && !&MS-CHAP-Response && !&MS-CHAP2-Response && !&EAP-Message) {
		if (&User-Name =~ /^([^\\@]*\\)?(alice|bob|carol|gina)(@[^@\\]*)?$/i) {
			update control {
				&Auth-Type := Accept
			}
			update reply {
				&Class := "rdg-authorized"
			}
			ok
			return
		}
		update request {
			&Module-Failure-Message += 'Rejected: RD Gateway user not allowed'
		}
		reject
	}
''', p)
# Status-Server replies skip the rest of authorize: sign them in their own section.
# ("ok": with only the update, whose result is "noop", the reply is a reject)
s = put(s, '#\tAutz-Type Status-Server {\n#\n#\t}\n',
        '\tAutz-Type Status-Server {\n' + sign + '\t\tok\n\t}\n', p)
# Rejects decided before authorize ran (none today) would lack it: sign them again.
s = put(s, '\tPost-Auth-Type REJECT {\n', '\tPost-Auth-Type REJECT {\n' + sign, p)
open(p, 'w').write(s)

# --- sites-available/inner-tunnel ---
p = f"{D}/sites-available/inner-tunnel"; s = open(p).read()
s = put(s, 'port = 18120\n', f'port = {port + 2}\n', p)
# Copy the inner tunnel's reply (Class, Filter-Id, ... of the user) to the outer
# Access-Accept, as NPS returns its policy's attributes for PEAP too: the
# "if (0)" block in inner-tunnel's post-auth does that once enabled.
old = '\tif (0) {\n\t\t#\n\t\t#  These attributes are for the inner-tunnel only,'
s = put(s, old, old.replace('if (0)', 'if (1)'), p)
open(p, 'w').write(s)

# --- mods-available/eap ---
# PEAP (inner EAP-MS-CHAPv2) first, TTLS after a NAK; our certificate and CA,
# no CA directory, no session cache (the default, kept).
p = f"{D}/mods-available/eap"; s = open(p).read()
def sub(s, pat, rep):
    s, n = re.subn(pat, rep, s, count=1, flags=re.M)
    assert n == 1, f"{pat!r} not found in {p}"
    return s
c = f"{D}/certs"
s = sub(s, r'^(\t)default_eap_type = md5$', r'\1default_eap_type = peap')
s = sub(s, r'^(\t\t)private_key_password = whatever$', r'\1#private_key_password = (none)')
s = sub(s, r'^(\t\t)private_key_file = .*$', rf'\1private_key_file = {c}/server.key')
s = sub(s, r'^(\t\t)certificate_file = .*$', rf'\1certificate_file = {c}/server.pem')
s = sub(s, r'^(\t\t)ca_file = .*$', rf'\1ca_file = {c}/test-ca.pem')
s = sub(s, r'^(\t\t)ca_path = .*$', r'\1#ca_path = (none)')
cache = s[s.index('\t\tcache {\n'):]
assert '\n\t\t\tenable = no\n' in cache[:cache.index('\n\t\t}\n')], "eap tls cache is not disabled"
open(p, 'w').write(s)

# --- mods-available/detail: accounting records to one fixed file ---
p = f"{D}/mods-available/detail"; s = open(p).read()
s = sub(s, r'^(\t)filename = \$\{radacctdir\}/.*$', r'\1filename = ${logdir}/accounting.detail')
open(p, 'w').write(s)

# --- the users (files module) ---
USERS = '''alice	Cleartext-Password := "alice-pass-1"
	Class = "upstream-class-alice",
	Filter-Id = "vpn-users",
	Session-Timeout = 3600,
	Framed-IP-Address = 10.8.0.5,
	Cisco-AVPair = "shell:priv-lvl=15",
	Tunnel-Type:1 = L2TP,
	Tunnel-Medium-Type:1 = IPv4,
	Tunnel-Password:1 = "tunnel-secret-1"

bob	Cleartext-Password := "bob-pass-1"
	Filter-Id = "staff"

carol	Cleartext-Password := "carol-pass-1"

'''
with open(f"{D}/mods-config/files/authorize", "w") as f:
    f.write(USERS + "".join(f'user{i:06d}\tCleartext-Password := "pass{i:06d}"\n\n'
                            for i in range(1, nusers + 1)))
PY

# Two clients (the gateway may send from 127.0.0.2), which must sign their requests.
cat >"$D/clients.conf" <<CL
client localhost {
	ipaddr = 127.0.0.1
	secret = "$SECRET"
	require_message_authenticator = yes
}
client second {
	ipaddr = 127.0.0.2
	secret = "$SECRET"
	require_message_authenticator = yes
}
CL

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
"$HERE/stop-freeradius.sh" "$D"
exit 1
