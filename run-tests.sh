#!/usr/bin/env bash
# The full test suite, setting itself up first (Docker engine, virtualenv, base image):  ./run-tests.sh
# Extra arguments go to pytest, e.g. ./run-tests.sh tests/unit -x
# Tests run on BREAKFIX_TEST_WORKERS pytest-xdist workers (default 3; 0 runs them in this process): most of the
# suite's time is spent waiting on real systems (settling, grading windows, OOM kills), not on the 2 CPUs, and
# tests that provision the same entry stay on one worker (tests/conftest.py: group_by_shared_resources).
set -euo pipefail
source "$(dirname "$0")/scripts/bootstrap.sh"
bootstrap "[test]"
cd "$ROOT"
"$VENV/bin/ruff" check harness tests benchmarks scenarios labs  # lint and types first: seconds, before minutes of tests
"$VENV/bin/mypy" --strict harness
# the slowest tests, listed at the end: where the 30-minute CI budget goes
exec "$VENV/bin/pytest" -n "${BREAKFIX_TEST_WORKERS:-3}" --dist loadgroup --durations=25 "$@"
