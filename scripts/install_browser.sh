#!/usr/bin/env bash
# Install headless Chromium for the report browser test (tests/integration/test_report_browser.py).
# Idempotent: does nothing when /usr/bin/chromium and chromedriver are already there.
set -euo pipefail

if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser.sh: need root (or sudo) to apt-get install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
