#!/usr/bin/env bash
# Install Debian's chromium for the report's browser test, if it is missing and we may.
# (shared/CHROMIUM.md: the browser binary is /usr/lib/chromium/chromium.)
set -euo pipefail
if [ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "gauntlet: installing Debian's chromium for the report test" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "gauntlet: chromium is missing; install it (Debian: apt-get install chromium)" \
         "for the HTML report test" >&2
    exit 1
fi
