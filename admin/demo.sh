#!/bin/sh
# demo.sh - what `make run` shows: sluice balancing two demo backends.
#
# Starts two tiny backends (admin/demo_backend.py) and ./sluice with
# examples/quickstart.cfg, makes a few connections to show round-robin,
# stops one backend and shows the health check taking it out of rotation,
# restarts it and shows it coming back, then keeps sluice running until Ctrl-C (when stdin is a terminal and
# CI is not "true"; otherwise it stops there). Everything it started is
# stopped by PID on exit. Exit status 1 if something did not go as shown.
#
# Ports: DEMO_PORT, BACKEND1_PORT, BACKEND2_PORT (default 18080..18082, or
# free ones when those are taken). SLUICE_BIN overrides ./sluice.
set -eu
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
HELPER=admin/demo_backend.py
BIN=${SLUICE_BIN:-./sluice}
CFG=examples/quickstart.cfg

if [ ! -x "$PY" ]; then
	echo "demo: needs $PY; run: sh admin/install-deps.sh" >&2
	exit 1
fi
if [ ! -x "$BIN" ]; then
	echo "demo: no $BIN; run: make sluice" >&2
	exit 1
fi

B1_PID="" B2_PID="" SLUICE_PID="" TAIL_PID=""
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-demo.XXXXXX")
LOG="$TMP/sluice.log"
failed=0

# stop_pid PID: SIGTERM, up to 5 s to exit, then SIGKILL.
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	n=0
	while kill -0 "$1" 2>/dev/null && [ "$n" -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "demo: pid $1 ignored SIGTERM, killing it" >&2
		kill -9 "$1" 2>/dev/null || true
	fi
	wait "$1" 2>/dev/null || true
}

cleanup() {
	for pid in $TAIL_PID $SLUICE_PID $B1_PID $B2_PID; do
		stop_pid "$pid"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DEMO_PORT=${DEMO_PORT:-$("$PY" "$HELPER" free-port 18080)}
BACKEND1_PORT=${BACKEND1_PORT:-$("$PY" "$HELPER" free-port 18081 "$DEMO_PORT")}
BACKEND2_PORT=${BACKEND2_PORT:-$("$PY" "$HELPER" free-port 18082 "$DEMO_PORT" "$BACKEND1_PORT")}
export DEMO_PORT BACKEND1_PORT BACKEND2_PORT

say() { printf '\n== %s\n' "$*"; }

start_backend1() {
	"$PY" "$HELPER" serve web1 "$BACKEND1_PORT" &
	B1_PID=$!
	"$PY" "$HELPER" wait-listen "$B1_PID" "$BACKEND1_PORT"
}

start_backend2() {
	"$PY" "$HELPER" serve web2 "$BACKEND2_PORT" &
	B2_PID=$!
	"$PY" "$HELPER" wait-listen "$B2_PID" "$BACKEND2_PORT"
}

# connections N EXPECT: N connections through sluice, print who answered;
# EXPECT is "alternate" or the one backend name that must answer them all.
connections() {
	answers=""
	i=1
	while [ "$i" -le "$1" ]; do
		a=$("$PY" "$HELPER" ask "$DEMO_PORT") || true
		printf '  connection %d -> %s\n' "$i" "$a"
		answers="$answers $(printf '%s' "$a" | cut -d' ' -f3)"
		i=$((i + 1))
	done
	check "$2" $answers
}

check() {
	want=$1
	shift
	prev=""
	for got in "$@"; do
		if [ "$want" = alternate ]; then
			case "$got" in web1|web2) ;; *) failed=1 ;; esac
			[ "$got" != "$prev" ] || failed=1
		elif [ "$got" != "$want" ]; then
			failed=1
		fi
		prev=$got
	done
}

# wait_log TEXT: up to 10 s for sluice's log to contain TEXT.
wait_log() {
	n=0
	while ! grep -q "$1" "$LOG" && [ "$n" -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	grep -q "$1" "$LOG" || failed=1
}

shown=0
show_log() {
	sleep 0.2
	total=$(wc -l <"$LOG")
	if [ "$total" -gt "$shown" ]; then
		echo "  sluice's log (tcplog format: client, frontend, backend/server, timers, bytes, state):"
		tail -n +"$((shown + 1))" "$LOG" | sed 's/^/    /'
	fi
	shown=$total
}

say "starting two backends: web1 on 127.0.0.1:$BACKEND1_PORT, web2 on 127.0.0.1:$BACKEND2_PORT"
start_backend1
start_backend2

say "starting sluice on 127.0.0.1:$DEMO_PORT with $CFG"
"$BIN" -db -f "$CFG" >"$LOG" 2>&1 &
SLUICE_PID=$!
if ! "$PY" "$HELPER" wait-listen "$SLUICE_PID" "$DEMO_PORT"; then
	cat "$LOG" >&2
	exit 1
fi

say "6 connections: balance roundrobin sends them to web1 and web2 in turn"
connections 6 alternate
show_log

say "stopping web1 (pid $B1_PID)"
stop_pid "$B1_PID"
B1_PID=""

say "waiting for the health check (inter 500ms, fall 2) to mark web1 DOWN"
wait_log "web/web1 is DOWN"
show_log

say "4 connections: all go to web2, no connection attempt to web1"
connections 4 web2
show_log

say "restarting web1; after 2 good checks (rise 2) it is back in rotation"
start_backend1
wait_log "web/web1 is UP"
show_log

say "4 connections: both backends answer again"
connections 4 alternate
show_log

if [ "$failed" -ne 0 ]; then
	say "something did not go as described above" >&2
fi

if [ -t 0 ] && [ "${CI:-}" != true ]; then
	say "sluice keeps running on 127.0.0.1:$DEMO_PORT. Try it from another terminal:"
	echo "    $PY $HELPER ask $DEMO_PORT"
	echo "    socat - TCP:127.0.0.1:$DEMO_PORT      (type a line: the backend echoes it)"
	echo "  Log lines follow as connections end. Ctrl-C stops everything."
	tail -n 0 -f "$LOG" &
	TAIL_PID=$!
	status=0
	wait "$SLUICE_PID" || status=$?
	SLUICE_PID=""
	echo "sluice exited with status $status" >&2
	exit 1
fi

say "done (not a terminal, or CI=true): stopping everything"
exit "$failed"
