#!/usr/bin/env bash
# make bench: the benchmarks, on the real stack inside the test namespace.
# Writes .run/bench/latest.json; figures and how to read them: docs/BENCHMARKS.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_installed "${BENCH_PACKAGES[@]}"
DATABASE_URL="$(test_postgres_url)" || exit 1
export DATABASE_URL
node web/build.mjs
scripts/with-netns.sh node --import tsx test/bench/run.ts
