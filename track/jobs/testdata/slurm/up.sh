#!/bin/bash
# The project's copy of ../shared/slurm/up.sh (track/jobs tests start it);
# it adds SLURM_UP_CPUS and SlurmdParameters=config_overrides.
# Start a throwaway Slurm cluster (Debian slurm-wlm 22.05) on 127.0.0.1.
#
#   up.sh DIR [NODES]     DIR: an empty (temp) dir to hold everything;
#                         NODES: 1 (default) or more slurmd on this one host
#                         (nodes n1..nN, needs a build with multiple-slurmd).
#
# Needs root and the packages: apt-get install -y --no-install-recommends
#   slurmctld slurmd slurm-client munge   (installed here if missing and
#   SLURM_UP_INSTALL=1).
# Runs its own munged (key, socket, pid in DIR), slurmctld and slurmd(s),
# all as root, no systemd. Prints the env to use, e.g.
#   eval "$(up.sh DIR)"        -> export SLURM_CONF=DIR/slurm.conf
# SLURM_UP_DBD=1: also run a private MariaDB (TCP on 127.0.0.1, data in DIR)
# and slurmdbd, so that plain `sacct` works (packages: slurmdbd mariadb-server).
# Without it, finished jobs: `scontrol show job`/`squeue -t all` (for
# MinJobAge=3600 s, lost on slurmctld restart) and `sacct -c` (jobcomp file).
# Stop with down.sh DIR (kills by PID from DIR/pids/*.pid).
set -euo pipefail
DIR=${1:?usage: up.sh DIR [NODES]}
NODES=${2:-1}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
log() { echo "up.sh: $*" >&2; }
die() { log "ERROR: $*"; for f in "$DIR"/log/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  if [ "${SLURM_UP_INSTALL:-0}" = 1 ]; then
    log "installing slurm packages"
    apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >&2
    if [ "${SLURM_UP_DBD:-0}" = 1 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurmdbd mariadb-server >&2
    fi
  else
    die "slurm not installed: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge (or set SLURM_UP_INSTALL=1)"
  fi
fi

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
  else
    local p; while :; do p=$(( 20000 + RANDOM % 30000 )); (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }; done
  fi
}

mkdir -p "$DIR"/{munge,state,spool,log,pids,out}
# 755: non-root users may read slurm.conf and reach the munge socket; key is 0400 root.
chmod 755 "$DIR" "$DIR/munge" "$DIR/out"
chmod 1777 "$DIR/out"
T0=$(date +%s.%N)

# --- munge: private daemon, private key, private socket -------------------
KEY=$DIR/munge/munge.key
SOCK=$DIR/munge/munge.sock
if [ ! -f "$KEY" ]; then
  if command -v mungekey >/dev/null; then mungekey -c -k "$KEY" >&2
  else dd if=/dev/urandom of="$KEY" bs=1 count=1024 2>/dev/null; fi
fi
chmod 400 "$KEY"
# --force: munged as root, and tolerate /tmp being world-writable (sticky).
munged --force --key-file="$KEY" --socket="$SOCK" --pid-file="$DIR/pids/munged.pid" \
  --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" \
  || die "munged failed to start"
for i in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || die "munged socket did not appear"
munge -n -S "$SOCK" | unmunge -S "$SOCK" >/dev/null || die "munge self-test failed"

# --- optional accounting: private mariadbd + slurmdbd ----------------------
DBD=${SLURM_UP_DBD:-0}
if [ "$DBD" = 1 ]; then
  command -v slurmdbd >/dev/null && command -v mariadbd >/dev/null \
    || die "SLURM_UP_DBD=1 needs: apt-get install -y --no-install-recommends slurmdbd mariadb-server"
  DB_PORT=$(free_port); DBD_PORT=$(free_port)
  mariadb-install-db --no-defaults --datadir="$DIR/db" --user=root --auth-root-authentication-method=normal \
    --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1 || die "mariadb-install-db failed"
  setsid mariadbd --no-defaults --datadir="$DIR/db" --socket="$DIR/db/mysqld.sock" --port="$DB_PORT" \
    --bind-address=127.0.0.1 --user=root --pid-file="$DIR/pids/mariadbd.pid" --log-error="$DIR/log/mariadb.log" \
    --innodb-buffer-pool-size=64M --skip-log-bin </dev/null >/dev/null 2>&1 &
  echo $! > "$DIR/pids/mariadbd.pid"   # mariadbd rewrites it with the same pid
  for i in $(seq 1 200); do
    mariadb --no-defaults -S "$DIR/db/mysqld.sock" -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1
  done
  mariadb --no-defaults -S "$DIR/db/mysqld.sock" -uroot -e 'select 1' >/dev/null 2>&1 || die "mariadbd did not come up"
  cat > "$DIR/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$SOCK
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=root
StorageLoc=slurm_acct_db
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/pids/slurmdbd.pid
DebugLevel=info
EOF
  chmod 600 "$DIR/slurmdbd.conf"
  # slurmdbd has no -f: it reads slurmdbd.conf from the directory of $SLURM_CONF
  SLURM_CONF=$DIR/slurm.conf slurmdbd || die "slurmdbd failed to start"
  for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$DBD_PORT) 2>/dev/null && break; sleep 0.1; done
  (exec 3<>/dev/tcp/127.0.0.1/$DBD_PORT) 2>/dev/null || die "slurmdbd not listening on $DBD_PORT"
  ACCT="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$SOCK"   # munge socket for the slurmdbd connection (AuthInfo is not used there)
