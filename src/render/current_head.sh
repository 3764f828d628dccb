# ---- static part: no user data below this line, only the variables set above ----
set -uo pipefail

NODE_ID=${SLURM_NODEID:?run me with srun, one task per node}
HOST=${SLURMD_NODENAME:-$(hostname)}
mapfile -t JOB_NODES < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
FAILURE_MARKER="$RESULTS_DIR/$FAILURE_MARKER_NAME"
SUCCESS_MARKER="$RESULTS_DIR/$SUCCESS_MARKER_NAME"
READY_TIMEOUT=${CLOUDAIX_READY_TIMEOUT:-$READY_TIMEOUT_DEFAULT}
# A fresh scratch directory each time: job ids repeat when a cluster's state is reset, and a
# killed job leaves its directory behind (etcd would restart from that job's data and leases).
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cloudaix-${SLURM_JOB_ID:-0}-$NODE_ID.XXXXXX") || {
  echo "cloudaix: cannot create a scratch directory in ${TMPDIR:-/tmp}" >&2
  exit 1
}
mkdir -p "$RESULTS_DIR/logs"

# Role membership: by Slurm node id, or by hostname when the test names its nodes.
if [ "$NODE_REFS" = ids ]; then
  ME=$NODE_ID
  FRONTEND_HOST=${JOB_NODES[${DECODE_NODES[0]}]}
else
  ME=$HOST
  FRONTEND_HOST=${DECODE_NODES[0]}
fi
member() {
  local ref want=$1
  shift
  for ref in "$@"; do [ "$ref" = "$want" ] && return 0; done
  return 1
}
IS_DECODE=false IS_PREFILL=false IS_FRONTEND=false
member "$ME" "${DECODE_NODES[@]}" && IS_DECODE=true
[ "${#PREFILL_NODES[@]}" -gt 0 ] && member "$ME" "${PREFILL_NODES[@]}" && IS_PREFILL=true
[ "$ME" = "${DECODE_NODES[0]}" ] && IS_FRONTEND=true
ROLE=""
$IS_FRONTEND && ROLE+="frontend+"
$IS_DECODE && ROLE+="decode+"
$IS_PREFILL && ROLE+="prefill+"
ROLE=${ROLE%+}
ROLE=${ROLE:-idle}

export CLOUDAIX_RESULTS_DIR="$RESULTS_DIR" CLOUDAIX_MODEL="$MODEL" CLOUDAIX_BACKEND="$BACKEND"
export CLOUDAIX_ENDPOINT="$ENDPOINT" CLOUDAIX_NUM_NODES="$NUM_NODES"
export CLOUDAIX_FRONTEND_HOST="$FRONTEND_HOST" CLOUDAIX_FRONTEND_PORT="$FRONTEND_PORT"
export CLOUDAIX_ETCD_PORT="$ETCD_PORT" CLOUDAIX_NATS_PORT="$NATS_PORT"
export CLOUDAIX_NODE_ID="$NODE_ID" CLOUDAIX_ROLE="$ROLE" CLOUDAIX_SCRATCH="$SCRATCH"
[ -f "$RESULTS_DIR/lmcache-config.yaml" ] && export LMCACHE_CONFIG_FILE="$RESULTS_DIR/lmcache-config.yaml"
[ -f "$RESULTS_DIR/hicache-config.toml" ] && export HICACHE_CONFIG_FILE="$RESULTS_DIR/hicache-config.toml"
export ETCD_ENDPOINTS="http://$FRONTEND_HOST:$ETCD_PORT" NATS_SERVER="nats://$FRONTEND_HOST:$NATS_PORT"

log() { echo "[cloudaix $(date +%H:%M:%S) node$NODE_ID $HOST $ROLE] $*"; }
log "role=$ROLE frontend=$FRONTEND_HOST"
echo "$NODE_ID $HOST $ROLE" >> "$RESULTS_DIR/node_roles.log"

PIDS=() NAMES=() OUTS=() ERRS=()
# The running load-generation step: expected to end, so not a failure when it does.
LOADGEN=""

# Start a command in its own session, so that stopping it stops everything it started; one
# log per process under logs/.
start() {
  local name=$1 cmd=$2
  shift 2
  local out="$RESULTS_DIR/logs/${name}.log"
  log "start $name"
  setsid bash -c "$cmd \"\$@\"" "$name" "$@" > "$out" 2>&1 < /dev/null &
  PIDS+=("$!") NAMES+=("$name") OUTS+=("$out") ERRS+=("")
}

