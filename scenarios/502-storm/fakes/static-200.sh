#!/usr/bin/env bash
# Fake fix: nginx answers everything itself with a 200.
set -euo pipefail
conf="$BREAKFIX_WORKSPACE/stack/lb/default.conf"
sed -i 's|proxy_pass http://payments_api;|return 200 "{\\"status\\":\\"ok\\"}";|' "$conf"
docker exec "$BREAKFIX_PREFIX-lb" nginx -t
docker exec "$BREAKFIX_PREFIX-lb" nginx -s reload
