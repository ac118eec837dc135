# Sourced by scripts/test-deploy.sh (its variables and functions): the shipped upgrade.yml, run
# on the converged root to a second build, and a rollback.
#  - the second build: this test's release plus one migration (a new table) and its own version,
#    checksummed like `make release` does;
#  - first run: the migration fails (its table is already there). The dump is taken before it,
#    `current` stays on the old release and the running control plane keeps serving it;
#  - the re-run (the cause removed): a new dump, taken before migrating (it lacks the new
#    table), the migration, `current` switched, the units restarted one after the other, and the
#    playbook's own wait (/status: the new version, ready) passes; a patient link made before
#    still opens through nginx;
#  - rollback: upgrade.yml with the first release again, which runs on the newer schema.
# No systemd here: `supervise` plays systemd's part for the two units (their ExecStart, as
# run_unit starts it) and restarts a unit, SIGTERM as `systemctl restart` sends it, when
# `current` points elsewhere — what the role's handler asks systemd for after the switch.
# A consult runs across the re-run's restart (test/deploy/consult-media.ts): the patient's
# page and the clinician's console in Chromium, through nginx, the control plane and Janus as
# deployed; both keep decoding and presenting frames (the longest gap is printed), the same
# peer connections carry on, the visit is neither dropped nor admitted again.

node_pids_of() {  # node processes in the namespace whose command line holds $1
  local pid
  for pid in $(in_ns_pids_of "$1"); do [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == node ]] && echo "$pid"; done
  return 0
}
stop_node() {  # SIGTERM (as systemd stops a unit), SIGKILL after 30 s
  local pids pid
  pids="$(node_pids_of "$1")"
  [[ -n "$pids" ]] || return 0
  local alive
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 150); do
    alive=""; for pid in $pids; do if kill -0 "$pid" 2>/dev/null; then alive+=" $pid"; fi; done
    [[ -n "$alive" ]] || return 0
    pids="$alive"; sleep 0.2
  done
  for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
}
supervise() {  # <unit> <its node's command line> [environment]
  local unit="$1" match="$2" pre="${3:-}" live n=0
  while [[ ! -e "$D/supervise.stop" ]]; do
    live="$(readlink "$R/opt/spreekkamer/current")"; n=$((n + 1))
    in_ns chroot "$R" runuser -u spreekkamer -- bash -c "set -a; . /etc/spreekkamer/spreekkamer.env; set +a; cd /opt/spreekkamer/current; $pre exec $(sed -n 's/^ExecStart=\(.\)/\1/p' "$R/etc/systemd/system/$unit")" >> "$D/${unit%.service}.upgrade.log" 2>&1 &
    echo "start $n $(basename "$live")" >> "$D/supervise-${unit%.service}.log"
    while [[ ! -e "$D/supervise.stop" && "$(readlink "$R/opt/spreekkamer/current")" == "$live" ]]; do sleep 0.3; done
    stop_node "$match"
  done
}
wait_long() {  # like wait_for, up to 3 minutes (a control plane took up to 63 s to start at load 30-60)
  local what="$1"; shift
  for _ in $(seq 1 180); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  bad "$what did not come up"; return 1
}
status_of() {  # the internal site's /status through nginx: "<version> <ready>"
  in_ns curl -sk https://10.78.0.1:8443/status 2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["version"], str(s["ready"]).lower())' 2>/dev/null || echo "none false"
}
link_opens() {  # <token> <visitState>: the patient page's first question, through the public site
  in_ns curl -sk -H "authorization: Bearer $1" https://10.78.0.1/api/patient/appointment \
    | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["state"]["visitState"] == sys.argv[1] else 1)' "$2"
}
upgrade() {  # <log> <archive> <version>: upgrade.yml as an operator runs it, from inside the namespace
  ip netns exec "$NS" ansible-playbook -i test/deploy/inventory.yml "$A/upgrade.yml" \
    -e "ansible_host=$R" -e "spreekkamer_release_archive=$2" -e "spreekkamer_release_version=$3" \
    -e spreekkamer_upgrade_wait_ready=true > "$D/$1.log" 2>&1
}
dumps() { ls "$R/var/backups/spreekkamer/" | grep '\.dump$' | sort || true; }
psql_r() { chroot "$R" runuser -u postgres -- psql -tAc "$1" spreekkamer; }

