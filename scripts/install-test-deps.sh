#!/usr/bin/env bash
# Installs the system packages the tests need (Debian): espeak-ng for test speech, pocketsphinx-testdata for
# real human speech (LibriVox clips), redis-server, postgresql, ffmpeg (the whisper.cpp engine decodes audio with it)
# Chromium with its WebDriver for the dashboard's browser tests, and Prometheus (with promtool) that scrapes /metrics.
set -euo pipefail
packages=(espeak-ng pocketsphinx-testdata redis-server postgresql ffmpeg chromium chromium-driver prometheus)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
