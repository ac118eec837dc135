# Sourced by scripts/test-deploy.sh after test/deploy/upgrade.sh: the restore drill of
# docs/handbook/backup-restore.md with the shipped backup, onto a fresh root.
#  - on the converged root: a cancellation made while no worker runs (its message still queued),
#    the due times its Redis holds, then the backup script's dump and the secrets' copy, taken
#    off the server;
#  - a fresh Debian root (the same debootstrap, before any converge): the secrets put back from
#    spreekkamer-secrets.json, site.yml, the dump restored as the handbook says; its services in
#    a namespace of their own, its Redis empty;
#  - the patient links made on the old root open on the new one; nothing is planned until
#    `spreekkamer jobs reschedule` runs; then the reminders and the no-show check are due at the
#    old root's times and the cancellation message is queued; a second run changes nothing.
# test/restore-drill.test.ts proves the command's rules in detail (what is over, one hour ahead).
# Sourced twice by scripts/test-deploy.sh: with DRILL_STAGE=prepare before the upgrade (the
# fresh root is made and converged in the background meanwhile: the slow part), then again
# after it for the drill itself (sourced only once, it prepares inline).

NS2="$NS-r"; R2="$D/root2"
redis_due() {  # <namespace> <password> <job id>: when that job is due (ms), or "-"
  local key
  key="$(ip netns exec "$1" redis-cli -h 127.0.0.1 -a "$2" --no-auth-warning --scan --pattern "*:$3" 2>/dev/null | head -1)"
  [[ -n "$key" ]] || { echo -; return 0; }
  ip netns exec "$1" redis-cli -h 127.0.0.1 -a "$2" --no-auth-warning hmget "$key" timestamp delay opts \
    | python3 -c 'import json,sys; t,d,o=sys.stdin.read().split("\n")[:3]; print(int(t)+int(d or json.loads(o or "{}").get("delay",0)))'
}
drill_jobs() {  # <namespace> <password>: "<job> <due>" for the drill's appointments
  local j
  for j in "reminder-$AHEAD-3d" "reminder-$AHEAD-1d" "reminder-$AHEAD-15m" "noshow-$AHEAD" "cancellation-$CANCELLED2"; do
    echo "$j $(redis_due "$1" "$2" "$j")"
  done
}

