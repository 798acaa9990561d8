#!/bin/sh
# CLI tests for evalq (and the category policy through cachesim): counts on
# a hand-computed pairs file, every input shape, the config loop, errors.
set -u
BUILD=${BUILD:-build}
EVALQ=$BUILD/evalq
CACHESIM=$BUILD/cachesim
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "cli_evalq: FAILED: $*"; fail=1; }

# --- Counts by hand.  Cosines of (1,0) with the second vectors: 1, 0.8,
# 0.6, 0, 0.9; labels 1 1 0 0 0.
#   t = 0.7:  hits 1(TP) 0.8(TP) 0.9(FP); misses 0.6(TN) 0(TN)
#             TP 2 FP 1 TN 2 FN 0: precision 2/3, recall 1, F1 0.8,
#             accuracy 0.8, hit rate 0.6, false-hit rate 1/5 = 0.2
#   t = 0.95: hit 1(TP); misses 0.8(FN) 0.6 0 0.9 (TN)
#             TP 1 FP 0 TN 3 FN 1: precision 1, recall 0.5, F1 2/3,
#             accuracy 0.8, hit rate 0.2, false-hit rate 0
cat > "$T/emb.csv" <<'X'
emb_a,emb_b,label
1 0,1 0,1
1 0,0.8 0.6,1
1 0,0.6 0.8,0
1 0,0 1,0
1 0,0.9 0.4358898943540674,0
X
"$EVALQ" -q --from 0.7 --to 0.95 --step 0.25 "$T/emb.csv" > "$T/out.csv" || bad "emb pairs: exit $?"
grep -q '^all,0.7,5,2,1,2,0,0.6666666666666666,1,0.8,0.8,0.6,0.2$' "$T/out.csv" ||
    bad "counts at 0.7: $(sed -n 2p "$T/out.csv")"
grep -q '^all,0.95,5,1,0,3,1,1,0.5,0.6666666666666666,0.8,0.2,0$' "$T/out.csv" ||
    bad "counts at 0.95: $(sed -n 3p "$T/out.csv")"
[ "$(wc -l < "$T/out.csv")" -eq 3 ] || bad "expected a header and 2 rows"
head -1 "$T/out.csv" | grep -q '^category,threshold,pairs,tp,fp,tn,fn,precision,recall,f1,accuracy,hit_rate,false_hit_rate$' ||
    bad "header: $(head -1 "$T/out.csv")"

# --- Every input shape is recognised without options.
printf 'text_a,text_b,label\n"How do I reset, my password",How can I reset my password,1\nWhat is tea,Where is Paris,0\n' > "$T/s1.csv"
printf 'id,question1,question2,is_duplicate\n1,How old is the sun,What is the age of the sun,1\n2,Red,Blue,0\n' > "$T/s2.csv"
printf 'label\tsentence1\tsentence2\n1\tHe went home .\tHe went home quickly .\n0\tA cat .\tThe market fell .\n' > "$T/s3.tsv"
printf 'Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tShares rose 5 %% .\tShares rose five percent .\n0\t3\t4\tIt rained .\t"He said "" no "" ."\n' > "$T/s4.tsv"
printf '[\n {"origin": "PyTorch is a library", "similar": "PyTorch is a \\u0022library\\u0022"},\n {"origin": "a", "similar": "b"}\n]\n' > "$T/s5.json"
printf '{"text_a": "x y z", "text_b": "x y", "label": 1}\n\n{"text_a": "p", "text_b": "q", "label": false, "category": "c"}\n' > "$T/s6.jsonl"
printf 'qa,qb,dup\nfoo bar,foo baz,1\nalpha,omega,0\n' > "$T/s7.csv"
for f in s1.csv s2.csv s3.tsv s4.tsv s5.json s6.jsonl; do
    "$EVALQ" -q "$T/$f" > "$T/o.csv" 2> "$T/err" || bad "$f: exit $? ($(cat "$T/err"))"
    grep -q '^all,0,2,' "$T/o.csv" || bad "$f: not 2 pairs: $(sed -n 2p "$T/o.csv")"
done
"$EVALQ" "$T/s4.tsv" 2>&1 >/dev/null | grep -q 'read as tsv #1 String,#2 String,Quality' ||
    bad "MRPC header not recognised"
"$EVALQ" -q --cols qa,qb,dup "$T/s7.csv" > "$T/o.csv" || bad "--cols: exit $?"
grep -q '^all,0,2,' "$T/o.csv" || bad "--cols: not 2 pairs"
# origin/similar: all positives
"$EVALQ" -q "$T/s5.json" | grep -q '^all,0,2,[0-9]*,0,0,' || bad "origin/similar not all positive"

