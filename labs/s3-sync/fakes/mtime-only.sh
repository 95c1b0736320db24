#!/usr/bin/env bash
# Wrong implementation: an `aws s3 sync`-style tool that uploads a file when it is newer than the
# object (mtime vs LastModified) or its size differs -- never looking at content.
set -euo pipefail
cp "$(dirname "$0")/mtime-only/s3sync.py" "$BREAKFIX_WORKSPACE/s3sync.py"
