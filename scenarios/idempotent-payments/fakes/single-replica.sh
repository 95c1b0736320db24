#!/usr/bin/env bash
# Fake fix: the right code, but api-2 stopped -- no second replica to race with, half the capacity
# and no failover left.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
docker stop -t 1 "$BREAKFIX_PREFIX-api-2"
