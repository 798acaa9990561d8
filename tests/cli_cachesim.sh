#!/bin/sh
# cli_cachesim.sh - the cachesim command line: help and listings, usage
# errors (exit 2, naming the culprit), data errors (exit 1, "file:line:"),
# atomic -o output, stdin, determinism, threads, warm-up, fractional sizes,
# and one hand-computed LRU run.  Every trace is made here (no /work/shared).
set -u
NAME=cli_cachesim
. "$(dirname "$0")/clilib.sh"
CS=$BUILD/cachesim

# expect_at FILE DESCRIPTION -- CMD...: a data error (exit 1) whose message
# is "FILE:N: ..." with a line or record number N.
expect_at() {
    f=$1 what=$2
    shift 3
    expect 1 "$f:" "$what" -- "$@"
    grep -q "^cachesim: $f:[0-9][0-9]*: " "$T/err" || fail "$what: no '$f:LINE:' in: $(cat "$T/err")"
}

# Column NAME of CSV line N (2 = first row) of FILE, found by header name.
col() {
    awk -F, -v name="$1" -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
        NR == n { print $c }' "$3"
}

# ---- help, version, listings -------------------------------------------
expect 0 "" "--help" -- "$CS" --help
grep -q '^Usage: cachesim' "$T/out" || fail "--help: no usage line on stdout"
[ -s "$T/err" ] && fail "--help wrote to stderr"
expect 0 "" "--version" -- "$CS" --version
grep -q '^cachesim [0-9][0-9.]*$' "$T/out" || fail "--version: '$(cat "$T/out")'"
expect 0 "" "--list-policies" -- "$CS" --list-policies
for p in lru fifo; do
    grep -q "^$p " "$T/out" || fail "--list-policies lacks $p"
done
expect 0 "" "--policy-help lru" -- "$CS" --policy-help lru
grep -q '^lru ' "$T/out" || fail "--policy-help lru: $(cat "$T/out")"
expect 2 "nosuch" "--policy-help of an unknown policy" -- "$CS" --policy-help nosuch

# ---- a tiny plain trace, hand-computed ---------------------------------
# Keys a b a c b a through LRU holding 2 objects (queue shown MRU first):
#   a miss [a]   b miss [b a]   a hit [a b]   c miss, evicts b [c a]
#   b miss, evicts a [b c]   a miss, evicts c [a b]
# => 6 requests, 1 hit, 5 misses, 3 evictions.  FIFO holding 2:
#   a miss [a]   b miss [b a]   a hit   c miss, evicts a [c b]   b hit
#   a miss, evicts b [a c]  => 2 hits, 4 misses, 2 evictions.
printf 'a\nb\na\nc\nb\na\n' >"$T/tiny.txt"
expect 0 "" "tiny LRU run" -- "$CS" -p lru,fifo -s 2 --ignore-size -f plain "$T/tiny.txt"
cp "$T/out" "$T/tiny.csv"
[ "$(col policy 2 "$T/tiny.csv")" = lru ] || fail "tiny: row 1 is not lru"
[ "$(col requests 2 "$T/tiny.csv")" = 6 ] || fail "tiny lru: requests != 6"
[ "$(col hits 2 "$T/tiny.csv")" = 1 ] || fail "tiny lru: hits $(col hits 2 "$T/tiny.csv"), expected 1"
[ "$(col misses 2 "$T/tiny.csv")" = 5 ] || fail "tiny lru: misses != 5"
[ "$(col evictions 2 "$T/tiny.csv")" = 3 ] || fail "tiny lru: evictions != 3"
[ "$(col cache_size 2 "$T/tiny.csv")" = 2 ] || fail "tiny lru: cache_size != 2"
[ "$(col unit 2 "$T/tiny.csv")" = objects ] || fail "tiny lru: unit != objects"
[ "$(col hits 3 "$T/tiny.csv")" = 2 ] || fail "tiny fifo: hits $(col hits 3 "$T/tiny.csv"), expected 2"
[ "$(col evictions 3 "$T/tiny.csv")" = 2 ] || fail "tiny fifo: evictions != 2"
# miss_ratio = 5/6 printed to round-trip: 0.8333333333333334 (17 sig. digits
# would be ...3335; the shortest exact form is 16).
awk -F, -v c="$(col miss_ratio 2 "$T/tiny.csv")" 'BEGIN { exit !(c + 0 == 5 / 6) }' ||
    fail "tiny lru: miss_ratio $(col miss_ratio 2 "$T/tiny.csv") != 5/6"
