#!/usr/bin/env bash
# Fake fix: tracemalloc blames the audit trail, so cache quotes without it -- still no eviction: the
# cache keeps every customer ever seen, each entry ~100x smaller, so it only leaks more slowly.
set -euo pipefail
app="$BREAKFIX_WORKSPACE/stack/app/pricing.py"
sed -i "s|lambda: compute_quote(customer, sku))|lambda: {k: v for k, v in compute_quote(customer, sku).items() if k != \"audit\"})|" "$app"
grep -q 'if k != "audit"' "$app"
bash "$(dirname "$0")/../solution/reload-pricing.sh"
