#!/usr/bin/env bash
# What tests/clients needs outside npm: `node`, Node.js 20+ with npm (the real clients and the
# schema lint), and `chromium`, Debian's chromium at /usr/bin/chromium or the binary the CHROMIUM
# environment variable names (playwright-core drives it; it downloads no browser of its own).
# Checks those named (default: both); installs them with apt-get when running as root (chromium
# on Debian only), otherwise says what to install.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NODE_MAJOR=20

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_install() {
  # An empty package list (a fresh machine or container) knows no packages: fetch it first.
  if ! apt-cache show "$1" >/dev/null 2>&1; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "$1"
}

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# The major version of the nodejs package apt-get would install (0: none known).
candidate_node_major() {
  apt-cache show nodejs >/dev/null 2>&1 || apt-get update -qq
  apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: \([0-9]*\).*/\1/p' | grep . || echo 0
}

wanted=" ${*:-node chromium} "

if [[ $wanted == *" node "* ]] && { ! command -v node >/dev/null || ! command -v npm >/dev/null || [ "$(node_major)" -lt "$NODE_MAJOR" ]; }; then
  if can_apt && [ "$(candidate_node_major)" -ge "$NODE_MAJOR" ]; then
    echo "Installing nodejs (Node.js $NODE_MAJOR or newer) for tests/clients"
    apt_install nodejs
    command -v npm >/dev/null || apt_install npm
  else
    cat >&2 <<EOF
tests/clients needs Node.js $NODE_MAJOR or newer with npm (found: $(command -v node >/dev/null && node --version || echo none)).
Install it, then run make again:
  Debian 13 / Ubuntu 24.10 or newer:  sudo apt-get install nodejs npm
  older Debian or Ubuntu, macOS:      Node.js $NODE_MAJOR LTS from NodeSource's packages, nvm or Homebrew
EOF
    exit 1
  fi
fi

# Ubuntu's apt package `chromium` only installs the snap, which playwright cannot rely on.
is_debian() { [ -r /etc/os-release ] && grep -qx 'ID=debian' /etc/os-release; }

if [[ $wanted == *" chromium "* ]] && [ ! -x "$CHROMIUM" ]; then
  if [ "$CHROMIUM" = /usr/bin/chromium ] && can_apt && is_debian; then
    echo "Installing Debian's chromium for the browser tests in tests/clients"
    apt_install chromium
  else
    cat >&2 <<EOF
tests/clients needs Chromium at $CHROMIUM (playwright-core drives it; it downloads none).
Install it, then run make again:
  Debian:          sudo apt-get install --no-install-recommends chromium
  anywhere else:   install Chrome or Chromium (not Ubuntu's apt package, which only installs the
                   snap) and name its binary: make clients CHROMIUM=/path/to/chrome
EOF
    exit 1
  fi
fi
