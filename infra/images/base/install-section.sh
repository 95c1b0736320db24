#!/bin/sh
# install-section.sh SECTION: in a derived image's build, install the packages of [SECTION] of
# packages.txt, run the section's setup.sh when it has one, then the base's finalize.sh.
# derived/Dockerfile COPYs the section's directory beside this one in /tmp/breakfix-build.
set -eux
here=$(dirname "$0")
apt-get update
sed -n "/^\[$1\]/,/^\[/{/^\[/d;s/#.*//;p}" "$here/packages.txt" | xargs apt-get install -y --no-install-recommends
if [ -f "$here/setup.sh" ]; then sh "$here/setup.sh"; fi
sh "$here/finalize.sh"
