#!/usr/bin/env bash
# Writes Swerve's binary distribution, OUT_DIR/swerve-<version>-linux-<arch>.tar.gz, which runs on
# a minimal Debian root (debootstrap --variant=minbase: glibc, libstdc++, libgcc, zlib) with
# nothing else installed:
#
#   swerve/bin/swerve                   release build; the Swift runtime, Foundation, libjpeg-turbo
#                                       and libpng linked in statically (the build checks what it
#                                       still needs from the system)
#   swerve/lib/libonnxruntime.so.<v>    from the onnxruntime wheel that requirements.txt pins, as
#                                       make setup installs it in .venv; bin/swerve finds it there
#                                       by itself (<its folder>/../lib), with no flag or variable
#   swerve/LICENSE, swerve/NOTICE       Swerve's license, and what the third-party parts are
#   swerve/licenses/<part>/…            their licenses and notices
#   swerve/README                       how to run it
#
# Containerfile's build stage runs this script and its runtime stage holds the same tree at
# /opt/swerve; tests/integration/test_dist.py runs the tarball in a debootstrap root.
#
# usage: scripts/make_dist.sh [OUT_DIR]        (default: dist)
# env:   SWERVE_DIST_SCRATCH  SwiftPM scratch path of the build (default: .build-dist, apart from
#                             .build because --static-swift-stdlib rebuilds every module)
# needs: Swift, binutils, Debian's libjpeg62-turbo-dev and libpng-dev (their .a files), and .venv
#        (make setup). The last line printed is the tarball's path.
set -euo pipefail
cd "$(dirname "$0")/.."

out_dir=${1:-dist}
scratch=${SWERVE_DIST_SCRATCH:-.build-dist}
arch=$(uname -m)
system_lib=/usr/lib/$arch-linux-gnu

fail() {
    echo "make_dist: $*" >&2
    exit 1
}

# -- ONNX Runtime: the pinned wheel's library ------------------------------------------------------
ort_version=$(sed -n 's/^onnxruntime==\([0-9][0-9.]*\)$/\1/p' requirements.txt)
[ -n "$ort_version" ] || fail "requirements.txt pins no onnxruntime==VERSION"
ort_package=$(compgen -G ".venv/lib/python3*/site-packages/onnxruntime" | head -n 1 || true)
ort_library=$ort_package/capi/libonnxruntime.so.$ort_version
[ -n "$ort_package" ] && [ -f "$ort_library" ] ||
    fail "no libonnxruntime.so.$ort_version in .venv: run make setup (it installs onnxruntime==$ort_version)"

# -- The binary --------------------------------------------------------------------------------------
# Package.swift links -ljpeg -lpng16. A folder that holds only their .a files, searched before the
# system's, makes the linker take the static archives (the NEEDED check below proves it did);
# libpng's need of zlib (-lz) is met by the system's libz.so.1, which every Debian root has.
mkdir -p "$scratch/dist-static-libs"
static_libs=$(realpath "$scratch/dist-static-libs")
for archive in libjpeg.a libpng16.a; do
    [ -f "$system_lib/$archive" ] ||
        fail "no $system_lib/$archive: install Debian's libjpeg62-turbo-dev and libpng-dev (make setup)"
    ln -sf "$system_lib/$archive" "$static_libs/$archive"
done
build_flags=(-c release --product swerve --static-swift-stdlib --scratch-path "$scratch"
    -Xlinker "-L$static_libs" -Xlinker -lz)
swift build "${build_flags[@]}"
binary=$(swift build "${build_flags[@]}" --show-bin-path)/swerve

# Everything the binary still loads must be in a minimal Debian root.
minimal_root_libraries=(libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libstdc++.so.6 libgcc_s.so.1
    libz.so.1 ld-linux-x86-64.so.2 ld-linux-aarch64.so.1)
