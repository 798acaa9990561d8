# plot-iccache.gp - charts of scripts/iccache-experiment's sweep.csv.
#   gnuplot -e "csv='DIR/sweep.csv'; dir='DIR'" scripts/plot-iccache.gp
# Columns are found by name in the header; one line per router.
if (!exists("csv")) csv = 'sweep.csv'
if (!exists("dir")) dir = '.'
set datafile separator ','
set key autotitle columnhead
set key outside right
set grid
set terminal pngcairo size 900,560 noenhanced

routers = system(sprintf("awk -F, 'NR > 1 { print $2 }' '%s' | awk '!seen[$0]++' | tr '\\n' ' '", csv))
sel(r) = sprintf("< awk -F, 'NR == 1 || $2 == \"%s\"' '%s'", r, csv)

set output dir.'/throughput.png'
set title 'Throughput against offered load'
set xlabel 'offered load (requests/s)'
set ylabel 'completed (requests/s)'
plot for [r in routers] sel(r) using (column('offered_rps')):(column('throughput_rps')) \
    with linespoints title r

set output dir.'/latency.png'
set title 'Median end-to-end latency against offered load'
set ylabel 'p50 latency (s)'
set logscale y
plot for [r in routers] sel(r) using (column('offered_rps')):(column('e2e_p50') > 0 ? column('e2e_p50') : 1e-3) \
    with linespoints title r
unset logscale y

if (!exists("trade")) trade = dir.'/tradeoff.csv'
if (!exists("ref")) ref = 2
rsel(r) = sprintf("< awk -F, 'NR == 1 || ($2 == \"%s\" && $1 == %g)' '%s'", r, ref, csv)
tsel(r) = sprintf("< awk -F, 'NR == 1 || $2 == \"%s\"' '%s'", r, trade)
set output dir.'/quality-offload.png'
set title sprintf('Quality against the share served by the small model (knobs swept at %g requests/s)', ref)
set xlabel 'share served by the small model'
set ylabel 'acceptable answers'
set xrange [0:1]
plot tsel('threshold') using (column('offload_small')):(column('quality')) \
        with linespoints title 'threshold (tau swept)', \
     tsel('iccache') using (column('offload_small')):(column('quality')) \
        with linespoints title 'iccache (target swept)', \
     rsel('large') using (column('offload_small')):(column('quality')) \
        with points pointsize 2 title 'always-large', \
     rsel('small') using (column('offload_small')):(column('quality')) \
        with points pointsize 2 title 'always-small', \
     rsel('semcache') using (column('offload_small')):(column('quality')) \
        with points pointsize 2 title 'semantic cache (as-is)'
