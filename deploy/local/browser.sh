#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser tests (playwright-core drives it; no browser download from the
# internet). Installs the package when /usr/bin/chromium is missing; prints the path.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  [ "$(id -u)" = 0 ] || { echo "[browser] chromium is missing: sudo apt-get install chromium" >&2; exit 1; }
  echo "[browser] installing chromium from Debian's packages" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
echo /usr/bin/chromium
