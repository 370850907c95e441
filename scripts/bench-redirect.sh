#!/usr/bin/env bash
# bench-redirect.sh: throughput and latency of the referral redirect
# (GET /r/{code}, durable click logging: the click journal, or the
# database's group commit with --click-journal=off) against a bare
# net/http server that only answers 302, in the same run on 127.0.0.1,
# with wrk. Prints req/s, p99 and the ratio ours/bare for each round and
# their medians per engine, and checks that the clicks stored equal the
# 302s wrk received.
#
#   scripts/bench-redirect.sh
#
# Environment:
#   BENCH_POSTGRES  admin DSN of a PostgreSQL server; a database is created
#                   for the run and dropped afterwards (needs psql). Without
#                   it, SQLite only.
#   SERVE_FLAGS     extra flags for `affiliated serve`, e.g.
#                   "--click-journal=off" (redirects wait for the database
#                   commit). PostgreSQL runs with a journal directory in the
#                   run's temporary directory unless these name one.
#   THREADS, CONNECTIONS, DURATION   wrk's -t, -c, -d (2, 64, 10s).
#   ROUNDS          measured rounds per engine (3), each a bare run then
#                   ours on the same server; the target is checked on the
#                   medians (one 10 s run on 2 shared cores varies ±10%).
#   TARGET_RATIO, TARGET_P99_MS      the goal checked at the end (0.60, 15).
#   ENGINES         engines to run, "sqlite postgres" by default (postgres
#                   only with BENCH_POSTGRES).
#
# The click check counts rows in the clicks table (sqlite3 or psql) before
# and after the measured run and compares them with the 302s: every 302 the
# server sent (its own request counter) must have exactly one stored click,
# the hourly rollups must agree, and wrk must have received all of those
# 302s except the requests it abandoned when its time was up (at most one
# per connection, plus one per socket error).
#
# Exit status: 1 when a check fails; missing the performance target is
# reported, not fatal, since it depends on the machine.
set -euo pipefail

THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
TARGET_RATIO=${TARGET_RATIO:-0.60}
TARGET_P99_MS=${TARGET_P99_MS:-15}
UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found: apt-get install -y curl" >&2; exit 1; }
ENGINES=${ENGINES:-sqlite postgres}
if [[ " $ENGINES " == *" sqlite "* ]]; then
	command -v sqlite3 >/dev/null || { echo "sqlite3 not found: apt-get install -y sqlite3" >&2; exit 1; }
fi

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pids=()
pgdb=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n $pgdb ]]; then psql -q "$BENCH_POSTGRES" -c "drop database if exists $pgdb with (force)" >/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "building…" >&2
(cd "$root" && go build -o "$tmp/affiliated" ./cmd/affiliated && go build -o "$tmp/barebench" ./scripts/barebench)

# wait_for FILE PATTERN: wait until a line of FILE matches, for 30 s at most.
wait_for() {
	for _ in $(seq 300); do
		if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "timed out waiting for '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# run_wrk NAME URL: runs wrk and sets rps, p99_ms, ok (2xx/3xx responses
# received) and sockerr (connect, read, write errors and timeouts).
run_wrk() {
	local out="$tmp/wrk-$1.txt"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "User-Agent: $UA" "$2" >"$out"
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p99_ms=$(awk '$1 == "99%" {v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
		f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1; printf "%.2f", v * f}' "$out")
	local total bad
	total=$(awk '/requests in/ {print $1}' "$out")
	bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$out")
	ok=$((total - ${bad:-0}))
	# "Socket errors: connect 0, read 0, write 0, timeout 0": a request that
	# timed out or lost its connection may still have been answered.
	sockerr=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
	sockerr=${sockerr:-0}
	if ((sockerr > 0)); then echo "  $1: $(grep 'Socket errors' "$out")" >&2; fi
}

# bare_run: the baseline, right before each round of ours so both see the same machine.
bare_run() {
	"$tmp/barebench" >"$tmp/bare.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	wait_for "$tmp/bare.log" '^listening'
	local addr
	addr=$(awk '/^listening/ {print $2; exit}' "$tmp/bare.log")
	run_wrk bare "http://$addr/r/bench"
	bare_rps=$rps bare_p99=$p99_ms
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

fail=0
results=()
summary=()

# median X...: the middle value (the mean of the two middle ones).
median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# query ENGINE DSN SQL: prints the one value SQL selects, read with the
# engine's own client rather than through the server under test.
query() {
	case $1 in
	sqlite) sqlite3 "$2" ".timeout 5000" "$3" ;;
	postgres) psql -qAt "$2" -c "$3" ;;
	esac
}

# settle: wait until the server has answered every request and committed
# every click: the stored count stops moving and equals the 302s sent
# (10 s at most; a mismatch left then fails the check).
settle() {
	local last=-1 now
	for _ in $(seq 50); do
		sleep 0.2
		now="$(stored) $(served)"
		if [[ $now == "$last" && ${now% *} == "${now#* }" ]]; then return 0; fi
		last=$now
	done
}

