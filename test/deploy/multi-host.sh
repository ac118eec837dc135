# Sourced by scripts/test-deploy.sh (its variables and functions): the multi-server example
# inventory (deploy/ansible/inventories/multi-server: its own hosts, addresses and group_vars)
# converged for real, one Debian 12 root per server, each server in a network namespace of its
# own with the inventory's address:
#
#   internet namespace: the patient, 203.0.113.50 (her own firewall passes TURN and the
#        │               proxy's HTTPS only: her media must be relayed)
#   hospital firewall namespace (this test's router): 1:1 NAT 203.0.113.10 → edge1,
#        │   .21/.22 → media1/media2, .30 → turn1 (as the inventory maps them), a forward
#        │   filter that lets in from the internet only those; the staff network 10.99.0.0/24
#        │   (a clinician's PC, 10.99.0.5); the hospital's Debian mirror on 10.20.30.5
#   the servers' LAN 10.20.30.0/24 (a bridge): edge1 .10, app1 .11, app2 .12, media1 .21,
#        media2 .22, turn1 .30, data1 .40 — each its own namespace and root
#
# Ansible reaches each root with the chroot connection; the inventory's `ansible_host` (the
# address, which the group_vars use for listeners and firewalls) names a link to the root in
# the folder the playbook runs from, and `ansible_chroot_exe` is a wrapper that runs the chroot
# inside that server's namespace: every task, the migration against data1 over TLS included,
# runs on the server's own network. The servers have no route to any registry: Debian
# packages come from the hospital's mirror (the .debs the one-server converge downloaded,
# indexed with dpkg-scanpackages, served on the LAN), the release is the archive `make
# release` built, Node.js is copied in as for the one-server root.
#
# What differs from the example inventory (vars.yml below): the connection; the release
# archive; no systemd (nothing enabled or started by the roles; the test starts what the units
# run, in each server's namespace); self-signed certificates for nginx and coturn; the
# PostgreSQL certificate and CA files (a test CA, data1's certificate for 10.20.30.40); the TURN
# server by its address in the control planes' TURN_URLS (no DNS here).
#
# Then: a second converge changes nothing; each server's own converged nftables ruleset is
# loaded in its namespace; the services start as their units run them; both control planes
# are ready through edge1 (PostgreSQL over TLS verify-full, Redis with its password, both
# Janus servers); the database sees the control planes' connections encrypted; a consult with
# the patient outside the NAT and the clinician on a staff PC, media relayed by turn1 to a
# Janus's private address; then upgrade.yml to the second build (upgrade.sh made it) with
# `serial: 1` over app1 and app2 while that consult runs: one control plane at a time, each
# ready on the new release before the next restarts, the consult's media carrying on.

MH="$D/mh"; MP="spkm$$"; MINV="$A/inventories/multi-server"
LAN="$MP-lan"; NET="$MP-net"; STAFF_NS="$MP-staff"
mh_ns() { echo "$MP-$1"; }  # <address>: that server's namespace
mh_in() { local a="$1"; shift; ip netns exec "$(mh_ns "$a")" "$@"; }

mh_cleanup() {
  local ns
  [[ -d "$MH" ]] && touch "$MH/supervise.stop"
  [[ -x "$MH/roots/data1/usr/bin/pg_ctlcluster" ]] && chroot "$MH/roots/data1" pg_ctlcluster 15 main stop -m fast >/dev/null 2>&1 || true
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$MP-" || true); do
    { ip netns pids "$ns" 2>/dev/null || true; } | while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done
  done
  sleep 0.3
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$MP-" || true); do ip netns del "$ns" 2>/dev/null || true; done
  for m in "$MH"/roots/*/proc "$MH"/roots/*/dev/shm; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  return 0
}

# The servers and their addresses, as the inventory has them.
declare -A MH_ADDR=()
while read -r h a; do MH_ADDR[$h]="$a"; done < <(ansible-inventory -i "$MINV" --list 2>/dev/null \
  | python3 -c 'import json,sys; hv=json.load(sys.stdin)["_meta"]["hostvars"]; [print(h, hv[h]["ansible_host"]) for h in sorted(hv)]')
