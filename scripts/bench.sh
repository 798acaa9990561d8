#!/bin/sh
# Runs every benchmark built by `make bench` (build/tests/bench*), in turn.
set -u
BUILD=${BUILD:-build}
status=0
for b in "$BUILD"/tests/bench*; do
    case "$b" in *.o|*.d) continue ;; esac
    [ -x "$b" ] || continue
    echo "== ${b##*/}"
    "$b" || status=1
done
exit $status