# engine NAME DSN
engine() {
	local name=$1 dsn=$2
	echo "== $name" >&2
	local load
	load=$(cut -d' ' -f1 /proc/loadavg) # other work on the machine skews everything
	local token
	token=$("$tmp/affiliated" token create --name bench --db "$dsn")
	# On PostgreSQL the journal is off unless given a directory: give it one
	# (a replica's local disk), unless SERVE_FLAGS says otherwise.
	local flags=${SERVE_FLAGS:-}
	if [[ $name == postgres && $flags != *--click-journal* ]]; then flags="--click-journal=$tmp/clicks-postgres $flags"; fi
	# shellcheck disable=SC2086 # flags is a list of flags
	"$tmp/affiliated" serve --db "$dsn" --addr 127.0.0.1:0 --log-json=true --log-level=info $flags \
		>"$tmp/serve-$name.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	wait_for "$tmp/serve-$name.log" '"msg":"listening"'
	local base api
	base="http://$(sed -n 's/.*"msg":"listening".*"addr":"\([^"]*\)".*/\1/p' "$tmp/serve-$name.log" | head -1)"
	api=(curl -sSf -H "Authorization: Bearer $token" -H "Content-Type: application/json")
	local aff id
	"${api[@]}" -d '{"name":"Bench","slug":"bench","destination_url":"https://shop.example.com/landing"}' "$base/api/v1/programs" >/dev/null
	aff=$("${api[@]}" -d '{"email":"bench@example.com","code":"bench"}' "$base/api/v1/affiliates") # the only program
	id=$(echo "$aff" | sed 's/^{"id":\([0-9]*\).*/\1/')
	# stored: rows in clicks, then the human and bot clicks of the hourly
	# rollups (same transaction); served: 302s the server's counter saw.
	stored() { query "$name" "$dsn" "select count(*) from clicks"; }
	rolled() { query "$name" "$dsn" "select coalesce(sum(clicks + bots), 0) from click_rollups"; }
	served() { curl -sSf "$base/metrics" | awk '/^affiliated_http_requests_total\{/ && /route="GET \/r\/\{code\}"/ && /status="302"/ {n = $NF}
		END {printf "%.0f", n}'; }

	# Warm up (resolver cache, connections, SQLite pages), not measured.
	wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "User-Agent: $UA" "$base/r/bench" >/dev/null
	settle
	local round ratios=() p99s=()
	for round in $(seq "$ROUNDS"); do
		bare_run # the baseline right before each round: both see the same machine
		local stored0 served0
		stored0=$(stored) served0=$(served)
		run_wrk "$name" "$base/r/bench"
		settle # requests wrk abandoned at the end still finish on the server; the loader catches up
		local nstored nserved nrolled
		nstored=$(($(stored) - stored0)) nserved=$(($(served) - served0)) nrolled=$(rolled)
		local ratio
		ratio=$(awk -v a="$rps" -v b="$bare_rps" 'BEGIN {printf "%.2f", a / b}')
		ratios+=("$ratio") p99s+=("$p99_ms")
		# Every 302 sent has its click stored, and nothing else was stored; the
		# rollups count every click ever stored. wrk stops counting with up to
		# one request per connection in flight (and one per socket error); the
		# server still answers those, so it may have sent that many more 302s
		# than wrk received, never fewer.
		local check="ok"
		if ((nstored != nserved)); then
			check="FAIL (server sent $nserved 302s)"
		elif ((nrolled != $(stored))); then
			check="FAIL (rollups count $nrolled clicks, table holds $(stored))"
		elif ((nserved < ok || nserved > ok + CONNECTIONS + sockerr)); then
			check="FAIL (server sent $nserved 302s)"
		fi
		if [[ $check != ok ]]; then fail=1; fi
		local batches
		batches=$(curl -s "$base/metrics" | awk '/^affiliated_click_batch_size_(sum|count)/ {v[$1] = $2}
			END {for (k in v) if (k ~ /count/) c = v[k]; else s = v[k]; if (c) printf "%.0f", s / c; else print "-"}')
		results+=("$(printf '%-9s %10.0f %8s %10.0f %8s %6s  stored %d / 302s %d: %s  (mean batch %s, load %s)' \
			"$name/$round" "$rps" "$p99_ms" "$bare_rps" "$bare_p99" "$ratio" "$nstored" "$ok" "$check" "$batches" "$load")")
		load=$(cut -d' ' -f1 /proc/loadavg)
	done
	local mratio mp99 goal="met"
	mratio=$(median "${ratios[@]}") mp99=$(median "${p99s[@]}")
	if awk -v r="$mratio" -v t="$TARGET_RATIO" -v p="$mp99" -v tp="$TARGET_P99_MS" 'BEGIN {exit !(r < t || p > tp)}'; then
		goal="missed"
	fi
	summary+=("$(printf '%-9s median of %d rounds: ratio %s (%s), p99 %s ms (%s): target %s' \
		"$name" "$ROUNDS" "$mratio" "${ratios[*]}" "$mp99" "${p99s[*]}" "$goal")")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

if [[ " $ENGINES " == *" sqlite "* ]]; then
	engine sqlite "$tmp/bench.db"
fi
if [[ " $ENGINES " == *" postgres "* && -n ${BENCH_POSTGRES:-} ]]; then
	command -v psql >/dev/null || { echo "psql not found: apt-get install -y postgresql-client" >&2; exit 1; }
	pgdb="aff_bench_$$"
	psql -q "$BENCH_POSTGRES" -c "create database $pgdb" >/dev/null
	pgdsn=$(echo "$BENCH_POSTGRES" | sed -E "s#^(postgres(ql)?://[^/]*)/?[^?]*#\1/$pgdb#")
	engine postgres "$pgdsn"
fi

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION; serve flags: ${SERVE_FLAGS:-(defaults)}; target: ratio >= $TARGET_RATIO, p99 <= ${TARGET_P99_MS}ms"
printf '%-9s %10s %8s %10s %8s %6s  %s\n' round "req/s" "p99 ms" "bare req/s" "bare p99" ratio check
for r in "${results[@]}"; do echo "$r"; done
for r in "${summary[@]}"; do echo "$r"; done
exit $fail
