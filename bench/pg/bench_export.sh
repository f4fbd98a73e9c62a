#!/usr/bin/env bash
# `nodown bench export` against a throw-away PostgreSQL 15 (pg_lib.sh):
#     bench/pg/bench_export.sh [--seconds N] [--json]
# starts the server on a unix socket in a temporary directory, runs the
# benchmark into a database of its own, and stops the server.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=bench/pg/pg_lib.sh
source bench/pg/pg_lib.sh
trap pg_cluster_stop EXIT
pg_cluster_start || exit 1
psql -q -c "CREATE DATABASE nodown_bench_export" >/dev/null || exit 1
build/nodown bench export --pg "postgresql:///nodown_bench_export?host=$PGHOST&port=$PGPORT&user=$PGUSER" "$@"
