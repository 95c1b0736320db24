#!/usr/bin/env bash
# Fake fix: treat the 502s as timeouts and raise every proxy timeout to an hour.
set -euo pipefail
conf="$BREAKFIX_WORKSPACE/stack/lb/default.conf"
sed -i -E -e 's/proxy_connect_timeout [0-9]+s;/proxy_connect_timeout 3600s;/' \
          -e 's/proxy_read_timeout [0-9]+s;/proxy_read_timeout 3600s;/' "$conf"
docker exec "$BREAKFIX_PREFIX-lb" nginx -t
docker exec "$BREAKFIX_PREFIX-lb" nginx -s reload
