#!/usr/bin/env bash
# Start PostgreSQL from Debian's packages on 127.0.0.1 for the store tests (best effort, idempotent).
# Creates role `rapport` (password `rapport`) and database `rapport_test` (or the one named: `start_postgres.sh
# rapport`, as scripts/serve_cluster.sh does); the tests skip, saying why, when this could not be done.
set -u
database=${1:-rapport_test}
[[ $database =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "postgres: '$database' is not a plain database name"; exit 0; }
run_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  run_root apt-get update -qq >/dev/null && run_root apt-get install -y -qq postgresql >/dev/null || {
    echo "postgres: could not install Debian's postgresql package"; exit 0; }
fi
cluster=$(pg_lsclusters --no-header 2>/dev/null | head -n 1)
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  run_root pg_createcluster "$version" main >/dev/null || { echo "postgres: could not create a cluster"; exit 0; }
  cluster=$(pg_lsclusters --no-header | head -n 1)
fi
read -r version name port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
  run_root pg_ctlcluster "$version" "$name" start || { echo "postgres: could not start cluster $version/$name"; exit 0; }
fi
as_postgres psql -q -p "$port" -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='rapport') THEN CREATE ROLE rapport LOGIN PASSWORD 'rapport' CREATEDB; END IF; END\$\$;" >/dev/null 2>&1
as_postgres psql -q -p "$port" -tc "SELECT 1 FROM pg_database WHERE datname='$database'" | grep -q 1 \
  || as_postgres createdb -p "$port" -O rapport "$database"
echo "postgres: ready on 127.0.0.1:$port (database $database)"
