#!/usr/bin/env bash
# Reference solution: a thread per resource, cursor pagination, retries with jittered backoff.
set -euo pipefail
cp "$(dirname "$0")/fetcher.py" "$BREAKFIX_WORKSPACE/fetcher.py"