drill_prepare() {  # the fresh root: debootstrap's result before any converge, the secrets back first
  [[ -d "$D/pristine/usr" ]] || { echo "no fresh root ($D/pristine is made by a run from nothing; --reconverge reuses a root without it)"; return 1; }
  local m t0=$SECONDS
  for m in "$R2/dev/shm" "$R2/proc"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  rm -rf --one-file-system "$R2"; cp -a "$D/pristine" "$R2"
  mkdir -p "$R2/proc" "$R2/dev/shm"; mount -t proc proc "$R2/proc"; mount -t tmpfs -o size=64m tmpfs "$R2/dev/shm"
  # (the packages the old root downloaded: the hospital's mirror, without fetching them twice)
  cp "$R"/var/cache/apt/archives/*.deb "$R2/var/cache/apt/archives/" 2>/dev/null || true
  install -d -m 0700 "$R2/etc/spreekkamer/secrets"; chmod 0755 "$R2/etc/spreekkamer"
  python3 -c 'import json,os,sys
os.umask(0o077)
for k, v in json.load(open(sys.argv[1])).items(): open(os.path.join(sys.argv[2], k), "w").write(v + "\n")' \
    "$R/var/backups/spreekkamer/spreekkamer-secrets.json" "$R2/etc/spreekkamer/secrets" || { echo "the secrets could not be put back"; return 1; }
  ansible-playbook -i test/deploy/inventory.yml "$A/site.yml" -e "ansible_host=$R2" \
    -e "spreekkamer_release_archive=$REL" -e "spreekkamer_release_version=$VERSION" > "$D/drill-converge.log" 2>&1 \
    || { echo "converging the fresh root failed; see $D/drill-converge.log"; return 1; }
  echo "$((SECONDS - t0))" > "$D/drill-converge.seconds"
}
if [[ "${DRILL_STAGE:-}" == prepare ]]; then
  say "deploy: restore drill: a fresh root converges in the background (the secrets put back first)"
  drill_prepare > "$D/drill-prepare.out" 2>&1 &
  DRILL_PREP=$!
  DRILL_STAGE=
  return 0
fi

say "deploy: restore drill (the shipped backup onto a fresh root)"
# The old root: the units stopped, the control plane alone again (no worker: the cancellation
# message below stays queued, as it would be on a server that died before sending it).
touch "$D/supervise.stop"; wait "$SUP_CP" "$SUP_WK" 2>/dev/null || true
run_unit spreekkamer.service
wait_long "the control plane" bash -c "ip netns exec $NS curl -skf https://10.78.0.1:8443/readyz" || true
read -r CANCELLED2 CANCELLED2_TOKEN _ < <(appointment $((3 * 24 * 60)) || true) || true
check "a cancellation while no worker runs" test "$(in_ns curl -sk -o /dev/null -w '%{http_code}' -X DELETE -H "authorization: Bearer $API_KEY" "https://10.78.0.1:8443/api/v1/appointments/$CANCELLED2")" = 200
OLD_JOBS="$(drill_jobs "$NS" "$REDIS_PW")"
check "the old root's Redis holds the reminders, the no-show check and the cancellation" bash -c "! grep -q ' -\$' <<<'$OLD_JOBS'"
# The backup, taken off the server (what the backup agent copies).
mkdir -p "$D/drill"
DRILL_DUMP="$(chroot "$R" /usr/local/sbin/spreekkamer-backup 2>>"$D/backup.log" || true)"
check "the backup script's dump and the secrets' copy" bash -c "[ -n '$DRILL_DUMP' ] && cp '$R$DRILL_DUMP' '$R/var/backups/spreekkamer/spreekkamer-secrets.json' '$D/drill/'"
stop_node control/src/main.js

DRILL_RC=0
if [[ -n "${DRILL_PREP:-}" ]]; then wait "$DRILL_PREP" || DRILL_RC=$?; else drill_prepare > "$D/drill-prepare.out" 2>&1 || DRILL_RC=$?; fi
if (( DRILL_RC != 0 )); then
  bad "the fresh root for the restore drill: $(tail -1 "$D/drill-prepare.out")"; tail -30 "$D/drill-converge.log" >&2 || true
else
  ok "the fresh root converged with the secrets put back ($(cat "$D/drill-converge.seconds") s)"
  check "…its secret_key is the restored one (not a new one)" cmp -s "$SECRETS/secret_key" "$R2/etc/spreekkamer/secrets/secret_key"
  # The restore, as docs/handbook/backup-restore.md says (no unit runs yet on the new root).
  { cp "$D/drill/$(basename "$DRILL_DUMP")" "$R2/var/backups/spreekkamer/" \
    && chown --reference="$R2/var/backups/spreekkamer" "$R2/var/backups/spreekkamer/$(basename "$DRILL_DUMP")"; } || bad "the dump could not be put on the new root"
  pg2() { chroot "$R2" runuser -u postgres -- "$@"; }
  if pg2 dropdb spreekkamer && pg2 createdb --owner=spreekkamer spreekkamer \
      && pg2 pg_restore --dbname=spreekkamer --no-owner --role=spreekkamer "/var/backups/spreekkamer/$(basename "$DRILL_DUMP")" 2> "$D/drill-restore.log"; then
    ok "the dump restored (dropdb, createdb, pg_restore as the handbook says)"
  else
    bad "restoring the dump failed"; tail -10 "$D/drill-restore.log" >&2
  fi

  # The new root's services in a namespace of their own (the same addresses), Redis empty.
  ip netns add "$NS2"; ip -n "$NS2" link set lo up
  ip -n "$NS2" link add v0 type veth peer name v1
  ip -n "$NS2" addr add 10.78.0.1/24 dev v0; ip -n "$NS2" addr add 10.78.0.2/24 dev v1
  ip -n "$NS2" link set v0 up; ip -n "$NS2" link set v1 up
  in2() { ip netns exec "$NS2" "$@"; }
  REDIS_PW2="$(cat "$R2/etc/spreekkamer/secrets/redis_password")"
  in2 chroot "$R2" redis-server /etc/redis/redis.conf --daemonize yes --pidfile /tmp/redis-test.pid --logfile /tmp/redis-test.log || bad "Redis on the new root did not start"
  in2 chroot "$R2" runuser -u janus -- janus --disable-colors --log-stdout -F /etc/janus/spreekkamer -C /etc/janus/spreekkamer/janus.jcfg > "$D/drill-janus.log" 2>&1 &
  disown
  in2 chroot "$R2" nginx || bad "nginx on the new root did not start"
  in2 chroot "$R2" runuser -u spreekkamer -- bash -c "set -a; . /etc/spreekkamer/spreekkamer.env; set +a; cd /opt/spreekkamer/current; exec $(sed -n 's/^ExecStart=\(.\)/\1/p' "$R2/etc/systemd/system/spreekkamer.service")" > "$D/drill-spreekkamer.log" 2>&1 &
  disown
  if wait_long "the restored control plane" bash -c "ip netns exec $NS2 curl -skf https://10.78.0.1:8443/readyz"; then
    open2() { in2 curl -sk -H "authorization: Bearer $1" https://10.78.0.1/api/patient/appointment | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["state"]["visitState"] == sys.argv[1] else 1)' "$2"; }
    check "restored: the link made before the upgrade opens (scheduled)" open2 "$AHEAD_TOKEN" scheduled
    check "restored: the cancelled appointment's link opens and says so" open2 "$CANCELLED2_TOKEN" cancelled
    check "restored: a made-up link does not open (404)" test "$(in2 curl -sk -o /dev/null -w '%{http_code}' -H 'authorization: Bearer AbCdEfGhIjKlMnOpQrStUv' https://10.78.0.1/api/patient/appointment)" = 404
    check "restored: nothing planned in the new Redis before the command" test "$(drill_jobs "$NS2" "$REDIS_PW2" | grep -c ' -$')" = 5
    RESCHEDULE="$(in2 chroot "$R2" /usr/local/bin/spreekkamer jobs reschedule 2>&1 || true)"
    echo "  ($RESCHEDULE)"
    check "spreekkamer jobs reschedule: 1 appointment ahead, 1 cancellation (counts only)" grep -q 'of 1 appointment(s) still ahead, 1 cancellation message(s) not yet sent' <<<"$RESCHEDULE"
    NEW_JOBS="$(drill_jobs "$NS2" "$REDIS_PW2")"
    # (the cancellation message is due at once on either root: only that it is queued counts)
    while read -r job due; do
      got="$(awk -v j="$job" '$1 == j {print $2}' <<<"$NEW_JOBS")"; what="${job/-$AHEAD/}"; what="${what/-$CANCELLED2/}"
      if [[ "$what" == cancellation ]]; then
        check "restored: the cancellation message queued again" test "$got" != -
      elif [[ "$got" =~ ^[0-9]+$ && "$due" =~ ^[0-9]+$ ]] && (( got - due < 60000 && due - got < 60000 )); then
        ok "restored: $what planned again, due at the old root's time (±$(( (got > due ? got - due : due - got) / 1000 )) s)"
      else bad "restored: $what is due at ${got:-?} (the old root: $due)"; fi
    done <<<"$OLD_JOBS"
    in2 chroot "$R2" /usr/local/bin/spreekkamer jobs reschedule > /dev/null 2>&1 || bad "jobs reschedule, second run"
    check "jobs reschedule again: nothing changes" test "$(drill_jobs "$NS2" "$REDIS_PW2")" = "$NEW_JOBS"
  else
    tail -20 "$D/drill-spreekkamer.log" >&2
  fi
  # The new root's services stopped (the firewall checks follow).
  { ip netns pids "$NS2" 2>/dev/null || true; } | while read -r pid; do kill "$pid" 2>/dev/null || true; done
  chroot "$R2" pg_ctlcluster 15 main stop -m fast >/dev/null 2>&1 || true
fi