needed=$(readelf --dynamic "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
for library in $needed; do
    [[ " ${minimal_root_libraries[*]} " == *" $library "* ]] ||
        fail "bin/swerve needs $library, which a minimal Debian root lacks"
done
# The newest glibc symbol version it and ONNX Runtime use: the oldest glibc they run on.
glibc=$( (objdump -T "$binary"; objdump -T "$ort_library") | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)

version=$("$binary" --version)
version=${version##* }
[ -n "$version" ] || fail "$binary --version printed nothing"

# -- The tree ----------------------------------------------------------------------------------------
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tree=$stage/swerve
mkdir -p "$tree/bin" "$tree/lib" "$tree/licenses"
# Debug sections off (a third of the size); the symbol table stays for crash backtraces.
strip --strip-debug -o "$tree/bin/swerve" "$binary"
cp "$ort_library" "$tree/lib/"
cp LICENSE NOTICE "$tree/"

mkdir -p "$tree/licenses/onnxruntime"
cp "$ort_package/LICENSE" "$ort_package/ThirdPartyNotices.txt" "$tree/licenses/onnxruntime/"

swift_license=$(dirname "$(readlink -f "$(command -v swift)")")/../share/swift/LICENSE.txt
[ -f "$swift_license" ] || fail "no $swift_license in the Swift toolchain"
mkdir -p "$tree/licenses/swift"
cp "$swift_license" "$tree/licenses/swift/LICENSE.txt"

for part in libjpeg-turbo:libjpeg62-turbo libpng:libpng16-16; do
    copyright=/usr/share/doc/${part#*:}/copyright
    [ -f "$copyright" ] || fail "no $copyright: install Debian's ${part#*:}"
    mkdir -p "$tree/licenses/${part%%:*}"
    cp "$copyright" "$tree/licenses/${part%%:*}/copyright"
done

# Every package Package.resolved pins, from its checkout: license, notice, copying files.
identities=$(sed -n 's/.*"identity" *: *"\([^"]*\)".*/\1/p' Package.resolved)
[ -n "$identities" ] || fail "Package.resolved lists no packages"
for identity in $identities; do
    checkout=""
    for candidate in "$scratch"/checkouts/*/; do
        name=$(basename "$candidate")
        if [ "${name,,}" = "$identity" ]; then checkout=$candidate; fi
    done
    [ -n "$checkout" ] || fail "no checkout of $identity in $scratch/checkouts"
    mapfile -t files < <(find "$checkout" -maxdepth 1 -type f \( -iname 'LICENSE*' -o -iname 'NOTICE*' -o -iname 'COPYING*' \))
    [ ${#files[@]} -gt 0 ] || fail "$identity has no LICENSE file in $checkout"
    mkdir -p "$tree/licenses/$identity"
    cp "${files[@]}" "$tree/licenses/$identity/"
done

cat > "$tree/README" <<EOF
Swerve $version, a model server for ONNX models (KServe v2 / Open Inference Protocol over HTTP and
gRPC, TorchServe's and TensorFlow Serving's REST APIs), built for Linux $arch with glibc.

  bin/swerve                            the server; it loads lib/libonnxruntime.so.$ort_version (ONNX
                                        Runtime $ort_version) from beside its own folder, so keep bin/
                                        and lib/ together (a symbolic link to bin/swerve works)
  LICENSE, NOTICE, licenses/            Swerve's license and the third-party licenses

It needs only glibc (${glibc#GLIBC_} or later), libstdc++ and zlib, which a Debian 12 (bookworm) root
has with nothing installed.

  bin/swerve serve --model-repository /path/to/models
  curl -T cat.jpg http://localhost:8080/predictions/<model>

Ports: KServe v2 HTTP 8000, gRPC 8001, metrics 8002, TorchServe 8080 and 8081 (on 127.0.0.1 only
unless --torchserve-management-address is given), TF Serving 8501;
bin/swerve serve --help lists the flags.
EOF

chmod -R u=rwX,go=rX "$tree"
mkdir -p "$out_dir"
tarball=$out_dir/swerve-$version-linux-$arch.tar.gz
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$stage" -cf - swerve |
    gzip -9n > "$tarball.partial"
mv "$tarball.partial" "$tarball"

echo "make_dist: bin/swerve needs $(echo $needed) (symbols up to $glibc)"
echo "make_dist: unpacked $(du -sb "$tree" | cut -f1) bytes, tarball $(stat -c %s "$tarball") bytes"
echo "$tarball"
