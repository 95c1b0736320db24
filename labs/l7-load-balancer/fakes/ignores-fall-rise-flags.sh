#!/usr/bin/env bash
# Wrong implementation: the reference solution with the default counts (2 and 2) built in:
# --fall and --rise are parsed but never used.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q 'pool = Pool(args.backend, args.fall, args.rise)' "$target"
sed -i 's/pool = Pool(args.backend, args.fall, args.rise)/pool = Pool(args.backend, 2, 2)/' "$target"
