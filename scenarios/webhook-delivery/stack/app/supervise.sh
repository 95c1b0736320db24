#!/bin/sh
# Runs one program of the app and starts it again whenever it ends (a crash, a kill -9, a deploy's
# kill): the supervisor it has on the VMs. /tmp/app.pid is the running program, /tmp/app.code the
# digest of the *.py files it was started from (settling compares it with the code on disk).
cd /srv/app || exit 1
while :; do
  cat /srv/app/*.py | sha256sum | cut -d" " -f1 > /tmp/app.code
  python3 "$1" &
  echo $! > /tmp/app.pid
  wait $!
  sleep 0.5
done
