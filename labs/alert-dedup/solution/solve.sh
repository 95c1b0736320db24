#!/usr/bin/env bash
# Reference solution: event-time buffer released by a watermark, last emission per key, eviction queue.
set -euo pipefail
cp "$(dirname "$0")/dedup.py" "$BREAKFIX_WORKSPACE/dedup.py"
