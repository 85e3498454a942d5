#!/usr/bin/env bash
# Rapport scaled out on one machine, as docs/deploy.md describes: PostgreSQL (database `rapport`), a Chroma server,
# and N app processes sharing both, one port each. Ctrl-C stops what this started.
#   RAPPORT_CLUSTER_PORTS  the app processes' ports (default "7861 7862")
#   RAPPORT_CHROMA_PORT    the Chroma server's port (default 8000); its data goes to <RAPPORT_HOME>/chroma-server
#   RAPPORT_HOME, RAPPORT_AUTH, RAPPORT_PERSONA_MODEL, ... are passed on to every app process unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
ports=${RAPPORT_CLUSTER_PORTS:-7861 7862}
chroma_port=${RAPPORT_CHROMA_PORT:-8000}
home=${RAPPORT_HOME:-$HOME/.rapport}
logs="$home/cluster-logs"
mkdir -p "$logs"

answers() { curl -fs -o /dev/null --max-time 2 "$1"; }
wait_for() {  # URL PID NAME LOG
  for _ in $(seq 240); do
    answers "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 exited; the end of $4:"; tail -n 20 "$4"; return 1; }
    sleep 0.5
  done
  echo "$3 did not answer within 120 s; see $4"; return 1
}

pids=()              # everything started here, stopped on exit
postgres_started=""  # "VERSION NAME" of the PostgreSQL cluster, if this script started it
stop() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; fi
  if [ -n "$postgres_started" ]; then
    if [ "$(id -u)" = 0 ]; then pg_ctlcluster $postgres_started stop; else sudo -n pg_ctlcluster $postgres_started stop; fi \
      && echo "stopped PostgreSQL $postgres_started"
  fi
  echo "cluster stopped"
}
trap stop INT TERM EXIT

# PostgreSQL: Debian's cluster (started, and then stopped on exit, only if it was not running already).
# (pg_lsclusters is missing until start_postgres.sh installs PostgreSQL: under `set -e` that must not stop us)
was_online=$( { pg_lsclusters --no-header 2>/dev/null || true; } | awk 'NR == 1 && $4 == "online"')
ready=$(./scripts/start_postgres.sh rapport)
echo "$ready"
pg_port=$(sed -n 's/^postgres: ready on 127.0.0.1:\([0-9]*\) .*/\1/p' <<<"$ready")
[ -n "$pg_port" ] || { echo "PostgreSQL is needed; see the message above"; exit 1; }
[ -n "$was_online" ] || postgres_started=$(pg_lsclusters --no-header | awk 'NR == 1 {print $1" "$2}')

# The Chroma server every app process reads and writes memories and indexes through.
answers "http://127.0.0.1:$chroma_port/api/v2/heartbeat" && { echo "port $chroma_port is taken; set RAPPORT_CHROMA_PORT"; exit 1; }
ANONYMIZED_TELEMETRY=False "$BIN/chroma" run --path "$home/chroma-server" --host 127.0.0.1 --port "$chroma_port" \
  >"$logs/chroma.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$chroma_port/api/v2/heartbeat" $! "chroma run" "$logs/chroma.log"
echo "chroma: ready on 127.0.0.1:$chroma_port (data in $home/chroma-server)"

export RAPPORT_HOME="$home"
export RAPPORT_DATABASE_URL="postgresql+psycopg://rapport:rapport@127.0.0.1:$pg_port/rapport"
export RAPPORT_CHROMA_HOST=127.0.0.1 RAPPORT_CHROMA_PORT="$chroma_port"
declare -A app_pid
for port in $ports; do  # started together: each takes seconds to import and load its models
  GRADIO_SERVER_PORT=$port "$BIN/python" -m rapport.cli ui --host 127.0.0.1 --port "$port" >"$logs/app-$port.log" 2>&1 &
  app_pid[$port]=$!
  pids+=($!)
done
for port in $ports; do
  wait_for "http://127.0.0.1:$port/" "${app_pid[$port]}" "the app on port $port" "$logs/app-$port.log"
done
echo
echo "Rapport is serving from $(wc -w <<<"$ports") processes sharing PostgreSQL and Chroma:"
for port in $ports; do echo "  http://127.0.0.1:$port/"; done
echo "Logs in $logs. Put a reverse proxy with sticky sessions in front (docs/deploy.md). Ctrl-C stops them all."
# Until Ctrl-C. A process that dies leaves the others serving (the proxy sends its learners to them); its log says why.
wait || true
