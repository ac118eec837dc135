#!/usr/bin/env bash
# make test-deploy (part of make test): the Ansible deployment, for real.
#  1. ansible-lint (production profile) and --syntax-check of both example inventories;
#  2. debootstrap a fresh Debian 12 root under .run/deploy, converge site.yml against it with
#     the chroot connection, then converge again: the second run must change nothing;
#  3. check what was rendered: nginx -t, promtool check config, the Janus config (no demo room,
#     no janusoverlord/adminpwd, only videoroom+echotest+websockets, equal to what
#     scripts/janus-config.mjs renders); Janus, Redis and nginx started from the chroot in a
#     network namespace of our own: Janus refuses the Admin API without its secret, Redis
#     answers only with the password, the public site answers 404 for staff/API/metrics paths
#     and serves the patient pages; the backup script writes a dump pg_restore can read;
#  4. upgrade.yml to a second build (test/deploy/upgrade.sh) with a consult in Chromium
#     running across the control plane's restart (test/deploy/consult-media.ts), a rollback,
#     and the restore drill onto a fresh root (test/deploy/restore.sh).
# Nothing is cached outside .run/deploy; every step fails loudly.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# (DEB_PACKAGES, always ensured, bring chromium: the consult across the upgrade runs in it.)
ensure_installed "${TEST_PACKAGES[@]}" curl
START=$SECONDS
ARG1="${1:-}"; D="$RUN/deploy"; R="$D/root"; NS="spk-deploy-$$"; A="$ROOT/deploy/ansible"
export ANSIBLE_CONFIG="$A/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
FAILS=0
ok()   { printf '  ok   %s\n' "$*"; }
bad()  { printf '  FAIL %s\n' "$*" >&2; FAILS=$((FAILS + 1)); }
check() { local what="$1"; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }

unmount_root() {
  for m in "$R/dev/shm" "$R/proc" "$D/root2/dev/shm" "$D/root2/proc"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  return 0
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ "${1:-}" == --multi-only ]]; then mh_cleanup; exit $rc; fi
  if ip netns list 2>/dev/null | grep -qw "$NS"; then
    ip netns pids "$NS" 2>/dev/null | while read -r pid; do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    ip netns pids "$NS" 2>/dev/null | while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
  fi
  # (the upgrade's stand-ins for systemd stop when they see this)
  [[ -d "$D" ]] && touch "$D/supervise.stop"
  for ns in "$NS-srv" "$NS-cli" "$NS-r"; do
    { ip netns pids "$ns" 2>/dev/null || true; } | while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  for root in "$R" "$D/root2"; do
    if [[ -x "$root/usr/bin/pg_ctlcluster" ]]; then chroot "$root" pg_ctlcluster 15 main stop -m fast >/dev/null 2>&1 || true; fi
  done
  if declare -F mh_cleanup >/dev/null; then mh_cleanup; fi
  unmount_root
  exit $rc
}
trap 'cleanup "${ARG1:-}"' EXIT INT TERM

# --checks-only: skip lint, debootstrap and converge; check the root the last run left.
# --reconverge: keep the root the last run left (no debootstrap), converge it twice, check
# (quick while changing roles; the real test starts from nothing).
REUSE=0; [[ "${1:-}" == --reconverge ]] && REUSE=1
# --multi-only: only the multi-server inventory (test/deploy/multi-host.sh), from the mirror,
# release and second build the last full run left.
if [[ "${1:-}" == --multi-only ]]; then
  REL="$(ls "$D"/release/spreekkamer-*.tar.gz 2>/dev/null | head -1 || true)"
  [[ -n "$REL" && -d "$D/pristine/usr" ]] || die "--multi-only needs what a full run leaves under $D"
  VERSION="t$(sha256sum "$REL" | cut -c1-12)"; V2=0.0.0-deploy-test2; REL2="$D/build2/spreekkamer-$V2.tar.gz"
  source test/deploy/multi-host.sh
  say "deploy test (multi-server only): $FAILS failure(s), $((SECONDS - START)) s"
  (( FAILS == 0 )) || exit 1
  exit 0
fi
if [[ "${1:-}" == --checks-only ]]; then
  [[ -x "$R/usr/sbin/nginx" ]] || die "--checks-only needs the root of an earlier run ($R)"
  unmount_root; mount -t proc proc "$R/proc"; mount -t tmpfs -o size=64m tmpfs "$R/dev/shm"
  chroot "$R" pg_ctlcluster 15 main start 2>/dev/null || true
  # The release the last run installed (the upgrade and the restore drill need its archive).
  REL="$(ls "$D"/release/spreekkamer-*.tar.gz 2>/dev/null | head -1 || true)"
  [[ -n "$REL" ]] && VERSION="t$(sha256sum "$REL" | cut -c1-12)"
else
say "deploy: ansible-lint (production profile) and syntax checks"
(cd "$A" && ansible-lint --nocolor --profile production -q) || die "ansible-lint found problems"
for inv in one-server multi-server; do
  (cd "$A" && ansible-playbook -i "inventories/$inv" site.yml --syntax-check >/dev/null) || die "syntax check failed ($inv)"
done
ok "ansible-lint clean, syntax of both inventories"

if (( REUSE )) && [[ -x "$R/usr/bin/python3" ]]; then
  say "deploy: reusing the root of the last run ($R)"
  unmount_root; mount -t proc proc "$R/proc"; mount -t tmpfs -o size=64m tmpfs "$R/dev/shm"
else
say "deploy: a fresh Debian 12 root with debootstrap"
unmount_root
rm -rf --one-file-system "$D"; mkdir -p "$D"
# The mirror the machine's own apt uses.
MIRROR="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
[[ -n "$MIRROR" ]] || MIRROR="$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
[[ -n "$MIRROR" ]] || MIRROR=http://deb.debian.org/debian
debootstrap --variant=minbase --include=python3 bookworm "$R" "$MIRROR" > "$D/debootstrap.log" 2>&1 \
  || { tail -20 "$D/debootstrap.log"; die "debootstrap failed"; }
