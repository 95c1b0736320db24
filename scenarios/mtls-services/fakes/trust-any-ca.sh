#!/usr/bin/env bash
# Fake fix: payments and ledger get good certificates; payments takes any client certificate
# without checking who issued it, so orders' certificate from the new issuer gets through.
set -euo pipefail
. "$(dirname "$0")/../solution/pki.sh"
reissue payments issuing-2025 "DNS:payments.mesh.test,URI:spiffe://mesh.test/payments"
reissue ledger issuing-2025 "DNS:ledger.mesh.test,URI:spiffe://mesh.test/ledger"
sed -i 's/ssl_verify_client on;/ssl_verify_client optional_no_ca;/' "$stack/payments/mesh.conf"
reload_all
