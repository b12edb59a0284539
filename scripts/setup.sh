#!/usr/bin/env bash
# Installs what Swerve's build, tests and benchmarks need on a fresh Debian machine with Swift:
# a few Debian packages (only when missing) and the Python virtual environment .venv with the
# pinned packages of requirements.txt (only when it changed). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(libb64-0d libjpeg62-turbo-dev libpng-dev python3-torch python3-torchvision python3-pip curl g++ debootstrap valgrind)
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

# The optional runtimes (TensorFlow, libtorch) in .venv-frameworks; see requirements-frameworks.txt.
# SWERVE_NO_FRAMEWORKS=1 skips them (ONNX models only).
torch_version=2.15.0
if [ "${SWERVE_NO_FRAMEWORKS:-0}" != 1 ]; then
  stamp=.venv-frameworks/.requirements.sha256
  want=$( (cat requirements-frameworks.txt; echo "torch==$torch_version") | sha256sum | cut -d' ' -f1)
  if [ ! -x .venv-frameworks/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: creating .venv-frameworks (TensorFlow, libtorch: about 2.6 GB on disk)"
    python3 -m venv .venv-frameworks
    .venv-frameworks/bin/pip install -q --upgrade pip
    .venv-frameworks/bin/pip install -q -r requirements-frameworks.txt
    .venv-frameworks/bin/pip install -q --no-deps "torch==$torch_version"
    echo "$want" > "$stamp"
  fi
  # Swerve's C shim over libtorch (.build-native/libswerve_torch_shim.so), against the wheel's headers.
  scripts/build_torch_shim.sh
fi
