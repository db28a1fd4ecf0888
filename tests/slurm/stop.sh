#!/usr/bin/env bash
# Stop the test cluster started by start.sh DIR: cancel its jobs, then stop exactly the daemons listed in
# DIR/pids (newest first; a PID is signalled only while its command is still the daemon that was started),
# then delete the database folder. Safe to run twice.
set -uo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$(cd "$1" 2>/dev/null && pwd) || exit 0
[[ -f "$DIR/.cliprobust-slurm-test" && -f "$DIR/pids" ]] || exit 0
if [[ -f "$DIR/env" ]]; then
  export SLURM_CONF="$DIR/etc/slurm.conf"
  if scontrol ping >/dev/null 2>&1; then
    scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 50); do [[ -z "$(squeue -h -o %i 2>/dev/null)" ]] && break; sleep 0.2; done
  fi
fi
ours() { [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"; }
tac "$DIR/pids" | while read -r pid name; do
  ours "$pid" "$name" || continue
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do ours "$pid" "$name" || break; sleep 0.2; done
  ours "$pid" "$name" && kill -KILL "$pid" 2>/dev/null
done
mv "$DIR/pids" "$DIR/pids.stopped"
rm -rf "$DIR/db"
echo "[slurm-test] cluster in $DIR stopped"