# --- Per category, summary, config.
printf 'emb_a,emb_b,label,category\n1 0,1 0,1,x\n1 0,0 1,0,x\n1 0,0.8 0.6,1,y\n1 0,0.9 0.4358898943540674,0,y\n' > "$T/cat.csv"
"$EVALQ" -q --summary "$T/sum.csv" --write-config "$T/cfg.csv" "$T/cat.csv" > "$T/o.csv" ||
    bad "categories: exit $?"
grep -q '^x,0,' "$T/o.csv" && grep -q '^y,0.99,' "$T/o.csv" || bad "per-category rows missing"
head -1 "$T/cfg.csv" | grep -q '^category,threshold$' || bad "config header"
grep -q '^default,' "$T/cfg.csv" && grep -q '^x,' "$T/cfg.csv" || bad "config rows: $(cat "$T/cfg.csv")"
# y: sims 0.8 (positive) and 0.9 (negative): no threshold separates them;
# best F1: every threshold <= 0.8 gives TP 1 FP 1 (F1 2/3), the lowest is 0.
grep -q '^y,0$' "$T/cfg.csv" || bad "y's best-F1 threshold: $(grep '^y' "$T/cfg.csv")"
grep -q '^y,2,1,0,' "$T/sum.csv" || bad "summary: $(grep '^y' "$T/sum.csv")"

# --- A trace with classes, through evalq --trace and the category policy.
cat > "$T/trace.csv" <<'X'
time,category,class,emb
0,a,1,1 0
1,a,2,0 1
2,a,1,0.99 0.14106735979665885
3,b,5,1 0
4,b,5,0.6 0.8
5,b,6,-1 0
X
"$EVALQ" -q --trace --write-config "$T/tcfg.csv" "$T/trace.csv" > "$T/o.csv" ||
    bad "--trace: exit $?"
grep -q '^all,0,4,' "$T/o.csv" || bad "--trace: not 4 pairs: $(sed -n 2p "$T/o.csv")"
"$CACHESIM" -p "category:config=$T/tcfg.csv" -s 10 "$T/trace.csv" > "$T/sim.csv" ||
    bad "cachesim category: exit $?"
grep -q 'false_hit_rate' "$T/sim.csv" && grep -q 'break_even_hit_rate' "$T/sim.csv" ||
    bad "category columns missing"

# --- The acceptance loop on a mixed workload: a dense category (code: 200
# classes whose centres lie close together, cosine ~0.83, small noise) and
# a sparse one (chat: 200 independent centres, larger noise), 3000 requests
# of 32-d unit vectors, generated deterministically (Park-Miller LCG, Box-
# Muller).  Thresholds from evalq --write-config (false-hit rate <= 0.01
# per category) in the category policy must give a lower false-hit rate
# than every global threshold of the semantic policy that reaches at least
# the same hit rate.
awk 'function u() { s = (16807 * s) % 2147483647; return s / 2147483647 }
     function g() { return sqrt(-2 * log(1 - u())) * cos(6.283185307179586 * u()) }
     BEGIN { s = 42; D = 32; C = 200; N = 3000
         for (k = 0; k < D; k++) base[k] = g()
         for (c = 0; c < C; c++) for (k = 0; k < D; k++) {
             cen[0, c, k] = (base[k] + 0.45 * g()) / sqrt(D); cen[1, c, k] = g() / sqrt(D) }
         print "time,category,class,emb"
         for (i = 0; i < N; i++) {
             cat = int(u() * 2); cls = int(u() * C); sd = cat ? 0.30 : 0.12; n = 0
             for (k = 0; k < D; k++) { y[k] = cen[cat, cls, k] + sd * g() / sqrt(D); n += y[k] * y[k] }
             line = i "," (cat ? "chat" : "code") "," (cat * 1000 + cls) ","
             for (k = 0; k < D; k++) line = line sprintf("%s%.6f", k ? " " : "", y[k] / sqrt(n))
             print line } }' > "$T/mixed.csv"
"$EVALQ" -q --trace --from 0.5 --max-false-hit 0.01 --write-config "$T/mcfg.csv" "$T/mixed.csv" \
    > /dev/null || bad "mixed: evalq exit $?"
