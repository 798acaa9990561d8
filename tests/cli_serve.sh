#!/bin/sh
# replay --serve: output shape, conservation, windows, and errors.
set -u
BUILD=${BUILD:-build}
R=$BUILD/replay
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
no() { echo "cli_serve: FAILED: $*"; fail=1; }

cat >"$T/pool.cfg" <<'CFG'
[pool]
categories = math chat
[model small]
replicas = 1
batch = 4
prefill_ms_per_token = 0
decode_ms_per_token = 10
tokens_per_s = 400
cost_in_per_mtok = 1
cost_out_per_mtok = 1
quality = 0.6
example_gain = 0.3
[model large]
replicas = 1
batch = 4
prefill_ms_per_token = 0
decode_ms_per_token = 20
tokens_per_s = 200
cost_in_per_mtok = 10
cost_out_per_mtok = 10
quality = 0.9
CFG

# Six requests 1 s apart, two intents; 100 output tokens each.
{
    echo "time,key,category,class,tokens_in,tokens_out,emb"
    for i in 0 1 2 3 4 5; do
        c=$((i % 2))
        if [ $c = 0 ]; then e="1 0 0 0"; cat=math; else e="0 1 0 0"; cat=chat; fi
        echo "$i,$i,$cat,$c,50,100,$e"
    done
} >"$T/q.csv"

# always-large: one replica, each request takes 100 * 20 ms = 2 s alone;
# requests arrive every second, so they overlap and all six complete.
"$R" --serve "$T/pool.cfg" --router large,small,iccache:target=0.7 --window 2s "$T/q.csv" \
    >"$T/out.csv" 2>"$T/err" || no "run failed: $(cat "$T/err")"
head -n 1 "$T/out.csv" | grep -q '^router,window,t_start,t_end,arrived,completed,in_flight,' \
    || no "header: $(head -n 1 "$T/out.csv")"
head -n 1 "$T/out.csv" | grep -q 'offload_small,offload_large' || no "offload columns"
[ "$(grep -c ',all,' "$T/out.csv")" = 3 ] || no "one 'all' row per router: $(cat "$T/out.csv")"
# arrived = completed = 6 and in_flight 0 in every 'all' row.
awk -F, '$2 == "all" && !($5 == 6 && $6 == 6 && $7 == 0) { bad = 1 } END { exit bad }' \
    "$T/out.csv" || no "conservation: $(grep ',all,' "$T/out.csv")"
# Windows of 2 s over 5 s of arrivals: windows 0, 1, 2 for each router.
grep -q '^large,2,' "$T/out.csv" || no "windows: $(cut -d, -f1-4 "$T/out.csv")"
# always-small sends everything to the small model.
grep '^small,all,' "$T/out.csv" | awk -F, '{ exit !($20 == 1) }' || no "small offload"

# Errors: an unknown router is a usage error naming it (exit 2).
"$R" --serve "$T/pool.cfg" --router oracle "$T/q.csv" >/dev/null 2>"$T/err"
[ $? = 2 ] || no "unknown router: exit status"
grep -q "unknown router 'oracle'" "$T/err" || no "unknown router message: $(cat "$T/err")"
"$R" --serve "$T/pool.cfg" --router iccache:k=99 "$T/q.csv" >/dev/null 2>"$T/err"
[ $? = 2 ] || no "bad router parameter: exit status"
"$R" --serve "$T/pool.cfg" --router iccache:nprobe=0 "$T/q.csv" >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q "parameter 'nprobe'" "$T/err" || no "nprobe=0 named: $(cat "$T/err")"
# index=flat is exact and ivf with nprobe >= its clusters scans them all:
# the two give the same rows (the router sees the same examples).
"$R" --serve "$T/pool.cfg" --router iccache:index=flat "$T/q.csv" | cut -d, -f2- >"$T/flat.csv"
"$R" --serve "$T/pool.cfg" --router iccache:nprobe=1024 "$T/q.csv" | cut -d, -f2- >"$T/all.csv"
cmp -s "$T/flat.csv" "$T/all.csv" || no "ivf probing every cluster differs from flat"
# Searches made ahead in threads (-j) change nothing: 3000 requests of a
# tracegen workload through a small IVF cache (evicting), 1 and 3 threads.
"$BUILD/tracegen" -w query --seed 5 -n 3000 --dim 16 \
    -c math:share=0.5,density=0.86,within=0.95,paraphrase=0.7 \
    -c chat:share=0.5,density=0.86,within=0.95,paraphrase=0.7 -o "$T/w.csv" \
    || no "tracegen failed"
for j in 1 3; do
    "$R" --serve "$T/pool.cfg" --router iccache:target=0.7,cache=256K --rate 20 --window 20s \
        -j $j "$T/w.csv" >"$T/j$j.csv" 2>"$T/err" || no "-j $j failed: $(cat "$T/err")"
done
[ "$(grep -c ',all,' "$T/j1.csv")" = 1 ] && [ "$(wc -l <"$T/j1.csv")" -gt 5 ] \
    || no "-j 1 output: $(cat "$T/j1.csv")"
cmp -s "$T/j1.csv" "$T/j3.csv" || no "-j 3 differs from -j 1"
"$R" --threads 2 -p lru -s 10 "$T/q.csv" >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q "threads go with --serve" "$T/err" || no "--threads without --serve"
"$R" --serve "$T/pool.cfg" -j 0 "$T/q.csv" >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q "invalid --threads '0'" "$T/err" || no "-j 0: $(cat "$T/err")"
# A bad pool: exit 1, file:line: field, and no output file left.
sed 's/^replicas = 1$/replicas = 0/' "$T/pool.cfg" >"$T/bad.cfg"
"$R" --serve "$T/bad.cfg" -o "$T/o.csv" "$T/q.csv" 2>"$T/err"
[ $? = 1 ] || no "bad pool: exit status"
grep -q "bad.cfg:4: replicas: 0 is outside" "$T/err" || no "bad pool message: $(cat "$T/err")"
[ ! -e "$T/o.csv" ] || no "bad pool left an output file"
# A trace category the pool does not know: exit 1, named.
sed 's/,chat,/,poetry,/' "$T/q.csv" >"$T/q2.csv"
"$R" --serve "$T/pool.cfg" "$T/q2.csv" >/dev/null 2>"$T/err"
[ $? = 1 ] || no "unknown category: exit status"
grep -q "category 'poetry'" "$T/err" || no "unknown category message: $(cat "$T/err")"
exit $fail