head -n 1 "$T/tiny.csv" | grep -q '^trace,policy,params,cache_size,unit,requests,hits,misses,miss_ratio,bytes,bytes_missed,byte_miss_ratio,evictions,expirations,seconds,requests_per_s' ||
    fail "core CSV header changed: $(head -n 1 "$T/tiny.csv")"

# ---- usage errors: exit 2, the culprit named ---------------------------
expect 2 "cachesim: unrecognized option '--frobnicate'" "unknown option" -- "$CS" --frobnicate -p lru -s 2 "$T/tiny.txt"
expect 2 "nosuchpolicy" "unknown policy" -- "$CS" -p nosuchpolicy -s 2 "$T/tiny.txt"
expect 2 "foo" "unknown parameter" -- "$CS" -p lru:foo=1 -s 2 "$T/tiny.txt"
expect 2 "'0'" "size 0" -- "$CS" -p lru -s 0 "$T/tiny.txt"
expect 2 "12Q" "bad size suffix" -- "$CS" -p lru -s 12Q "$T/tiny.txt"
expect 2 "-p" "missing -p" -- "$CS" -s 2 "$T/tiny.txt"
expect 2 "-s" "missing -s" -- "$CS" -p lru "$T/tiny.txt"
expect 2 "klingon" "unknown --format" -- "$CS" -p lru -s 2 -f klingon "$T/tiny.txt"
expect 2 "abc" "bad --warmup" -- "$CS" -p lru -s 2 -w abc "$T/tiny.txt"
# A bad parameter value needs a policy that declares a parameter: take the
# first one --list-policies shows ("  name=default (int|real|...").
"$CS" --list-policies >"$T/list"
pp=$(awk '/^[a-z0-9_-]+ / { pol = $1 } /^ +[a-z_0-9]+=.*\((int|real|bool|enum)/ && pol != "" {
        split($1, kv, "="); print pol ":" kv[1]; exit }' "$T/list")
if [ -n "$pp" ]; then
    expect 2 "${pp#*:}" "bad value of $pp" -- "$CS" -p "$pp=notanumber" -s 2 "$T/tiny.txt"
    expect 2 "${pp#*:}" "out-of-bounds $pp" -- "$CS" -p "$pp=1e300" -s 2 "$T/tiny.txt"
    expect 2 "${pp#*:}" "repeated $pp" -- "$CS" -p "$pp=1,${pp#*:}=1" -s 2 "$T/tiny.txt"
else
    echo "cli_cachesim: note: no policy declares a numeric parameter; bad-value test skipped"
fi

# ---- data errors: exit 1, "file:line:" -----------------------------------
# Four whole records and 4 bytes of a fifth: the error is at record 5.
{ rec 1 1 100; rec 2 2 100; rec 3 1 100; rec 4 3 100; le 7 4; } >"$T/trunc.oracleGeneral.bin"
expect 1 "$T/trunc.oracleGeneral.bin:5:" "truncated oracle record" -- \
    "$CS" -p lru -s 1K -f oracle "$T/trunc.oracleGeneral.bin"
# Detection may refuse it before reading (its size is not a multiple of 24).
expect 1 "$T/trunc.oracleGeneral.bin:" "truncated oracle record (auto)" -- \
    "$CS" -p lru -s 1K "$T/trunc.oracleGeneral.bin"
# A zstd frame cut short, and one with a flipped payload byte.  Without the
# zstd program, the cut frame is hand-made: magic, a frame header announcing
# 100 bytes, and a raw block header promising more bytes than follow.
i=0
while [ $i -lt 2000 ]; do echo "key$((i % 97))"; i=$((i + 1)); done >"$T/keys.txt"
if command -v zstd >/dev/null 2>&1; then
    zstd -q -c --check "$T/keys.txt" >"$T/keys.zst"
    n=$(wc -c <"$T/keys.zst")
    head -c $((n - 10)) "$T/keys.zst" >"$T/cut.zst"
    # flip byte 20 (inside the first block) to break the content
    { head -c 20 "$T/keys.zst"; printf 'Z'; tail -c +22 "$T/keys.zst"; } >"$T/flip.zst"
    expect_at "$T/flip.zst" "corrupt zstd frame" -- "$CS" -p lru -s 2 -f plain "$T/flip.zst"
    expect 0 "" "intact zstd frame" -- "$CS" -p lru -s 2 -f plain "$T/keys.zst"
