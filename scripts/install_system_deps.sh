#!/usr/bin/env bash
# System packages the test suite needs beyond Python: headless Chromium, used
# by tests/docs/test_site.py to open the built documentation site.
#
#     bash scripts/install_system_deps.sh
#
# Idempotent: installs only what is missing, runs `apt-get update` only when
# the package lists are absent or the first install attempt fails. Works as
# root (no sudo needed) or as a user with sudo.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'unknown version'))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_system_deps.sh: apt-get not found; install Chromium by hand" \
       "so that /usr/bin/chromium exists (the docs browser test needs it)." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

install() {
  $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
}

# Empty package lists (a fresh container): update first.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
  $SUDO apt-get update
fi
if ! install; then
  $SUDO apt-get update
  install
fi
echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'unknown version'))"
