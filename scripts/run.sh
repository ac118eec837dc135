#!/usr/bin/env bash
# make run: install what is missing, start PostgreSQL, Redis and Janus (private instances when
# none is reachable), migrate, load demo data and serve the appliance in the foreground.
# Ctrl-C stops everything this script started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_installed
GIVEN_DATABASE_URL="${DATABASE_URL:-}" GIVEN_REDIS_URL="${REDIS_URL:-}"
export DATABASE_URL; DATABASE_URL="$(ensure_postgres spreekkamer)"
export REDIS_URL; REDIS_URL="$(ensure_redis)"
# Demo data stays apart from anything else on a shared Redis: its own database number
# (DEMO_REDIS_DB, default 9) unless REDIS_URL was given. `make clean-demo` removes it again.
if [[ -z "$GIVEN_REDIS_URL" ]]; then REDIS_URL="${REDIS_URL%/}/${DEMO_REDIS_DB:-9}"; fi
export SECRET_KEY; SECRET_KEY="$(ensure_secret)"
# What clean-demo may remove: only what this script chose itself.
{
  echo "DATABASE_URL='$DATABASE_URL'"; echo "REDIS_URL='$REDIS_URL'"
  echo "DEMO_DATABASE=$([[ -z "$GIVEN_DATABASE_URL" ]] && echo spreekkamer)"
  echo "QUEUE_PREFIX='${QUEUE_PREFIX:-spk}'"
} > "$RUN/demo.env"
# Passwords never on screen.
redact() { sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#'; }
say "PostgreSQL: $(redact <<<"$DATABASE_URL")"
say "Redis:      $(redact <<<"$REDIS_URL")$([[ -z "$GIVEN_REDIS_URL" ]] && echo "   (database ${DEMO_REDIS_DB:-9}: demo data only; make clean-demo removes it)")"

PUBLIC_PORT="${PUBLIC_PORT:-8080}"; INTERNAL_PORT="${INTERNAL_PORT:-8081}"
JANUS_WS_PORT="${JANUS_WS_PORT:-8188}"; JANUS_ADMIN_PORT="${JANUS_ADMIN_PORT:-7188}"
export PUBLIC_PORT INTERNAL_PORT
export PUBLIC_HOST="${PUBLIC_HOST:-0.0.0.0}" INTERNAL_HOST="${INTERNAL_HOST:-127.0.0.1}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://localhost:$PUBLIC_PORT}"
export INTERNAL_BASE_URL="${INTERNAL_BASE_URL:-http://localhost:$INTERNAL_PORT}"
export COOKIE_SECURE="${COOKIE_SECURE:-false}" NODE_ENV="${NODE_ENV:-development}"

say "rendering the hardened Janus configuration into .run/janus"
node scripts/janus-config.mjs --out "$RUN/janus" --ws-port "$JANUS_WS_PORT" --admin-port "$JANUS_ADMIN_PORT" \
  --events-backend "http://127.0.0.1:$INTERNAL_PORT/janus/events" >/dev/null
export JANUS_URL="ws://127.0.0.1:$JANUS_WS_PORT"
export JANUS_API_SECRET; JANUS_API_SECRET="$(node -p "require('$RUN/janus/secrets.json').apiSecret")"
export JANUS_ADMIN_KEY; JANUS_ADMIN_KEY="$(node -p "require('$RUN/janus/secrets.json').adminKey")"
export JANUS_EVENTS_PASSWORD; JANUS_EVENTS_PASSWORD="$(node -p "require('$RUN/janus/secrets.json').eventsPassword")"

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_private_postgres
  [[ -f "$RUN/redis/redis.pid" ]] && kill "$(cat "$RUN/redis/redis.pid")" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Janus's "started" event (a core event) goes out the moment Janus starts, before the control
# plane (which waits for Janus) listens: every start began with "Couldn't relay event to the
# backend", and Ctrl-C ended with another one for "shutdown". The control plane uses only the
# webrtc and media events (quality/intake.ts), so core events are not sent.
sed -i -E 's/^(\s*events = )"webrtc,media,core"/\1"webrtc,media"/' "$RUN/janus/janus.eventhandler.sampleevh.jcfg"
grep -q '^\s*events = "webrtc,media"' "$RUN/janus/janus.eventhandler.sampleevh.jcfg" || die "unexpected Janus event handler configuration"
say "starting Janus (log: .run/janus.log)"
janus -F "$RUN/janus" -C "$RUN/janus/janus.jcfg" > "$RUN/janus.log" 2>&1 &
PIDS+=($!)

say "building the browser apps"
node web/build.mjs >/dev/null
say "migrating the database"
npm run -s cli -- migrate
npm run -s cli -- seed-demo

say "serving (Ctrl-C stops everything)"
cat <<INFO

  Patient site (public listener):   $PUBLIC_BASE_URL   (links above)
  Staff site (internal listener):   $INTERNAL_BASE_URL/staff/
  Integration API:                  $INTERNAL_BASE_URL/api/v1/

INFO
# The job worker (invitations, reminders): e-mail only when SMTP_URL is set.
node --import tsx control/src/worker.ts &
PIDS+=($!)
node --import tsx control/src/main.ts &
PIDS+=($!)
wait "${PIDS[-1]}"
