#!/usr/bin/env bash
# The load balancer fixed, but the zone points api.payments.test at the API host itself.
set -euo pipefail
P="$BREAKFIX_PREFIX"; source "$(dirname "$0")/lib.sh"
fix_protocols; fix_vhost; fix_chain; reload_lb
API=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$P-api")
docker exec "$P-auth" sh -c "sed -i 's/^api\.payments\.test\. 300 IN A .*/api.payments.test. 300 IN A $API/; s/^api .*IN A.*/api 300 IN A $API/' /etc/nsd/zones/payments.test.zone && nsd-control reload payments.test"
flush_resolver
