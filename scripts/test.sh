#!/usr/bin/env bash
# make test: install what is missing, then every test against the real services: PostgreSQL,
# Redis, Janus and Chromium, inside a network namespace of our own (see with-netns.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_installed "${TEST_PACKAGES[@]}"
DATABASE_URL="$(test_postgres_url)" || exit 1
export DATABASE_URL

say "type-checking"
npx tsc -p tsconfig.json --noEmit
say "linting (eslint.config.js: unhandled promises, the layering: janode, domain/, web/, shared/)"
npx eslint --max-warnings=0 shared control gateway web test
say "building the browser apps"
node web/build.mjs
say "running the tests"
scripts/with-netns.sh npx vitest run "$@"
# The whole suite (no files named): again on the maintained Node LTS lines, in part.
if [ $# -eq 0 ]; then scripts/test-node-lts.sh 22 24; fi
