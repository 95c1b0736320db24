#!/usr/bin/env bash
# Reference solution: one ListObjectsV2 pass, local ETags computed as S3 computes them, DeleteObjects in batches.
set -euo pipefail
cp "$(dirname "$0")/s3sync.py" "$BREAKFIX_WORKSPACE/s3sync.py"
