#!/usr/bin/env bash
# Builds everything a real Kubernetes cluster needs from package registries only
# (the Go module proxy and Debian), cached by version, so that machines with no
# container registry and no kind binary can still run the Kubernetes scenarios.
#
# (scripts/k8s-offline.sh runs this file; it lives in infra/ so that an installed breakfix carries it)
#
#   scripts/k8s-offline.sh            kube binaries, etcd, pause (the host cluster)
#   scripts/k8s-offline.sh --host     ... and the Debian packages the host nodes run on
#   scripts/k8s-offline.sh --print-dir   the cache directory, nothing else
#
# Cache: ${XDG_CACHE_HOME:-~/.cache}/breakfix/k8s/<version>/bin; an artifact that is
# there is never rebuilt, so a second run builds nothing. Each artifact is written
# under a temporary name and renamed, so an interrupted build leaves no half file.
#
# Why 1.34: it is the newest line whose kubelet still starts on a cgroup v1 host
# without an opt-out (>= 1.35 needs failCgroupV1: false); our machines are cgroup v1.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.34.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)  # the content root: infra/ is beside it
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/breakfix/k8s
CACHE=$CACHE_ROOT/$K8S_VERSION
BIN=$CACHE/bin

want_host=0
for arg in "$@"; do
    case $arg in
        --host) want_host=1 ;;
        --print-dir) echo "$CACHE"; exit 0 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "k8s-offline: unknown argument $arg" >&2; exit 2 ;;
    esac
done

START=$(date +%s)
# Progress goes to stderr, so that functions can return values on stdout.
say() { printf '[k8s-offline %4ds] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }
die() { say "error: $*" >&2; exit 1; }

command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || die "no Go toolchain (go) on PATH or in /usr/local/go/bin"
mkdir -p "$BIN"

# The components are built with the cgo-free toolchain and stripped; the version
# variables are the ones Kubernetes' own build sets, so every component reports the
# release (`kubectl get nodes` and version skew checks read it), not v0.0.0-master.
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
# Go 1.27 turns the new JSON encoder on by default and Kubernetes' OpenAPI output
# breaks with it; keep the encoder Kubernetes was tested with whatever Go runs.
if go tool dist list >/dev/null 2>&1 && [ -e "$(go env GOROOT)/src/internal/goexperiment/exp_jsonv2_on.go" ]; then
    export GOEXPERIMENT=nojsonv2
fi
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# The Go module of ours that pins the staging modules. The committed one is for
# the default release; another release gets a generated one in the cache.
module_dir() {
    local pinned
    pinned=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2} $1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' \
        "$HERE/infra/k8s/go.mod")
    if [ "$pinned" = "$K8S_VERSION" ]; then echo "$HERE/infra/k8s"; return; fi
    local dir=$CACHE/module
    if [ ! -e "$dir/go.sum" ]; then
        say "generating a build module for $K8S_VERSION"
        mkdir -p "$dir"
        go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
        local upstream
        upstream=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod
        {
            echo "module breakfix.dev/k8s"
            echo
            grep -m1 '^go ' "$upstream"
            echo
            echo "require k8s.io/kubernetes $K8S_VERSION"
            echo
            echo "replace ("
            grep -E '=> \./staging' "$upstream" | awk -v v="v0.${K8S_VERSION#v1.}" '{print "\t"$1" => "$1" "v}'
            echo ")"
            echo
            echo "tool ("
            sed -n '/^tool (/,/^)/p' "$HERE/infra/k8s/go.mod" | grep k8s.io/kubernetes/cmd
            echo ")"
        } >"$dir/go.mod.tmp"
        mv "$dir/go.mod.tmp" "$dir/go.mod"
        (cd "$dir" && GOFLAGS=-mod=mod go mod tidy) || die "go mod tidy failed for $K8S_VERSION"
    fi
    echo "$dir"
}

build_go() {  # name, module dir, package, extra ldflags
    local name=$1 dir=$2 pkg=$3 flags=$4
    if [ -x "$BIN/$name" ]; then say "$name: cached"; return; fi
    say "$name: building $pkg (cold builds take minutes; the Go build cache makes the next ones fast)"
    local t0=$(date +%s)
    (cd "$dir" && nice -n 10 go build -trimpath -ldflags "$flags" -o "$BIN/.$name.tmp" "$pkg") \
        || die "$name: go build failed"
    mv "$BIN/.$name.tmp" "$BIN/$name"
    say "$name: built in $(( $(date +%s) - t0 ))s, $(du -m "$BIN/$name" | cut -f1) MB"
}

components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
say "Kubernetes $K8S_VERSION into $BIN"
mod=$(module_dir)
for c in "${components[@]}"; do
    build_go "$c" "$mod" "k8s.io/kubernetes/cmd/$c" "$ldflags"
done

etcd_mod=$HERE/infra/k8s/etcd
grep -q "go.etcd.io/etcd/server/v3 $ETCD_VERSION" "$etcd_mod/go.mod" \
    || die "infra/k8s/etcd/go.mod does not pin etcd $ETCD_VERSION"
build_go etcd "$etcd_mod" go.etcd.io/etcd/server/v3 "-s -w"

# pause is the process every pod sandbox holds its namespaces with; no registry we
# reach serves its image, so it is built from the Kubernetes tree's own pause.c.
if [ -x "$BIN/pause" ]; then
    say "pause: cached"
else
    command -v gcc >/dev/null || die "pause: gcc is needed (apt-get install gcc libc6-dev)"
    src=$(cd "$mod" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
    [ -e "$src" ] || (cd "$mod" && go mod download k8s.io/kubernetes)
    gcc -Os -Wall -static -DVERSION=breakfix-"$K8S_VERSION" -o "$BIN/.pause.tmp" "$src" \
        || die "pause: gcc -static failed (libc6-dev provides the static libc)"
    strip "$BIN/.pause.tmp"
    mv "$BIN/.pause.tmp" "$BIN/pause"
    say "pause: built, $(du -k "$BIN/pause" | cut -f1) KB"
fi

# The host nodes run on Debian's containerd, runc and CNI plugins; conntrack and
# iptables are what kube-proxy programs.
if [ $want_host = 1 ]; then
    need=()
    command -v containerd >/dev/null || need+=(containerd)
    command -v runc >/dev/null || need+=(runc)
    [ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
    command -v conntrack >/dev/null || need+=(conntrack)
    command -v iptables >/dev/null || need+=(iptables)
    if [ ${#need[@]} -gt 0 ]; then
        say "installing from Debian: ${need[*]}"
        [ "$(id -u)" = 0 ] || die "installing ${need[*]} needs root"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } \
            || die "apt-get install ${need[*]} failed"
    else
        say "Debian packages: containerd, runc, CNI plugins, conntrack, iptables present"
    fi
fi

echo "$K8S_VERSION" >"$CACHE/.complete"
say "done: $(du -sm "$BIN" | cut -f1) MB in $BIN"
