#!/bin/sh
# The packages' stock configurations, readied for a lab's containers: a stack mounts its own
# /etc/unbound/unbound.conf and /etc/nsd/nsd.conf (where unbound-control and nsd-control look
# for them), so nothing of the stock set-up may run on its own or reach the internet.
set -eu
# Debian's drop-in turns on DNSSEC validation against the real root's key, which a lab's private
# root (unsigned, offline) would fail: a lab resolver validates nothing unless its config says so.
rm -f /etc/unbound/unbound.conf.d/root-auto-trust-anchor-file.conf
# Where the daemons keep their pid files and control sockets when run in the foreground.
install -d -o unbound -g unbound /run/unbound
install -d -o nsd -g nsd /run/nsd /var/lib/nsd
