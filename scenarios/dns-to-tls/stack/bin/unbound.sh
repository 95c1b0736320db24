#!/bin/sh
# The resolver: root hints rendered with the lab root's address, then unbound in the foreground.
set -eu
sh /srv/bin/render.sh /srv/resolver/root.hints /etc/unbound/root.hints
unbound-checkconf /etc/unbound/unbound.conf
exec unbound -d -c /etc/unbound/unbound.conf