else
    { printf '\050\265\057\375\040\144'; printf '\001\002\000'; printf 'abc'; } >"$T/cut.zst"
fi
expect_at "$T/cut.zst" "truncated zstd frame" -- "$CS" -p lru -s 2 -f plain "$T/cut.zst"
if command -v gzip >/dev/null 2>&1; then
    gzip -c "$T/keys.txt" >"$T/keys.gz"
    head -c $(($(wc -c <"$T/keys.gz") - 12)) "$T/keys.gz" >"$T/cut.gz"
    expect 0 "" "intact gzip" -- "$CS" -p lru -s 2 -f plain "$T/keys.gz"
    expect_at "$T/cut.gz" "truncated gzip stream" -- "$CS" -p lru -s 2 -f plain "$T/cut.gz"
fi
: >"$T/empty.txt"
expect 1 "$T/empty.txt" "empty trace" -- "$CS" -p lru -s 2 "$T/empty.txt"
expect 1 "$T/empty.txt" "empty trace, fraction size" -- "$CS" -p lru -s 0.5 "$T/empty.txt"
expect 1 "$T/missing.txt" "missing file" -- "$CS" -p lru -s 2 "$T/missing.txt"
# A plain line with two fields is a format error at its line (line 3).
printf 'a\nb\nc d\n' >"$T/twofields.txt"
expect 1 "$T/twofields.txt:3:" "bad plain line" -- "$CS" -p lru -s 2 -f plain "$T/twofields.txt"

# ---- -o: all or nothing --------------------------------------------------
expect 1 "" "failing run with -o" -- "$CS" -p lru -s 1K -o "$T/out.csv" "$T/trunc.oracleGeneral.bin"
[ -e "$T/out.csv" ] && fail "a failed run left out.csv"
ls "$T" | grep -q '^out\.csv\.tmp\.' && fail "a failed run left a temporary: $(ls "$T")"
expect 1 "" "good then bad trace with -o" -- \
    "$CS" -p lru -s 2 --ignore-size -o "$T/out.csv" "$T/tiny.txt" "$T/missing.txt"
[ -e "$T/out.csv" ] && fail "a run failing on its second trace left out.csv"
expect 0 "" "good run with -o" -- "$CS" -p lru,fifo -s 2 --ignore-size -f plain -o "$T/out.csv" "$T/tiny.txt"
[ -s "$T/out" ] && fail "-o also wrote to stdout"
cut -d, -f1-14 "$T/out.csv" >"$T/a"
cut -d, -f1-14 "$T/tiny.csv" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "-o file differs from stdout output"
ls "$T" | grep -q '^out\.csv\.tmp\.' && fail "a good run left a temporary"

# ---- stdin ----------------------------------------------------------------
"$CS" -p lru,fifo -s 2 --ignore-size -f plain - <"$T/tiny.txt" >"$T/stdin.csv" ||
    fail "reading - failed"
[ "$(col trace 2 "$T/stdin.csv")" = - ] || fail "stdin: trace column is not -"
cut -d, -f2-14 "$T/stdin.csv" >"$T/a"
cut -d, -f2-14 "$T/tiny.csv" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "stdin rows differ from file rows"

# ---- determinism, threads, warm-up, fractions ---------------------------
# 20000 requests over 1000 keys from an LCG, sizes 1..4096 bytes.
awk 'BEGIN { x = 12345; for (i = 0; i < 20000; i++) { x = (x * 1103515245 + 12345) % 2147483648;
        k = x % 1000; if (x % 3 == 0) k = k % 50; printf "%d %d\n", k, 1 + (k * 37) % 4096 } }' \
    >"$T/pairs"