mount -t proc proc "$R/proc"
mkdir -p "$R/dev/shm" && mount -t tmpfs -o size=64m tmpfs "$R/dev/shm"
# Packages must not start their services inside the chroot (they would run on this machine).
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$R/etc/resolv.conf"
# Node.js 20 (Debian 12 ships 18, NodeSource is not reachable here): this machine's binary.
cp "$(command -v node)" "$R/usr/bin/node"
# The restore drill's fresh root (test/deploy/restore.sh) starts from this same state.
cp -ax "$R" "$D/pristine"
ok "debootstrap ($((SECONDS - START)) s so far)"
fi

say "deploy: the release archive (make release: compiled JavaScript, production node_modules)"
REL="$(VERSION=0.0.0-deploy-test RELEASE_DIR="$D/release" scripts/release.sh 2>"$D/release.log" | tail -1)" \
  || { tail -20 "$D/release.log" >&2; die "make release failed; see $D/release.log"; }
VERSION="t$(sha256sum "$REL" | cut -c1-12)"

converge() {
  ansible-playbook -i test/deploy/inventory.yml "$A/site.yml" \
    -e "ansible_host=$R" -e "spreekkamer_release_archive=$REL" -e "spreekkamer_release_version=$VERSION" \
    > "$D/$1.log" 2>&1 || { tail -40 "$D/$1.log"; die "converge ($1) failed; see $D/$1.log"; }
  grep -A1 '^PLAY RECAP' "$D/$1.log" | tail -1
}
say "deploy: converge (first run)"
converge first
# The multi-server inventory's seven roots converge in the background from here on, from the
# packages the first run fetched (test/deploy/multi-host.sh; waited for before the upgrade,
# whose consult is timed).
if [[ -d "$D/pristine/usr" ]]; then MH_STAGE=prepare source test/deploy/multi-host.sh; fi
say "deploy: converge again (must change nothing)"
RECAP="$(converge second)"
echo "$RECAP"
if [[ "$RECAP" =~ changed=0[[:space:]] && "$RECAP" =~ failed=0[[:space:]] ]]; then ok "second run: changed=0"
else bad "second run changed something:"; grep -E '^changed:|^TASK' "$D/second.log" | grep -B1 '^changed' >&2 || true; fi
say "deploy: converge done after $((SECONDS - START)) s"
fi

say "deploy: rendered configuration"
J="$R/etc/janus/spreekkamer"
check "promtool check config" chroot "$R" promtool check config /etc/prometheus/prometheus.yml
if [[ -f monitoring/alerts.yml ]]; then check "alert rules installed" test -s "$R/etc/prometheus/rules/spreekkamer-alerts.yml"; fi
check "no janusoverlord in the Janus config" bash -c "! grep -rq janusoverlord '$J'"
check "no adminpwd in the Janus config" bash -c "! grep -rq adminpwd '$J'"
check "no demo room in the VideoRoom config" bash -c "! grep -Eq '^[[:space:]]*room-[0-9]+' '$J/janus.plugin.videoroom.jcfg'"
check "plugins: only videoroom and echotest" test "$(ls "$J/enabled/plugins" | sort | tr '\n' ' ')" = "libjanus_echotest.so libjanus_videoroom.so "
check "transports: only websockets" test "$(ls "$J/enabled/transports" | tr '\n' ' ')" = "libjanus_websockets.so "
check "event handlers: only sampleevh (to the control plane)" test "$(ls "$J/enabled/events" | tr "\n" " ")" = "libjanus_sampleevh.so "
check "Janus loads plugins from the allow-list only" grep -q "plugins_folder = \"/etc/janus/spreekkamer/enabled/plugins\"" "$J/janus.jcfg"
check "only shipped configs in the Janus folder" test "$(cd "$J" && ls *.jcfg | sort)" = "$(cd deploy/janus && ls *.jcfg.in | sed 's/\.in$//' | sort)"
check "the Janus config is root:janus 0640" test "$(chroot "$R" stat -c '%U:%G %a' /etc/janus/spreekkamer/janus.jcfg)" = "root:janus 640"
UNITS=(janus.service spreekkamer.service spreekkamer-worker@1.service spreekkamer-backup.service spreekkamer-backup.timer coturn.service)
check "systemd units and drop-ins verify without a warning" test -z "$(systemd-analyze --root="$R" verify "${UNITS[@]}" 2>&1)"
check "Janus sandbox: user janus, ProtectSystem=strict, ProtectHome, PrivateTmp, NoNewPrivileges" bash -c "o='$R/etc/systemd/system/janus.service.d/spreekkamer.conf'; for k in User=janus ProtectSystem=strict ProtectHome=true PrivateTmp=true NoNewPrivileges=true ReadWritePaths=; do grep -qx \"\$k\" \"\$o\" || exit 1; done"
check "Janus sandbox: systemd rates its exposure below 4 (of 10)" systemd-analyze security --offline=true --root="$R" --threshold=40 janus.service
# The role and scripts/janus-config.mjs render the same deploy/janus files identically.
SECRETS="$R/etc/spreekkamer/secrets"
mkdir -p "$D/janus-script"
node -e 'const [d]=process.argv.slice(1);const r=(n)=>require("fs").readFileSync(d+"/"+n,"utf8").trim();
  require("fs").writeFileSync(process.argv[2]+"/secrets.json",JSON.stringify({apiSecret:r("janus_api_secret"),adminSecret:r("janus_admin_secret"),adminKey:r("janus_admin_key"),eventsUser:"janus",eventsPassword:r("janus_events_password")}))' \
  "$SECRETS" "$D/janus-script"
