#!/usr/bin/env bash
# Starts a private FreeRADIUS 3.2 that proxies every Access-Request and
# Accounting-Request to one home server, as root: it stands in for the NPS of
# an RD Gateway (whose remote RADIUS server group sends to mfagate) and is the
# performance anchor "FreeRADIUS proxying to FreeRADIUS".
#   127.0.0.1:PORT auth, PORT+1 acct (loopback only), config and logs under DIR;
#   home server 127.0.0.1:HOME_PORT (auth) and HOME_PORT+1 (acct), secret HOME_SECRET.
# usage: start-radius-proxy.sh DIR PORT HOME_PORT HOME_SECRET
#        stop: scripts/stop-freeradius.sh DIR
# env:   RADIUS_SECRET       secret of its client 127.0.0.1, which must sign its
#                            requests (default proxy-secret-0123456789)
#        FR_RESPONSE_WINDOW  seconds to wait for the home server's reply
#                            (default 60, also FreeRADIUS's maximum: RD Gateway's
#                            NPS gives its remote RADIUS server group 60 s)
# needs: freeradius (scripts/install-test-deps.sh); the package's own service is
#        never used. Prints "freeradius pid N ready on 127.0.0.1:PORT" once it
#        answers a Status-Server (answered by the proxy itself, not proxied); the
#        pid is also in DIR/run/pid.
#
# What it does: the request goes on with all its attributes (MS-Network-Access-
# Server-Type and other VSAs included, User-Name not stripped, our client's
# Proxy-States, then one of its own), Message-Authenticator first; the home
# server's reply comes back with its attributes and a Message-Authenticator
# (re-signed, or added when the home server sent none). A reply whose
# Message-Authenticator is wrong is dropped. No reply within FR_RESPONSE_WINDOW:
# an Access-Reject (signed too). status_check = none: a home server that timed
# out is "zombie" and still used; after zombie_period = 40 s of that it is dead
# for revive_interval = 10 s, in which requests are rejected at once.
# FreeRADIUS 3.2.1 has no require_message_authenticator for home servers (it
# came with 3.2.5, BlastRADIUS): 3.2.1 takes the item in a home_server section
# without a word but ignores it (a reply without Message-Authenticator is still
# relayed), so it is not set here.
# Hot path without logging: no per-request log lines (log auth = no, no
# detail/linelog modules, only the few modules the site needs are loaded).
set -euo pipefail

if [ $# -ne 4 ]; then echo "usage: $0 DIR PORT HOME_PORT HOME_SECRET" >&2; exit 2; fi
D=$1; PORT=$2; HOME_PORT=$3; HOME_SECRET=$4
if [ -z "$D" ]; then echo "DIR must not be empty" >&2; exit 2; fi
SECRET=${RADIUS_SECRET:-proxy-secret-0123456789}
WINDOW=${FR_RESPONSE_WINDOW:-60}
for v in "$PORT" "$HOME_PORT"; do
  case "$v" in ''|*[!0-9]*) echo "PORT and HOME_PORT must be numbers: $v" >&2; exit 2 ;; esac
  if [ "$v" -lt 1 ] || [ "$v" -gt 65534 ]; then echo "port out of range: $v" >&2; exit 2; fi
done
case "$WINDOW" in ''|*[!0-9]*) echo "FR_RESPONSE_WINDOW must be whole seconds: $WINDOW" >&2; exit 2 ;; esac
if [ "$WINDOW" -lt 1 ] || [ "$WINDOW" -gt 60 ]; then
  echo "FR_RESPONSE_WINDOW must be 1..60 (FreeRADIUS's limit): $WINDOW" >&2; exit 2
fi
for s in "$SECRET" "$HOME_SECRET"; do
  case "$s" in *[\"\\]*|'') echo "secrets must be non-empty, without \" or \\" >&2; exit 2 ;; esac
done
# /etc/freeradius holds root:freerad 0640 files (and the server runs as root here)
if [ "$(id -u)" -ne 0 ]; then echo "$0: must run as root" >&2; exit 1; fi
for c in freeradius radclient; do
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

# Own dirs, run as root (no user/group switch), no 1 s delay before rejects;
# a request may live as long as the response window (and then some).
MAXREQ=$((WINDOW + 10 > 30 ? WINDOW + 10 : 30))
sed -i -e "s#^raddbdir = .*#raddbdir = $D#" -e "s#^logdir = .*#logdir = $D/log#" \
       -e "s#^run_dir = .*#run_dir = $D/run#" -e 's/^\(\s*\)\(user\|group\) = freerad/\1#\2 = freerad/' \
       -e 's/^\(\s*\)reject_delay = 1/\1reject_delay = 0/' \
       -e "s/^max_request_time = .*/max_request_time = $MAXREQ/" "$D/radiusd.conf"
grep -q "^max_request_time = $MAXREQ\$" "$D/radiusd.conf"
grep -q '^\s*auth = no$' "$D/radiusd.conf"  # no log line per request

# Only our site, and only the modules it needs (none of the EAP/TLS set-up).
rm -f "$D"/sites-enabled/* "$D"/mods-enabled/*
ln -s ../mods-available/always "$D/mods-enabled/always"
cat >"$D/sites-enabled/proxy" <<SITE
server proxy {
listen {
	type = auth
	ipaddr = 127.0.0.1
	port = $PORT
}
listen {
	type = acct
	ipaddr = 127.0.0.1
	port = $((PORT + 1))
}

authorize {
	update control {
		&Proxy-To-Realm := "upstream"
	}
	# Status-Server is answered here, not proxied ("ok": a bare update is
	# "noop", which would make it a reject).
	Autz-Type Status-Server {
		update reply {
			&Message-Authenticator := 0x00
		}
		ok
	}
}
authenticate {
}

preacct {
	update control {
		&Proxy-To-Realm := "upstream"
	}
}
accounting {
}

# Sign what goes to the home server (3.2.1 does not by itself) ...
pre-proxy {
	update proxy-request {
		&Message-Authenticator := 0x00
	}
}
# The home server's reply keeps its Message-Authenticator, re-signed for our
# client; an unconditional "update reply" here would add a second one (3.2.1
# appends the proxied reply after post-proxy), so only when it has none. Sign
# the reject sent when it did not answer, too.
post-proxy {
	if (!&proxy-reply:Message-Authenticator) {
		update reply {
			&Message-Authenticator := 0x00
		}
	}
	Post-Proxy-Type Fail-Authentication {
		update reply {
			&Message-Authenticator := 0x00
		}
		ok
	}
}
post-auth {
	Post-Auth-Type REJECT {
		update reply {
			&Message-Authenticator := 0x00
		}
	}
}
}
SITE

cat >"$D/proxy.conf" <<PX
proxy server {
	default_fallback = no
}
home_server upstream {
	type = auth+acct
	ipaddr = 127.0.0.1
	port = $HOME_PORT
	secret = "$HOME_SECRET"
	response_window = $WINDOW
	response_timeouts = 1
	zombie_period = 40
	revive_interval = 10
	status_check = none
	max_outstanding = 65536
}
home_server_pool upstream_pool {
	type = fail-over
	home_server = upstream
}
realm upstream {
	auth_pool = upstream_pool
	acct_pool = upstream_pool
	nostrip
}
realm LOCAL {
}
PX

cat >"$D/clients.conf" <<CL
client localhost {
	ipaddr = 127.0.0.1
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
