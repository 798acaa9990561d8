# plot-mrc.gp - miss-ratio curves from cachesim CSV: one line per simulated
# policy (points at the simulated sizes) and the one-pass LRU curves of
# `cachesim --mrc` (policy lru-mrc, exact or SHARDS "rate=R") drawn as bold
# lines without points, so the exact curve and the policies read apart.
# Columns are looked up by header name (policy, params, cache_size, unit
# and the y column), so column order and extra columns do not matter.
#
#   cachesim -p lru,fifo --mrc -s 0.001,0.01,0.1 trace.bin > r.csv
#   gnuplot -e "csv='r.csv'; out='mrc.png'" scripts/plot-mrc.gp
#
# Variables: csv (default results.csv), out (default mrc.png; .svg for SVG),
# ycol (miss_ratio, or byte_miss_ratio), title.

if (!exists("csv")) csv = "results.csv"
if (!exists("out")) out = "mrc.png"
if (!exists("ycol")) ycol = "miss_ratio"
if (!exists("title")) title = csv

# "policy" or "policy:params" for every distinct row label, MRC rows apart.
awkhead = "NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } "
awklabel = "{ l = $c[\"policy\"]; if ($c[\"params\"] != \"\") l = l \":\" $c[\"params\"] } "
policies = system(sprintf("awk -F, '%s%s$c[\"policy\"] != \"lru-mrc\" && !s[l]++ " . \
    "{ printf \"%%s \", l }' '%s'", awkhead, awklabel, csv))
curves = system(sprintf("awk -F, '%s%s$c[\"policy\"] == \"lru-mrc\" && !s[l]++ " . \
    "{ printf \"%%s \", l }' '%s'", awkhead, awklabel, csv))
unit = system(sprintf("awk -F, '%s{ print $c[\"unit\"]; exit }' '%s'", awkhead, csv))
if (words(policies) + words(curves) == 0) print "plot-mrc.gp: no rows in " . csv; exit status 1

if (out[strlen(out)-3:] eq ".svg") {
    set terminal svg size 900,560 dynamic noenhanced font "sans,12" background rgb "white"
} else {
    set terminal pngcairo size 1000,625 noenhanced font "sans,11" background rgb "white"
}
set output out
set datafile separator ","
set datafile columnheaders
set key outside right top
set logscale x 2
set format x "%.0b%B"
set grid xtics ytics
set xlabel sprintf("cache size (%s)", unit)
set ylabel (ycol eq "byte_miss_ratio" ? "byte miss ratio" : "miss ratio")
set yrange [0:*]
set title title noenhanced

rowlabel(x) = strcol("policy") . (strcol("params") ne "" ? ":" . strcol("params") : "")
pick(name) = rowlabel(0) eq name ? column(ycol) : NaN

plot for [i = 1:words(curves)] csv using (column("cache_size")):(pick(word(curves, i))) \
         smooth unique with lines lw 3 lc rgb (i == 1 ? "black" : "gray40") dt i \
         title word(curves, i), \
     for [i = 1:words(policies)] csv using (column("cache_size")):(pick(word(policies, i))) \
         smooth unique with linespoints lw 1.5 pt (4 + i % 10) lc (i + 1) \
         title word(policies, i)