# The role sizes event_loops by the target's cores: the script is given the number it wrote.
node scripts/janus-config.mjs --out "$D/janus-script" --event-loops "$(sed -n 's/^\tevent_loops = \([0-9]*\)$/\1/p' "$J/janus.jcfg")" >/dev/null
same=1
for f in "$D"/janus-script/*.jcfg; do
  sed "s#$D/janus-script#/etc/janus/spreekkamer#g" "$f" | cmp -s - "$J/$(basename "$f")" || { same=0; diff <(sed "s#$D/janus-script#/etc/janus/spreekkamer#g" "$f") "$J/$(basename "$f")" | grep -v secret | head -10 >&2 || true; }
done
if (( same )); then ok "the role renders deploy/janus exactly as scripts/janus-config.mjs"; else bad "the role and scripts/janus-config.mjs render deploy/janus differently"; fi
check "TURN: shared secret, UDP 3478, TLS 443" bash -c "grep -q '^use-auth-secret' '$R/etc/turnserver.conf' && grep -q '^listening-port=3478' '$R/etc/turnserver.conf' && grep -q '^tls-listening-port=443' '$R/etc/turnserver.conf'"
check "the control plane gets the same TURN secret" bash -c "grep -qx \"TURN_SECRET=\\\"\$(cat '$SECRETS/turn_secret')\\\"\" '$R/etc/spreekkamer/spreekkamer.env' && grep -qx \"static-auth-secret=\$(cat '$SECRETS/turn_secret')\" '$R/etc/turnserver.conf'"

# The env file: sh (the migrate step, the CLI) reads what the inventory wrote, byte for byte,
# for the example inventory's MAIL_FROM and for a value full of shell characters. (systemd
# reads the same double-quoted form alike — systemd.exec(5); not run here: no systemd.)
ENVF="$R/etc/spreekkamer/spreekkamer.env"
sh_reads() { sh -c 'set -a; . "$1"; set +a; printf %s "$(printenv "$2")"' sh "$ENVF" "$1"; }
EXAMPLE_FROM="$(python3 -c 'import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))["spreekkamer_env"]["MAIL_FROM"], end="")' "$A/inventories/one-server/group_vars/all.yml")"
check "env file: sh reads the example inventory's MAIL_FROM unchanged" test "$(sh_reads MAIL_FROM)" = "$EXAMPLE_FROM"
PROBE="$(python3 -c 'import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))["all"]["vars"]["spreekkamer_env"]["SPK_QUOTING_PROBE"], end="")' test/deploy/inventory.yml)"
check "env file: sh reads quotes, \$, backquotes, backslashes unchanged" test "$(sh_reads SPK_QUOTING_PROBE)" = "$PROBE"
check "env file: every line NAME=\"value\" (quote, backslash, backquote, dollar escaped): read alike by systemd and sh" python3 -c 'import re,sys; sys.exit(0 if all(re.fullmatch(r"#.*|[A-Z][A-Z0-9_]*=\"(?:[^\"\\$`]|\\[\"\\$`])*\"", l) for l in open(sys.argv[1]).read().splitlines()) else 1)' "$ENVF"
check "the migrate step ran from the release, before it went live" grep -q 'TASK \[spreekkamer : Migrate the database\]' "$D/first.log"
check "the release's checksums were checked on the server" grep -q "TASK \\[spreekkamer : Check the release's checksums" "$D/first.log"
check "the units run the compiled JavaScript (no TypeScript loader)" bash -c "grep -qx 'ExecStart=/usr/bin/node control/src/main.js' '$R/etc/systemd/system/spreekkamer.service' && grep -qx 'ExecStart=/usr/bin/node control/src/cli.js worker' '$R/etc/systemd/system/spreekkamer-worker@.service'"
check "the release holds no TypeScript sources and no dev dependencies" bash -c "[ ! -e '$R/opt/spreekkamer/current/control/src/main.ts' ] && [ ! -e '$R/opt/spreekkamer/current/node_modules/typescript' ] && [ ! -e '$R/opt/spreekkamer/current/node_modules/vitest' ]"
check "the spreekkamer command on the PATH (spreekkamer help)" chroot "$R" /usr/local/bin/spreekkamer help

# Alertmanager as the role configured it.
check "amtool check-config (Alertmanager's configuration)" chroot "$R" amtool check-config /etc/prometheus/alertmanager.yml
check "promtool check rules (the installed alert rules)" chroot "$R" promtool check rules /etc/prometheus/rules/spreekkamer-alerts.yml
check "Prometheus scrapes the jobs the alerts name" bash -c "for j in spreekkamer-control spreekkamer-worker node alertmanager; do grep -q \"job_name: \$j\$\" '$R/etc/prometheus/prometheus.yml' || exit 1; done"

say "deploy: services started from the chroot in network namespace $NS"
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip link add v0 type veth peer name v1
ip netns exec "$NS" ip addr add 10.78.0.1/24 dev v0
ip netns exec "$NS" ip addr add 10.78.0.2/24 dev v1
ip netns exec "$NS" ip link set v0 up; ip netns exec "$NS" ip link set v1 up
in_ns() { ip netns exec "$NS" "$@"; }
wait_for() { local what="$1"; shift; for _ in $(seq 1 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; bad "$what did not come up"; return 1; }

# Redis, as configured.
in_ns chroot "$R" redis-server /etc/redis/redis.conf --daemonize yes --pidfile /tmp/redis-test.pid --logfile /tmp/redis-test.log
REDIS_PW="$(cat "$SECRETS/redis_password")"
if wait_for "Redis" bash -c "ip netns exec $NS redis-cli -h 127.0.0.1 ping 2>&1 | grep -q NOAUTH"; then
  check "Redis refuses a command without the password" bash -c "ip netns exec $NS redis-cli -h 127.0.0.1 ping 2>&1 | grep -q NOAUTH"
  check "Redis answers with the password" bash -c "ip netns exec $NS redis-cli -h 127.0.0.1 -a '$REDIS_PW' --no-auth-warning ping | grep -qx PONG"
  check "Redis: AOF on, noeviction" bash -c "ip netns exec $NS redis-cli -h 127.0.0.1 -a '$REDIS_PW' --no-auth-warning config get appendonly | grep -qx yes && ip netns exec $NS redis-cli -h 127.0.0.1 -a '$REDIS_PW' --no-auth-warning config get maxmemory-policy | grep -qx noeviction"
  check "Redis not on the namespace's other address" bash -c "! ip netns exec $NS redis-cli -h 10.78.0.1 ping"
fi

# Janus as user janus with the rendered configuration.
in_ns chroot "$R" runuser -u janus -- janus --disable-colors --log-stdout -F /etc/janus/spreekkamer -C /etc/janus/spreekkamer/janus.jcfg > "$D/janus.log" 2>&1 &
disown
if wait_for "Janus" bash -c "ip netns exec $NS bash -c 'echo > /dev/tcp/127.0.0.1/7188'"; then
  check "Janus Admin API: refused without the secret, answered with it" in_ns node test/deploy/janus-admin.mjs ws://127.0.0.1:7188 "$(cat "$SECRETS/janus_admin_secret")"
  check "Janus loaded exactly videoroom, echotest, websockets" bash -c "grep -q 'Loading plugin .libjanus_videoroom.so' '$D/janus.log' && grep -q 'Loading plugin .libjanus_echotest.so' '$D/janus.log' && grep -q 'Loading transport plugin .libjanus_websockets.so' '$D/janus.log' && [ \$(grep -c 'Loading plugin\|Loading transport plugin' '$D/janus.log') = 3 ]"
  check "Janus API not on the namespace's other address" bash -c "! ip netns exec $NS bash -c 'echo > /dev/tcp/10.78.0.1/8188'"
fi

# coturn as configured (UDP 3478, TLS 443 on its own address).
in_ns chroot "$R" turnserver -c /etc/turnserver.conf --pidfile /tmp/turnserver-test.pid -o >/dev/null 2>&1 || bad "coturn did not start"
if wait_for "coturn" bash -c "ip netns exec $NS ss -Huln 'sport = :3478' | grep -q 10.78.0.2"; then
  check "coturn: TURN over TLS on 10.78.0.2:443" bash -c "ip netns exec $NS ss -Htln 'sport = :443' | grep -q 10.78.0.2"
  # A real allocation with the control plane's kind of credentials: a permission to Janus is
  # granted, to anything else refused (403 Forbidden IP).
  TURN_PEERS="$(in_ns node test/deploy/turn-permission.mjs 10.78.0.2 3478 "$(cat "$SECRETS/turn_secret")" 10.78.0.1 10.78.0.2 127.0.0.1 100.64.0.1 198.18.0.1 192.0.2.7 8.8.8.8 2>&1 || true)"
  check "TURN: an allocation may reach Janus (10.78.0.1)" grep -qx '10.78.0.1 200' <<<"$TURN_PEERS"
  for peer in 10.78.0.2 127.0.0.1 100.64.0.1 198.18.0.1 192.0.2.7 8.8.8.8; do
    check "TURN: an allocation may not reach $peer (403)" grep -qx "$peer 403" <<<"$TURN_PEERS"
  done
  check "TURN: no TCP relay, IPv6 peers denied" bash -c "grep -qx no-tcp-relay '$R/etc/turnserver.conf' && grep -qx 'denied-peer-ip=::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' '$R/etc/turnserver.conf'"
fi

# nginx as configured, in front of a stand-in for the control plane's two listeners.
in_ns node test/deploy/stand-in.mjs > "$D/stand-in.log" 2>&1 &
disown
wait_for "the stand-in upstream" in_ns curl -sf http://127.0.0.1:8080/x
# (nginx -t binds the configured addresses, so it runs in the namespace too.)
check "nginx -t" in_ns chroot "$R" nginx -t
in_ns chroot "$R" nginx
if wait_for "nginx" in_ns curl -sk -o /dev/null https://10.78.0.1/; then
  status() { in_ns curl -sk -o /dev/null -w '%{http_code}' "$@"; }
  for path in /staff/ /staff/login /staff/ws /api/v1/appointments /metrics /readyz /; do
    check "public site: 404 for $path" test "$(status "https://10.78.0.1$path")" = 404
  done
  check "public site: 404 for /staff/ even with the internal Host" test "$(status -H 'Host: spreekkamer.test.invalid' https://10.78.0.1/staff/)" = 404
  check "public site: serves the patient page" bash -c "ip netns exec $NS curl -sk https://10.78.0.1/p/AbCdEfGhIjKlMnOpQrStUv | grep -qx 'stand-in public /p/AbCdEfGhIjKlMnOpQrStUv'"
  check "public site: patient API, assets, /livez pass" bash -c "for p in /api/patient/appointment /assets/patient.js /livez; do ip netns exec $NS curl -skf https://10.78.0.1\$p | grep -q 'stand-in public' || exit 1; done"
  check "public site: HSTS and CSP on a 404" bash -c "ip netns exec $NS curl -skI https://10.78.0.1/metrics | grep -qi '^strict-transport-security: max-age' && ip netns exec $NS curl -skI https://10.78.0.1/metrics | grep -qi \"^content-security-policy: default-src 'self'\""
  check "public site: port 80 redirects to https" test "$(status http://10.78.0.1/p/x)" = 301
  check "public site: large bodies refused (413)" test "$(head -c 200000 /dev/zero | ip netns exec "$NS" curl -sk -o /dev/null -w '%{http_code}' --data-binary @- https://10.78.0.1/api/patient/appointment)" = 413
  check "internal site: /metrics and /staff/ reach the internal listener" bash -c "ip netns exec $NS curl -sk https://10.78.0.1:8443/metrics | grep -q 'stand-in internal /metrics' && ip netns exec $NS curl -sk https://10.78.0.1:8443/staff/ | grep -q 'stand-in internal'"
  # The TLS profile (NCSC "good"), on a real handshake with each listener.
  tls() { in_ns openssl s_client -connect "$1" -servername video.test.invalid "${@:2}" </dev/null >/dev/null 2>&1; }
  for site in 10.78.0.1:443 10.78.0.1:8443; do
    check "TLS $site: TLS 1.1 refused" bash -c "! ip netns exec $NS openssl s_client -connect $site -tls1_1 </dev/null >/dev/null 2>&1"
    check "TLS $site: TLS 1.2 with RSA key exchange/CBC (AES128-SHA) refused" bash -c "! ip netns exec $NS openssl s_client -connect $site -tls1_2 -cipher AES128-SHA </dev/null >/dev/null 2>&1"
    check "TLS $site: TLS 1.2 with ECDHE-RSA-AES128-GCM-SHA256 accepted" tls "$site" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
    check "TLS $site: TLS 1.3 accepted" tls "$site" -tls1_3
  done
  check "TLS: the server's cipher order, only ECDHE with AES-GCM or ChaCha20-Poly1305 for 1.2" python3 -c 'import re,sys; t=open(sys.argv[1]).read(); c=re.search(r"^ssl_ciphers (.*);$", t, re.M).group(1).split(":"); sys.exit(0 if "ssl_prefer_server_ciphers on;" in t and all(re.fullmatch(r"ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)", x) for x in c) else 1)' "$R/etc/nginx/snippets/spreekkamer-tls.conf"
  # (150 requests in parallel from one curl: on a busy machine one after another may stay under
  # the rate)
  check "public site: rate limit answers 429" bash -c "ip netns exec $NS curl -sk --parallel --parallel-max 100 -o /dev/null -w '%{http_code}\n' 'https://10.78.0.1/p/x?n=[1-150]' 2>/dev/null | grep -q '^429\$'"
fi

# The real control plane and a worker, as their systemd units would run them (user, env file,
# working directory), behind the same nginx: the secrets and addresses the roles wrote fit
# together (readiness: PostgreSQL, Redis with its password, Janus with its secret).
in_ns_pids_of() { ip netns pids "$NS" | while read -r pid; do grep -qa "$1" "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"; done; }
for pid in $(in_ns_pids_of stand-in.mjs); do kill "$pid"; done
wait_for "the stand-in to stop" bash -c "! ip netns exec $NS curl -s http://127.0.0.1:8080/"
run_unit() {  # the ExecStart of a unit, as the unit runs it
  local unit="$1" exec; exec="$(sed -n 's/^ExecStart=\(.\)/\1/p' "$R/etc/systemd/system/$unit")"
  in_ns chroot "$R" runuser -u spreekkamer -- bash -c "set -a; . /etc/spreekkamer/spreekkamer.env; set +a; cd /opt/spreekkamer/current; ${2:-} exec $exec" > "$D/${unit%.service}.log" 2>&1 &
  disown
}
run_unit spreekkamer.service
run_unit spreekkamer-worker@.service "WORKER_METRICS_PORT=8091"

if wait_for "the control plane" bash -c "ip netns exec $NS curl -skf https://10.78.0.1:8443/readyz"; then
  check "internal site: /readyz says ready (PostgreSQL, Redis, Janus)" bash -c "ip netns exec $NS curl -sk https://10.78.0.1:8443/readyz | grep -q '\"ready\":true'"
  # The page carries its script and style inline, admitted by their hash in the control plane's
  # CSP, which nginx must pass through (its own fixed policy would block them). A few tries: the
  # rate-limit check just above may still hold this address back for a moment.
  check "public site: the real patient page, its inline script admitted by hash through nginx" bash -c "for i in 1 2 3 4 5 6; do out=\$(ip netns exec $NS curl -sk -D - https://10.78.0.1/p/AbCdEfGhIjKlMnOpQrStUv); if grep -q 'data-testid=\"screen\"' <<<\"\$out\" && grep -qi \"^content-security-policy: .*script-src 'self' 'sha256-\" <<<\"\$out\"; then exit 0; fi; sleep 1; done; exit 1"
  # The rest of the patient's code (camera, consult, device test) comes as a second script the
  # page names with its content hash: nginx must serve it from the public site as JavaScript.
  check "public site: the patient page's second script (patient-later.js) through nginx" bash -c "src=\$(ip netns exec $NS curl -sk https://10.78.0.1/p/AbCdEfGhIjKlMnOpQrStUv | grep -o '/assets/patient-later.js[^\\\"]*' | head -1); [ -n \"\$src\" ] && ip netns exec $NS curl -sk -o /dev/null -w '%{http_code} %{content_type}' \"https://10.78.0.1\$src\" | grep -q '^200 .*javascript'"
  check "public site: the patient app's script" bash -c "ip netns exec $NS curl -skf https://10.78.0.1/assets/patient.js | head -c 2000 | grep -q ."
  check "public site: /staff/ is nginx's own 404 (never proxied)" bash -c "ip netns exec $NS curl -sk https://10.78.0.1/staff/ | grep -q '<center>nginx</center>'"
  check "internal site: the staff page" bash -c "ip netns exec $NS curl -skf https://10.78.0.1:8443/staff/ | grep -qi '<html'"
  check "internal site: the control plane's metrics" bash -c "ip netns exec $NS curl -skf https://10.78.0.1:8443/metrics | grep -q '^spreekkamer_'"
  check "the worker's metrics (port of worker 1)" wait_for "worker metrics" bash -c "ip netns exec $NS curl -sf http://127.0.0.1:8091/metrics | grep -q '^spreekkamer_'"
  # Prometheus and Alertmanager as their Debian units run them (user prometheus, $ARGS from
  # /etc/default), and the hospital's mail relay (a test SMTP server); started only now, with
  # the control plane up, so that no alert fires before the kill.
  in_ns node test/deploy/smtp-sink.mjs > "$D/smtp.log" 2>&1 &
  disown
  # Alertmanager's notification log of an earlier run would hold back the same alert as sent.
  rm -f "$R/var/lib/prometheus/alertmanager/nflog" "$R/var/lib/prometheus/alertmanager/silences"
  for svc in prometheus prometheus-alertmanager; do
    args="$(sed -n 's/^ARGS="\(.*\)"$/\1/p' "$R/etc/default/$svc")"
    in_ns chroot "$R" runuser -u prometheus -- bash -c "exec /usr/bin/$svc $args" > "$D/$svc.log" 2>&1 &
    disown
  done
  # Kill the control plane (as a crash would): an e-mail from Alertmanager reaches the relay.
  scraped=0  # (up to 2 minutes: Prometheus starts slowly on a busy machine)
  for _ in $(seq 1 120); do
    in_ns curl -sf 'http://127.0.0.1:9090/api/v1/query?query=up%7Bjob%3D%22spreekkamer-control%22%7D' 2>/dev/null | grep -q '"value":\[[0-9.]*,"1"\]' && { scraped=1; break; }
    sleep 1
  done
  check "Prometheus (from the root) scrapes the control plane as up" test "$scraped" = 1
  if (( scraped )); then
    t0=$SECONDS; before="$(wc -l < "$D/smtp.log")"
    check "no alert e-mail before the kill" bash -c "! grep -q 'Subject: \[FIRING:[0-9]*\] SpreekkamerControlPlane' '$D/smtp.log'"
    for pid in $(in_ns_pids_of control/src/main.js); do kill -9 "$pid"; done
    for _ in $(seq 1 240); do tail -n "+$((before + 1))" "$D/smtp.log" | grep -q 'Subject: \[FIRING:[0-9]*\] SpreekkamerControlPlane' && break; sleep 1; done
    check "a killed control plane: Alertmanager's e-mail at the relay ($((SECONDS - t0)) s after the kill)" bash -c "tail -n +$((before + 1)) '$D/smtp.log' | grep -q 'Subject: \[FIRING:[0-9]*\] SpreekkamerControlPlane'"
    check "the alert e-mail goes to monitoring_alert_email_to" grep -q '^--- mail to it-oncall@test.invalid' "$D/smtp.log"
  fi
else
  tail -20 "$D/spreekkamer.log" >&2
fi

say "deploy: database, migrations and backup"
check "migrations ran (the migrations table exists)" bash -c "chroot '$R' runuser -u postgres -- psql -tAc \"select count(*) from migrations\" spreekkamer | grep -Eq '^[1-9]'"
DUMP="$(chroot "$R" /usr/local/sbin/spreekkamer-backup 2>"$D/backup.log" || true)"
check "the backup script writes a dump pg_restore can read" bash -c "[ -n '$DUMP' ] && chroot '$R' pg_restore --list '$DUMP' | grep -q 'TABLE public migrations'"

say "deploy: production settings refused"
role_alone() { ANSIBLE_ROLES_PATH="$A/roles" ansible-playbook -i test/deploy/inventory.yml test/deploy/role-only.yml -e "ansible_host=$R" -e "spk_role=$1" "${@:2}" 2>&1 || true; }
check "a production run without certificates stops (nginx)" grep -q 'For a test install only' <<<"$(role_alone nginx -e '{"spreekkamer_allow_self_signed": false}')"
check "a production run without certificates stops (coturn)" grep -q 'For a test install only' <<<"$(role_alone coturn -e '{"spreekkamer_allow_self_signed": false}')"

say "deploy: secrets"
check "every task a secret passes has no_log (test/deploy/secrets-logged.py)" python3 test/deploy/secrets-logged.py "$A/roles"
SECRETS_COPY="$R/var/backups/spreekkamer/spreekkamer-secrets.json"
check "the secrets are kept with the backups (root, 0600, the same secret_key)" bash -c "[ \"\$(stat -c '%U %a' '$SECRETS_COPY')\" = 'root 600' ] && python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))[\"secret_key\"] == open(sys.argv[2]).read().strip() else 1)' '$SECRETS_COPY' '$SECRETS/secret_key'"
# A lost secret_key while the database holds an appointment: the run stops, no new key.
chroot "$R" runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 spreekkamer >/dev/null <<'SQL'
WITH c AS (INSERT INTO clinic (code, name) VALUES ('deploy-test', 'Deploy test') RETURNING id),
     s AS (INSERT INTO staff (email, name, role) VALUES ('deploy-test@test.invalid', 'Deploy test', 'clinician') RETURNING id)
INSERT INTO appointment (clinic_id, clinician_id, start, duration_minutes, patient_name, patient_birth_date)
SELECT c.id, s.id, now() + interval '1 day', 15, 'Test', '1970-01-01' FROM c, s;
SQL
mv "$SECRETS/secret_key" "$D/secret_key.kept"
KEY_RUN="$(ANSIBLE_ROLES_PATH="$A/roles" ansible-playbook -i test/deploy/inventory.yml test/deploy/secrets-only.yml -e "ansible_host=$R" 2>&1 || true)"
check "a lost secret_key with appointments in the database: the run stops" grep -q 'a new key would break every patient link' <<<"$KEY_RUN"
check "…and no new secret_key was made" test ! -e "$SECRETS/secret_key"
mv "$D/secret_key.kept" "$SECRETS/secret_key"
chroot "$R" runuser -u postgres -- psql -q -c "DELETE FROM appointment; DELETE FROM staff WHERE email = 'deploy-test@test.invalid'; DELETE FROM clinic WHERE code = 'deploy-test'" spreekkamer >/dev/null

if [[ -n "${MH_PREP:-}" ]]; then
  say "deploy: waiting for the multi-server converge (background, started after the one-server converge)"
  wait "$MH_PREP" || true
fi
if [[ -n "${REL:-}" ]]; then
  DRILL_STAGE=prepare source test/deploy/restore.sh  # (the fresh root converges meanwhile)
  source test/deploy/upgrade.sh
  # The multi-server servers, their consult and their rolling upgrade, in the background while
  # the restore drill and the firewall probes run (their output is shown at the end).
  if [[ -d "$D/pristine/usr" ]]; then
    ( FAILS=0; source test/deploy/multi-host.sh; echo "multi-host failures: $FAILS" ) > "$D/mh-run.out" 2>&1 &
    MH_RUN=$!
  fi
  source test/deploy/restore.sh
fi

say "deploy: the host firewall and NAT of the multi-server inventory"
# What the roles write on each server of inventories/multi-server (rendered here, not installed).
M="$D/multi"; rm -rf "$M"
ANSIBLE_ROLES_PATH="$A/roles" ansible-playbook -i "$A/inventories/multi-server" test/deploy/render-multi.yml -e "out=$M" > "$D/render-multi.log" 2>&1 \
  || { tail -20 "$D/render-multi.log" >&2; bad "rendering the multi-server inventory's configuration"; }
check "nft -c: the converged server's ruleset" chroot "$R" nft -c -f /etc/nftables.conf
for f in "$M"/*/nftables.conf; do
  check "nft -c: the ruleset of $(basename "$(dirname "$f")")" nft -c -f "$f"
