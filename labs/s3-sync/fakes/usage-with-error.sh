#!/usr/bin/env bash
# Wrong implementation: the reference solution reporting its own errors through argparse's
# parser.error, which prints the usage line before the message: two lines on stderr.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/s3sync.py"
grep -q '^        print(f"s3sync: {exc}", file=sys.stderr)$' "$target"
sed -i 's/^        print(f"s3sync: {exc}", file=sys.stderr)$/        parser.error(str(exc))/' "$target"
