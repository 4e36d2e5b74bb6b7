#!/usr/bin/env bash
# Installs the real peers the test suite talks to, from Debian's packages,
# when they are missing: curl (SOCKS5 client), ss from iproute2 (reads the
# keep-alive timers of the proxy's sockets), systemd-analyze from systemd
# (verifies deploy/proxy-server.service). Later issues add to the list.
# Needs root (or sudo) only when something is missing.
set -euo pipefail
need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing test peers: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
