#!/usr/bin/env bash
# Fake fix: buffers fixed, but with hour-long timeouts a stuck backend (app-2 frozen) makes
# requests hang instead of failing over: the checks must see the hang, not wait it out.
set -euo pipefail
bash "$(dirname "$0")/huge-timeouts.sh"
bash "$(dirname "$0")/../solution/solve.sh"
docker pause "$BREAKFIX_PREFIX-app-2"
