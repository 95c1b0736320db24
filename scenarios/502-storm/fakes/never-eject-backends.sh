#!/usr/bin/env bash
# Fake fix: max_fails=0 -- the 502s no longer take backends out of rotation, but they still happen.
set -euo pipefail
conf="$BREAKFIX_WORKSPACE/stack/lb/default.conf"
sed -i -E 's/max_fails=[0-9]+/max_fails=0/' "$conf"
docker exec "$BREAKFIX_PREFIX-lb" nginx -t
docker exec "$BREAKFIX_PREFIX-lb" nginx -s reload
