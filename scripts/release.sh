#!/usr/bin/env bash
# make release: the versioned artifact the Ansible role installs, on servers without the
# internet (no npm, no compiler, no TypeScript loader there):
#   .run/release/spreekkamer-<version>.tar.gz   and   .run/release/spreekkamer-<version>.tar.gz.sha256
# holding (at the archive's top)
#   control/src/**/*.js, gateway/src/**/*.js   compiled JavaScript (esbuild, one file per source
#                                              file, the same tree: paths the code resolves stay)
#   control/src/db/migrations/*.js             the migrations (compiled like the rest)
#   web/dist/, web/public/                     the built browser apps
#   node_modules/                              production dependencies only (npm ci --omit=dev,
#                                              from npm's cache: no download while packing if the
#                                              checkout's own npm ci ran); argon2 built or
#                                              checked here (see below)
#   package.json, package-lock.json, VERSION, SHA256SUMS (every file of the tree)
# The version: $VERSION, else `git describe --tags` (v1.4.0), else 0.0.0-<commit>.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
VERSION="${VERSION:-$(git describe --tags --dirty 2>/dev/null || echo "0.0.0-$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!.run' 2>/dev/null || echo -dirty)")}"
[[ "$VERSION" =~ ^[A-Za-z0-9._+-]+$ ]] || die "release: bad version '$VERSION'"
OUT="${RELEASE_DIR:-$RUN/release}"
NAME="spreekkamer-$VERSION"
S="$OUT/$NAME"
rm -rf "$S"; mkdir -p "$S"

say "release $VERSION: the browser apps"
node web/build.mjs >/dev/null
mkdir -p "$S/web"; cp -a web/dist web/public "$S/web/"

say "release $VERSION: compiled JavaScript"
mapfile -t SOURCES < <(git ls-files -co --exclude-standard -- 'shared/*.ts' 'control/src/*.ts' 'gateway/src/*.ts' | grep -v '\.test\.ts$' | grep -v '\.d\.ts$')
node_modules/.bin/esbuild "${SOURCES[@]}" --outdir="$S" --outbase=. --platform=node --format=esm \
  --target=node20 --tsconfig=tsconfig.json --log-level=warning
# Non-TypeScript files the code reads next to its sources (SQL, templates, JSON), if any.
{ git ls-files -- 'control/src/*' 'gateway/src/*' | grep -Ev '\.(ts|md)$' || true; } | while read -r f; do
  mkdir -p "$S/$(dirname "$f")"; cp -a "$f" "$S/$f"
done

say "release $VERSION: production dependencies (npm ci --omit=dev, from the cache)"
cp package.json package-lock.json "$S/"
# RELEASE_NODE=22 (or 24): the native modules are compiled for that Node line, the servers' —
# its binary and headers from the npm registry (lib.sh lts_node) — instead of this machine's.
node_path="$PATH"
if [ -n "${RELEASE_NODE:-}" ]; then
  nbin="$(lts_node "$RELEASE_NODE")"
  node_path="$nbin:$PATH"
  export npm_config_nodedir="$nbin/.."
fi
say "release $VERSION: for Node $(PATH="$node_path" node --version)"
(cd "$S" && PATH="$node_path" npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error)
# Native modules (argon2): its install script loads the shipped Node-API prebuild and, when that
# fails (the linux-x64 prebuild crashes on some machines), compiles it here against this Node's
# headers, so the servers need no compiler and no headers. Build the release on the Node major
# and Debian release the servers run. Fail here, not on a server, when it cannot load.
(cd "$S" && PATH="$node_path" node -e 'require("argon2")') || die "release: argon2 does not load from the release's node_modules"
(cd "$S" && PATH="$node_path" node --input-type=module -e 'await import("janode")') || die "release: janode (unix-dgram) does not load from the release's node_modules"
rm -rf "$S/node_modules/.cache"

printf '%s\n' "$VERSION" > "$S/VERSION"
# /status and the admin page show package.json's version: the release's own.
node -e 'const f=process.argv[1],p=JSON.parse(require("fs").readFileSync(f,"utf8"));p.version=process.argv[2].replace(/^v/,"");require("fs").writeFileSync(f,JSON.stringify(p,null,2)+"\n")' "$S/package.json" "$VERSION"
(cd "$S" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
# The files at the archive's top (the role unpacks it into /opt/spreekkamer/releases/<version>).
tar -C "$S" -czf "$OUT/$NAME.tar.gz" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner .
(cd "$OUT" && sha256sum "$NAME.tar.gz" > "$NAME.tar.gz.sha256")
rm -rf "$S"
say "release: $OUT/$NAME.tar.gz ($(du -h "$OUT/$NAME.tar.gz" | cut -f1))"
echo "$OUT/$NAME.tar.gz"
