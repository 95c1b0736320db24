#!/usr/bin/env bash
# The full test suite, setting itself up first (Docker engine, virtualenv, base image):  ./run-tests.sh
# Extra arguments go to pytest, e.g. ./run-tests.sh tests/unit -x
set -euo pipefail
source "$(dirname "$0")/scripts/bootstrap.sh"
bootstrap "[test]"
cd "$ROOT"
"$VENV/bin/ruff" check harness tests benchmarks scenarios labs  # lint first: seconds, before minutes of tests
exec "$VENV/bin/pytest" "$@"
