#!/usr/bin/env bash
# Three imv nodes on this machine sharing one PostgreSQL database and one NATS (docs/cluster.md).
# Usage: scripts/cluster-demo.sh [postgres-url] [nats-url]
#   default postgres://postgres@127.0.0.1:5432/imv_demo and nats://127.0.0.1:4222
# Ctrl-C stops the three nodes. Their data dirs (certificates, admin token) are in ./data-cluster/.
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${1:-postgres://postgres@127.0.0.1:5432/imv_demo}
BUS=${2:-nats://127.0.0.1:4222}

# The database must exist; imv creates its tables (the first node takes an advisory lock).
db=${STORE##*/}
db=${db%%\?*}
admin=${STORE%/*}/postgres
if command -v psql >/dev/null; then
  psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
    psql "$admin" -c "CREATE DATABASE \"$db\"" >/dev/null
fi

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait; }
trap stop EXIT INT TERM
for port in 8080 8081 8082; do
  node packages/cli/bin/imv.js serve --port "$port" --https-port $((port + 363)) \
    --data "data-cluster/$port" --store "$STORE" --bus "$BUS" --log-level warn &
  pids+=($!)
done
echo "nodes on http://127.0.0.1:8080, :8081 and :8082 (https on 8443-8445); Ctrl-C stops them"
wait
