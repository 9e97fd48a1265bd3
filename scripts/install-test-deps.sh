#!/usr/bin/env bash
# Installs what the integration tests need besides the Rust toolchain:
#   - FreeRADIUS 3.2 (a real RADIUS peer) from Debian's packages,
#   - Samba's AD DC and ldap-utils (a real Active Directory for the AD tests,
#     see scripts/start-samba-ad.sh; openssl makes its TLS certificates),
#   - OpenLDAP's slapd (a fast AD-like peer on 3890/6360 with 100k users for
#     the directory import benchmark, see scripts/start-slapd.sh),
#   - Debian's pam_radius_auth (libpam-radius-auth) and pamtester: the PAM module
#     SSH and sudo use, driven like a login (tests/it/pam.rs),
#   - eapoltest (wpa_supplicant's eapol_test): the EAP client (PEAP, TTLS) of
#     tests/eap/run-eapol.sh, for the upstream RADIUS tests,
#   - systemd, for `systemd-analyze verify/security` on systemd/mfagate.service
#     (tests/it/service.rs; nothing is started under it),
#   - a Python venv with pyrad/pycryptodome/pyotp for tests/py/radius_client.py,
#     ldap3 for tests/py/ldap_client.py (the LDAP front-end's tests) and duo-client
#     (Duo's reference client: signatures are cross-checked against it), and
#     prometheus_client (Prometheus' own text parsers: /metrics is parsed with them),
#     aiosmtpd for tests/py/smtp_sink.py (the enrolment e-mail tests' SMTP server),
#     selenium (the WebDriver client of tests/py/browser.py),
#   - chromium and chromium-driver: the real browser of the portal tests
#     (tests/it/portal.rs), headless; Selenium is pointed at Debian's chromedriver
#     and never downloads one.
#   - nginx-light: the reverse proxy in front of the portal's `tls = "none"`
#     listener (tests/it/portal_proxy.rs); run in the foreground by the test,
#     never as a service.
# Idempotent and fast (< 1 s) when everything is already there; safe in CI
# (no stdin). The Debian part needs root; the venv part does not.
#
# env: MFAGATE_VENV  venv location (default: <repo>/.venv)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MFAGATE_VENV:-$REPO/.venv}
export DEBIAN_FRONTEND=noninteractive

# samba-ad-provision: the schema/LDIF files `samba-tool domain provision` reads.
# No krb5-user: the tests do LDAP simple binds only, and provisioning needs no
# Kerberos tools (it would also ask debconf questions).
APT_PKGS=(freeradius freeradius-utils samba samba-ad-dc samba-ad-provision ldap-utils slapd openssl curl
  libpam-radius-auth pamtester systemd eapoltest chromium chromium-driver fonts-dejavu-core nginx-light)
# aiosmtpd: tests/py/smtp_sink.py, the mail server of the enrolment e-mail tests.
PY_PKGS=(pyrad pycryptodome pyotp ldap3==2.9.1 duo-client==5.7.0 prometheus_client==0.26.0 aiosmtpd==1.4.6 selenium==4.51.0)
PY_IMPORTS="import pyrad, Crypto, pyotp, ldap3, duo_client, prometheus_client, aiosmtpd, selenium"

# --- Debian packages -------------------------------------------------------

# "install ok installed" only: `dpkg -s` also succeeds for a package that is
# merely unpacked or half-configured (e.g. an interrupted install).
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

