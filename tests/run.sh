#!/bin/sh
# Runs every Check binary given, then the CLI tests; one summary line.
set -u
BUILD=${BUILD:-build}
failed=0
for t in "$@"; do
    if ! CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120} "$t"; then
        echo "FAILED: $t"
        failed=$((failed + 1))
    fi
done
if [ -x tests/cli.sh ]; then
    BUILD=$BUILD sh tests/cli.sh || failed=$((failed + 1))
fi
[ "$failed" -eq 0 ] && echo "all test programs passed" && exit 0
echo "$failed test program(s) failed"
exit 1
