#!/bin/sh
# Runs every Check binary given, then every CLI test script tests/cli_*.sh;
# ends with the summary line "N passed, M failed" (programs and scripts).
set -u
BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
for t in "$@" tests/cli_*.sh; do
    [ -e "$t" ] || continue
    case "$t" in
    *.sh) cmd="sh $t" ;;
    *) cmd="$t" ;;
    esac
    if CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-300} $cmd; then
        passed=$((passed + 1))
    else
        echo "FAILED: $t"
        failed=$((failed + 1))
    fi
done
echo "test programs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
