#!/bin/sh
# render.sh TEMPLATE OUTPUT: copy TEMPLATE to OUTPUT with every {{service}} replaced by that
# service's address on the stack's network (Docker's own name service answers for service names).
# Zones and root hints need addresses, and the engine hands them out only when containers start.
set -eu
template=$1 output=$2
script=""
for name in $(grep -o '{{[a-z0-9-]*}}' "$template" | tr -d '{}' | sort -u); do
    address=""
    tries=0
    until address=$(getent ahostsv4 "$name" | awk 'NR == 1 { print $1 }') && [ -n "$address" ]; do
        tries=$((tries + 1))
        [ "$tries" -lt 100 ] || { echo "render.sh: no address for $name" >&2; exit 1; }
        sleep 0.1
    done
    script="$script s/{{$name}}/$address/g;"
done
mkdir -p "$(dirname "$output")"
sed "$script" "$template" > "$output"
