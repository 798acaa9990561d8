#!/bin/sh
# demo.sh - `make demo`: run cachesim on the shipped CloudPhysics block trace
# with every classic policy this build has, at six sizes (fractions of the
# working set), print the CSV, and plot the miss-ratio curves to
# $BUILD/demo-missratio.png (DEMO_FMT=svg for an SVG).
set -eu
BUILD=${BUILD:-build}
CS=$BUILD/cachesim
trace=${DEMO_TRACE:-traces/cloudPhysicsIO.oracleGeneral.bin}
sizes=${DEMO_SIZES:-0.001,0.003,0.01,0.03,0.1,0.3}
fmt=${DEMO_FMT:-png}
classic="fifo lru lfu clock arc twoq s3fifo sieve gdsf wtinylfu lirs size random belady"

if [ ! -r "$trace" ]; then
    echo "demo.sh: $trace is missing (set DEMO_TRACE to an oracleGeneral trace)" >&2
    exit 1
fi
# The classic policies this build registers, in --list-policies order.
have=$("$CS" --list-policies | awk '/^[a-z0-9_-]+ / { print $1 }')
policies=""
for p in $have; do
    case " $classic " in *" $p "*) policies="$policies${policies:+,}$p" ;; esac
done

csv=$BUILD/demo.csv
"$CS" --no-progress -j 2 -p "$policies" -s "$sizes" -o "$csv" "$trace"
cat "$csv"
echo "demo.sh: CSV in $csv" >&2

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "demo.sh: gnuplot is not installed: no plot (sh scripts/deps.sh installs it)" >&2
    exit 0
fi
out=$BUILD/demo-missratio.$fmt
gnuplot -e "csv='$csv'; out='$out'; fmt='$fmt'; title='$(basename "$trace")'" \
    scripts/plot-missratio.gp
echo "demo.sh: plot in $out" >&2
