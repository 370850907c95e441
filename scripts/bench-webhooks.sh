#!/usr/bin/env bash
# Benchmarks signed webhook ingestion end to end (signature, parsing, the
# ledger's transaction on a real database) and prints events/s per engine.
#
#   scripts/bench-webhooks.sh                 # SQLite
#   AFFILIATED_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
#     scripts/bench-webhooks.sh               # SQLite and PostgreSQL
#   BENCH_BASE=HEAD~2 scripts/bench-webhooks.sh   # old (that commit) against new (the tree)
#
# BENCH_EVENTS (default 5000) deliveries per run, BENCH_COUNT (default 3)
# runs; the medians are printed. BENCH_RUN narrows the cases (a -bench
# pattern below BenchmarkWebhookIngest/, e.g. 'sqlite/.*/parallel').
# events/s depends on what else the machine runs; cpu-µs/event (the whole
# process: handler, SQLite, GC; for PostgreSQL without the server's own
# CPU) much less so. With BENCH_BASE, both versions are built once and run
# in turn, old then new, each run under `flock /tmp/bench.lock` so that
# other benchmarks on the machine take turns with it: compare the two
# columns of the same minutes, not numbers from different hours.
set -euo pipefail
cd "$(dirname "$0")/.."

events=${BENCH_EVENTS:-5000}
count=${BENCH_COUNT:-3}
run=${BENCH_RUN:-.}
if [ -n "${AFFILIATED_TEST_POSTGRES:-}" ]; then
	echo "engines: sqlite, postgres ($events events × $count runs)"
else
	echo "engines: sqlite ($events events × $count runs; set AFFILIATED_TEST_POSTGRES for PostgreSQL)"
fi

tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/old" 2>/dev/null || true; rm -rf "$tmp"' EXIT
versions=(new)
go test -c -o "$tmp/new.test" ./internal/public/
if [ -n "${BENCH_BASE:-}" ]; then
	git worktree add --detach "$tmp/old" "$BENCH_BASE" >/dev/null 2>&1
	(cd "$tmp/old" && go test -c -o "$tmp/old.test" ./internal/public/)
	versions=(old new)
fi

raw=""
for ((i = 0; i < count; i++)); do
	for v in "${versions[@]}"; do
		out=$(cd internal/public && flock /tmp/bench.lock "$tmp/$v.test" -test.run '^$' \
			-test.bench "BenchmarkWebhookIngest/$run" -test.benchtime "${events}x" | grep '^Benchmark')
		printf '%s\n' "$out" | sed "s/^/$v /" >&2
		raw+=$(printf '%s\n' "$out" | sed "s/^/$v /")$'\n'
	done
done

printf '%s' "$raw" | awk '
/ BenchmarkWebhookIngest\// {
	name = $2
	sub(/^BenchmarkWebhookIngest\//, "", name)
	sub(/-[0-9]+$/, "", name)
	name = name " " $1
	for (i = 3; i < NF; i++) {
		if ($(i+1) == "events/s") rate[name] = rate[name] " " $i
		if ($(i+1) == "cpu-µs/event") cpu[name] = cpu[name] " " $i
	}
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
}
function median(list,    a, k, i, j, t) {
	k = split(list, a, " ")
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
function span(list,    a, k, i, lo, hi) {
	k = split(list, a, " ")
	lo = hi = a[1]
	for (i = 2; i <= k; i++) { if (a[i] + 0 < lo + 0) lo = a[i]; if (a[i] + 0 > hi + 0) hi = a[i] }
	return sprintf("%.0f–%.0f", lo, hi)
}
END {
	printf "%-30s %12s %14s %14s %16s\n", "engine/mode version", "events/s", "(range)", "cpu-µs/event", "(range)"
	for (i = 1; i <= n; i++) printf "%-30s %12.0f %14s %14.0f %16s\n", order[i], median(rate[order[i]]), span(rate[order[i]]), median(cpu[order[i]]), span(cpu[order[i]])
}'
