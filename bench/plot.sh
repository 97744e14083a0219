#!/bin/bash
# plot.sh - wall time against database size, upstream and gmdb, from side-by-side.sh's table
#
#   bench/plot.sh [TSV [PNG]]    (default: bench/runs/side-by-side.tsv -> bench/upgrade-time.png)
#
# PLOT_MACHINE names the machine in the title (default "2 CPUs, shared").
#
# One point per source and mode: the median of its rounds; log-log axes.
# Needs gnuplot (Debian: gnuplot-nox).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tsv=${1:-$here/runs/side-by-side.tsv}
png=${2:-$here/upgrade-time.png}
command -v gnuplot >/dev/null || { echo "plot.sh: error: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
# MB mode upstream gmdb, medians per source and mode
awk -F'\t' 'NR > 1 { k = $2 "\t" $3; u[k] = u[k] " " $8; g[k] = g[k] " " $9 }
	function med(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	END { for (k in u) print k "\t" med(u[k]) "\t" med(g[k]) }' "$tsv" | sort -n >"$data/all"
for m in nobackup backup; do
	awk -F'\t' -v m="$m" '$2 == m { print $1, $3, $4 }' "$data/all" >"$data/$m"
done
gnuplot <<EOF
set terminal pngcairo size 900,600 noenhanced
set output "$png"
set title "gm-upgrade_server 21 22: wall time against database size (${PLOT_MACHINE:-2 CPUs, shared})"
set xlabel "size of gnumed_v21 (MB)"
set ylabel "wall time (s)"
set logscale xy
set grid
set key top left
plot "$data/nobackup" using 1:2 with linespoints title "upstream, no backup", \
     "$data/nobackup" using 1:3 with linespoints title "gmdb, no backup", \
     "$data/backup" using 1:2 with linespoints title "upstream, backup", \
     "$data/backup" using 1:3 with linespoints title "gmdb, backup"
EOF
echo "$png"