check "the inventory's seven servers" test "${#MH_ADDR[@]}" = 7
EDGE="${MH_ADDR[edge1.hospital.local]}"; APP1="${MH_ADDR[app1.hospital.local]}"; APP2="${MH_ADDR[app2.hospital.local]}"
MEDIA1="${MH_ADDR[media1.hospital.local]}"; MEDIA2="${MH_ADDR[media2.hospital.local]}"
TURN1="${MH_ADDR[turn1.hospital.local]}"; DATA1="${MH_ADDR[data1.hospital.local]}"
PUB_EDGE=203.0.113.10; PUB_MEDIA1=203.0.113.21; PUB_MEDIA2=203.0.113.22; PUB_TURN=203.0.113.30
PATIENT_ADDR=203.0.113.50; STAFF_PC=10.99.0.5; MIRROR=10.20.30.5


mh_play() {  # <log> <playbook> [ansible-playbook arguments…]: from the folder of the links
  local log="$1" book="$2"; shift 2
  (cd "$MH/hosts" && ansible-playbook -i "$MINV" "$book" -e "@$MH/vars.yml" -f 7 "$@") > "$MH/$log.log" 2>&1
}

mh_prepare() {  # the network, the mirror, the roots and both converges (prints ok/FAIL lines)
mh_cleanup
# MH_REUSE=1 (scripts/test-deploy.sh --multi-only, while changing this file): keep the roots
# the last run converged; only the network, the services and the checks again.
if [[ "${MH_REUSE:-0}" != 1 ]]; then rm -rf --one-file-system "$MH"; fi
mkdir -p "$MH/roots" "$MH/hosts" "$MH/mirror" "$MH/tls"
rm -f "$MH"/*.log "$MH"/supervise.stop
# The network.
ip netns add "$LAN"; ip -n "$LAN" link set lo up
ip -n "$LAN" link add br0 type bridge
ip -n "$LAN" addr add 10.20.30.1/24 dev br0; ip -n "$LAN" addr add "$MIRROR/24" dev br0; ip -n "$LAN" link set br0 up
i=0
for h in "${!MH_ADDR[@]}"; do
  a="${MH_ADDR[$h]}"; ns="$(mh_ns "$a")"; i=$((i + 1))
  ip netns add "$ns"; ip -n "$ns" link set lo up
  ip -n "$LAN" link add "h$i" type veth peer name eth0 netns "$ns"
  ip -n "$LAN" link set "h$i" master br0; ip -n "$LAN" link set "h$i" up
  ip -n "$ns" addr add "$a/24" dev eth0; ip -n "$ns" link set eth0 up; ip -n "$ns" route add default via 10.20.30.1
done
ip netns add "$STAFF_NS"; ip -n "$STAFF_NS" link set lo up
ip -n "$LAN" link add staff0 type veth peer name eth0 netns "$STAFF_NS"
ip -n "$LAN" addr add 10.99.0.1/24 dev staff0; ip -n "$LAN" link set staff0 up
ip -n "$STAFF_NS" addr add "$STAFF_PC/24" dev eth0; ip -n "$STAFF_NS" link set eth0 up; ip -n "$STAFF_NS" route add default via 10.99.0.1
ip netns add "$NET"; ip -n "$NET" link set lo up
ip -n "$LAN" link add pub0 type veth peer name eth0 netns "$NET"
ip -n "$LAN" addr add 203.0.113.1/24 dev pub0; ip -n "$LAN" link set pub0 up
# (her address alone, the router her one neighbour: every public address is the router's to
# answer for, as on the internet)
ip -n "$NET" addr add "$PATIENT_ADDR/32" dev eth0; ip -n "$NET" link set eth0 up
ip -n "$NET" route add 203.0.113.1/32 dev eth0; ip -n "$NET" route add default via 203.0.113.1 dev eth0
ip netns exec "$LAN" sysctl -qw net.ipv4.ip_forward=1
# The hospital's firewall: the inventory's 1:1 NAT and what the zoning table lets in.
ip netns exec "$LAN" nft -f - <<NFT
table ip hospital {
  map public_to_lan {
    type ipv4_addr : ipv4_addr
    elements = { $PUB_EDGE : $EDGE, $PUB_MEDIA1 : $MEDIA1, $PUB_MEDIA2 : $MEDIA2, $PUB_TURN : $TURN1 }
  }
  map lan_to_public {
    type ipv4_addr : ipv4_addr
    elements = { $EDGE : $PUB_EDGE, $MEDIA1 : $PUB_MEDIA1, $MEDIA2 : $PUB_MEDIA2, $TURN1 : $PUB_TURN }
  }
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "pub0" ip daddr @public_to_lan dnat to ip daddr map @public_to_lan
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "pub0" ip saddr @lan_to_public snat to ip saddr map @lan_to_public
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "pub0" ip daddr $EDGE tcp dport { 80, 443 } accept
    iifname "pub0" ip daddr { $MEDIA1, $MEDIA2 } udp dport 20000-40000 accept
    iifname "pub0" ip daddr $TURN1 udp dport { 3478, 49160-49999 } accept
    iifname "pub0" ip daddr $TURN1 tcp dport { 3478, 443 } accept
    iifname "pub0" drop
    accept
  }
}
NFT
# The patient's own network passes only HTTPS to the proxy and TURN, both ways: no direct
# media (without the input chain Janus's own connectivity checks open a direct path through
# the 1:1 NAT, which a first run of this test took).
ip netns exec "$NET" nft -f - <<NFT
table ip patient {
  chain out {
    type filter hook output priority filter; policy drop;
    oifname "lo" accept
    ip daddr $PUB_EDGE tcp dport 443 accept
    ip daddr $PUB_TURN udp dport 3478 accept
  }
  chain in {
    type filter hook input priority filter; policy drop;
    iifname "lo" accept
    ip saddr $PUB_EDGE tcp sport 443 ct state established accept
    ip saddr $PUB_TURN udp sport 3478 ct state established accept
  }
}
NFT

if [[ "${MH_REUSE:-0}" != 1 ]]; then
# The hospital's Debian mirror: every package the one-server converge downloaded.
cp "$R"/var/cache/apt/archives/*.deb "$MH/mirror/"
(cd "$MH/mirror" && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null \
  && printf 'Date: %s\nSHA256:\n %s %s Packages\n' "$(date -Ru)" "$(sha256sum Packages | cut -d' ' -f1)" "$(stat -c %s Packages)" > Release)
ip netns exec "$LAN" python3 -m http.server 80 --bind "$MIRROR" --directory "$MH/mirror" > "$MH/mirror.log" 2>&1 &
disown

# data1's certificate from a test CA (the hospital CA of the inventory's comments).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$MH/tls/ca.key" -out "$MH/tls/ca.crt" -days 2 -subj "/CN=Test hospital CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$MH/tls/data1.key" -out "$MH/tls/data1.csr" -subj "/CN=data1.hospital.local" 2>/dev/null
openssl x509 -req -in "$MH/tls/data1.csr" -CA "$MH/tls/ca.crt" -CAkey "$MH/tls/ca.key" -CAcreateserial -days 2 \
  -extfile <(printf 'subjectAltName=IP:%s,DNS:data1.hospital.local' "$DATA1") -out "$MH/tls/data1.crt" 2>/dev/null

# One fresh root per server (the debootstrap the one-server root started from), the mirror
# as its only source, no DNS.
for h in "${!MH_ADDR[@]}"; do
  a="${MH_ADDR[$h]}"; r="$MH/roots/${h%%.*}"
  cp -ax "$D/pristine" "$r"
  echo "deb [trusted=yes] http://$MIRROR ./" > "$r/etc/apt/sources.list"; rm -f "$r"/etc/apt/sources.list.d/*
  : > "$r/etc/resolv.conf"
  ln -s "$r" "$MH/hosts/$a"
done
fi
for r in "$MH"/roots/*; do mount -t proc proc "$r/proc"; mount -t tmpfs -o size=64m tmpfs "$r/dev/shm"; done
if [[ "${MH_REUSE:-0}" == 1 ]]; then  # (back to before the upgrade below)
  for r in "$MH"/roots/app*; do ln -sfn "/opt/spreekkamer/releases/$VERSION" "$r/opt/spreekkamer/current"; rm -rf "$r/opt/spreekkamer/releases/${V2:-none}"; done
fi
cat > "$MH/hosts/chroot-in-ns" <<SH
#!/bin/sh
# ansible_chroot_exe: <this> <root: a server's address, a link in this folder> <command…>
exec ip netns exec "$MP-\$(basename "\$1")" chroot "\$@"
SH
chmod +x "$MH/hosts/chroot-in-ns"
cat > "$MH/vars.yml" <<YML
ansible_connection: community.general.chroot
ansible_chroot_exe: $MH/hosts/chroot-in-ns
spreekkamer_release_archive: $REL
spreekkamer_release_version: $VERSION
spreekkamer_manage_services: false
spreekkamer_install_nodejs: false
spreekkamer_npm_install: false
spreekkamer_allow_self_signed: true
postgresql_tls_certificate: $MH/tls/data1.crt
postgresql_tls_key: $MH/tls/data1.key
spreekkamer_database_ca: $MH/tls/ca.crt
# TURN by its public address, not turn.example-hospital.nl: the test's networks have no DNS, and
# Chromium's WebRTC resolves TURN names itself (--host-resolver-rules does not reach it; a
# lookup fails with error 701).
spreekkamer_turn_urls: ["turn:$PUB_TURN:3478?transport=udp", "turns:$PUB_TURN:443?transport=tcp"]
YML
check "no route off the test's networks (the hospital firewall's namespace has none)" bash -c "! ip netns exec '$LAN' ip route get 1.1.1.1 >/dev/null 2>&1"

if [[ "${MH_REUSE:-0}" != 1 ]]; then
t0=$SECONDS
if mh_play first "$A/site.yml"; then
  ok "converge of the multi-server inventory on seven roots ($((SECONDS - t0)) s)"
else
  bad "converge of the multi-server inventory failed: see $MH/first.log"; tail -30 "$MH/first.log" >&2
fi
t0=$SECONDS
mh_play second "$A/site.yml" || true
RECAP="$(sed -n '/^PLAY RECAP/,$p' "$MH/second.log" | grep -c 'changed=0 .*failed=0' || true)"
if [[ "$RECAP" == 7 ]]; then ok "second run on all seven: changed=0 ($((SECONDS - t0)) s)"
else bad "second multi-server run changed something or failed:"; sed -n '/^PLAY RECAP/,$p' "$MH/second.log" >&2; grep -B1 '^changed' "$MH/second.log" | head -20 >&2 || true; fi
check "the servers installed their Debian packages from the hospital's mirror" grep -q 'GET /.*\.deb HTTP' "$MH/mirror.log"
fi
echo "  prepared"
}

# Sourced twice by scripts/test-deploy.sh: with MH_STAGE=prepare right after the one-server
# root's first converge (the seven roots are made and converged in the background while the
# one-server root is converged again and checked: the slow part; waited for before its
# upgrade, whose consult is timed), then again after that upgrade for the rest, in the
# background while the restore drill runs. Sourced once (--multi-only), it prepares inline.
if [[ "${MH_STAGE:-}" == prepare ]]; then
  say "deploy: the multi-server example inventory: seven roots converge in the background"
  mh_prepare > "$D/mh-prepare.out" 2>&1 &
  MH_PREP=$!
  MH_STAGE=
  return 0
fi
say "deploy: the multi-server example inventory on seven servers (namespaces, 1:1 NAT, no route to any registry)"
# (in the background and waited for, also inline: a failing step must stop it, and `set -e`
# does not act inside a function called as `f || true`)
[[ -n "${MH_PREP:-}" ]] || { mh_prepare > "$D/mh-prepare.out" 2>&1 & MH_PREP=$!; }
wait "$MH_PREP" || true; MH_PREP=

grep -v '^  prepared$' "$D/mh-prepare.out" || true
FAILS=$((FAILS + $(grep -c '^  FAIL' "$D/mh-prepare.out" || true)))
grep -qx '  prepared' "$D/mh-prepare.out" || bad "the multi-server preparation stopped early (see $D/mh-prepare.out)"

# ---- the servers running: each its converged firewall, each service as its unit runs it ----
mh_root() { echo "$MH/hosts/$1/"; }  # <address>
for h in "${!MH_ADDR[@]}"; do
  a="${MH_ADDR[$h]}"
  mh_in "$a" chroot "$(mh_root "$a")" nft -f /etc/nftables.conf || bad "$h: its converged ruleset did not load"
done
check "every server's own converged nftables ruleset loaded in its namespace" bash -c "for a in ${MH_ADDR[*]}; do ip netns exec $MP-\$a nft list ruleset | grep -q 'policy drop' || exit 1; done"
mh_chroot() { local a="$1"; shift; mh_in "$a" chroot "$(mh_root "$a")" "$@"; }
mh_chroot "$DATA1" pg_ctlcluster 15 main start 2>/dev/null || true  # (the converge left it running)
if [[ "${MH_REUSE:-0}" == 1 ]]; then
  chroot "$MH/roots/data1" runuser -u postgres -- psql -q -c "DROP TABLE IF EXISTS deploy_test_upgrade; DELETE FROM migrations WHERE name = 'DeployTestUpgrade1799000000000'" spreekkamer >/dev/null 2>&1 || true
fi
mh_chroot "$DATA1" redis-server /etc/redis/redis.conf --daemonize yes --pidfile /tmp/redis-test.pid --logfile /tmp/redis-test.log
for a in "$MEDIA1" "$MEDIA2"; do
  mh_chroot "$a" runuser -u janus -- janus --disable-colors --log-stdout -F /etc/janus/spreekkamer -C /etc/janus/spreekkamer/janus.jcfg > "$MH/janus-$a.log" 2>&1 &
  disown
done
mh_chroot "$TURN1" turnserver -c /etc/turnserver.conf --pidfile /tmp/turnserver-test.pid -o >/dev/null 2>&1 || bad "coturn on turn1 did not start"
mh_chroot "$EDGE" nginx || bad "nginx on edge1 did not start"
# The control planes and workers: systemd's part played as in upgrade.sh (supervise), so that
# upgrade.yml below restarts them when their `current` switches.
mh_node_pids() {  # <address> <command-line part>: node processes in that server's namespace
  local pid
  for pid in $(ip netns pids "$(mh_ns "$1")" 2>/dev/null); do
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == node ]] && grep -qa "$2" "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
  done
  return 0
}
mh_supervise() {  # <address> <unit> <its node's command line> [environment]
  local a="$1" unit="$2" match="$3" pre="${4:-}" r live n=0 pids pid
  r="$(mh_root "$a")"
  while [[ ! -e "$MH/supervise.stop" ]]; do
    live="$(readlink "$r/opt/spreekkamer/current")"; n=$((n + 1))
    mh_chroot "$a" runuser -u spreekkamer -- bash -c "set -a; . /etc/spreekkamer/spreekkamer.env; set +a; cd /opt/spreekkamer/current; $pre exec $(sed -n 's/^ExecStart=\(.\)/\1/p' "$r/etc/systemd/system/$unit")" >> "$MH/${unit%.service}-$a.log" 2>&1 &
    echo "start $n $(basename "$live") $(date +%s.%N)" >> "$MH/supervise-${unit%.service}-$a.log"
    while [[ ! -e "$MH/supervise.stop" && "$(readlink "$r/opt/spreekkamer/current")" == "$live" ]]; do sleep 0.3; done
    pids="$(mh_node_pids "$a" "$match")"
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 150); do
      pids="$(for pid in $pids; do if kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi; done)"
      [[ -n "$pids" ]] || break; sleep 0.2
    done
    for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
  done
}
rm -f "$MH/supervise.stop"
for a in "$APP1" "$APP2"; do
  mh_supervise "$a" spreekkamer.service control/src/main.js &
  mh_supervise "$a" spreekkamer-worker@.service control/src/cli.js "WORKER_METRICS_PORT=8091" &
done
staff_curl() { ip netns exec "$STAFF_NS" curl -sk --resolve "spreekkamer.hospital.local:8443:$EDGE" "$@"; }
ready_at() { mh_in "$EDGE" curl -sf "http://$1:8081/readyz" | grep -q '"ready":true'; }
for a in "$APP1" "$APP2"; do
  for _ in $(seq 1 180); do ready_at "$a" && break; sleep 1; done
  check "the control plane on $a ready (PostgreSQL on data1 over TLS, Redis with its password, media1 and media2), asked from edge1" ready_at "$a"
done
check "the staff PC reaches the internal site on edge1: /readyz ready" bash -c "ip netns exec $STAFF_NS curl -sk --resolve spreekkamer.hospital.local:8443:$EDGE https://spreekkamer.hospital.local:8443/readyz | grep -q '\"ready\":true'"
check "the patient, on the internet, reaches the public site at $PUB_EDGE (1:1 NAT)" bash -c "ip netns exec $NET curl -sk --resolve videoconsult.example-hospital.nl:443:$PUB_EDGE https://videoconsult.example-hospital.nl/livez | grep -q ."
check "the internet does not reach the internal site" bash -c "! ip netns exec $NET curl -sk -m 3 https://$PUB_EDGE:8443/livez"
check "app1's firewall: the staff PC cannot reach the control plane directly (only edge1)" bash -c "! ip netns exec $STAFF_NS curl -s -m 3 http://$APP1:8081/livez"
check "media1's firewall: app2 may use its Janus API, edge1 may not" bash -c "ip netns exec $(mh_ns "$APP2") bash -c 'echo > /dev/tcp/$MEDIA1/8188' && ! ip netns exec $(mh_ns "$EDGE") timeout 3 bash -c 'echo > /dev/tcp/$MEDIA1/8188'"
psql_d() { chroot "$(mh_root "$DATA1")" runuser -u postgres -- psql -tAc "$1" spreekkamer; }
check "data1: every control plane connection encrypted (pg_stat_ssl), from both app servers" test "$(psql_d "SELECT count(*) FILTER (WHERE NOT s.ssl) || '/' || count(DISTINCT a.client_addr) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'spreekkamer'")" = 0/2

# ---- a consult: the patient outside the NAT, the clinician on a staff PC ----
mspk() { mh_chroot "$APP1" /usr/local/bin/spreekkamer "$@"; }
mspk clinic create --code "multi-$$" --name "Multi" --helpdesk-phone "088 123 45 67" > "$MH/cli.log" 2>&1 || bad "spreekkamer clinic create on app1 (see $MH/cli.log)"
mspk staff create --email "multi-$$@test.invalid" --name "Dr. Multi" --role clinician --clinic "multi-$$" --password 'correct horse battery staple' >> "$MH/cli.log" 2>&1 || bad "spreekkamer staff create on app1"
MKEY="$(mspk api-key create --name "multi-$$" 2>>"$MH/cli.log" | tail -1 || true)"
read -r MID _ MLINK < <(staff_curl -H "authorization: Bearer $MKEY" -H 'content-type: application/json' https://spreekkamer.hospital.local:8443/api/v1/appointments \
  --data "{\"externalId\":\"multi-$$\",\"clinic\":\"multi-$$\",\"clinician\":\"multi-$$@test.invalid\",\"start\":\"$(date -u -d '+5 minutes' +%Y-%m-%dT%H:%M:%S+00:00)\",\"durationMinutes\":15,\"patient\":{\"name\":\"Test Patient\",\"birthDate\":\"1970-01-01\",\"phone\":\"0612345678\",\"language\":\"nl\"}}" \
  | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["id"], "-", a["patientLink"])' || true) || true
check "an appointment through edge1's internal site with the CLI's API key" test -n "${MLINK:-}"
rm -f "$MH/consult.stop"
DEPLOY_PATIENT_NETNS="$NET" DEPLOY_CLINICIAN_NETNS="$STAFF_NS" \
DEPLOY_PATIENT_HOSTS="videoconsult.example-hospital.nl=$PUB_EDGE" \
DEPLOY_CLINICIAN_HOSTS="spreekkamer.hospital.local=$EDGE" \
DEPLOY_PATIENT_PAIRS="relay $PUB_TURN,prflx $TURN1" DEPLOY_PATIENT_REMOTES="$MEDIA1,$MEDIA2" DEPLOY_NEW_CONNECTIONS_ALLOWED=1 \
  node --import tsx test/deploy/consult-media.ts "$MLINK" "$MID" "https://spreekkamer.hospital.local:8443" "multi-$$@test.invalid" 'correct horse battery staple' "$MH/consult.stop" > "$MH/consult.log" 2>&1 &
MCM_PID=$!
for _ in $(seq 1 240); do grep -q '^admitted' "$MH/consult.log" || ! kill -0 "$MCM_PID" 2>/dev/null && break; sleep 0.5; done
check "a consult: the patient on the internet, the clinician on a staff PC, media both ways" grep -q '^admitted' "$MH/consult.log"
grep -E '^(ok  |FAIL|pairs) ' "$MH/consult.log" | sed 's/^/  consult: /' || true

# ---- upgrade.yml over both control planes, one at a time, while the consult runs ----
if [[ -n "${REL2:-}" && -f "${REL2:-}" ]]; then
  # (the public site, asked by the patient's network every half second meanwhile)
  ( while [[ ! -e "$MH/consult.stop" ]]; do
      ip netns exec "$NET" curl -sk -m 2 -o /dev/null -w '%{http_code}\n' --resolve "videoconsult.example-hospital.nl:443:$PUB_EDGE" https://videoconsult.example-hospital.nl/livez >> "$MH/public-poll.log" 2>/dev/null || echo 000 >> "$MH/public-poll.log"
      sleep 0.5
    done ) &
  t0=$SECONDS
  if mh_play upgrade "$A/upgrade.yml" -e "spreekkamer_release_archive=$REL2" -e "spreekkamer_release_version=$V2" -e spreekkamer_upgrade_wait_ready=true; then
    ok "upgrade.yml on the multi-server inventory: done ($((SECONDS - t0)) s)"
  else bad "upgrade.yml on the multi-server inventory failed"; tail -30 "$MH/upgrade.log" >&2; fi
  check "…one dump on data1 before anything changed" grep -q 'TASK \[Take a dump now' "$MH/upgrade.log"
  check "…both control planes on the new release" bash -c "[ \$(basename \$(readlink '$(mh_root "$APP1")/opt/spreekkamer/current')) = $V2 ] && [ \$(basename \$(readlink '$(mh_root "$APP2")/opt/spreekkamer/current')) = $V2 ]"
  # serial: 1 — app1 was ready on the new release (the playbook's wait) before app2 switched.
  check "…one server at a time: app1 ready on $V2 before app2's release switched" python3 - "$MH/upgrade.log" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
def first(task, result, host):
    in_task = False
    for i, l in enumerate(lines):
        if l.startswith('TASK ['):
            in_task = task in l
        elif in_task and l.startswith(result + ': [' + host):
            return i
    return None
ready1 = first('Wait until this control plane runs the new release', 'ok', 'app1.hospital.local')
live2 = first('Make this release the live one', 'changed', 'app2.hospital.local')
sys.exit(0 if ready1 is not None and live2 is not None and ready1 < live2 else 1)
PY
  check "…each control plane and worker restarted once, on $V2" bash -c "for a in $APP1 $APP2; do for u in spreekkamer spreekkamer-worker@; do grep -q '^start 2 $V2 ' '$MH'/supervise-\$u-\$a.log || exit 1; done; done"
  check "…app1 restarted before app2" python3 -c 'import sys; t=lambda f:[float(l.split()[3]) for l in open(f) if l.startswith("start 2 ")][0]; sys.exit(0 if t(sys.argv[1]) < t(sys.argv[2]) else 1)' "$MH/supervise-spreekkamer-$APP1.log" "$MH/supervise-spreekkamer-$APP2.log"
  touch "$MH/consult.stop"
  sleep 1
  POLL="$(sort "$MH/public-poll.log" | uniq -c | tr -s ' ' | paste -sd, || true)"
  check "…the public site answered throughout (nginx used the other control plane): $POLL" bash -c "! grep -qv '^200$' '$MH/public-poll.log'"
else
  touch "$MH/consult.stop"
  bad "no second build to upgrade to (upgrade.sh makes it)"
fi
if wait "$MCM_PID"; then ok "the consult across the rolling upgrade (test/deploy/consult-media.ts)"; else bad "the consult across the rolling upgrade (see $MH/consult.log)"; fi
grep -E '^(ok  |FAIL|measured|when:|done|info) ' "$MH/consult.log" | sed 's/^/  consult: /' || true
check "…one admission, no drop (audit trail), ended by the clinician" test "$(psql_d "SELECT count(*) FILTER (WHERE action = 'admission') || '/' || count(*) FILTER (WHERE action = 'drop') FROM audit_event WHERE appointment_id = '$MID'")/$(psql_d "SELECT state FROM visit WHERE appointment_id = '$MID'")" = 1/0/ended
mh_cleanup
