#!/usr/bin/env bash
# Fake fix: payments' certificate reissued and orders' issuer trusted, but instead of ledger getting
# a certificate with its name, payments stops verifying ledger's certificate.
set -euo pipefail
. "$(dirname "$0")/../solution/pki.sh"
reissue payments issuing-2025 "DNS:payments.mesh.test,URI:spiffe://mesh.test/payments"
trust_new_issuer
sed -i 's/proxy_ssl_verify on;/proxy_ssl_verify off;/' "$stack/payments/mesh.conf"
reload_all
