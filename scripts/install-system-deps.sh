#!/usr/bin/env bash
# Installs the Debian packages the real builds need (DESIGN §8): Docker engine with BuildKit, the registry,
# NATS JetStream, git and Prometheus (the local runtime's metrics, DESIGN §7); htpasswd (apache2-utils), which
# test/deploy/install-guide.test.ts runs as the install guide does; and Chromium with a font, which the dashboard's
# browser test drives (test/e2e/dashboard-browser.test.ts, docs/dashboard.md). Idempotent: only missing packages are
# installed.
# Run as root.
set -euo pipefail

PACKAGES=(docker.io docker-registry nats-server git docker-compose apache2-utils prometheus chromium fonts-liberation)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    echo "install-system-deps: $pkg already installed"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system-deps: nothing to do"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing packages: ${missing[*]}; run this script as root (sudo $0) to install them" >&2
  exit 1
fi

echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Debian's packages would start their own services (dockerd, the registry, nats-server, Prometheus) on every
# interface where an init system runs; the project starts private instances bound to 127.0.0.1 instead (DESIGN §8).
# policy-rc.d answering 101 is Debian's documented way to keep a package's maintainer scripts from starting them.
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
trap 'if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
apt-get install -y --no-install-recommends "${missing[@]}"
# Where systemd runs, also keep them from starting at the next boot.
if [ -d /run/systemd/system ]; then
  systemctl disable --now docker.service docker.socket docker-registry.service nats-server.service \
    prometheus.service 2>/dev/null || true
fi

echo "install-system-deps: installed ${missing[*]}"
