#!/usr/bin/env bash
# Run a command inside a network namespace of our own, as every test and benchmark does:
# libnice in Janus gathers no ICE candidates on loopback alone, so Janus, the control plane
# and Chromium share a namespace with a veth pair (10.77.0.1 <-> 10.77.0.2). Traffic never
# leaves the namespace. Inside it, a private Redis listens on the namespace's own loopback;
# PostgreSQL is reached through its Unix socket, which namespaces do not separate.
#
#   scripts/with-netns.sh <command> [args...]
#
# Environment passed in: DATABASE_URL (must be a Unix-socket URL), SPK_NETNS (name, optional).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NS="${SPK_NETNS:-spk-$$}"
RUN="$ROOT/.run/netns/$NS"
mkdir -p "$RUN"

cleanup() {
  local rc=$?
  if [[ -f "$RUN/redis.pid" ]]; then kill "$(cat "$RUN/redis.pid")" 2>/dev/null || true; fi
  ip netns pids "$NS" 2>/dev/null | while read -r pid; do kill "$pid" 2>/dev/null || true; done
  sleep 0.2
  ip netns pids "$NS" 2>/dev/null | while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$RUN"
  exit $rc
}
trap cleanup EXIT INT TERM

ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip link add v0 type veth peer name v1
ip netns exec "$NS" ip addr add 10.77.0.1/24 dev v0
ip netns exec "$NS" ip addr add 10.77.0.2/24 dev v1
ip netns exec "$NS" ip link set v0 up
ip netns exec "$NS" ip link set v1 up

ip netns exec "$NS" redis-server --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
  --dir "$RUN" --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log" >/dev/null
for _ in $(seq 1 50); do
  ip netns exec "$NS" redis-cli -p 6379 ping >/dev/null 2>&1 && break
  sleep 0.1
done

export SPK_NETNS="$NS" SPK_NETNS_RUN="$RUN" REDIS_URL="redis://127.0.0.1:6379"
ip netns exec "$NS" "$@"
