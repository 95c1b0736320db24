#!/usr/bin/env bash
# Reference fix: dispatcher.py keeps every delivery in PostgreSQL (one row per event and endpoint,
# created with the event's hand-over), finishes a delivery only after the endpoint's 2xx, runs
# workers per endpoint, backs off exponentially with jitter and dead-letters a 410.
# It is the dispatcher.py the stack ships with (SOLUTION.md walks through it).
set -euo pipefail
cp "$(dirname "$0")/../stack/app/dispatcher.py" "$BREAKFIX_WORKSPACE/stack/app/dispatcher.py"
bash "$(dirname "$0")/deploy.sh"
