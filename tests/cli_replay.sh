#!/bin/sh
# CLI tests for replay(1): modes, windows, warm-up, export/train/rltable
# loop, exit statuses.  Traces are written here as oracleGeneral records.
set -u
NAME=cli_replay
. "$(dirname "$0")/clilib.sh"
R=$BUILD/replay

# A B A C B A D A B C at seconds 0..9 (A=1 .. D=4).
t=0
for k in 1 2 1 3 2 1 4 1 2 3; do rec $t $k 1; t=$((t + 1)); done > "$T/abc.oracle"

# --help, --version, usage errors.
$R --help | grep -q '^Usage: replay' || fail "--help"
$R --version | grep -q '^replay ' || fail "--version"
$R --bogus "$T/abc.oracle" 2>/dev/null; [ $? -eq 2 ] || fail "unknown option: exit 2"
$R -p lru -s 2 --window 5x "$T/abc.oracle" 2>"$T/err"; [ $? -eq 2 ] || fail "bad --window: exit 2"
grep -q "invalid --window '5x'" "$T/err" || fail "bad --window named"
$R -p nosuch -s 2 "$T/abc.oracle" 2>"$T/err"; [ $? -eq 2 ] || fail "unknown policy: exit 2"
grep -q "nosuch" "$T/err" || fail "unknown policy named"
$R -p lru -s 2 2>/dev/null; [ $? -eq 2 ] || fail "no trace: exit 2"
$R --train x.csv 2>/dev/null; [ $? -eq 2 ] || fail "--train without -o: exit 2"

# Request windows.  LRU with room for 2 objects (worked out by hand):
#   1 A m  2 B m  3 A h  4 C m ev B  5 B m ev A | 6 A m ev C  7 D m ev B
#   8 A h  9 B m ev D  10 C m ev A
# window 0: 5 requests, 1 hit, 2 evictions; window 1: 5, 1 hit, 4 evictions.
$R -p lru -s 2 --ignore-size --window 5 "$T/abc.oracle" > "$T/w.csv" || fail "replay ran"
head -1 "$T/w.csv" | grep -q '^window,start_s,start_request,policy,params,cache_size,requests,hits,hit_ratio,bytes,byte_hit_ratio,evictions,expirations,occupancy$' \
    || fail "time series header"
got=$(awk -F, 'NR > 1 { printf "%s:%s:%s:%s:%s;", $1, $3, $7, $8, $12 }' "$T/w.csv")
[ "$got" = "0:0:5:1:2;1:5:5:1:4;" ] || fail "request windows: $got"
awk -F, 'NR > 1 && $14 != 1 { exit 1 }' "$T/w.csv" || fail "occupancy 1 at window ends"

# Time windows of 4 s: requests at 0-3, 4-7, 8-9 -> 3 windows starting at 0, 4, 8 s.
$R -p lru -s 2 --ignore-size --window 4s "$T/abc.oracle" > "$T/t.csv" || fail "time windows ran"
got=$(awk -F, 'NR > 1 { printf "%s:%s:%s;", $1, $2, $7 }' "$T/t.csv")
[ "$got" = "0:0.000000:4;1:4.000000:4;2:8.000000:2;" ] || fail "time windows: $got"

# Warm-up of 5 requests, no window: one row, requests 6..10: 1 hit.
$R -p lru,fifo -s 2 --ignore-size --warmup 5 "$T/abc.oracle" > "$T/u.csv" || fail "warmup ran"
got=$(awk -F, 'NR > 1 { printf "%s:%s:%s;", $4, $7, $8 }' "$T/u.csv")
[ "$got" = "lru:5:1;fifo:5:1;" ] || fail "warm-up rows: $got"

# Warm-up by time: 5 s, the requests at 5..9 s are the same five.
$R -p lru -s 2 --ignore-size --warmup 5s "$T/abc.oracle" > "$T/v.csv" || fail "warmup 5s ran"
got=$(awk -F, 'NR > 1 { printf "%s:%s:%s;", $3, $7, $8 }' "$T/v.csv")
[ "$got" = "5:5:1;" ] || fail "warm-up by time: $got"

# Export -> train -> rltable.
t=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    for k in 1 2 3 $((100 + i)) $((200 + i)) 1 2 $((300 + i)); do rec $t $k 1; t=$((t + 1)); done
done > "$T/loop.oracle"
$R --export-features "$T/x.csv" -s 4 --ignore-size --k 4 --horizon 10s "$T/loop.oracle" \
    || fail "export ran"
sed -n 2p "$T/x.csv" | grep -q '^decision,time_s,age_s,size_bytes,hits,idle_s,ttl_left_s,fetch_s,evicted,reward$' \
    || fail "export header"
rows=$(grep -c '^[0-9]' "$T/x.csv")
[ "$rows" -gt 100 ] || fail "export rows: $rows"
$R --train "$T/x.csv" -o "$T/q.csv" --features hits,idle_s --bins 4 || fail "train ran"
head -1 "$T/q.csv" | grep -q '^# qtable 1$' || fail "trained table header"
$R -p lru,"rltable:model=$T/q.csv" -s 4 --ignore-size "$T/loop.oracle" > "$T/r.csv" \
    || fail "rltable replay ran"
[ "$(grep -c ',rltable,' "$T/r.csv")" -eq 1 ] || fail "rltable row"

# Data errors: exit 1, no output file left behind.
$R -p lru -s 2 -o "$T/out.csv" "$T/missing.oracle" 2>/dev/null; [ $? -eq 1 ] || fail "missing trace: exit 1"
[ ! -e "$T/out.csv" ] || fail "partial output left"
$R --export-features "$T/y.csv" -s 4 - < "$T/loop.oracle" 2>"$T/err"; [ $? -eq 1 ] || fail "export from stdin: exit 1"
grep -q "standard input" "$T/err" || fail "export from stdin explained"
[ ! -e "$T/y.csv" ] || fail "partial export left"
printf '# qtable 1\n# feature shoe_size 2 1\n' > "$T/bad.csv"
$R -p "rltable:model=$T/bad.csv" -s 2 "$T/abc.oracle" 2>"$T/err"; [ $? -eq 2 ] || fail "bad model: exit 2"
grep -q "bad.csv:2: unknown feature name shoe_size" "$T/err" || fail "bad model named: $(cat "$T/err")"

finish
