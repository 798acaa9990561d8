# plot-missratio.gp - miss-ratio curves from cachesim CSV: one line per
# policy (with its parameters), cache size on a log x axis, miss ratio on y.
#
# Columns are found by their header names (policy, params, cache_size,
# unit, miss_ratio), never by position, so extra columns and reordered
# output plot the same.  Rows may come in any order and from concatenated
# runs; each policy's points are sorted by size (smooth unique).
#
#   gnuplot -e "csv='results.csv'; out='mr.png'" scripts/plot-missratio.gp
#   gnuplot -e "csv='results.csv'; out='mr.svg'; fmt='svg'" scripts/plot-missratio.gp
#
# Variables: csv (input, default results.csv), out (default missratio.<fmt>),
# fmt (png or svg; default: from out's extension, else png), title, and
# ycol (default miss_ratio; byte_miss_ratio also works).

if (!exists("csv")) csv = "results.csv"
if (!exists("fmt")) fmt = (exists("out") && out[strlen(out)-3:] eq ".svg") ? "svg" : "png"
if (!exists("out")) out = "missratio." . fmt
if (!exists("ycol")) ycol = "miss_ratio"
if (!exists("title")) title = csv

# The distinct "policy[:params]" labels, in order of first appearance,
# separated by spaces; awk finds the columns by name in the header too.
labels = system(sprintf("awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } " . \
    "{ l = $c[\"policy\"]; if ($c[\"params\"] != \"\") l = l \":\" $c[\"params\"]; " . \
    "if (!(l in seen)) { seen[l] = 1; printf \"%%s \", l } }' '%s'", csv))
if (strlen(labels) == 0) print "plot-missratio.gp: no rows in " . csv; exit status 1
unit = system(sprintf("awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == \"unit\") u = i; next } " . \
    "{ print $u; exit }' '%s'", csv))

if (fmt eq "svg") {
    set terminal svg size 800,500 dynamic noenhanced font "sans,12" background rgb "white"
} else {
    set terminal pngcairo size 1000,625 noenhanced font "sans,11" background rgb "white"
}
set output out

set datafile separator ","
set datafile columnheaders
set key outside right top
set logscale x 2
set format x "%.0b%B"
set grid xtics ytics mxtics
set xlabel sprintf("cache size (%s)", unit)
set ylabel (ycol eq "byte_miss_ratio" ? "byte miss ratio" : "miss ratio")
set autoscale y
set title title noenhanced

# The row's label, as built above.
label(x) = strcol("policy") . (strcol("params") ne "" ? ":" . strcol("params") : "")

# Colours repeat after 8 lines: the point type and dash pattern tell the
# lines apart beyond that.
dash(i) = 1 + (i - 1) / 8
plot for [i = 1:words(labels)] csv \
    using (column("cache_size")):(label(0) eq word(labels, i) ? column(ycol) : NaN) \
    smooth unique with linespoints lc i lw 2 pt (4 + i % 10) ps 1 dt dash(i) \
    title word(labels, i)
