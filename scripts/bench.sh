#!/bin/sh
# bench.sh - `make bench`: runs every benchmark program $BUILD/tests/bench_*.
# bench_policies gets the CloudPhysics trace from traces/ (or $CLOUD_TRACE)
# for its memory check.  Extra arguments go to every program (e.g. -p lru).
#
# BENCH_PROFILE=1 also profiles cachesim running LRU on a 2-million-request
# Zipf trace with `perf stat` and `valgrind --tool=callgrind` (when
# installed) and prints the hottest functions.
set -eu
BUILD=${BUILD:-build}
export BUILD
cloud=${CLOUD_TRACE:-traces/cloudPhysicsIO.oracleGeneral.bin}
status=0
for b in "$BUILD"/tests/bench_*; do
    [ -x "$b" ] || continue
    echo "== ${b##*/}"
    case "${b##*/}" in
    bench_policies)
        if [ -r "$cloud" ]; then set -- -c "$cloud" "$@"; fi
        "$b" "$@" || status=1
        [ -r "$cloud" ] && shift 2
        ;;
    *) "$b" "$@" || status=1 ;;
    esac
done

if [ "${BENCH_PROFILE:-0}" = 1 ]; then
    small=$BUILD/bench-zipf1-2000000x200000-s42.oracleGeneral.bin
    [ -r "$small" ] || "$BUILD/tests/bench_policies" -n 2000000 -m 200000 -p lru -B >/dev/null
    run="$BUILD/cachesim --no-progress -p lru -s 0.1 --ignore-size $small"
    if command -v perf >/dev/null 2>&1; then
        echo "== perf stat: $run"
        # shellcheck disable=SC2086
        perf stat -e task-clock,cycles,instructions,cache-misses,branch-misses $run >/dev/null || true
    fi
    if command -v valgrind >/dev/null 2>&1; then
        echo "== callgrind: $run"
        out=$BUILD/callgrind.out.lru
        # shellcheck disable=SC2086
        valgrind -q --tool=callgrind --callgrind-out-file="$out" $run >/dev/null
        callgrind_annotate "$out" 2>/dev/null | sed -n '/^Ir/,/^$/p;/file:function/,$p' | head -25
    fi
fi
exit $status