say "deploy: rolling upgrade (upgrade.yml) to a second build, a failed step re-run, rollback"
# The second build.
B2="$D/build2"; V1="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$R/opt/spreekkamer/releases/$VERSION/package.json")"
V2=0.0.0-deploy-test2; M2=DeployTestUpgrade1799000000000
rm -rf "$B2"; mkdir -p "$B2/tree"; tar -C "$B2/tree" -xzf "$REL"
# (a root left by an earlier run, --checks-only/--reconverge: back to before the upgrade)
rm -rf "$R/opt/spreekkamer/releases/$V2"
chroot "$R" runuser -u postgres -- psql -q -c "DROP TABLE IF EXISTS deploy_test_upgrade; DELETE FROM migrations WHERE name = '$M2'" spreekkamer >/dev/null 2>&1 || true
printf 'export class %s {\n  name = "%s";\n  async up(q) { await q.query("CREATE TABLE deploy_test_upgrade (id integer PRIMARY KEY)"); }\n  async down(q) { await q.query("DROP TABLE deploy_test_upgrade"); }\n}\n' "$M2" "$M2" \
  > "$B2/tree/control/src/db/migrations/1799000000000-deploy-test-upgrade.js"
python3 - "$B2/tree" "$M2" "$V2" <<'PY' || bad "the second build could not be made"
import json, re, sys
tree, cls, version = sys.argv[1:]
p = tree + '/control/src/db/migrations/index.js'
t = open(p).read()
t, n = re.subn(r'(\bmigrations = \[[^\]]*)\]', r'\1, ' + cls + ']', t)
assert n == 1, 'the list of migrations not found in index.js'
open(p, 'w').write('import { %s } from "./1799000000000-deploy-test-upgrade.js";\n' % cls + t)
pkg = json.load(open(tree + '/package.json')); pkg['version'] = version
open(tree + '/package.json', 'w').write(json.dumps(pkg, indent=2) + '\n')
open(tree + '/VERSION', 'w').write(version + '\n')
PY
(cd "$B2/tree" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
REL2="$B2/spreekkamer-$V2.tar.gz"
tar -C "$B2/tree" -czf "$REL2" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner .

# The units as systemd runs them (the control plane was killed above; the worker is replaced).
stop_node control/src/main.js; stop_node control/src/cli.js
rm -f "$D/supervise.stop" "$D"/supervise-*.log
supervise spreekkamer.service control/src/main.js &
SUP_CP=$!
supervise spreekkamer-worker@.service control/src/cli.js "WORKER_METRICS_PORT=8091" &
SUP_WK=$!
wait_long "the control plane before the upgrade" bash -c "[[ \"\$(ip netns exec $NS curl -sk https://10.78.0.1:8443/status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"ready\"])')\" == True ]]" || true

# A clinic, a clinician and an EHR's API key with the shipped CLI; appointments through nginx
# as the EHR makes one: in four days (its reminders ahead).
spk() { in_ns chroot "$R" /usr/local/bin/spreekkamer "$@"; }
spk clinic create --code "deploy-drill-$$" --name "Deploy drill" --helpdesk-phone "088 123 45 67" > "$D/drill-cli.log" 2>&1 || bad "spreekkamer clinic create (see $D/drill-cli.log)"
spk staff create --email "drill-$$@test.invalid" --name "Dr. Drill" --role clinician --clinic "deploy-drill-$$" --password 'correct horse battery staple' >> "$D/drill-cli.log" 2>&1 || bad "spreekkamer staff create (see $D/drill-cli.log)"
API_KEY="$(spk api-key create --name "deploy-drill-$$" 2>>"$D/drill-cli.log" | tail -1 || true)"
appointment() {  # <minutes from now>: prints "<id> <token> <patient link>"
  in_ns curl -sk -H "authorization: Bearer $API_KEY" -H 'content-type: application/json' https://10.78.0.1:8443/api/v1/appointments \
    --data "{\"externalId\":\"drill-$1-$$\",\"clinic\":\"deploy-drill-$$\",\"clinician\":\"drill-$$@test.invalid\",\"start\":\"$(date -u -d "+$1 minutes" +%Y-%m-%dT%H:%M:%S+00:00)\",\"durationMinutes\":15,\"patient\":{\"name\":\"Test Patient\",\"birthDate\":\"1970-01-01\",\"phone\":\"0612345678\",\"language\":\"nl\"}}" \
    | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["id"], a["patientLink"].rstrip("/").split("/")[-1], a["patientLink"])'
}
read -r AHEAD AHEAD_TOKEN _ < <(appointment $((4 * 24 * 60)) || true) || true
check "an appointment made through nginx with the CLI's API key" test -n "$AHEAD_TOKEN"
check "before the upgrade: /status says $V1, ready" test "$(status_of)" = "$V1 true"

