#!/usr/bin/env bash
# The load balancer fixed; the stale resolver cache left alone and the name pinned on the client.
set -euo pipefail
P="$BREAKFIX_PREFIX"; source "$(dirname "$0")/lib.sh"
fix_protocols; fix_vhost; fix_chain; reload_lb
LB=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$P-lb")
docker exec "$P-client" sh -c "echo '$LB api.payments.test' >> /etc/hosts"
