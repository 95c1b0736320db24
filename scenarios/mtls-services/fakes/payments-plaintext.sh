#!/usr/bin/env bash
# Fake fix: the certificates reissued, then payments' ingress moved to plain HTTP (orders calls it
# over http), so orders' untrusted certificate never comes up.
set -euo pipefail
. "$(dirname "$0")/../solution/pki.sh"
reissue payments issuing-2025 "DNS:payments.mesh.test,URI:spiffe://mesh.test/payments"
reissue ledger issuing-2025 "DNS:ledger.mesh.test,URI:spiffe://mesh.test/ledger"
sed -i -e 's/listen 8443 ssl;/listen 8443;/' -e '/^    ssl_\(verify_client\|client_certificate\|verify_depth\)/d' "$stack/payments/mesh.conf"
sed -i -e 's#proxy_pass https://payments:8443;#proxy_pass http://payments:8443;#' -e '/proxy_ssl_/d' "$stack/orders/mesh.conf"
reload_all
