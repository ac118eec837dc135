#!/usr/bin/env bash
# make clean-demo: removes what `make run` left behind — the demo's Redis keys (only in the
# Redis database make run chose for the demo) and the demo database it created. Anything
# given by DATABASE_URL/REDIS_URL is left alone except the demo's own keys there.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[[ -f "$RUN/demo.env" ]] || { say "nothing to clean: make run has not been used in this checkout"; exit 0; }
# shellcheck disable=SC1091
source "$RUN/demo.env"
prefix="${QUEUE_PREFIX:-spk}"
if redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; then
  n=0
  for pattern in 'spk:*' "$prefix:*"; do
    while read -r key; do
      [[ -n "$key" ]] || continue
      redis-cli -u "$REDIS_URL" unlink "$key" >/dev/null; n=$((n + 1))
    done < <(redis-cli -u "$REDIS_URL" --scan --pattern "$pattern")
  done
  say "removed $n demo keys from Redis ($(sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$REDIS_URL"))"
else
  say "Redis at the demo's address does not answer; nothing removed there"
fi
if [[ -n "${DEMO_DATABASE:-}" ]]; then
  admin_url="${DATABASE_URL/\/$DEMO_DATABASE/\/postgres}"
  if psql "$admin_url" -tAc 'select 1' >/dev/null 2>&1; then
    psql "$admin_url" -qc "drop database if exists \"$DEMO_DATABASE\" with (force)" >/dev/null
    say "dropped the demo database $DEMO_DATABASE"
  else
    say "PostgreSQL does not answer; the demo database $DEMO_DATABASE is still there"
  fi
else
  say "DATABASE_URL was given to make run: that database is left alone"
fi
rm -f "$RUN/demo.env"
