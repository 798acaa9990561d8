#!/bin/sh
# cli_tracegen.sh - the tracegen command line: help, the default workload,
# determinism (same seed, same bytes; in every output form), usage errors
# naming the parameter (exit 2, no file left), --convert round trips,
# --describe against counts made here with awk/sort, and cachesim --mrc
# against simulated LRU.  Every trace is made here (no /work/shared).
set -u
NAME=cli_tracegen
. "$(dirname "$0")/clilib.sh"
TG=$BUILD/tracegen
CS=$BUILD/cachesim

# The value of describe metric NAME in CSV file F.
metric() { awk -F, -v m="$1" '$1 == m { print $4; exit }' "$2"; }

# --- help and version
expect 0 "" "--help" -- "$TG" --help
grep -q "^Usage: tracegen" "$T/out" || fail "--help does not print the usage on stdout"
expect 0 "" "--version" -- "$TG" --version
expect 0 "" "--list" -- "$TG" --list
grep -q "zipf:n=" "$T/out" || fail "--list lacks zipf"

# --- the default workload: 10^6 requests, oracleGeneral by name (24 B each)
expect 0 "" "default workload" -- "$TG" --seed 3 -o "$T/d.oracleGeneral.bin"
[ "$(wc -c <"$T/d.oracleGeneral.bin")" -eq 24000000 ] || fail "default: not 10^6 records"

# --- same seed, same bytes; another seed, other bytes; every output form
gen() { "$TG" -n 20000 -p zipf:n=5000,alpha=1.1 --sizes lognormal --ttl exp:mean=60 "$@"; }
gen --seed 5 -o "$T/a.csv" && gen --seed 5 -o "$T/b.csv" || fail "generation failed"
cmp -s "$T/a.csv" "$T/b.csv" || fail "same seed gave different CSV"
gen --seed 6 -o "$T/c.csv"
cmp -s "$T/a.csv" "$T/c.csv" && fail "different seeds gave the same CSV"
[ "$(head -1 "$T/a.csv")" = "time,key,size,ttl,op" ] || fail "CSV header: $(head -1 "$T/a.csv")"
[ "$(wc -l <"$T/a.csv")" -eq 20001 ] || fail "CSV: not 20000 rows"
gen --seed 5 -o - >"$T/s.csv" || fail "stdout output failed"
cmp -s "$T/a.csv" "$T/s.csv" || fail "stdout differs from the file"
gen --seed 5 -o "$T/a.csv.zst" && zstd -dcq "$T/a.csv.zst" >"$T/z.csv" 2>/dev/null &&
    cmp -s "$T/a.csv" "$T/z.csv" || fail ".zst output differs"
gen --seed 5 -o "$T/a.csv.gz" && gzip -dc "$T/a.csv.gz" >"$T/g.csv" &&
    cmp -s "$T/a.csv" "$T/g.csv" || fail ".gz output differs"

# --- usage errors name the parameter, exit 2, leave no file
expect 2 "'alpha'" "alpha < 0" -- "$TG" -p zipf:alpha=-0.5 -o "$T/bad.csv"
expect 2 "'n'" "n = 0" -- "$TG" -p uniform:n=0 -o "$T/bad.csv"
expect 2 "unknown pattern 'gauss'" "unknown pattern" -- "$TG" -p gauss -o "$T/bad.csv"
expect 2 "unknown size distribution 'weibull'" "unknown sizes" -- "$TG" --sizes weibull
expect 2 "'size'" "size 0" -- "$TG" --sizes fixed:size=0
expect 2 "'len'" "phases without len" -- "$TG" -p zipf -p scan
expect 2 "--requests" "zero requests" -- "$TG" -n 0
expect 2 "unrecognized option" "unknown option" -- "$TG" --frobnicate
expect 2 "csv or oracle" "unwritable format" -- "$TG" -F arc
[ -e "$T/bad.csv" ] && fail "a failed run left its output file"
ls "$T" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

# --- LLM workloads (-w; more in cli_genllm.sh): --describe reads a query
# trace's extra columns
"$TG" -w query -n 2000 --dim 16 --seed 2 -o "$T/l1.csv" || fail "-w query failed"
expect 0 "" "describe an LLM trace" -- "$TG" --describe -o "$T/ldesc.csv" "$T/l1.csv"
[ "$(metric requests "$T/ldesc.csv")" = 2000 ] || fail "describe an LLM trace: requests"
expect 2 "-w rag has no embeddings" "--dim without embeddings" -- "$TG" -w rag --dim 8 -o "$T/bad.csv"