else
  ACCT=AccountingStorageType=accounting_storage/none
fi

# --- slurm.conf -----------------------------------------------------------
CTLD_PORT=$(free_port)
# SLURM_UP_CPUS: CPUs each node declares (default: this host's); more than
# the host has is allowed (SlurmdParameters=config_overrides), so that tests
# run several one-CPU jobs at once on a small machine.
CPUS=${SLURM_UP_CPUS:-$(nproc)}
MEM_MB=$(awk '/MemAvailable/ {printf "%d", $2/1024/2}' /proc/meminfo)
[ "$MEM_MB" -gt 4096 ] && MEM_MB=4096
CONF=$DIR/slurm.conf
{
cat <<EOF
ClusterName=ci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/pids/slurmctld.pid
SlurmdPidFile=$DIR/pids/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
$ACCT
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MailProg=/bin/true
MpiDefault=none
ReturnToService=2
MinJobAge=3600
SlurmdTimeout=30
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=5
EOF
if [ "$NODES" = 1 ]; then
  D_PORT=$(free_port)
  echo "SlurmdPort=$D_PORT"
  echo "NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN"
  NAMES=(localhost)
else
  NAMES=()
  for n in $(seq 1 "$NODES"); do
    echo "NodeName=n$n NodeHostname=localhost NodeAddr=127.0.0.1 Port=$(free_port) CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN"
    NAMES+=("n$n")
  done
fi
echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
} > "$CONF"
export SLURM_CONF=$CONF

# --- daemons --------------------------------------------------------------
# Both daemonize and write their pid files; -i: ignore stale state.
slurmctld -f "$CONF" -i || die "slurmctld failed to start"
for n in "${NAMES[@]}"; do
  mkdir -p "$DIR/spool/$n"
  slurmd -f "$CONF" -N "$n" || die "slurmd $n failed to start"
done

# --- wait until every node is idle ----------------------------------------
ok=
for i in $(seq 1 300); do
  for f in "$DIR"/pids/*.pid; do
    p=$(cat "$f" 2>/dev/null) || true
    if [ -n "$p" ] && ! kill -0 "$p" 2>/dev/null; then die "$(basename "$f" .pid) died"; fi
  done
  st=$(sinfo -h -N -o '%T' 2>/dev/null | sort -u | tr '\n' ' ') || true
  if [ "$st" = "idle " ]; then ok=1; break; fi
  sleep 0.1
done
[ -n "$ok" ] || { sinfo -N -l >&2 || true; die "nodes not idle after 30s (state: ${st:-none})"; }
# Optional: prove a job runs end to end (the first scheduler pass comes ~3 s
# after slurmctld starts). Leaves job "up-probe" in the job history.
if [ "${SLURM_UP_PROBE:-0}" = 1 ]; then
  pj=$(sbatch --parsable -J up-probe -o /dev/null --wrap true) || die "probe sbatch failed"
  for i in $(seq 1 300); do
    ps=$(scontrol show job "$pj" 2>/dev/null | grep -o 'JobState=[A-Z_]*') || true
    case "$ps" in JobState=COMPLETED) break;; JobState=PENDING|JobState=RUNNING|JobState=CONFIGURING|JobState=COMPLETING|'') sleep 0.1;; *) die "probe job $pj: $ps";; esac
  done
  [ "$ps" = JobState=COMPLETED ] || die "probe job $pj not done after 30s ($ps)"
fi
T1=$(date +%s.%N)
log "cluster up in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}')s: ${#NAMES[@]} node(s), slurmctld port $CTLD_PORT"
echo "export SLURM_CONF=$CONF"
