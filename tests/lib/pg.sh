#!/usr/bin/env bash
# pg.sh — run one command against a private, throwaway PostgreSQL 15 server.
#
#   tests/lib/pg.sh COMMAND [ARGS...]
#
# initdb's a cluster in a new temporary directory, starts it listening only
# on a unix socket inside that directory (no TCP port, so nothing else on the
# machine can reach it or clash with it), creates the database `rollcall`,
# exports ROLLCALL_TEST_DB=postgresql:///rollcall?host=DIR&user=... and runs
# COMMAND. The server is stopped and the directory removed afterwards, also
# when COMMAND fails or the script is interrupted. PostgreSQL refuses to run
# as root, so as root the cluster belongs to the `postgres` system user.
set -euo pipefail
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ ! -x $BIN/initdb ]]; then
  echo "pg.sh: PostgreSQL 15 is not installed ($BIN/initdb missing);" \
       "run scripts/bootstrap or apt-get install postgresql-15" >&2
  exit 1
fi
if [[ $# -lt 1 ]]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

dir=$(mktemp -d /tmp/rollcall-pg.XXXXXX)
if [[ $(id -u) -eq 0 ]]; then
  user=postgres
  chown postgres: "$dir"
  as() { runuser -u postgres -- "$@"; }
else
  user=$(id -un)
  as() { "$@"; }
fi
cleanup() {
  as "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

as "$BIN/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
as "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=on -p 5433" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
as "$BIN/createdb" -h "$dir" -p 5433 -U "$user" rollcall

export ROLLCALL_TEST_DB="postgresql:///rollcall?host=$dir&port=5433&user=$user"
set +e
"$@"
status=$?
set -e
exit $status
