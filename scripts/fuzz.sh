#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets under Fuzz/ (SWERVE_FUZZ=1 adds them to the package;
# debug, AddressSanitizer + libFuzzer, into .build-fuzz, never .build) and runs each for
# FUZZ_SECONDS (default 60) over a scratch corpus in .build-fuzz/corpus/<target>, seeded from the
# committed Fuzz/corpus/<target>. New inputs go to the scratch corpus only; crash, timeout and
# out-of-memory inputs go to .build-fuzz/artifacts/<target>/. Exits non-zero if any target failed.
#
#   FUZZ_SECONDS=300 FUZZ_TARGETS="FuzzMultipart FuzzImageDecoder" make fuzz
#   FUZZ_SKIP_BUILD=1 ...   runs what is already built
set -uo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS="FuzzKServeJSON FuzzKServeBinary FuzzTFServingJSON FuzzMultipart FuzzDecompress FuzzModelConfig FuzzImageDecoder FuzzImagePipeline FuzzParameterText FuzzGRPCInfer"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
SCRATCH=.build-fuzz

# The libFuzzer dictionary of each target (Fuzz/dict).
dictionary() {
    case "$1" in
    FuzzKServeJSON | FuzzKServeBinary | FuzzTFServingJSON) echo Fuzz/dict/json.dict ;;
    FuzzModelConfig) echo Fuzz/dict/pbtxt.dict ;;
    FuzzMultipart) echo Fuzz/dict/multipart.dict ;;
    FuzzParameterText) echo Fuzz/dict/text.dict ;;
    esac
}

if [[ -z "${FUZZ_SKIP_BUILD:-}" ]]; then
    for target in $TARGETS; do
        echo "== building $target"
        # `--sanitize=fuzzer` lets SwiftPM link libFuzzer's `main` instead of the target's; the
        # -Xswiftc flag repeats it with `address` because swiftc keeps only the last `-sanitize=`
        # it is given (`--sanitize=fuzzer --sanitize=address` leaves Swift code without coverage).
        # The C code (the image codec shim, compress-nio's zlib) gets ASan through -Xcc.
        # (gold's "Cannot export local symbol '__asan_…'" warnings are harmless and filtered out.)
        SWERVE_FUZZ=1 swift build --scratch-path "$SCRATCH" -c debug --product "$target" \
            --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address 2>&1 \
            | grep -v "Cannot export local symbol"
        ((PIPESTATUS[0] == 0)) || exit 1
    done
fi

# Swift's backtracer would hold a crashing process ~10 s; libFuzzer and ASan report crashes themselves.
export SWIFT_BACKTRACE=enable=no
failed=()
for target in $TARGETS; do
    corpus="$SCRATCH/corpus/$target"
    artifacts="$SCRATCH/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    options=(-max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/")
    dict=$(dictionary "$target")
    [[ -n "$dict" ]] && options+=(-dict="$dict")
    echo "== fuzzing $target for ${SECONDS_PER_TARGET}s (log: $SCRATCH/$target.log)"
    if "$SCRATCH/debug/$target" "${options[@]}" "$corpus" "Fuzz/corpus/$target" >"$SCRATCH/$target.log" 2>&1; then
        grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+.*DONE" "$SCRATCH/$target.log" | tr '\n' ' '
        echo
    else
        echo "!! $target failed; the input is in $artifacts/ and the report in $SCRATCH/$target.log:"
        grep -E "==ERROR|SUMMARY|Fatal error|Test unit written|deadly signal|timeout|out-of-memory" "$SCRATCH/$target.log" | head -8
        failed+=("$target")
    fi
done
if ((${#failed[@]})); then
    echo "fuzzing found problems in: ${failed[*]} (reproduce: $SCRATCH/debug/<target> <input file>)"
    exit 1
fi
echo "fuzzing: no crash in $TARGETS"
