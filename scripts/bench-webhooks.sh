#!/usr/bin/env bash
# Benchmarks signed webhook ingestion end to end (signature, parsing, the
# ledger's transaction on a real database) and prints events/s per engine.
#
#   scripts/bench-webhooks.sh                 # SQLite
#   AFFILIATED_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
#     scripts/bench-webhooks.sh               # SQLite and PostgreSQL
#
# BENCH_EVENTS (default 5000) deliveries per run, BENCH_COUNT (default 3)
# runs; the medians are printed. events/s depends on what else the machine
# runs; cpu-µs/event (the whole process: handler, SQLite, GC; for
# PostgreSQL without the server's own CPU) much less so.
set -euo pipefail
cd "$(dirname "$0")/.."

events=${BENCH_EVENTS:-5000}
count=${BENCH_COUNT:-3}
if [ -n "${AFFILIATED_TEST_POSTGRES:-}" ]; then
	echo "engines: sqlite, postgres ($events events × $count runs)"
else
	echo "engines: sqlite ($events events × $count runs; set AFFILIATED_TEST_POSTGRES for PostgreSQL)"
fi

raw=$(go test -run '^$' -bench 'BenchmarkWebhookIngest' -benchtime "${events}x" -count "$count" ./internal/public/)
printf '%s\n' "$raw" | grep '^Benchmark' >&2

printf '%s\n' "$raw" | awk '
/^BenchmarkWebhookIngest\// {
	name = $1
	sub(/^BenchmarkWebhookIngest\//, "", name)
	sub(/-[0-9]+$/, "", name)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "events/s") rate[name] = rate[name] " " $i
		if ($(i+1) == "cpu-µs/event") cpu[name] = cpu[name] " " $i
	}
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
}
function median(list,    a, k, i, j, t) {
	k = split(list, a, " ")
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return a[int((k + 1) / 2)]
}
END {
	printf "%-26s %12s %14s\n", "engine/mode", "events/s", "cpu-µs/event"
	for (i = 1; i <= n; i++) printf "%-26s %12.0f %14.0f\n", order[i], median(rate[order[i]]), median(cpu[order[i]])
}'
