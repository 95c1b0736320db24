#!/usr/bin/env bash
# Wrong implementation: the reference solution printing the usage after the error line, so an
# unreadable file gives two lines on stderr.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/top_ips.py"
grep -q 'print(f"error: cannot read {argv\[1\]}: {exc.strerror}", file=sys.stderr)' "$target"
sed -i 's/^\( *\)\(print(f"error: cannot read {argv\[1\]}: {exc.strerror}", file=sys.stderr)\)$/\1\2\n\1print("usage: top_ips.py ACCESS_LOG", file=sys.stderr)/' "$target"
