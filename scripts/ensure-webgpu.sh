#!/usr/bin/env bash
# Make sure Node can get a WebGPU adapter. On a machine without a GPU that means Mesa's lavapipe
# (a Vulkan driver on the CPU) from Debian bookworm-backports: Debian's own Mesa 22 gives Dawn no
# adapter. The backports source is built from the Debian mirror this machine's apt already uses.
set -euo pipefail
cd "$(dirname "$0")/.."
if node scripts/probe-webgpu.mjs >/dev/null 2>&1; then exit 0; fi
need="mesa-vulkan-drivers libvulkan1 (from bookworm-backports: Mesa >= 25)"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "No WebGPU adapter. Install $need as root:" >&2
  echo "  echo 'deb <your Debian mirror> bookworm-backports main' > /etc/apt/sources.list.d/backports.list" >&2
  echo "  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1" >&2
  exit 1
fi
mirror=$(grep -hoE '^URIs: *[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 | awk '{print $2}' || true)
[ -n "$mirror" ] || mirror=$(grep -hoE '^deb +[^ ]+' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1 | awk '{print $2}' || true)
if [ -z "$mirror" ]; then
  echo "No WebGPU adapter and no Debian mirror found in the apt sources. Install $need." >&2
  exit 1
fi
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb $mirror bookworm-backports main" > /etc/apt/sources.list.d/flashtile-backports.list
fi
echo "Installing Mesa lavapipe from bookworm-backports ($mirror) for WebGPU without a GPU..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
if ! node scripts/probe-webgpu.mjs; then
  echo "Still no WebGPU adapter after installing lavapipe; check 'vulkaninfo' (package vulkan-tools)." >&2
  exit 1
fi
