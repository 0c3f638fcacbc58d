# CTest tests of the default tree (label `fuzz`) that run the libFuzzer harnesses built by
# scripts/fuzz.sh in build/fuzz: each harness over its seed corpus (tests/fuzz/corpus/*,
# regression seeds included), then random inputs up to PARLEY_FUZZ_RUNS executions. When
# build/fuzz has no harness (no clang on this machine) the test says so and is skipped.
# Included from tests/CMakeLists.txt: include(${PROJECT_SOURCE_DIR}/tests/fuzz/ctest.cmake)
if(NOT UNIX)
    return()
endif()
set(PARLEY_FUZZ_BUILD_DIR "${PROJECT_SOURCE_DIR}/build/fuzz"
    CACHE PATH "The tree scripts/fuzz.sh builds the libFuzzer harnesses in")
set(PARLEY_FUZZ_RUNS 20000 CACHE STRING "Inputs each ctest fuzz test runs (seeds included)")

foreach(harness codec_client codec_server searchtext http_request http_response resp
    dynamo_json wsframe scenario)
    set(work "${CMAKE_CURRENT_BINARY_DIR}/fuzz/${harness}")
    # $1 harness, $2 scratch corpus (new inputs go there, never into the repository),
    # $3 seeds, $4 where a crashing input is written, $5 runs.
    add_test(NAME fuzz_${harness}
        COMMAND /bin/sh -c [=[
if [ ! -x "$1" ]; then
    echo "fuzz harness not built (clang missing?): skipped ($1)"
    exit 77
fi
mkdir -p "$2" "$4" && exec "$1" -runs="$5" -max_len=65536 -timeout=25 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$4/" "$2" "$3"
]=] fuzz
            "${PARLEY_FUZZ_BUILD_DIR}/tests/fuzz/fuzz_${harness}" "${work}/corpus"
            "${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${harness}" "${work}/artifacts"
            "${PARLEY_FUZZ_RUNS}")
    set_tests_properties(fuzz_${harness} PROPERTIES
        LABELS fuzz SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
