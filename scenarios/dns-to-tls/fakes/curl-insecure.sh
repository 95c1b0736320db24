#!/usr/bin/env bash
# DNS, protocols and vhost fixed; the missing intermediate "fixed" by not verifying at all.
set -euo pipefail
P="$BREAKFIX_PREFIX"; source "$(dirname "$0")/lib.sh"
flush_resolver; fix_protocols; fix_vhost; reload_lb
docker exec "$P-client" sh -c 'echo insecure >> /root/.curlrc'
