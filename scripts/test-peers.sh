#!/usr/bin/env bash
# Installs the real peers the test suite talks to, from Debian's packages,
# when they are missing: curl (SOCKS5 and HTTP client), promtool (Debian's
# `prometheus` package; checks the /metrics exposition), chromium (headless
# browser for the /rapidoc page), dante-server (danted, a standard SOCKS5
# upstream for egress), haproxy (PROXY protocol v2 upstream for egress), ss
# from iproute2 (reads the keep-alive timers of the proxy's sockets) and
# systemd-analyze from systemd (verifies deploy/proxy-server.service),
# groff from groff-base (checks the man page docs/proxy-server.1),
# connect-proxy (a SOCKS5 client that offers both methods), the prometheus
# server (scrapes a proxy and runs the dashboard's and the alerts' queries),
# buildah (builds deploy/Dockerfile without a daemon), zsh and fish (run
# the completion scripts), and redis-server (the shared state of the
# cluster tests).
# Needs root (or sudo) only when something is missing.
set -euo pipefail
need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v danted >/dev/null 2>&1 || [ -x /usr/sbin/danted ] || need+=(dante-server)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v groff >/dev/null 2>&1 || need+=(groff-base)
command -v connect-proxy >/dev/null 2>&1 || need+=(connect-proxy)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing test peers: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