missing=()
for p in "${APT_PKGS[@]}"; do installed "$p" || missing+=("$p"); done
# Debian's own python3 cannot create venvs without python3-venv (ensurepip).
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  command -v python3 >/dev/null || missing+=(python3)
  missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them as root:  sudo $REPO/scripts/install-test-deps.sh" >&2
    echo "  (or: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
    exit 1
  fi

  # Keep the packages' postinst from starting the system freeradius, samba-ad-dc,
  # smbd, nmbd, winbind and slapd services (and nginx): they would hold UDP 1812 / TCP 389,
  # 636, 445 and are not what the tests talk to. Only add our
  # policy-rc.d if there is none (containers often ship one), and only remove
  # the one we added.
  OUR_POLICY=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, from mfagate scripts/install-test-deps.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    OUR_POLICY=1
  fi
  cleanup() { if [ -n "$OUR_POLICY" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT

  # No system directory either: without this, slapd's postinst builds one in
  # /etc/ldap/slapd.d + /var/lib/ldap (suffix from the host's domain, random
  # admin password). scripts/start-slapd.sh brings its own config.
  if ! installed slapd; then
    echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
  fi

  # apt-get update ignores DPkg::Lock::Timeout for the lists lock (it fails at
  # once if another `apt-get update` holds it), so retry that case ourselves.
  for i in $(seq 120); do
    if out=$(apt-get -o DPkg::Lock::Timeout=600 -q update 2>&1); then break; fi
    if [ "$i" -lt 120 ] && grep -q 'Could not get lock' <<<"$out"; then sleep 5; continue; fi
    echo "$out" >&2; exit 1
  done
  # DPkg::Lock::Timeout: wait for an apt-get/dpkg run that is already going.
  apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -q -y --no-install-recommends install "${missing[@]}"
  cleanup; trap - EXIT
fi

# A system freeradius (started by systemd, init.d or by hand without -d) would
# hold 1812/1813. Private test servers from scripts/start-freeradius.sh always
# run with `-d DIR` and are left alone.
if [ "$(id -u)" -eq 0 ]; then
  for stat in /proc/[0-9]*/stat; do  # (no pgrep: procps may be missing)
    pid=${stat#/proc/}; pid=${pid%/stat}
    [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = freeradius ] || continue
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || true
    if [ -z "$state" ] || [ "$state" = Z ]; then continue; fi  # gone, or a zombie (holds no port)
    args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    case " $args " in *" -d "*) continue ;; esac
    echo "stopping system freeradius (pid $pid, holds port 1812)" >&2
    if [ -d /run/systemd/system ]; then systemctl stop freeradius 2>/dev/null || true; fi
    kill "$pid" 2>/dev/null || true
  done
fi

# Same for a system Samba (samba-ad-dc, smbd, nmbd, winbind; started by systemd
# or init.d despite policy-rc.d, or by hand): it would hold 389/636/445. The
# private DCs of scripts/start-samba-ad.sh run with their DIR as cwd (which
# holds etc/smb.conf) and are left alone.
if [ "$(id -u)" -eq 0 ]; then
  for exe in /proc/[0-9]*/exe; do
    pid=${exe#/proc/}; pid=${pid%/exe}
    comm=; read -r comm <"/proc/$pid/comm" 2>/dev/null || true  # (read: no fork per process)
    case "$comm" in samba | smbd | nmbd | winbindd) ;; *) continue ;; esac
    name=$(readlink "$exe" 2>/dev/null) || continue; name=${name##*/}; name=${name% (deleted)}
    case "$name" in samba | smbd | nmbd | winbindd) ;; *) continue ;; esac
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || true
    if [ -z "$state" ] || [ "$state" = Z ]; then continue; fi
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    if [ -n "$cwd" ] && [ "$cwd" != / ] && [ -f "$cwd/etc/smb.conf" ]; then continue; fi
    echo "stopping system $name (pid $pid, would hold ports 389/636/445)" >&2
    if [ -d /run/systemd/system ]; then
      systemctl stop samba-ad-dc smbd nmbd winbind 2>/dev/null || true
    fi
    kill "$pid" 2>/dev/null || true
  done
fi

# Same for a system slapd (systemd, init.d or by hand; e.g. one configured
# before this script ran): it would hold 389 (and 636 with ldaps://), which the
# Samba DC needs. The private servers of scripts/start-slapd.sh run with
# `-f DIR/slapd.conf` next to DIR/.mfagate-slapd and are left alone.
if [ "$(id -u)" -eq 0 ]; then
  for comm in /proc/[0-9]*/comm; do
    pid=${comm#/proc/}; pid=${pid%/comm}
    c=; read -r c <"$comm" 2>/dev/null || true
    [ "$c" = slapd ] || continue
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || true
    if [ -z "$state" ] || [ "$state" = Z ]; then continue; fi
    conf=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n '/^-f$/{n;p;q}') || true
    if [ -n "$conf" ] && [ -f "$(dirname "$conf")/.mfagate-slapd" ]; then continue; fi
    echo "stopping system slapd (pid $pid, would hold port 389)" >&2
    if [ -d /run/systemd/system ]; then systemctl stop slapd 2>/dev/null || true; fi
    kill "$pid" 2>/dev/null || true
  done
fi

# --- Python venv -------------------------------------------------------------

if [ ! -e "$VENV/bin/python" ] && [ ! -e "$VENV/pyvenv.cfg" ]; then
  python3 -m venv "$VENV"
elif ! "$VENV/bin/python" -c '' 2>/dev/null; then
  # A venv whose interpreter is gone (the python it was made from was removed):
  # recreate it, but only if it is ours to rewrite. Not for one we can't use
  # (e.g. root's venv, whose python lives under /root, seen by another user).
  if [ -O "$VENV" ] && [ -f "$VENV/pyvenv.cfg" ]; then
    python3 -m venv --clear "$VENV"
  else
    echo "python venv $VENV is not usable by $(id -un); set MFAGATE_VENV to another path" >&2
    exit 1
  fi
fi
if ! "$VENV/bin/python" -c "$PY_IMPORTS" 2>/dev/null; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PKGS[@]}"
  "$VENV/bin/python" -c "$PY_IMPORTS"
fi

echo "test deps ready: freeradius $(dpkg-query -W -f='${Version}' freeradius)," \
  "slapd $(dpkg-query -W -f='${Version}' slapd), python venv $VENV (${PY_PKGS[*]})"
