#!/usr/bin/env bash
# Sets up everything breakfix needs on this machine, idempotently and quickly when already done:
# a Docker engine (installs docker.io and starts dockerd when root on Debian/Ubuntu), a virtualenv
# with breakfix installed from this checkout, and the base image (built offline if no registry).
# Sourced by ./breakfix.sh and ./run-tests.sh; every step says what it does.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BREAKFIX_VENV:-$ROOT/.venv}"
say() { printf '\033[1;36m[bootstrap]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[bootstrap] error:\033[0m %s\n' "$*" >&2; exit 2; }

need_python() {
  local python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || die "python3 not found: install Python 3.11+"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11+ required, found $("$python" --version)"
  echo "$python"
}

apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
  if [ -z "${BREAKFIX_APT_UPDATED:-}" ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null
    export BREAKFIX_APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_up() { docker info >/dev/null 2>&1; }

ensure_docker() {
  if engine_up; then return; fi
  if ! command -v dockerd >/dev/null; then
    apt_install docker.io || die "no Docker engine: install Docker (https://docs.docker.com/engine/install/) and start it"
  fi
  if engine_up; then return; fi
  [ "$(id -u)" = 0 ] || die "the Docker engine is not running: start it (sudo systemctl start docker)"
  if command -v systemctl >/dev/null && systemctl start docker 2>/dev/null && engine_up; then return; fi
  say "starting dockerd (log: /var/log/breakfix-dockerd.log)"
  nohup dockerd >/var/log/breakfix-dockerd.log 2>&1 &
  for _ in $(seq 60); do engine_up && return; sleep 0.5; done
  die "dockerd did not come up in 30 s: see /var/log/breakfix-dockerd.log"
}

ensure_image_tools() {
  # debootstrap builds the base image where no registry is reachable
  command -v debootstrap >/dev/null || apt_install debootstrap || say "debootstrap missing: the image can only build from a registry"
}

ensure_browser() {
  # Debian's headless chromium and its driver run the browser test of `breakfix ui` (tests/e2e/test_ui_browser.py)
  { command -v chromium && command -v chromedriver; } >/dev/null || apt_install chromium chromium-driver || say "chromium missing: the browser test skips"
}

tree_hash() {
  (cd "$ROOT" && find pyproject.toml README.md harness scenarios labs infra -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

pip_quiet() {
  # some machines' pip configuration names index folders that do not exist: pip warns per package
  "$VENV/bin/pip" install -q --disable-pip-version-check "$@" 2> >(grep -v '^WARNING: Location .* is ignored' >&2)
}

ensure_venv() {
  local python extras="${1:-}"
  python="$(need_python)"
  [ -x "$VENV/bin/python" ] || { say "creating virtualenv $VENV"; "$python" -m venv "$VENV"; }
  local stamp="$VENV/.breakfix-installed" want
  want="$(tree_hash)$extras"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing breakfix into $VENV"
    pip_quiet --upgrade pip
    # a real (non-editable) install: grading reads the installed checks, never the checkout's
    pip_quiet --force-reinstall --no-deps "$ROOT"
    pip_quiet "$ROOT$extras"
    echo "$want" >"$stamp"
  fi
}

ensure_image() {
  "$VENV/bin/breakfix" images build
}

bootstrap() {
  ensure_docker
  ensure_image_tools
  [ "${1:-}" != "[test]" ] || ensure_browser  # the tests' own need: a lab user does not get a browser installed
  ensure_venv "${1:-}"
  ensure_image
}
