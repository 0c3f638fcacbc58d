#!/usr/bin/env bash
# libFuzzer harnesses of tests/fuzz (docs/reliability.md, section 4), in build/fuzz.
#   fuzz.sh build                 configure and build build/fuzz with clang (ASan, UBSan)
#   fuzz.sh short                 every harness over its seed corpus, then a short random
#                                 run each (FUZZ_SECONDS, default 10 s; about 2 minutes)
#   fuzz.sh long HARNESS [N]      N inputs (default 10,000,000) into build/fuzz/corpus/HARNESS,
#                                 then libFuzzer's coverage (cov: edges, ft: features);
#                                 FUZZ_MAX_SECONDS caps the run's time as well, FUZZ_MAX_LEN
#                                 the input size (default 65536; 2048 runs the slow harnesses,
#                                 searchtext and dynamo_json, several times faster). Long runs
#                                 keep no allocation stacks (ASan's malloc_context_size=0, half
#                                 of searchtext's time): re-run a crash input alone for them.
#   fuzz.sh list                  the harness names
# Crashes land in build/fuzz/artifacts/HARNESS/; minimize one with
#   build/fuzz/tests/fuzz/fuzz_HARNESS -minimize_crash=1 -runs=100000 CRASH_FILE
# and keep it as a regression seed in tests/fuzz/corpus/HARNESS/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build/fuzz"
seeds="$root/tests/fuzz/corpus"
harnesses=(codec_client codec_server searchtext http_request http_response resp dynamo_json
    wsframe scenario)

# -max_len: every harness's corpus is small; 64 KiB is a frame's limit (MaxFrameBytes).
common_flags=(-max_len=65536 -timeout=25 -rss_limit_mb=4096 -print_final_stats=1)

find_clang() {
    for v in "" -14 -15 -16 -17 -18 -19; do
        if command -v "clang$v" >/dev/null && command -v "clang++$v" >/dev/null; then
            echo "clang$v clang++$v"
            return 0
        fi
    done
    return 1
}

binary() { echo "$build/tests/fuzz/fuzz_$1"; }

check_harness() {
    local h
    for h in "${harnesses[@]}"; do [[ "$h" == "$1" ]] && return 0; done
    echo "fuzz.sh: no harness '$1' (one of: ${harnesses[*]})" >&2
    exit 2
}

need_built() {
    if [[ ! -x "$(binary "$1")" ]]; then
        echo "fuzz.sh: $(binary "$1") is missing; run scripts/fuzz.sh build first" >&2
        exit 2
    fi
}

cmd_build() {
    local compilers
    if ! compilers="$(find_clang)"; then
        echo "clang not found: fuzzers skipped"
        exit 0
    fi
    read -r cc cxx <<<"$compilers"
    local sanitize="-fsanitize=address,undefined -fsanitize=fuzzer-no-link"
    sanitize+=" -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    CC="$cc" CXX="$cxx" cmake -S "$root" -B "$build" -G Ninja \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPARLEY_FUZZ=ON -DPARLEY_GUI=OFF -DPARLEY_BUILD_TESTS=OFF -DPARLEY_BUILD_BENCHMARKS=OFF \
        "-DCMAKE_CXX_FLAGS=$sanitize" \
        "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" >/dev/null
    cmake --build "$build" --target fuzzers -j "$(nproc)"
    echo "fuzz.sh: built ${#harnesses[@]} harnesses in $build/tests/fuzz"
}

# Runs one harness: new inputs go to build/fuzz/corpus/HARNESS, the seeds are only read;
# tests/fuzz/dict/HARNESS.dict (tokens of the format) when there is one.
run() {
    local h="$1"
    shift
    local work="$build/corpus/$h" artifacts="$build/artifacts/$h" dict=()
    mkdir -p "$work" "$artifacts"
    if [[ -f "$root/tests/fuzz/dict/$h.dict" ]]; then dict=(-dict="$root/tests/fuzz/dict/$h.dict"); fi
    "$(binary "$h")" "${common_flags[@]}" "${dict[@]}" -artifact_prefix="$artifacts/" "$@" \
        "$work" "$seeds/$h"
}

cmd_short() {
    local seconds="${FUZZ_SECONDS:-10}" failed=() h log
    for h in "${harnesses[@]}"; do need_built "$h"; done
    for h in "${harnesses[@]}"; do
        log="$build/short-$h.log"
        # The seeds alone first (every regression seed must pass), then random inputs.
        mkdir -p "$build/artifacts/$h"
        if ! "$(binary "$h")" "${common_flags[@]}" -artifact_prefix="$build/artifacts/$h/" \
            -runs=0 "$seeds/$h" >"$log" 2>&1 \
            || ! run "$h" -max_total_time="$seconds" >>"$log" 2>&1; then
            failed+=("$h")
            echo "fuzz $h: FAILED (see $log)"
            continue
        fi
        echo "fuzz $h: ok, $(grep -E '^#[0-9]+' "$log" | tail -1 | sed 's/^#\([0-9]*\).*\(cov: [0-9]*\).*\(ft: [0-9]*\).*/\1 inputs, \2, \3/')"
    done
    if ((${#failed[@]})); then
        echo "fuzz.sh: crashes in ${failed[*]} (inputs in $build/artifacts/)" >&2
        exit 1
    fi
}

cmd_long() {
    local h="$1" runs="${2:-10000000}" log
    check_harness "$h"
    need_built "$h"
    log="$build/long-$h.log"
    echo "fuzz.sh: $h for $runs inputs (log: $log)"
    local rc=0
    ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=0}" \
        run "$h" -runs="$runs" ${FUZZ_MAX_SECONDS:+-max_total_time="$FUZZ_MAX_SECONDS"} \
        ${FUZZ_MAX_LEN:+-max_len="$FUZZ_MAX_LEN"} >"$log" 2>&1 || rc=$?
    grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 || true
    grep -E '^stat::' "$log" || true
    if ((rc)); then
        grep -E 'ERROR|SUMMARY|invariant|Test unit written' "$log" | head -20 || true
        echo "fuzz.sh: $h failed (exit $rc); crash input in $build/artifacts/$h/" >&2
        exit "$rc"
    fi
    echo "fuzz.sh: $h corpus: $(find "$build/corpus/$h" -type f | wc -l) inputs"
}

case "${1:-}" in
    build) cmd_build ;;
    short) cmd_short ;;
    long)
        [[ $# -ge 2 ]] || { echo "usage: $0 long HARNESS [N]" >&2; exit 2; }
        cmd_long "$2" "${3:-10000000}"
        ;;
    list) printf '%s\n' "${harnesses[@]}" ;;
    *)
        echo "usage: $0 build | short | long HARNESS [N] | list" >&2
        exit 2
        ;;
esac
