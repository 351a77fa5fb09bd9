#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the tests, on a free loopback port.
#   eval "$(scripts/pg-test-server.sh start DIR)"   prints export lines
#   scripts/pg-test-server.sh stop DIR
# The server runs as the 'postgres' user when started by root (PostgreSQL
# refuses to run as root), listens only on 127.0.0.1, trusts local users,
# and has a small max_connections so refusal tests are cheap.
set -euo pipefail
cmd=${1:?usage: pg-test-server.sh start|stop DIR}
dir=${2:?usage: pg-test-server.sh start|stop DIR}
dir=$(realpath -m "$dir") # as_pg runs from /
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bindir" ] || { echo "error: no PostgreSQL server installed (run scripts/install-deps.sh)" >&2; exit 2; }
# as postgres from /: a clone made with mktemp -d is mode 700, and the
# server's tools complain when they cannot enter the folder they start in
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
case "$cmd" in
start)
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
	as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 2; }
	port=
	for p in $(shuf -i 20000-60000 -n 50); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
	done
	[ -n "$port" ] || { echo "error: no free loopback port" >&2; exit 2; }
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=60 -c fsync=off -c log_connections=on -c log_disconnections=on" \
		start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 2; }
	as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres poolscope_test
	echo "export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=poolscope_test"
	echo "export POOLSCOPE_TEST_DSN='host=127.0.0.1 port=$port user=postgres dbname=poolscope_test'"
	echo "export POOLSCOPE_TEST_PGDATA='$dir/data' POOLSCOPE_TEST_PGBIN='$bindir'"
	;;
stop)
	[ -d "$dir/data" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*) echo "usage: pg-test-server.sh start|stop DIR" >&2; exit 64 ;;
esac
