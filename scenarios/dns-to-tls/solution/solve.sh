#!/usr/bin/env bash
# The reference fix, layer by layer along the request's path (SOLUTION.md explains each).
set -euo pipefail
P="$BREAKFIX_PREFIX"
CONF=stack/lb/payments.conf   # the load balancer's conf.d, bind-mounted from the workspace

# 1. DNS: the zone is right, the resolver's cached copy is a day old. Drop it from the cache.
docker exec "$P-resolver" unbound-control flush api.payments.test

# 2. Protocols: the default server of :443 decides them for every name on the listener.
sed -i -e '/# PAY-1977/d' -e '/ssl_ciphers         DEFAULT:@SECLEVEL=0;/d' \
       -e 's/ssl_protocols       TLSv1 TLSv1.1;/ssl_protocols       TLSv1.2 TLSv1.3;/' "$CONF"
# 3. SNI: the API's server block answers for the API's public name again.
sed -i 's/server_name api.staging.payments.test;/server_name api.payments.test;/' "$CONF"
# 4. Chain: serve the leaf followed by its intermediate, not the leaf alone.
sed -i 's|ssl_certificate     /etc/nginx/tls/api.leaf.crt;.*|ssl_certificate     /etc/nginx/tls/api.crt;|' "$CONF"

docker exec "$P-lb" nginx -t
docker exec "$P-lb" nginx -s reload
