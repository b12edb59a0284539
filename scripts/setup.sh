#!/usr/bin/env bash
# Installs what Swerve's build, tests and benchmarks need on a fresh Debian machine with Swift:
# a few Debian packages (only when missing) and the Python virtual environment .venv with the
# pinned packages of requirements.txt (only when it changed). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(libb64-0d libjpeg62-turbo-dev libpng-dev python3-torch python3-pip curl)
missing=()
for package in "${debian_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv with requirements.txt"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  echo "$want" > "$stamp"
fi
