#!/usr/bin/env bash
# Reference fix: payments.py claims (account, key) before the charge -- a committed `pending` row
# plus a session advisory lock -- replays finished answers, refuses a changed body, and recovers a
# payment whose replica died mid-charge by asking the card network about its reference.
# It is the payments.py the stack ships with (SOLUTION.md walks through it).
set -euo pipefail
cp "$(dirname "$0")/../stack/app/payments.py" "$BREAKFIX_WORKSPACE/stack/app/payments.py"
bash "$(dirname "$0")/reload-api.sh"
