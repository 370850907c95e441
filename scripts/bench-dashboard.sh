#!/bin/sh
# Dashboard benchmark: p95 latency of the owner's reports and of an
# affiliate's detail endpoints on a demo database, against a 100 ms target.
#
#   scripts/bench-dashboard.sh [CLICKS [ORDERS]]     (default 10000000 100000)
#
# Builds the binary, fills a fresh SQLite file with `affiliated demo`,
# starts `affiliated serve` and drives each endpoint with wrk. With
# AFFILIATED_BENCH_POSTGRES set to a PostgreSQL URL (any database; it is
# used to create and drop a scratch one), the same runs on PostgreSQL.
#
# Environment: DURATION (wrk -d, default 15s), CONNECTIONS (default 4),
# TARGET_MS (default 100), KEEP=1 keeps the SQLite file in $WORK.
# Needs wrk, psql (for PostgreSQL) and GNU date.
set -eu
cd "$(dirname "$0")/.."

CLICKS=${1:-10000000}
ORDERS=${2:-100000}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-4}
TARGET_MS=${TARGET_MS:-100}
PORT=${PORT:-18181}
WORK=${WORK:-$(mktemp -d /tmp/bench-dashboard.XXXXXX)}
BIN=$WORK/affiliated
LUA=$(pwd)/scripts/bench-p95.lua

command -v wrk >/dev/null || { echo "bench-dashboard: wrk is required" >&2; exit 1; }
echo "building into $WORK"
go build -o "$BIN" ./cmd/affiliated

SERVER=
cleanup() {
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
	[ -n "${PGDB:-}" ] && psql "$AFFILIATED_BENCH_POSTGRES" -qc "drop database if exists $PGDB with (force)" >/dev/null 2>&1
	[ "${KEEP:-}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# run ENGINE DSN: fill, serve, measure.
run() {
	engine=$1 dsn=$2
	echo
	echo "== $engine: demo --clicks $CLICKS --orders $ORDERS"
	start=$(date +%s)
	"$BIN" demo --db "$dsn" --clicks "$CLICKS" --orders "$ORDERS" 2>"$WORK/demo-$engine.log"
	echo "filled in $(( $(date +%s) - start ))s"
	token=$("$BIN" token create --name bench --db "$dsn")
	"$BIN" serve --db "$dsn" --addr "127.0.0.1:$PORT" --log-level warn --workers=false 2>"$WORK/serve-$engine.log" &
	SERVER=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	# The demo's first program is the course, its first affiliate the largest.
	d30=$(date -u -d '30 days ago' +%Y-%m-%d)
	d90=$(date -u -d '89 days ago' +%Y-%m-%d)
	tz=America/New_York
	fail=0
	printf '%-34s %s\n' endpoint result
	for ep in \
		"overview-30d|/api/v1/analytics/overview?program_id=1&tz=$tz&from=$d30" \
		"overview-90d|/api/v1/analytics/overview?program_id=1&tz=$tz&from=$d90" \
		"overview-90d-all-programs|/api/v1/analytics/overview?tz=$tz&from=$d90" \
		"overview-30d-hourly|/api/v1/analytics/overview?program_id=1&tz=$tz&from=$d30&interval=hour" \
		"overview-30d-affiliate|/api/v1/analytics/overview?affiliate_id=1&tz=$tz&from=$d30" \
		"top-affiliates-30d|/api/v1/analytics/top-affiliates?program_id=1&tz=$tz&from=$d30&by=revenue" \
		"top-referrers-30d|/api/v1/analytics/top-referrers?program_id=1&from=$d30" \
		"top-landing-pages-30d|/api/v1/analytics/top-landing-pages?program_id=1&from=$d30" \
		"devices-30d|/api/v1/analytics/devices?program_id=1&from=$d30" \
		"affiliate|/api/v1/affiliates/1" \
		"affiliate-stats-30d|/api/v1/affiliates/1/stats?tz=$tz&from=$d30" \
		"affiliate-balance|/api/v1/affiliates/1/balance" \
		"affiliate-clicks-page|/api/v1/clicks?affiliate_id=1&from=$d30&limit=100" \
		"affiliate-commissions-page|/api/v1/commissions?affiliate_id=1&limit=100" \
		"affiliate-orders-page|/api/v1/orders?affiliate_id=1&limit=100"; do
		name=${ep%%|*} path=${ep#*|}
		out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$LUA" -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT$path" | tail -n 1)
		p95=$(echo "$out" | sed -n 's/.*p95=\([0-9.]*\).*/\1/p')
		verdict=ok
		if [ -z "$p95" ] || [ "$(echo "$p95 > $TARGET_MS" | bc)" = 1 ] || echo "$out" | grep -qv 'errors=0$'; then
			verdict="OVER ${TARGET_MS}ms or failed"
			fail=1
		fi
		printf '%-34s %s  %s\n' "$name" "$out" "$verdict"
	done
	kill "$SERVER"
	wait "$SERVER" 2>/dev/null || true
	SERVER=
	return $fail
}

status=0
run sqlite "$WORK/bench.db" || status=1
if [ -n "${AFFILIATED_BENCH_POSTGRES:-}" ]; then
	PGDB=aff_bench_$$
	psql "$AFFILIATED_BENCH_POSTGRES" -qc "create database $PGDB" >/dev/null
	pgdsn=$(echo "$AFFILIATED_BENCH_POSTGRES" | sed "s#^\(postgres[a-z]*://[^/]*\)/[^?]*#\1/$PGDB#")
	run postgres "$pgdsn" || status=1
fi
exit $status