pols="category:config=$T/mcfg.csv"
t=50; while [ $t -le 99 ]; do pols="$pols,semantic:threshold=0.$t"; t=$((t + 1)); done
"$CACHESIM" -p "$pols" -s 100000 "$T/mixed.csv" > "$T/mixed.out" || bad "mixed: cachesim exit $?"
cat_row=$(grep ',category,' "$T/mixed.out")
sem_rows=$(grep ',semantic,' "$T/mixed.out")
# Columns by name from the header (the category row quotes its params: strip
# the quoted field first so that fields line up).
hdr=$(head -1 "$T/mixed.out")
col() { echo "$hdr" | tr , '\n' | grep -n "^$1\$" | cut -d: -f1; }
ch=$(col hits); cr=$(col requests); cf=$(col false_hits)
unq() { sed 's/"[^"]*"/P/'; }
H=$(echo "$cat_row" | unq | awk -F, -v h="$ch" -v r="$cr" '{ printf "%.6f", $h / $r }')
F=$(echo "$cat_row" | unq | awk -F, -v f="$cf" -v r="$cr" '{ printf "%.6f", $f / $r }')
best=$(echo "$sem_rows" | unq | awk -F, -v h="$ch" -v f="$cf" -v r="$cr" -v H="$H" \
    'BEGIN { b = 2 } { hr = $h / $r; fr = $f / $r; if (hr >= H && fr < b) { b = fr; bh = hr; bp = $3 } }
     END { if (b < 2) printf "%.6f %.6f %s", b, bh, bp }')
if [ -z "$best" ]; then
    bad "mixed: no global threshold reaches hit rate $H"
else
    set -- $best
    echo "cli_evalq: mixed workload: category policy hit rate $H false-hit rate $F;" \
         "best global ($3) hit rate $2 false-hit rate $1"
    awk -v a="$F" -v b="$1" 'BEGIN { exit !(a < b) }' ||
        bad "mixed: category false-hit rate $F is not below the global $1"
fi

# --- Errors: exit status, a message, nothing written.
"$EVALQ" --from 1.5 "$T/emb.csv" > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'invalid --from' "$T/err" || bad "--from 1.5: exit $rc"
"$EVALQ" --to -2 "$T/emb.csv" > /dev/null 2>&1; [ $? -eq 2 ] || bad "--to -2 accepted"
printf 'emb_a,emb_b,label\n1 0,1 0,1\nnan 0,1 0,0\n' > "$T/nan.csv"
"$EVALQ" -o "$T/nan.out" "$T/nan.csv" 2> "$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'nan.csv:3: emb_a: component 0 is not a finite number' "$T/err" ||
    bad "NaN embedding: exit $rc, $(cat "$T/err")"
[ ! -e "$T/nan.out" ] || bad "NaN embedding: output written"
printf 'emb_a,emb_b,label\n1 0,1 0,1\n1 0 0,1 0 0,0\n' > "$T/dim.csv"
"$EVALQ" -o "$T/dim.out" "$T/dim.csv" 2> "$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'dimension mismatch' "$T/err" || bad "dimension: exit $rc"
"$EVALQ" --cols qa,nope "$T/s7.csv" > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no column 'nope'" "$T/err" || bad "missing column: exit $rc"
printf 'a,b\n1,2\n' > "$T/none.csv"
"$EVALQ" "$T/none.csv" > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'no pair columns' "$T/err" || bad "no pair columns: exit $rc"
printf 'text_a,text_b,label\na,b,maybe\n' > "$T/lab.csv"
"$EVALQ" "$T/lab.csv" > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "lab.csv:2: label 'maybe'" "$T/err" || bad "bad label: exit $rc"
printf '[{"text_a": "a", "text_b": "b", "label": 1},]' > "$T/bad.json"
"$EVALQ" "$T/bad.json" > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'bad.json: line 1:' "$T/err" || bad "bad JSON: exit $rc, $(cat "$T/err")"
printf 'category,threshold\na,0.9\n' > "$T/nodef.csv"
"$CACHESIM" -p "category:config=$T/nodef.csv" -s 10 -o "$T/nodef.out" "$T/trace.csv" 2> "$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "category 'b' is not in the config" "$T/err" ||
    bad "category missing from config: exit $rc, $(cat "$T/err")"
[ ! -e "$T/nodef.out" ] || bad "category missing from config: output written"
printf 'category,threshold\na,1.2\n' > "$T/badthr.csv"
"$CACHESIM" -p "category:config=$T/badthr.csv" -s 10 "$T/trace.csv" > /dev/null 2> "$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "badthr.csv:2: threshold" "$T/err" || bad "config threshold 1.2: exit $rc"
"$EVALQ" --help | grep -q '^Usage: evalq' || bad "--help"
"$EVALQ" --version | grep -q '^evalq ' || bad "--version"
"$EVALQ" --bogus 2> "$T/err"; [ $? -eq 2 ] || bad "unknown option not a usage error"

# --- The shipped sample (traces/), if present.
if [ -f traces/gptcache_pairs.json ]; then
    "$EVALQ" -q traces/gptcache_pairs.json > /dev/null || bad "traces/gptcache_pairs.json"
fi
exit $fail
