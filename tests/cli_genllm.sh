#!/bin/sh
# CLI tests for tracegen's LLM workloads (-w): same seed same bytes for each
# workload, the companion .npy, Mooncake output read back by the project's
# reader (tracegen --convert), evalq's verdict that a dense category needs
# another threshold than a sparse one, and usage errors naming the
# parameter (exit 2, no output file).
set -u
BUILD=${BUILD:-build}
TG=$BUILD/tracegen
EVALQ=$BUILD/evalq
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "cli_genllm: $*"; fail=1; }

# --- Same seed, same bytes; another seed, other bytes.
for w in query serve rag moe; do
    "$TG" -w $w -n 300 --seed 4 -o "$T/$w.a" || bad "$w: exit $?"
    "$TG" -w $w -n 300 --seed 4 -o "$T/$w.b" || bad "$w: exit $?"
    "$TG" -w $w -n 300 --seed 5 -o "$T/$w.c" || bad "$w: exit $?"
    cmp -s "$T/$w.a" "$T/$w.b" || bad "$w: same seed, different bytes"
    cmp -s "$T/$w.a" "$T/$w.c" && bad "$w: another seed, same bytes"
done
head -1 "$T/query.a" | grep -q '^time,key,size,category,user,context,turn,class,tokens_in,tokens_out,emb$' ||
    bad "query header: $(head -1 "$T/query.a")"
[ "$(wc -l < "$T/query.a")" -eq 301 ] || bad "query: not 300 rows"
head -1 "$T/moe.a" | grep -q '^seq,pos,layer,e0,e1$' || bad "moe header: $(head -1 "$T/moe.a")"
# moe: -n counts tokens; 32 layers by default.
[ "$(wc -l < "$T/moe.a")" -eq $((300 * 32 + 1)) ] || bad "moe: not 300 x 32 rows"

# --- Companion .npy: no emb column; 300 rows of 8 float32 after the header
# (version 1.0 headers are padded to a multiple of 64 bytes: 128 here).
"$TG" -w query -n 300 --dim 8 --npy "$T/e.npy" -o "$T/qn.csv" || bad "npy: exit $?"
head -1 "$T/qn.csv" | grep -q 'emb' && bad "npy: the CSV still has emb"
[ "$(wc -c < "$T/e.npy")" -eq $((128 + 300 * 8 * 4)) ] || bad "npy: size $(wc -c < "$T/e.npy")"
"$EVALQ" -q --trace --emb "$T/e.npy" "$T/qn.csv" > /dev/null || bad "npy: evalq cannot read it"

# Object and semantic policies take the query trace (size: the answer's bytes).
CACHESIM=$BUILD/cachesim
"$CACHESIM" -p semantic:threshold=0.85,lru -s 100000 "$T/query.a" > "$T/sim.csv" ||
    bad "cachesim on a query trace: exit $?"
[ "$(wc -l < "$T/sim.csv")" -eq 3 ] || bad "cachesim: not two result rows"

# --- Mooncake output read back by the project's reader.
"$TG" -w serve:prompts=1,system=1024 -n 200 -F mooncake -o "$T/s.jsonl" || bad "serve: exit $?"
head -1 "$T/s.jsonl" | grep -q '^{"timestamp": [0-9]*, "input_length": [0-9]*, "output_length": [0-9]*, "hash_ids": \[0, 1' ||
    bad "serve: first line $(head -1 "$T/s.jsonl")"
"$TG" --convert csv -f mooncake -o "$T/s.csv" "$T/s.jsonl" || bad "serve: --convert exit $?"
[ "$(wc -l < "$T/s.csv")" -eq 201 ] || bad "serve: the reader saw $(($(wc -l < "$T/s.csv") - 1)) requests"
# Every prompt starts with the one system prompt's two blocks.
awk -F, 'NR > 1 && $NF !~ /^0 1( |$)/ { n++ } END { exit n > 0 }' "$T/s.csv" ||
    bad "serve: a prompt without the shared system blocks"
"$TG" -w rag -n 50 -o "$T/r.jsonl" && "$TG" --convert csv -o "$T/r.csv" "$T/r.jsonl" ||
    bad "rag: mooncake round trip"

# --- evalq on a dense and a sparse category: the lowest threshold keeping
# false hits at most 1% must differ clearly (by 0.2 or more) between them,
# and most requests (IC-Cache: over 70%) have an earlier neighbour of their
# category above cosine 0.8.
"$TG" -w query -n 3000 --seed 7 -c code:share=0.5,density=0.85,within=0.92 \
    -c chat:share=0.5,density=0,within=0.88 -o "$T/dc.csv" || bad "dense/sparse: exit $?"
"$EVALQ" -q --trace --max-false-hit 0.01 --summary "$T/sum.csv" "$T/dc.csv" > "$T/sweep.csv" ||
    bad "evalq: exit $?"
hdr=$(head -1 "$T/sum.csv")
col() { echo "$hdr" | tr , '\n' | grep -n "^$1\$" | cut -d: -f1; }
bt=$(col bound_threshold)
code=$(awk -F, -v c="$bt" '$1 == "code" { print $c }' "$T/sum.csv")
chat=$(awk -F, -v c="$bt" '$1 == "chat" { print $c }' "$T/sum.csv")
echo "cli_genllm: thresholds at <= 1% false hits: code $code, chat $chat"
awk -v a="$code" -v b="$chat" 'BEGIN { exit !(a != "" && b != "" && a - b >= 0.2) }' ||
    bad "dense threshold '$code' is not clearly above sparse '$chat'"
hr=$(awk -F, '$1 == "all" && $2 == "0.8" { print $12 }' "$T/sweep.csv")
awk -v h="$hr" 'BEGIN { exit !(h > 0.7) }' || bad "hit rate at 0.8 is '$hr', not above 0.7"

# --- Usage errors name the parameter; no output file.
usage() { # expected-text args...
    want=$1
    shift
    "$TG" "$@" -o "$T/never" 2> "$T/err"
    rc=$?
    [ $rc -eq 2 ] || bad "$*: exit $rc, not 2"
    grep -q -- "$want" "$T/err" || bad "$*: message $(cat "$T/err") lacks $want"
    [ ! -e "$T/never" ] || bad "$*: output written"
}
usage "dim" -w query --dim 0
usage "'share'" -w query -c a:share=0.5 -c b:share=0.4
usage "'share'" -w query -c a:share=-0.5 -c b:share=1.5
usage "'law'" -w query -c a:law=lognormal
usage "unknown workload" -w chat
usage "'k'" -w moe:experts=4,k=8
usage "mooncake" -w query -F mooncake
usage "mooncake output" -F mooncake
usage "go with -w" --dim 8 -n 5
usage "go with -w" --npy "$T/x.npy" -n 5
usage "not for -w" -w query --sizes fixed
usage "does not go with" -w query --describe "$T/query.a"
usage "oracle" -w serve -F oracle
usage "go with -w" -c a:share=1
usage "go with -w" --category a:share=1
usage "not for -w" -w query -p zipf
usage "npy" -w moe --npy "$T/x.npy"
usage "file of its own" -w query --npy -

exit $fail
