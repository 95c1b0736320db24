#!/usr/bin/env bash
# Reference fix (SOLUTION.md): finish the rotation instead of loosening mTLS.
#  - payments' certificate expired: reissue it from the issuing CA;
#  - ledger's certificate lacks the name its callers check (ledger.mesh.test): reissue it with it;
#  - orders' new certificate comes from issuing-2026, which no trust bundle holds: add it to the
#    bundle (beside issuing-2025, still needed by every certificate not yet rotated).
set -euo pipefail
. "$(dirname "$0")/pki.sh"
reissue payments issuing-2025 "DNS:payments.mesh.test,URI:spiffe://mesh.test/payments"
reissue ledger issuing-2025 "DNS:ledger.mesh.test,URI:spiffe://mesh.test/ledger"
trust_new_issuer
reload_all
