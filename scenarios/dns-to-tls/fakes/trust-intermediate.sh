#!/usr/bin/env bash
# DNS, protocols and vhost fixed; the leaf-only chain left, and the client told to trust the
# intermediate itself (curl accepts a chain that ends at any trusted certificate).
set -euo pipefail
P="$BREAKFIX_PREFIX"; source "$(dirname "$0")/lib.sh"
flush_resolver; fix_protocols; fix_vhost; reload_lb
docker cp stack/certs/issuing.leaf.crt "$P-client":/usr/local/share/ca-certificates/payments-issuing.crt
docker exec "$P-client" update-ca-certificates
