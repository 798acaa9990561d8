# plot-evalq.gp - precision and recall against the hit threshold, per
# category, from evalq's sweep CSV: one colour per category ("all" is the
# whole input), precision solid, recall dashed, and the false-hit rate
# dotted when wanted (fhr=1).
#
# Columns are found by their header names (category, threshold, precision,
# recall, false_hit_rate), never by position.  Category names must not
# contain commas (awk splits the header and rows at commas).
#
#   evalq pairs.csv > sweep.csv
#   gnuplot -e "csv='sweep.csv'; out='pr.png'" scripts/plot-evalq.gp
#   gnuplot -e "csv='sweep.csv'; out='pr.svg'; fhr=1" scripts/plot-evalq.gp
#
# Variables: csv (input, default sweep.csv), out (default evalq.<fmt>), fmt
# (png or svg; default: from out's extension, else png), title, fhr.

if (!exists("csv")) csv = "sweep.csv"
if (!exists("fmt")) fmt = (exists("out") && out[strlen(out)-3:] eq ".svg") ? "svg" : "png"
if (!exists("out")) out = "evalq." . fmt
if (!exists("title")) title = csv
if (!exists("fhr")) fhr = 0

# The distinct categories, in order of first appearance.
cats = system(sprintf("awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } " . \
    "{ k = $c[\"category\"]; if (!(k in seen)) { seen[k] = 1; printf \"%%s \", k } }' '%s'", csv))
if (strlen(cats) == 0) print "plot-evalq.gp: no rows in " . csv; exit status 1

if (fmt eq "svg") {
    set terminal svg size 800,500 dynamic enhanced font "sans,12" background rgb "white"
} else {
    set terminal pngcairo size 1000,625 enhanced font "sans,11" background rgb "white"
}
set output out

set datafile separator ","
set datafile columnheaders
set key outside right top box opaque
set grid
set title title noenhanced
set xlabel "similarity threshold (hit when similarity >= threshold)"
set ylabel "precision (solid), recall (dashed)" . (fhr ? ", false-hit rate (dotted)" : "")
set yrange [0:1.02]

pick(c, name) = strcol("category") eq c ? column(name) : NaN

plot for [i = 1:words(cats)] csv using (column("threshold")):(pick(word(cats, i), "precision")) \
        with lines lw 2 lc i dt 1 title word(cats, i) . " precision" noenhanced, \
     for [i = 1:words(cats)] csv using (column("threshold")):(pick(word(cats, i), "recall")) \
        with lines lw 2 lc i dt 2 title word(cats, i) . " recall" noenhanced, \
     for [i = 1:(fhr ? words(cats) : 0)] csv using (column("threshold")):(pick(word(cats, i), "false_hit_rate")) \
        with lines lw 1 lc i dt 3 title word(cats, i) . " false-hit rate" noenhanced
