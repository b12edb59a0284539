#!/usr/bin/env bash
# Builds .build-native/libswerve_torch_shim.so, the small C interface over libtorch that Swerve's
# pytorch_libtorch backend opens at run time (native/torch_shim/), against the headers and
# libraries of the torch wheel in .venv-frameworks (scripts/setup.sh installs it).
#
# Rebuilds only when the shim's sources, this script or the wheel changed (a stamp beside the
# library records them). Safe to run again. TORCH_DIR=<site-packages>/torch picks another wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

out_dir=.build-native
library=$out_dir/libswerve_torch_shim.so
stamp=$out_dir/libswerve_torch_shim.stamp

if [ -z "${TORCH_DIR:-}" ]; then
  for candidate in .venv-frameworks/lib/python3*/site-packages/torch; do
    [ -d "$candidate" ] && TORCH_DIR=$candidate
  done
fi
if [ -z "${TORCH_DIR:-}" ] || [ ! -f "$TORCH_DIR/lib/libtorch_cpu.so" ] || [ ! -d "$TORCH_DIR/include/torch" ]; then
  echo "build_torch_shim: no torch wheel with lib/libtorch_cpu.so and include/ found" \
    "(looked in ${TORCH_DIR:-.venv-frameworks/lib/python3*/site-packages/torch});" \
    "run scripts/setup.sh, which installs it into .venv-frameworks" >&2
  exit 1
fi

# The wheel's libraries use the C++11 string ABI (their symbols name std::__cxx11::basic_string):
# the shim must be compiled with the same, or torch::jit::load would not link.
# (grep reads all of nm's output: with -q it would stop early and pipefail would see nm's SIGPIPE.)
if nm -D --defined-only "$TORCH_DIR/lib/libtorch_cpu.so" | grep '_ZN5torch3jit4loadERKNSt7__cxx11' >/dev/null; then
  cxx11_abi=1
else
  cxx11_abi=0
fi

# The wheel's directory, relative to the library's, first (the checkout may move), then absolute.
torch_lib_absolute=$(cd "$TORCH_DIR/lib" && pwd)
torch_lib_relative=$(realpath -s --relative-to="$out_dir" "$torch_lib_absolute")
flags=(
  -std=c++20 -O2 -shared -fPIC -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI=$cxx11_abi
  -Wno-deprecated-declarations
  -isystem "$TORCH_DIR/include" -isystem "$TORCH_DIR/include/torch/csrc/api/include"
  native/torch_shim/swerve_torch_shim.cpp
  -L "$TORCH_DIR/lib" -ltorch_cpu -lc10
  "-Wl,-rpath,\$ORIGIN/$torch_lib_relative:$torch_lib_absolute" -Wl,--as-needed
  # Exports the swerve_torch_* functions only, not the inline libtorch code compiled in.
  -Wl,--version-script=native/torch_shim/exports.map
)

want=$( {
  cat native/torch_shim/swerve_torch_shim.cpp native/torch_shim/swerve_torch_shim.h native/torch_shim/exports.map "$0"
  cat "$TORCH_DIR/version.py"
  stat -c '%s %Y' "$TORCH_DIR/lib/libtorch_cpu.so" "$TORCH_DIR/lib/libc10.so"
  echo "${flags[*]}"
} | sha256sum | cut -d' ' -f1)
if [ -f "$library" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

mkdir -p "$out_dir"
echo "build_torch_shim: compiling $library against $TORCH_DIR (10 to 30 s on 2 cores)"
start=$(date +%s)
"${CXX:-g++}" "${flags[@]}" -o "$library.tmp"
mv "$library.tmp" "$library"
echo "$want" > "$stamp"
echo "build_torch_shim: built in $(( $(date +%s) - start )) s"
