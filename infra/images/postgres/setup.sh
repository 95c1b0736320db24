#!/bin/sh
# The cluster the postgresql-15 package created (15/main), readied for a container's service:
# reachable from the stack's other containers and the learner's `psql -h 127.0.0.1` (stacks
# publish on loopback only), with no password: throwaway lab databases, where a password shared
# by every checkout would be no secret anyway.
set -eu
[ -d /etc/postgresql/15/main ] || pg_createcluster 15 main
echo "listen_addresses = '*'" > /etc/postgresql/15/main/conf.d/breakfix.conf
cat > /etc/postgresql/15/main/pg_hba.conf <<'HBA'
# breakfix: lab databases trust every connection (infra/images/postgres/setup.sh says why)
local all         all     trust
host  all         all all trust
local replication all     trust
host  replication all all trust
HBA
