#!/usr/bin/env bash
# Proves the SLURM path end to end on this one machine: starts a real single-node SLURM on localhost
# (Debian's slurmctld, slurmd, munge), runs a sweep as a 3-task job array (sweep-array.sbatch), merges
# the shards with `zerosim merge`, runs the same sweep locally, and compares the two byte for byte.
#
#   sudo scripts/slurm/local-slurm-check.sh [SWEEP.yaml] [BUILD_DIR | ZEROSIM_BINARY]
#   (defaults: workloads/sweeps/seed.yaml, build; relative paths are relative to the repository)
#
# Exit codes: 0 identical; 1 they differ or a step failed; 77 SLURM cannot run here (not root, the
# packages cannot be installed, or the daemons do not come up) -- CTest reports 77 as skipped.
# Everything it starts (munged unless one was already running, slurmctld, slurmd) it stops again, by
# pid; its state, spool, logs and outputs live in one temporary folder (kept with KEEP=1). It installs
# slurmctld, slurmd, munge and slurm-client with apt when they are missing; it never touches
# /etc/slurm (SLURM_CONF points at its own slurm.conf).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
sweep=${1:-workloads/sweeps/seed.yaml}
target=${2:-build}
[[ "$target" = /* ]] || target="$repo/$target"
if [ -f "$target" ]; then zerosim=$target; else zerosim="$target/sim/zerosim"; fi
skip() { echo "local-slurm-check: SKIP: $*" >&2; exit 77; }
fail() { echo "local-slurm-check: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root (it starts munged and the SLURM daemons)"
[ -x "$zerosim" ] || fail "no $zerosim: build first (scripts/build.sh)"
[ -f "$sweep" ] || fail "no sweep file $sweep"

packages=(slurmctld slurmd munge slurm-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  # CTest sets ZEROSIM_SLURM_NO_INSTALL=1: a test run never installs packages (scripts/setup.sh does).
  [ "${ZEROSIM_SLURM_NO_INSTALL:-0}" = 1 ] && skip "${missing[*]} not installed (scripts/setup.sh installs them)"
  echo "local-slurm-check: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 ||
    skip "cannot install ${missing[*]} with apt"
fi

tmp=$(mktemp -d /tmp/zerosim-slurm-XXXXXX)
started_munged=""
cleanup() {
  set +e
  for d in slurmd slurmctld; do
    if [ -s "$tmp/$d.pid" ]; then
      pid=$(cat "$tmp/$d.pid")
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  [ -n "$started_munged" ] && kill "$started_munged" 2>/dev/null && rm -f "$munged_pid"
  if [ "${KEEP:-0}" = 1 ]; then echo "local-slurm-check: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/logs" "$tmp/out"

# munge: a key owned by munge, munged running as munge.
if [ ! -s /etc/munge/munge.key ]; then
  install -d -o munge -g munge -m 0700 /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  install -d -o munge -g munge -m 0755 /run/munge
  munged_pid=/run/munge/zerosim-check-munged.pid  # written by munged as munge: not in our root-only $tmp
  rm -f "$munged_pid"
  runuser -u munge -- /usr/sbin/munged --pid-file="$munged_pid" || skip "munged does not start"
  for _ in $(seq 50); do [ -s "$munged_pid" ] && break; sleep 0.1; done
  started_munged=$(cat "$munged_pid" 2>/dev/null || true)
  [ -n "$started_munged" ] || skip "munged did not write its pid file"
  munge -n | unmunge >/dev/null || skip "munge does not work"
fi

# slurm.conf for this one node, with its real CPU count and memory (slurmd -C reads them).
host=$(hostname -s)
node=$(slurmd -C | head -1)
export SLURM_CONF="$tmp/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=zerosim-check
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/logs/slurmctld.log
SlurmdLogFile=$tmp/logs/slurmd.log
$node
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
echo "local-slurm-check: slurm.conf node line: $node" >&2

slurmctld || skip "slurmctld does not start (see $tmp/logs/slurmctld.log)"
slurmd || skip "slurmd does not start (see $tmp/logs/slurmd.log)"
state=""
for _ in $(seq 60); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || skip "the node did not become idle (state '$state'; logs in $tmp/logs)"
sinfo >&2

start=$(date +%s.%N)
sbatch --wait --array=1-3 --output="$tmp/logs/task-%a.out" --chdir="$repo" \
  scripts/slurm/sweep-array.sbatch "$sweep" "$tmp/out/shards" "$zerosim" >&2 ||
  { cat "$tmp"/logs/task-*.out >&2; fail "the job array failed"; }
end=$(date +%s.%N)
for k in 1 2 3; do sed "s/^/  task $k: /" "$tmp/logs/task-$k.out" >&2; done
"$zerosim" merge "$tmp"/out/shards/shard-{1,2,3}.jsonl -o "$tmp/out/merged.jsonl"
"$zerosim" sweep --config "$sweep" --out "$tmp/out/local.csv" 2> "$tmp/logs/local.log" ||
  { cat "$tmp/logs/local.log" >&2; fail "the local sweep failed"; }
rows=$(wc -l < "$tmp/out/merged.jsonl")
printf "local-slurm-check: job array of 3 tasks took %.1f s; merged %d rows\n" "$(echo "$end - $start" | bc)" "$rows"
cmp "$tmp/out/merged.jsonl" "$tmp/out/local.jsonl" || fail "merged.jsonl differs from the local run"
cmp "$tmp/out/merged.csv" "$tmp/out/local.csv" || fail "merged.csv differs from the local run"
echo "local-slurm-check: OK: the merged job-array output is byte-identical to a local run ($rows rows, JSONL and CSV)"
