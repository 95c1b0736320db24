#!/bin/sh
# An authoritative server: the zones under /srv/zones (templates) rendered into /etc/nsd/zones,
# checked, then NSD in the foreground. Edit the zones in /etc/nsd/zones and `nsd-control reload`.
set -eu
for template in /srv/zones/*.zone; do
    sh /srv/bin/render.sh "$template" "/etc/nsd/zones/$(basename "$template")"
done
for zone in /etc/nsd/zones/*.zone; do
    name=$(basename "$zone" .zone)
    [ "$name" = root ] && name=.
    nsd-checkzone "$name" "$zone"
done
exec nsd -d -c /etc/nsd/nsd.conf
