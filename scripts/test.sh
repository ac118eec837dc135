#!/usr/bin/env bash
# make test: install what is missing, then every test against the real services: PostgreSQL,
# Redis, Janus and Chromium, inside a network namespace of our own (see with-netns.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_installed
# Tests reach PostgreSQL over its Unix socket: it works from inside the namespace.
unset DATABASE_URL
export DATABASE_URL; DATABASE_URL="$(ensure_postgres postgres)"
[[ "$DATABASE_URL" == *"host=/"* ]] || die "tests need PostgreSQL on a Unix socket"

say "type-checking"
npx tsc -p tsconfig.json --noEmit
say "building the browser apps"
node web/build.mjs
say "running the tests"
scripts/with-netns.sh npx vitest run "$@"
