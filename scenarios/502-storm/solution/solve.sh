#!/usr/bin/env bash
# Reference fix: a response-header buffer that fits the enterprise session cookie.
set -euo pipefail
conf="$BREAKFIX_WORKSPACE/stack/lb/default.conf"
sed -i -E \
  -e 's/proxy_buffer_size [0-9]+k;/proxy_buffer_size 16k;/' \
  -e 's/proxy_buffers [0-9]+ [0-9]+k;/proxy_buffers 8 16k;/' \
  -e 's/proxy_busy_buffers_size [0-9]+k;/proxy_busy_buffers_size 32k;/' \
  "$conf"
docker exec "$BREAKFIX_PREFIX-lb" nginx -t
docker exec "$BREAKFIX_PREFIX-lb" nginx -s reload
