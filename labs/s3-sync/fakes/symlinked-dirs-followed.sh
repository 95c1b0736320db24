#!/usr/bin/env bash
# Wrong implementation: the reference solution walking with followlinks=True, so the files of a
# symlinked directory (links/docs-link -> ../docs) are uploaded a second time under the link.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/s3sync.py"
grep -q 'in os.walk(root):' "$target"
sed -i 's/in os.walk(root):/in os.walk(root, followlinks=True):/' "$target"