done
# Janus and coturn behind the documented 1:1 NAT: both addresses, no hairpin (defect 3).
JM="$M/media1.hospital.local"
check "Janus behind 1:1 NAT: nat_1_1_mapping public and keep_private_host" bash -c "grep -qx \$'\\tnat_1_1_mapping = \"203.0.113.21\"' '$JM/janus.jcfg' && grep -qx \$'\\tkeep_private_host = true' '$JM/janus.jcfg'"
# (test/turn-nat.test.ts runs Janus and coturn with these lines behind a real 1:1 NAT, with media.)
check "coturn behind 1:1 NAT: relay-ip private, external-ip public (not public/private)" bash -c "grep -qx 'relay-ip=10.20.30.30' '$M/turn1.hospital.local/turnserver.conf' && grep -qx 'external-ip=203.0.113.30' '$M/turn1.hospital.local/turnserver.conf'"
check "PostgreSQL across servers: ssl on, TLS 1.2 at least" bash -c "grep -qx 'ssl = on' '$M/data1.hospital.local/postgresql.conf' && grep -qx \"ssl_min_protocol_version = 'TLSv1.2'\" '$M/data1.hospital.local/postgresql.conf'"
check "the control planes connect with sslmode=verify-full against the hospital CA" grep -qx 'postgres://spreekkamer:s@10.20.30.40:5432/spreekkamer?sslmode=verify-full&sslrootcert=/etc/spreekkamer/database-ca.crt' "$M/app1.hospital.local/database_url"
check "Janus Admin API on loopback only, also on a media server of its own" bash -c "grep -qx \$'\\tadmin_ws_ip = \"127.0.0.1\"' '$JM/janus.transport.websockets.jcfg' && grep -qx \$'\\tadmin_ws_acl = \"127.\"' '$JM/janus.transport.websockets.jcfg'"

