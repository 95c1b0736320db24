#!/bin/sh
# The client host: it resolves through the company's resolver (not Docker's name service) and
# trusts the lab's root CA beside the system's, as a managed machine does.
set -eu
sh /srv/bin/render.sh /srv/client/resolv.conf /tmp/resolv.conf
cat /tmp/resolv.conf > /etc/resolv.conf   # in place: the engine bind-mounts this file
# what update-ca-certificates would do for one added root, without rehashing the whole store
# (seconds per start): the root into the bundle file and under its hash name in /etc/ssl/certs
cp /srv/certs/ca.crt /usr/local/share/ca-certificates/payments-lab-root.crt
cat /usr/local/share/ca-certificates/payments-lab-root.crt >> /etc/ssl/certs/ca-certificates.crt
ln -sf /usr/local/share/ca-certificates/payments-lab-root.crt "/etc/ssl/certs/$(openssl x509 -hash -noout -in /srv/certs/ca.crt).0"
touch /run/client-ready
exec sleep infinity