awk '{ print $1 }' "$T/pairs" >"$T/mid.txt"
run_mid() { "$CS" -p lru,fifo -s 10,50,200 --ignore-size "$@" "$T/mid.txt"; }
untimed() { cut -d, -f1-14 "$1"; } # seconds and requests_per_s are columns 15-16
run_mid >"$T/r1.csv" || fail "mid run 1"
run_mid >"$T/r2.csv" || fail "mid run 2"
[ "$(wc -l <"$T/r1.csv")" -eq 7 ] || fail "mid: expected 6 rows"
untimed "$T/r1.csv" >"$T/a"
untimed "$T/r2.csv" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "two identical runs differ: $(diff "$T/a" "$T/b" | head -5)"
run_mid -j 2 >"$T/j2.csv" || fail "mid -j 2"
untimed "$T/j2.csv" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "-j 2 differs from -j 1: $(diff "$T/a" "$T/b" | head -5)"
run_mid -w 1234 >"$T/w.csv" || fail "mid --warmup"
[ "$(col requests 2 "$T/w.csv")" = 18766 ] || fail "--warmup 1234: requests $(col requests 2 "$T/w.csv") != 20000-1234"
# LRU is a stack algorithm: more space never means more misses.
m10=$(col misses 2 "$T/r1.csv") m50=$(col misses 3 "$T/r1.csv") m200=$(col misses 4 "$T/r1.csv")
[ "$m10" -ge "$m50" ] && [ "$m50" -ge "$m200" ] || fail "LRU misses not monotone: $m10 $m50 $m200"
# Fractions resolve against the working set: 1000 distinct keys (checked
# with sort -u), so 0.1 is 100 objects; in bytes, the sum of each key's size.
nkeys=$(sort -u "$T/mid.txt" | wc -l)
"$CS" -p lru -s 0.1 --ignore-size "$T/mid.txt" >"$T/f.csv" || fail "fraction size"
want=$(awk -v n="$nkeys" 'BEGIN { printf "%d", n * 0.1 + 0.5 }')
[ "$(col cache_size 2 "$T/f.csv")" = "$want" ] ||
    fail "-s 0.1 over $nkeys objects: cache_size $(col cache_size 2 "$T/f.csv") != $want"
# The same trace as oracleGeneral with sizes: working set = sum of sizes of
# the distinct keys; 0.25 of it, rounded.
# (awk writes the bytes: 20000 records are too many for printf in a loop.)
LC_ALL=C awk 'function le(v, n) { while (n-- > 0) { printf "%c", v % 256; v = int(v / 256) } }
    { le(NR, 4); le($1, 8); le($2, 4); le(2^32 - 1, 4); le(2^32 - 1, 4) }' "$T/pairs" \
    >"$T/mid.oracleGeneral.bin"
wsb=$(awk '!seen[$1]++ { s += $2 } END { print s }' "$T/pairs")
"$CS" -p lru -s 0.25 "$T/mid.oracleGeneral.bin" >"$T/fb.csv" || fail "fraction size in bytes"
want=$(awk -v n="$wsb" 'BEGIN { printf "%d", n * 0.25 + 0.5 }')
[ "$(col cache_size 2 "$T/fb.csv")" = "$want" ] ||
    fail "-s 0.25 of $wsb bytes: cache_size $(col cache_size 2 "$T/fb.csv") != $want"
[ "$(col bytes 2 "$T/fb.csv")" = "$(awk '{ s += $2 } END { print s }' "$T/pairs")" ] ||
    fail "bytes column != sum of request sizes"
# The same keys, so the same object-count LRU hits whatever the format.
"$CS" -p lru -s 100 --ignore-size "$T/mid.oracleGeneral.bin" >"$T/o.csv" || fail "oracle objects"
"$CS" -p lru -s 100 --ignore-size "$T/mid.txt" >"$T/p.csv" || fail "plain objects"
[ "$(col hits 2 "$T/o.csv")" = "$(col hits 2 "$T/p.csv")" ] || fail "oracle and plain hits differ"

# ---- end to end on the shipped trace ------------------------------------
# libCacheSim's test/test_evictionAlgo.c asserts 71704 LRU and 72140 FIFO
# misses (3061662720 and 3077547520 missed bytes) on this trace at 1 GiB;
# tests/check_agreement.c compares every size and policy through the library,
# this checks the same through the command line, threads and CSV included.
cloud=traces/cloudPhysicsIO.oracleGeneral.bin
if [ -r "$cloud" ]; then
    "$CS" -j 2 -p fifo,lru -s 1G "$cloud" >"$T/cloud.csv" || fail "cachesim on $cloud"
    got=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { printf "%s %s %s %s;", $c["policy"], $c["requests"], $c["misses"], $c["bytes_missed"] }' \
        "$T/cloud.csv")
    [ "$got" = "fifo 113872 72140 3077547520;lru 113872 71704 3061662720;" ] ||
        fail "$cloud at 1 GiB differs from libCacheSim: $got"
else
    echo "cli_cachesim: note: $cloud is missing; end-to-end agreement not checked"
fi

finish