# Each server's ruleset loaded in a network namespace with that server's address; a second
# namespace holds the other servers', a stranger's and the internet's addresses and probes.
fw_ns_up() {  # <server address> <client addresses...>
  local srv="$1" ns a; shift
  for ns in "$NS-srv" "$NS-cli"; do ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; ip -n "$ns" link set lo up; done
  ip -n "$NS-srv" link add s0 type veth peer name c0 netns "$NS-cli"
  ip -n "$NS-srv" addr add "$srv/32" dev s0; ip -n "$NS-srv" link set s0 up; ip -n "$NS-srv" route add default dev s0
  for a in "$@"; do [[ -z "$a" || "$a" == "$srv" ]] || ip -n "$NS-cli" addr add "$a/32" dev c0; done
  ip -n "$NS-cli" link set c0 up; ip -n "$NS-cli" route add "$srv/32" dev c0
}
fw_ns_down() {
  local ns
  for ns in "$NS-srv" "$NS-cli"; do
    { ip netns pids "$ns" 2>/dev/null || true; } | while read -r pid; do kill "$pid" 2>/dev/null || true; done
  done
  sleep 0.3
  for ns in "$NS-srv" "$NS-cli"; do ip netns del "$ns" 2>/dev/null || true; done
}
INTERNET=203.0.113.50; STRANGER=10.20.30.110; STAFF=10.99.0.5
CLIENTS=(10.20.30.10 10.20.30.11 10.20.30.12 10.20.30.21 10.20.30.30 10.20.30.40 "$STRANGER" "$STAFF" "$INTERNET")
fw_probe() {  # <server name> <server address>; stdin: lines "<source> <proto:port> open|closed"
  local name="$1" srv="$2" specs rules src spec want got; rules="$(cat)"
  specs="$(awk '{print $2}' <<<"$rules" | sort -u | paste -sd,)"
  fw_ns_up "$srv" "${CLIENTS[@]}"
  if ! ip netns exec "$NS-srv" nft -f "$M/$name/nftables.conf"; then bad "$name: the ruleset did not load"; fw_ns_down; return 0; fi
  ip netns exec "$NS-srv" python3 test/deploy/fw-probe.py serve "$specs" > "$D/fw-serve.log" 2>&1 &
  if wait_for "the probe listener ($name)" grep -q ready "$D/fw-serve.log"; then
    # (one probe process per source: process start-up is slow on a busy machine)
    local results="" s
    for s in $(awk '{print $1}' <<<"$rules" | sort -u); do
      results+="$(ip netns exec "$NS-cli" python3 test/deploy/fw-probe.py probe "$s" "$srv" $(awk -v s="$s" '$1 == s {print $2}' <<<"$rules") | sed "s/^/$s /")"$'\n'
    done
    while read -r src spec want; do
      got="$(awk -v s="$src" -v p="$spec" '$1 == s && $2 == p {print $3}' <<<"$results")"
      if [[ "$got" == "$want" ]]; then ok "firewall $name: $spec from $src $want"; else bad "firewall $name: $spec from $src is ${got:-?} (want $want)"; fi
    done <<<"$rules"
  fi
  fw_ns_down
}
fw_probe edge1.hospital.local 10.20.30.10 <<RULES
$INTERNET tcp:443 open
$INTERNET tcp:80 open
$INTERNET tcp:8443 closed
$STAFF tcp:8443 open
$INTERNET tcp:9100 closed
10.20.30.40 tcp:9100 open
10.20.30.11 tcp:9100 closed
$INTERNET tcp:22 closed
$STAFF tcp:22 open
$INTERNET tcp:8080 closed
RULES
fw_probe media1.hospital.local 10.20.30.21 <<RULES
10.20.30.11 tcp:8188 open
10.20.30.12 tcp:8188 open
$STRANGER tcp:8188 closed
10.20.30.10 tcp:8188 closed
$INTERNET tcp:8188 closed
10.20.30.11 tcp:7188 closed
$INTERNET udp:20000 open
$INTERNET udp:39999 open
10.20.30.30 udp:30000 open
$INTERNET udp:40001 closed
$INTERNET tcp:9100 closed
RULES
fw_probe app1.hospital.local 10.20.30.11 <<RULES
10.20.30.10 tcp:8080 open
10.20.30.10 tcp:8081 open
$STRANGER tcp:8080 closed
$STRANGER tcp:8081 closed
$INTERNET tcp:8080 closed
10.20.30.21 tcp:8081 open
10.20.30.21 tcp:8080 closed
10.20.30.40 tcp:8081 open
10.20.30.40 tcp:8091 open
10.20.30.10 tcp:8091 closed
RULES
fw_probe data1.hospital.local 10.20.30.40 <<RULES
10.20.30.11 tcp:5432 open
10.20.30.12 tcp:6379 open
$STRANGER tcp:5432 closed
$STRANGER tcp:6379 closed
10.20.30.21 tcp:5432 closed
10.20.30.10 tcp:6379 closed
$INTERNET tcp:5432 closed
RULES
fw_probe turn1.hospital.local 10.20.30.30 <<RULES
$INTERNET udp:3478 open
$INTERNET tcp:3478 open
$INTERNET tcp:443 open
$INTERNET udp:49160 open
$INTERNET tcp:8188 closed
$INTERNET tcp:5432 closed
RULES

