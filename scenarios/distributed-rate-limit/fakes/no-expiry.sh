#!/usr/bin/env bash
# Fake fix: the reference limiter without its PEXPIRE -- correct counts, but every key that ever
# sent a request keeps its sorted set in Redis forever.
set -euo pipefail
here="$(dirname "$0")"
limiter="$BREAKFIX_WORKSPACE/stack/app/limiter.py"
cp "$here/../stack/app/limiter.py" "$limiter"
sed -i "/redis.call('PEXPIRE', KEYS\[1\], window)/d" "$limiter"
! grep -q PEXPIRE "$limiter"
bash "$here/../solution/reload-replicas.sh"
