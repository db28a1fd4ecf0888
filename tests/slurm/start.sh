#!/usr/bin/env bash
# Start a throwaway one-node Slurm cluster for the tests: munged, MariaDB, slurmdbd, slurmctld, slurmd,
# with every config, socket, database, state file and log under DIR (ports are free ones picked here).
#
#   tests/slurm/start.sh DIR       # waits until the node is idle in sinfo; then:
#   export SLURM_CONF=DIR/etc/slurm.conf   # (also written to DIR/env) sbatch, squeue, sacct use this cluster
#   tests/slurm/stop.sh DIR        # stops exactly the daemons listed in DIR/pids
#
# Needs the Debian packages slurm-wlm, slurmdbd, munge, mariadb-server (nothing is installed here) and
# root (slurmd runs the jobs). Nothing outside DIR is written; no system service is touched.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
USER_NAME=$(id -un)
HOST=$(hostname -s)
CPUS=${CLIPROBUST_SLURM_CPUS:-4}
MEM_MB=${CLIPROBUST_SLURM_MEM_MB:-8192}
PY=$(command -v python3 || command -v python)

say() { echo "[slurm-test] $*"; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fail() {
  echo "[slurm-test] start failed: $*" >&2
  for f in "$DIR"/*.log "$DIR"/*.out; do [[ -f $f ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  bash "$HERE/stop.sh" "$DIR" >&2 || true
  exit 1
}
trap 'fail "line $LINENO"' ERR
wait_for() {  # $1 = seconds, $2 = what, rest = command that succeeds once ready (each try at most 5 s)
  local limit=$1 what=$2 start=$SECONDS; shift 2
  while (( SECONDS - start < limit )); do timeout 5 "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "$what not ready after ${limit}s"
}
daemon() {  # $1 = name; rest = command (kept in the foreground, detached from this shell's session)
  local name=$1; shift
  setsid "$@" >"$DIR/$name.out" 2>&1 </dev/null &
  echo "$! $name" >>"$DIR/pids"
}

[[ ! -e "$DIR/pids" ]] || { echo "$DIR already holds a cluster (stop it with stop.sh)" >&2; exit 1; }
touch "$DIR/.cliprobust-slurm-test"
mkdir -p "$DIR"/{etc,munge,db,ctld,slurmd}
chmod 711 "$DIR"
chmod 700 "$DIR/munge"

# 1. munge: a fresh key, a private socket
mungekey --create --keyfile="$DIR/munge/munge.key" 2>/dev/null \
  || dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$DIR/munge/munge.key"
daemon munged munged -F --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
  --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed"
wait_for 20 munged bash -c "munge -n -S '$DIR/munge/munge.socket' | unmunge -S '$DIR/munge/munge.socket'"
say "munged up"

# 2. a throwaway MariaDB for the accounting database (TCP on 127.0.0.1 only)
DB_PORT=$(free_port)
DB_PASS=$("$PY" -c 'import secrets; print(secrets.token_hex(12))')
mariadb-install-db --no-defaults --datadir="$DIR/db" --user="$USER_NAME" --auth-root-authentication-method=socket \
  --skip-test-db >"$DIR/mariadb-install.out" 2>&1
daemon mariadbd mariadbd --no-defaults --datadir="$DIR/db" --socket="$DIR/mysql.sock" --port="$DB_PORT" \
  --bind-address=127.0.0.1 --user="$USER_NAME" --pid-file="$DIR/mariadb.pid" --log-error="$DIR/mariadb.log" \
  --skip-log-bin --innodb-buffer-pool-size=32M
wait_for 60 mariadbd mariadb-admin --no-defaults --socket="$DIR/mysql.sock" -u root ping
mariadb --no-defaults --socket="$DIR/mysql.sock" -u root -e \
  "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
say "mariadb up (port $DB_PORT)"

# 3. configs from the templates
fill() {
  sed -e "s|@DIR@|$DIR|g" -e "s|@HOST@|$HOST|g" -e "s|@USER@|$USER_NAME|g" -e "s|@CPUS@|$CPUS|g" \
      -e "s|@MEM_MB@|$MEM_MB|g" -e "s|@DB_PORT@|$DB_PORT|g" -e "s|@DB_PASS@|$DB_PASS|g" \
      -e "s|@DBD_PORT@|$DBD_PORT|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" "$1"
}
DBD_PORT=$(free_port); CTLD_PORT=$(free_port); SLURMD_PORT=$(free_port)
fill "$HERE/slurm.conf.in" >"$DIR/etc/slurm.conf"
fill "$HERE/slurmdbd.conf.in" >"$DIR/etc/slurmdbd.conf"
chmod 600 "$DIR/etc/slurmdbd.conf"
export SLURM_CONF="$DIR/etc/slurm.conf"
echo "SLURM_CONF=$SLURM_CONF" >"$DIR/env"

# 4. slurmdbd, the cluster's record in it, slurmctld, slurmd
daemon slurmdbd slurmdbd -D
wait_for 60 slurmdbd sacctmgr -n list cluster
sacctmgr -i add cluster cliprobust >/dev/null 2>&1 || true
say "slurmdbd up (port $DBD_PORT)"
daemon slurmctld slurmctld -D -i
wait_for 30 slurmctld scontrol ping
daemon slurmd slurmd -D
wait_for 60 "node idle" bash -c '[[ "$(sinfo -h -o %t)" == idle ]]'
say "cluster up: $(sinfo -h -o '%P %D %t %c CPUs %m MB') (SLURM_CONF=$SLURM_CONF)"
