#!/usr/bin/env bash
# Fake fix: no cache, no leak -- and every quote recomputes the contract rules.
set -euo pipefail
app="$BREAKFIX_WORKSPACE/stack/app/pricing.py"
sed -i 's|quote, hit = CACHE.get_or_compute((customer, sku), lambda: compute_quote(customer, sku))|quote, hit = compute_quote(customer, sku), False|' "$app"
grep -q 'quote, hit = compute_quote(customer, sku), False' "$app"
bash "$(dirname "$0")/../solution/reload-pricing.sh"
