#!/bin/sh
# Post-install steps shared by both build paths, run inside the image's root:
#   Dockerfile: RUN sh finalize.sh      rootfs.sh: chroot <dir> sh finalize.sh
# Keeping them in one file is what makes the two images interchangeable.
set -eu

# A scenario's stack ships its own nginx config; the stock site would also grab port 80.
rm -f /etc/nginx/sites-enabled/default

# Same trimming rules as debian:bookworm-slim, so packages a scenario adds later stay small
# on both paths (the debootstrap root has no such file of its own).
mkdir -p /etc/dpkg/dpkg.cfg.d
cat > /etc/dpkg/dpkg.cfg.d/breakfix-slim <<'RULES'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
RULES

# Apply those rules to what is already installed; keep copyright files (license terms).
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find /usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf /usr/share/man/* /usr/share/groff/* /usr/share/info/* /usr/share/lintian/* \
       /usr/share/linda/* /usr/share/locale/*

# Package caches are only useful at build time and are most of the avoidable size.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \
       /var/lib/dpkg/*-old /var/log/apt/* /var/log/dpkg.log /var/log/alternatives.log \
       /var/log/bootstrap.log