# --- conversion: oracle -> csv -> oracle is the identity (times are whole
# seconds in oracleGeneral, so nothing is lost on the way)
gen --seed 5 -o "$T/o.bin" || fail "oracle output failed"
expect 0 "" "convert to csv" -- "$TG" --convert csv -o "$T/o.csv" "$T/o.bin"
expect 0 "" "convert back" -- "$TG" --convert oracle -o "$T/o2.bin" "$T/o.csv"
cmp -s "$T/o.bin" "$T/o2.bin" || fail "oracle -> csv -> oracle changed the trace"
expect 1 "" "convert a missing file" -- "$TG" --convert csv -o "$T/x.csv" "$T/none"
expect 2 "exactly one trace" "convert two traces" -- "$TG" --convert csv "$T/o.bin" "$T/o.bin"

# --- describe: requests, objects and working set against awk and sort
expect 0 "" "describe" -- "$TG" --describe -o "$T/desc.csv" "$T/a.csv"
objs=$(awk -F, 'NR > 1 { print $2 }' "$T/a.csv" | sort -u | wc -l)
ws=$(awk -F, 'NR > 1 && !seen[$2]++ { s += $3 } END { printf "%d", s }' "$T/a.csv")
once=$(awk -F, 'NR > 1 { c[$2]++ } END { for (k in c) n += c[k] == 1; print n }' "$T/a.csv")
[ "$(metric requests "$T/desc.csv")" = 20000 ] || fail "describe: requests"
[ "$(metric objects "$T/desc.csv")" = "$objs" ] || fail "describe: objects, expected $objs"
[ "$(metric working_set_bytes "$T/desc.csv")" = "$ws" ] || fail "describe: working set $ws"
[ "$(metric one_hit_wonders "$T/desc.csv")" = "$once" ] || fail "describe: one-hit $once"
alpha=$(metric zipf_alpha "$T/desc.csv")
awk -v a="$alpha" 'BEGIN { exit !(a > 0.9 && a < 1.3) }' || fail "describe: alpha $alpha for 1.1"
cloud=traces/cloudPhysicsIO.oracleGeneral.bin
if [ -r "$cloud" ]; then
    "$TG" --describe "$cloud" >"$T/cloud.csv" || fail "describe $cloud"
    [ "$(metric requests "$T/cloud.csv")" = 113872 ] || fail "cloudPhysics: requests"
    [ "$(metric objects "$T/cloud.csv")" = 48974 ] || fail "cloudPhysics: objects"
fi

# --- cachesim --mrc rows equal simulated LRU (hits, bytes missed), objects
# and bytes, including sizes smaller than some objects (no TTLs: the MRC
# does not model expiry, and says so)
"$TG" --seed 9 -n 20000 -p zipf:n=5000 --sizes lognormal -o "$T/m.csv" || fail "gen m.csv"
expect 0 "TTLs are ignored" "--mrc warns about TTLs" -- "$CS" --mrc -s 100 "$T/a.csv"
for opt in --ignore-size ""; do
    sizes=10,100,1000,3000
    [ -z "$opt" ] && sizes=2K,64K,1M,16M
    # shellcheck disable=SC2086
    "$CS" --no-progress $opt -p lru -s $sizes "$T/m.csv" | cut -d, -f4,6,7,11 >"$T/lru" &&
        "$CS" --no-progress $opt --mrc -s $sizes "$T/m.csv" | cut -d, -f4,6,7,11 >"$T/mrc" ||
        fail "cachesim --mrc $opt failed"
    cmp -s "$T/lru" "$T/mrc" || fail "--mrc $opt differs from lru: $(diff "$T/lru" "$T/mrc" | head -4)"
done
"$CS" --no-progress --mrc=0.5 -s 100 --ignore-size "$T/m.csv" | grep -q ",lru-mrc,rate=0.5," ||
    fail "--mrc=0.5 row"
expect 2 "--mrc" "bad --mrc rate" -- "$CS" --mrc=0 -s 100 "$T/a.csv"

finish
