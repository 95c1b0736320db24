#!/usr/bin/env bash
# Fake fix: three replicas, so each allows a third -- exact only while nginx splits every key's
# traffic evenly.
set -euo pipefail
limiter="$BREAKFIX_WORKSPACE/stack/app/limiter.py"
sed -i 's/        self.limit = limit$/        self.limit = limit \/\/ 3  # three replicas share the limit/' "$limiter"
grep -q 'limit // 3' "$limiter"
bash "$(dirname "$0")/../solution/reload-replicas.sh"