# A consult that runs through the upgrade (test/deploy/consult-media.ts): an appointment in
# five minutes, the patient's page and the clinician's console in Chromium through nginx. It
# is admitted while the failing run below goes (that one restarts nothing) and must be in
# media before the re-run restarts the control plane.
read -r NOW_ID _ NOW_LINK < <(appointment 5 || true) || true
rm -f "$D/consult-media.stop"
CM_T0=$SECONDS
in_ns node --import tsx test/deploy/consult-media.ts "$NOW_LINK" "$NOW_ID" "https://spreekkamer.test.invalid:8443" "drill-$$@test.invalid" 'correct horse battery staple' "$D/consult-media.stop" > "$D/consult-media.log" 2>&1 &
CM_PID=$!

# 1. A failed step: the new migration cannot run (its table is already there).
psql_r "CREATE TABLE deploy_test_upgrade (blocker text)" >/dev/null || bad "the blocking table could not be made"
before="$(dumps)"
if upgrade upgrade-failed "$REL2" "$V2"; then bad "upgrade.yml with a failing migration succeeded"; else ok "upgrade.yml stops at the failing migration"; fi
check "…after a dump taken at its start" test "$(comm -13 <(echo "$before") <(dumps) | wc -l)" = 1
check "…in the migrate step" bash -c "grep -A4 'TASK \[spreekkamer : Migrate the database\]' '$D/upgrade-failed.log' | grep -q '^fatal:'"
check "…nothing of it applied (no migration row)" test "$(psql_r "SELECT count(*) FROM migrations WHERE name = '$M2'")" = 0
check "…current still the old release" test "$(basename "$(readlink "$R/opt/spreekkamer/current")")" = "$VERSION"
check "…the running control plane still serves it: /status says $V1, ready" test "$(status_of)" = "$V1 true"
check "…no restart (each unit started once)" bash -c "[ \$(cat '$D'/supervise-*.log | wc -l) = 2 ]"

