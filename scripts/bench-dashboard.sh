#!/bin/sh
# Dashboard benchmark: p95 latency of the owner's console pages (the
# overview, an affiliate's detail page, the affiliates list, signed in as
# the owner) and of the API endpoints they are built from, on a demo
# database, against a 100 ms target.
#
#   scripts/bench-dashboard.sh [CLICKS [ORDERS]]     (default 10000000 100000)
#
# Builds the binary, fills a fresh SQLite file with `affiliated demo`,
# starts `affiliated serve`, signs in to the console through the one-time
# setup link that serve logs while there is no owner, and drives each page
# and endpoint with wrk. With AFFILIATED_BENCH_POSTGRES set to a PostgreSQL
# URL (any database; it is used to create and drop a scratch one), the same
# runs on PostgreSQL. ENGINES=postgres skips SQLite.
#
# Heavy steps (demo generation, each wrk run) hold `flock $BENCH_LOCK`
# (default /tmp/bench.lock), so benchmarks on a shared machine take turns.
#
# Environment: DURATION (wrk -d, default 15s), CONNECTIONS (default 4),
# TARGET_MS (default 100), KEEP=1 keeps $WORK (the SQLite file, the
# session cookies) and the PostgreSQL database (named BENCH_PGDB, default
# aff_bench_PID); REUSE=1 with the same WORK and BENCH_PGDB measures those
# filled databases again without generating them. ONLY (an extended
# regular expression) measures only the endpoints whose name matches it;
# BIN measures that binary instead of building one (to compare two
# commits on the same databases).
# Needs wrk, curl, flock, psql (for PostgreSQL) and GNU date.
set -eu
cd "$(dirname "$0")/.."

CLICKS=${1:-10000000}
ORDERS=${2:-100000}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-4}
TARGET_MS=${TARGET_MS:-100}
PORT=${PORT:-18181}
WORK=${WORK:-$(mktemp -d /tmp/bench-dashboard.XXXXXX)}
BIN=${BIN:-}
ONLY=${ONLY:-.}
LUA=$(pwd)/scripts/bench-p95.lua
BENCH_LOCK=${BENCH_LOCK:-/tmp/bench.lock}
ENGINES=${ENGINES:-sqlite postgres}

# locked CMD…: run CMD holding the shared benchmark lock.
locked() { flock "$BENCH_LOCK" "$@"; }

command -v wrk >/dev/null || { echo "bench-dashboard: wrk is required" >&2; exit 1; }
if [ -z "$BIN" ]; then
	BIN=$WORK/affiliated
	echo "building into $WORK"
	go build -o "$BIN" ./cmd/affiliated
fi

SERVER=
cleanup() {
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
	if [ "${KEEP:-}" != 1 ]; then
		[ -n "${PGDB:-}" ] && psql "$AFFILIATED_BENCH_POSTGRES" -qc "drop database if exists $PGDB with (force)" >/dev/null 2>&1
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT INT TERM

# run ENGINE DSN: fill, serve, measure.
run() {
	engine=$1 dsn=$2
	echo
	if [ "${REUSE:-}" = 1 ]; then
		echo "== $engine: reusing the demo: $(head -n 1 "$WORK/demo-$engine.out")"
	else
		echo "== $engine: demo --clicks $CLICKS --orders $ORDERS"
		start=$(date +%s)
		locked "$BIN" demo --db "$dsn" --clicks "$CLICKS" --orders "$ORDERS" >"$WORK/demo-$engine.out" 2>"$WORK/demo-$engine.log"
		echo "filled in $(( $(date +%s) - start ))s (waiting for the lock included): $(head -n 1 "$WORK/demo-$engine.out")"
	fi
	token=$("$BIN" token create --name "bench-$(date +%s)" --db "$dsn")
	base=http://127.0.0.1:$PORT
	# Info level: serve logs the owner's setup link; requests are not logged.
	"$BIN" serve --db "$dsn" --addr "127.0.0.1:$PORT" --base-url "$base" --log-level info --workers=false 2>"$WORK/serve-$engine.log" &
	SERVER=$!
	for _ in $(seq 100); do
		curl -fs "$base/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	# Sign in as the owner: claim the setup link, keep the session cookie
	# (which a REUSE run takes again: the owner exists by then).
	setup=$(sed -n 's/.*admin\/setup?token=\([^" ]*\).*/\1/p' "$WORK/serve-$engine.log" | head -n 1)
	jar=$WORK/cookies-$engine
	if [ -n "$setup" ]; then
		rm -f "$jar"
		csrf=$(curl -fsS -c "$jar" -b "$jar" "$base/admin/setup?token=$setup" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
		curl -fsS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf=$csrf" --data-urlencode "token=$setup" \
			--data-urlencode "email=bench@example.com" "$base/admin/setup"
	fi
	session=$(awk '$6 == "aff_admin" { print $6 "=" $7 }' "$jar" 2>/dev/null)
	if [ -z "$session" ] || ! curl -fs -o /dev/null -H "Cookie: $session" "$base/admin/"; then
		echo "bench-dashboard: could not sign in to the console (see $WORK/serve-$engine.log)" >&2
		return 1
	fi
	# The demo's first program is the course, its first affiliate the largest.
	d30=$(date -u -d '30 days ago' +%Y-%m-%d)
	d90=$(date -u -d '89 days ago' +%Y-%m-%d)
	tz=America/New_York
	fail=0
	printf '%-34s %s\n' endpoint result
	for ep in \
		"page-overview-30d|/admin/?range=30&tz=$tz" \
		"page-overview-90d|/admin/?range=90&tz=$tz" \
		"page-overview-90d-program|/admin/?range=90&tz=$tz&program=1" \
		"page-affiliate-30d|/admin/affiliates/1?range=30&tz=$tz" \
		"page-affiliate-90d|/admin/affiliates/1?range=90&tz=$tz" \
		"page-affiliates-list-30d|/admin/affiliates?range=30&tz=$tz" \
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
		echo "$name" | grep -Eq "$ONLY" || continue
		auth="Authorization: Bearer $token"
		case $path in /admin/*) auth="Cookie: $session" ;; esac
		out=$(locked wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$LUA" -H "$auth" "$base$path" | tail -n 1)
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
case " $ENGINES " in *" sqlite "*)
	run sqlite "$WORK/bench.db" || status=1
	[ "${KEEP:-}" = 1 ] || rm -f "$WORK"/bench.db*
esac
if [ -n "${AFFILIATED_BENCH_POSTGRES:-}" ] && case " $ENGINES " in *" postgres "*) true ;; *) false ;; esac; then
	PGDB=${BENCH_PGDB:-aff_bench_$$}
	[ "${REUSE:-}" = 1 ] || psql "$AFFILIATED_BENCH_POSTGRES" -qc "create database $PGDB" >/dev/null
	pgdsn=$(echo "$AFFILIATED_BENCH_POSTGRES" | sed "s#^\(postgres[a-z]*://[^/]*\)/[^?]*#\1/$PGDB#")
	run postgres "$pgdsn" || status=1
fi
exit $status
