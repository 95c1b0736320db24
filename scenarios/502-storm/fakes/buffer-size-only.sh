#!/usr/bin/env bash
# Fake fix: raise only proxy_buffer_size; proxy_busy_buffers_size (8k) is now smaller than it, so
# nginx refuses the configuration and the reload keeps the 4k one running -- an error easy to miss.
set -euo pipefail
conf="$BREAKFIX_WORKSPACE/stack/lb/default.conf"
sed -i -E 's/proxy_buffer_size [0-9]+k;/proxy_buffer_size 16k;/' "$conf"
docker exec "$BREAKFIX_PREFIX-lb" nginx -s reload || true
