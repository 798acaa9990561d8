#!/bin/sh
# The experiment scripts run end to end on small inputs and write what they
# promise (CSV with a row per router or policy and size, and charts when
# gnuplot is present).  Numbers are checked by the unit tests, not here.
set -u
BUILD=${BUILD:-build}
export BUILD
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
no() { echo "cli_experiments: FAILED: $*"; fail=1; }

N=600 RATES="1 2" sh scripts/iccache-experiment "$T/ic" >"$T/ic.log" 2>&1 \
    || no "iccache-experiment: $(tail -n 5 "$T/ic.log")"
for r in large small threshold semcache iccache; do
    grep -q "^$r," "$T/ic/summary.csv" || no "iccache summary lacks $r"
done
[ "$(grep -c ',all,' "$T/ic/sweep.csv")" = 10 ] || no "iccache sweep: 5 routers x 2 loads"
grep -q nan "$T/ic/summary.csv" && no "iccache summary has nan: $(cat "$T/ic/summary.csv")"
if command -v gnuplot >/dev/null 2>&1; then
    for f in throughput latency quality-offload; do
        [ -s "$T/ic/$f.png" ] || no "iccache chart $f.png missing"
    done
fi

N=20000 sh scripts/coldrl-experiment "$T/rl" >"$T/rl.log" 2>&1 \
    || no "coldrl-experiment: $(tail -n 5 "$T/rl.log")"
[ -s "$T/rl/results.csv" ] || no "coldrl results.csv missing"
grep -q rltable "$T/rl/results.csv" || no "coldrl results lack rltable"
[ "$fail" = 0 ] && echo "cli_experiments: ok"
exit $fail
