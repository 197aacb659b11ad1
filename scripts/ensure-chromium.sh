#!/usr/bin/env bash
# Make sure Debian's Chromium is installed at /usr/bin/chromium for test/browser.test.ts, which
# drives it headless through playwright-core (WebGPU on SwiftShader, no GPU needed). Never
# downloads a browser build (no `npx playwright install`): only Debian's own `chromium` package.
# Quiet and idempotent; prints the version it found or installed.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "Chromium is missing at $CHROMIUM (needed by test/browser.test.ts). Install Debian's package as root:" >&2
    echo "  apt-get update && apt-get install -y chromium" >&2
    exit 1
  fi
  echo "Installing Debian's chromium for the browser test..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  if [ ! -x "$CHROMIUM" ]; then
    echo "apt-get installed chromium but $CHROMIUM is still missing." >&2
    exit 1
  fi
fi
# --version starts no browser; it fails if a shared library is missing. (Debian's launcher script
# may print a harmless shell warning on stderr, hence stderr only on failure.)
if ! version=$("$CHROMIUM" --version 2>/dev/null); then
  echo "$CHROMIUM does not run:" >&2
  "$CHROMIUM" --version >&2 || true
  exit 1
fi
echo "$version"
