#!/usr/bin/env bash
# A benchmark that needs PostgreSQL, against a throw-away PostgreSQL 15
# (pg_lib.sh):
#     bench/pg/with_pg.sh export [--seconds N] [--json]
#     bench/pg/with_pg.sh history [--events N] [--json]
# starts the server on a unix socket in a temporary directory, runs
# `nodown bench WHICH --pg URL ...` into a database of its own, and stops
# the server.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
which=${1:-}
case "$which" in
export | history) shift ;;
*)
    echo "usage: bench/pg/with_pg.sh export|history [options]" >&2
    exit 2
    ;;
esac
# shellcheck source=bench/pg/pg_lib.sh
source bench/pg/pg_lib.sh
trap pg_cluster_stop EXIT
pg_cluster_start || exit 1
psql -q -c "CREATE DATABASE nodown_bench_$which" >/dev/null || exit 1
build/nodown bench "$which" \
    --pg "postgresql:///nodown_bench_$which?host=$PGHOST&port=$PGPORT&user=$PGUSER" "$@"
