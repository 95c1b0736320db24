#!/usr/bin/env bash
# Fake fix: the right buffer change, but app-2 stopped -- half the capacity gone.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
docker stop -t 1 "$BREAKFIX_PREFIX-app-2"
