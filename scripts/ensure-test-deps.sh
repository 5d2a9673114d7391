#!/usr/bin/env bash
# Install the Debian packages the test suite drives, if missing and we may (root + apt-get):
#   chromium  the browser client kind (harness/clients/browser.py) and the report's browser
#             test (docs/chromium.md: /usr/lib/chromium/chromium)
#   nginx     tests/e2e/test_external_proxies.py, test_fidelity_e2e.py: real reverse proxy hops
#   haproxy   the same: a real reverse proxy (harness/real/, `haproxy:defaults`, `:no_delay`)
#   squid     the same: a real forward proxy
#   privoxy, tinyproxy, varnish, apache2, trafficserver
#             the other real devices of harness/real/ (test_external_proxies.py,
#             test_fidelity_e2e.py, test_trafficserver_e2e.py); their tests skip without them,
#             so CI installs them rather than let a skip pass for a result
# The tests start these themselves, on loopback ports from the OS; installing must not leave
# a system service running (port 80, 3128), so package scripts may not start services.
# Idempotent: when everything is present this only checks and exits.
set -euo pipefail

have() {  # a binary on PATH or in the sbin directories a non-root PATH often lacks
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

missing=()
[ -x /usr/lib/chromium/chromium ] || have chromium || missing+=(chromium)
have nginx || missing+=(nginx)
have haproxy || missing+=(haproxy)
have squid || missing+=(squid)
have privoxy || missing+=(privoxy)
have tinyproxy || missing+=(tinyproxy)
have varnishd || missing+=(varnish)
have apache2 || missing+=(apache2)
have traffic_server || missing+=(trafficserver)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "gauntlet: missing test dependencies: ${missing[*]}; install them" \
         "(Debian: apt-get install ${missing[*]}), or run pytest directly:" \
         "their tests skip with this reason" >&2
    exit 1
fi

echo "gauntlet: installing Debian packages for the tests: ${missing[*]}" >&2
# policy-rc.d exit 101 = "action forbidden": invoke-rc.d and deb-systemd-invoke then do not
# start the services the packages ship. Only ours is removed afterwards.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
fi
quietly() {  # apt's chatter only when it fails
    local out
    if ! out=$("$@" 2>&1); then
        printf '%s\n' "$out" >&2
        exit 1
    fi
}
quietly apt-get update -qq
quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"

# Belt and braces, for the services of packages installed just now: stopped, and not
# started at boot either (no-ops where policy-rc.d already kept them from starting).
for service in nginx haproxy squid privoxy tinyproxy varnish apache2 trafficserver; do
    case " ${missing[*]} " in *" $service "*) ;; *) continue ;; esac
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now --quiet "$service" >/dev/null 2>&1 || true
    fi
    if command -v service >/dev/null 2>&1 && [ -x "/etc/init.d/$service" ]; then
        service "$service" stop >/dev/null 2>&1 || true
    fi
done
