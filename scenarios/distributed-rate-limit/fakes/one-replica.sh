#!/usr/bin/env bash
# Fake fix: one replica's memory is the whole fleet's if nginx only ever sends to it.
set -euo pipefail
conf="$BREAKFIX_WORKSPACE/stack/lb/default.conf"
sed -i -e 's/^    server api-2:8000/    # server api-2:8000/' -e 's/^    server api-3:8000/    # server api-3:8000/' "$conf"
docker exec "$BREAKFIX_PREFIX-lb" nginx -t
docker exec "$BREAKFIX_PREFIX-lb" nginx -s reload