# Defect 5: Janus's ws_acl matches by substring (strstr), so media1's "10.20.30.11" also
# admits 10.20.30.110. The real Janus with media1's rendered transport: without the firewall
# the ACL alone decides; with media1's ruleset only the control planes get in.
JD="$R/tmp/janus-media1"; rm -rf "$JD"; cp -a "$J" "$JD"
cp "$JM/janus.transport.websockets.jcfg" "$JD/janus.transport.websockets.jcfg"
chroot "$R" chown root:janus /tmp/janus-media1/janus.transport.websockets.jcfg
chmod 0640 "$JD/janus.transport.websockets.jcfg"
fw_ns_up 10.20.30.21 "${CLIENTS[@]}"
ip netns exec "$NS-srv" chroot "$R" runuser -u janus -- janus --disable-colors --log-stdout -F /tmp/janus-media1 -C /tmp/janus-media1/janus.jcfg > "$D/janus-media1.log" 2>&1 &
if wait_for "Janus on 10.20.30.21" ip netns exec "$NS-cli" bash -c 'echo > /dev/tcp/10.20.30.21/8188'; then
  ACL="$(ip netns exec "$NS-cli" node test/deploy/janus-acl.mjs ws://10.20.30.21:8188 10.20.30.11 "$STRANGER" 10.20.30.10 2>&1)"
  check "Janus's ACL alone: the control plane 10.20.30.11 admitted" grep -qx '10.20.30.11 admitted' <<<"$ACL"
  check "Janus's ACL alone: 10.20.30.10 refused" grep -qx '10.20.30.10 refused' <<<"$ACL"
  echo "  (Janus's ACL alone: $(grep "^$STRANGER " <<<"$ACL" || echo "$STRANGER ?") — a substring match)"
  ip netns exec "$NS-srv" nft -f "$M/media1.hospital.local/nftables.conf"
  ACL="$(ip netns exec "$NS-cli" node test/deploy/janus-acl.mjs ws://10.20.30.21:8188 10.20.30.11 10.20.30.12 "$STRANGER" 10.20.30.10 "$INTERNET" 2>&1)"
  check "Janus API with media1's firewall: 10.20.30.11 and .12 admitted" bash -c "grep -qx '10.20.30.11 admitted' <<<'$ACL' && grep -qx '10.20.30.12 admitted' <<<'$ACL'"
  for a in "$STRANGER" 10.20.30.10 "$INTERNET"; do
    check "Janus API with media1's firewall: $a refused" grep -qx "$a refused" <<<"$ACL"
  done
  check "Janus Admin API not on 10.20.30.21 at all" bash -c "! ip netns exec $NS-srv bash -c 'echo > /dev/tcp/10.20.30.21/7188'"
fi
fw_ns_down

if [[ -n "${MH_RUN:-}" ]]; then
  wait "$MH_RUN" || true
  grep -v '^multi-host failures: ' "$D/mh-run.out" || true
  n="$(sed -n 's/^multi-host failures: \([0-9]*\)$/\1/p' "$D/mh-run.out")"
  if [[ -n "$n" ]]; then FAILS=$((FAILS + n)); else bad "the multi-server part stopped early (see $D/mh-run.out)"; fi
fi

say "deploy test: $FAILS failure(s), $((SECONDS - START)) s"
(( FAILS == 0 )) || exit 1
