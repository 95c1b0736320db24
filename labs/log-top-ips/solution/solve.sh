#!/usr/bin/env bash
# Reference solution: one streaming pass, regex + ipaddress, cached per spelling.
set -euo pipefail
cp "$(dirname "$0")/top_ips.py" "$BREAKFIX_WORKSPACE/top_ips.py"
