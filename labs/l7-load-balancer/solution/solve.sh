#!/usr/bin/env bash
# Reference solution: threaded proxy, strict rotation over healthy backends, a health-check thread per backend.
set -euo pipefail
cp "$(dirname "$0")/lb.py" "$BREAKFIX_WORKSPACE/lb.py"
