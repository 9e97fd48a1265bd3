#!/usr/bin/env bash
# Builds the Debian package (`cargo deb`, metadata in Cargo.toml), installs it on this
# machine with dpkg -i, checks what a new user gets — the account, the unit, the commented
# /etc/mfagate/mfagate.toml readable by mfagate and passing check-config as that user —
# then purges it. Needs root. Run by .ci/run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --version 3.8.0
cargo deb --strip
deb=$(ls -t target/debian/mfagate_*.deb | head -1)
ls -l "$deb"

dpkg -i "$deb"
trap 'dpkg --purge mfagate >/dev/null 2>&1 || true' EXIT

fail() { echo "package check: $*" >&2; exit 1; }
getent passwd mfagate >/dev/null || fail "no mfagate account"
[ -f /lib/systemd/system/mfagate.service ] || [ -f /usr/lib/systemd/system/mfagate.service ] ||
  fail "no mfagate.service"
[ "$(stat -c %U:%G:%a /etc/mfagate/mfagate.toml)" = "root:mfagate:640" ] ||
  fail "/etc/mfagate/mfagate.toml is $(stat -c %U:%G:%a /etc/mfagate/mfagate.toml), not root:mfagate:640"
dpkg-query -W -f='${Conffiles}\n' mfagate | grep -q /etc/mfagate/mfagate.toml ||
  fail "the configuration is not a conffile"
# As the service runs it: the account can read its configuration, and it is valid.
runuser -u mfagate -- /usr/bin/mfagate check-config -c /etc/mfagate/mfagate.toml
/usr/bin/mfagate --version

dpkg --purge mfagate
trap - EXIT
[ ! -e /usr/bin/mfagate ] || fail "purge left /usr/bin/mfagate"
[ ! -e /etc/mfagate/mfagate.toml ] || fail "purge left the configuration"
echo "package check: OK ($deb)"
