#!/usr/bin/env bash
# Runs the whole test suite: unit tests and the integration tests in tests/it,
# which talk to real peers (FreeRADIUS, tests/py/radius_client.py).
# usage: scripts/test.sh [cargo test args...]   e.g. scripts/test.sh radius -- --nocapture
# env:   MFAGATE_VENV  Python venv for the test client (default: <repo>/.venv)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

# Installs FreeRADIUS and the venv if needed (< 1 s when all is there). Not
# root and Debian packages missing: it prints what to install and exits 1.
scripts/install-test-deps.sh

# Where the integration tests find the Python RADIUS client.
VENV=${MFAGATE_VENV:-$REPO/.venv}
export MFAGATE_TEST_PYTHON=$VENV/bin/python
export MFAGATE_TEST_PYDIR=$REPO/tests/py

# --tests = lib and bin unit tests + integration tests. Not --all-targets: it
# adds --benches (and --examples), so benchmarks would run inside the test run.
# (Not "--lib --bins --tests" either: --lib fails while the crate has no lib.)
exec cargo test --tests "$@"
