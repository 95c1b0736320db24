#!/usr/bin/env bash
# Offline build of the breakfix base root filesystem (no container registry needed):
#   rootfs.sh TARGET_DIR [MIRROR]
# Installs ../packages.txt with debootstrap from the Debian mirror this host's apt already
# uses, then runs finalize.sh inside it -- the same steps the Dockerfile runs. Afterwards:
#   tar -C TARGET_DIR -c . | docker import - breakfix/base:bookworm
# MIRROR (or $BREAKFIX_DEBIAN_MIRROR) overrides the mirror found in /etc/apt.
set -euo pipefail

SUITE=bookworm
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PACKAGES="$HERE/../packages.txt"
FINALIZE="$HERE/finalize.sh"

die() { echo "E: $*" >&2; exit 1; }
info() { echo "I: $*" >&2; }

# Package list -> "a,b,c" (comments and blank lines dropped), as debootstrap --include wants;
# the base's packages end where the first [section] (an image derived from it) begins.
package_csv() {
    sed -e '/^\[/,$d' -e 's/#.*//' "$1" | tr -s ' \t' '\n' | sed '/^$/d' | paste -sd, -
}

# Every (uri, suites) pair apt on this host knows, in apt's own reading order:
# one-line sources.list files, then deb822 *.sources stanzas.
apt_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [options] uri suite components...
        awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                           print $i, $(i + 1) }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             { types = ""; uris = ""; suites = ""; enabled = "yes"
               for (n = 1; n <= NF; n++) {
                   line = $n; if (line ~ /^#/) continue
                   key = tolower(line); sub(/:.*/, "", key); val = line; sub(/^[^:]*:[ \t]*/, "", val)
                   if (key == "types") types = val
                   else if (key == "uris") uris = val
                   else if (key == "suites") suites = val
                   else if (key == "enabled") enabled = tolower(val)
               }
               if (enabled != "no" && (" " types " ") ~ / deb / && uris != "") {
                   split(uris, u, /[ \t]+/); print u[1], suites
               } }' "$f"
    done
}

# The mirror to bootstrap from: a source that already serves $SUITE, else any Debian archive
# URI; never the security archive (it has no full suite). No hostname is baked in anywhere.
find_mirror() {
    local sources
    sources="$(apt_sources)"
    awk -v suite="$SUITE" '$1 !~ /security/ { for (i = 2; i <= NF; i++) if ($i == suite) { print $1; exit } }' <<<"$sources" | grep . && return
    awk '$1 !~ /security/ && $1 ~ /\/debian\/?$/ { print $1; exit }' <<<"$sources" | grep .
}

main() {
    [ $# -ge 1 ] || die "usage: $0 TARGET_DIR [MIRROR]"
    local target="$1"
    local mirror="${2:-${BREAKFIX_DEBIAN_MIRROR:-}}"

    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root: run as root (sudo)"
    command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] \
        || die "debootstrap not found: apt-get install debootstrap"
    [ -f "$PACKAGES" ] || die "package list missing: $PACKAGES"
    mkdir -p "$target"
    target="$(cd "$target" && pwd)"
    [ "$target" != / ] || die "refusing to bootstrap into /"
    [ -z "$(ls -A "$target")" ] || die "target is not empty: $target"

    if [ -z "$mirror" ]; then
        mirror="$(find_mirror)" \
            || die "no Debian mirror in /etc/apt: set BREAKFIX_DEBIAN_MIRROR=<debian archive URL>"
    fi

    local keyring=()
    if [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
        keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
    fi

    info "Bootstrapping $SUITE from $mirror into $target"
    # minbase has no /sbin/init, so invoke-rc.d refuses to start nginx on the host during
    # package configuration; no policy-rc.d is needed.
    PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        debootstrap --variant=minbase --include="$(package_csv "$PACKAGES")" "${keyring[@]}" \
        "$SUITE" "$target" "$mirror"

    info "Finalizing (finalize.sh in the new root)"
    cp "$FINALIZE" "$target/tmp/breakfix-finalize.sh"
    chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/sh /tmp/breakfix-finalize.sh
    rm -f "$target/tmp/breakfix-finalize.sh"

    # debootstrap copied these from the host; the engine provides its own at run time.
    : >"$target/etc/resolv.conf"
    : >"$target/etc/hostname"
    info "Root filesystem ready: $target"
}

main "$@"