# 2. The cause removed, the same command again.
psql_r "DROP TABLE deploy_test_upgrade" >/dev/null || bad "the blocking table could not be dropped"
for _ in $(seq 1 240); do grep -q '^admitted' "$D/consult-media.log" || ! kill -0 "$CM_PID" 2>/dev/null && break; sleep 0.5; done
check "a consult admitted through nginx before the upgrade: patient page and console in Chromium, media both ways ($((SECONDS - CM_T0)) s)" grep -q '^admitted' "$D/consult-media.log"
before="$(dumps)"
t0=$SECONDS
if upgrade upgrade "$REL2" "$V2"; then ok "upgrade.yml run again: done ($((SECONDS - t0)) s)"; else bad "upgrade.yml run again failed"; tail -30 "$D/upgrade.log" >&2; fi
NEWDUMP="$(comm -13 <(echo "$before") <(dumps))"
check "…a new dump, taken before migrating (the new table is not in it)" bash -c "[ -n '$NEWDUMP' ] && chroot '$R' pg_restore --list '/var/backups/spreekkamer/$NEWDUMP' > '$D/upgrade-dump.list' && grep -q 'TABLE public appointment ' '$D/upgrade-dump.list' && ! grep -q 'deploy_test_upgrade' '$D/upgrade-dump.list'"
check "…the migration ran (its row and its table)" test "$(psql_r "SELECT count(*) FROM migrations WHERE name = '$M2'")/$(psql_r "SELECT to_regclass('deploy_test_upgrade') IS NOT NULL")" = 1/t
check "…current is the new release" test "$(basename "$(readlink "$R/opt/spreekkamer/current")")" = "$V2"
# (its task's lines up to the next blank one: a slow start adds a line per retry)
check "…the playbook waited for the new release to be ready (/status)" bash -c "sed -n '/^TASK \[Wait until this control plane runs the new release/,/^\$/p' '$D/upgrade.log' | grep -q '^ok:'"
check "…each unit restarted once, on the new release" bash -c "grep -qx 'start 2 $V2' '$D/supervise-spreekkamer.log' && grep -qx 'start 2 $V2' '$D/supervise-spreekkamer-worker@.log'"
check "after the upgrade: /status through nginx says $V2, ready" test "$(status_of)" = "$V2 true"
check "…a patient link made before the upgrade opens" link_opens "$AHEAD_TOKEN" scheduled
check "…the worker runs the new release (its metrics)" wait_for "worker metrics" bash -c "ip netns exec $NS curl -sf http://127.0.0.1:8091/metrics | grep -q '^spreekkamer_'"
# The consult ran through the restart: its media, and its visit in the audit trail.
touch "$D/consult-media.stop"
if wait "$CM_PID"; then ok "the consult across the upgrade (test/deploy/consult-media.ts)"; else bad "the consult across the upgrade (see $D/consult-media.log)"; fi
grep -E '^(ok  |FAIL|measured|when:|done) ' "$D/consult-media.log" | sed 's/^/  consult: /' || true
check "…one admission, no drop (audit trail), ended by the clinician afterwards" test "$(psql_r "SELECT count(*) FILTER (WHERE action = 'admission') || '/' || count(*) FILTER (WHERE action = 'drop') FROM audit_event WHERE appointment_id = '$NOW_ID'")/$(psql_r "SELECT state FROM visit WHERE appointment_id = '$NOW_ID'")" = 1/0/ended
check "upgrade.yml again with the same release: changes only the dump" bash -c "ip netns exec $NS ansible-playbook -i test/deploy/inventory.yml '$A/upgrade.yml' -e ansible_host='$R' -e spreekkamer_release_archive='$REL2' -e spreekkamer_release_version=$V2 -e spreekkamer_upgrade_wait_ready=true > '$D/upgrade-again.log' 2>&1 && grep -A1 '^PLAY RECAP' '$D/upgrade-again.log' | grep -q 'changed=1 .*failed=0'"

# 3. Rollback: the previous release again; it runs on the newer schema (migrations only add).
if upgrade rollback "$REL" "$VERSION"; then ok "rollback with upgrade.yml to the first release"; else bad "rollback with upgrade.yml failed"; tail -30 "$D/rollback.log" >&2; fi
check "…current is the first release again" test "$(basename "$(readlink "$R/opt/spreekkamer/current")")" = "$VERSION"
check "…/status says $V1, ready (on the newer schema)" test "$(status_of)" = "$V1 true"
check "…the patient link still opens" link_opens "$AHEAD_TOKEN" scheduled
