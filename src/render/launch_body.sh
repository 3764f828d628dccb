# ---- static part: no user data below this line, only the variables set above ----
set -uo pipefail

# The standalone scheduler runs every node on this machine: it sets CLOUDAIX_LOCAL_* in place
# of Slurm's variables, and gives each job its own ports, since the roles share one host.
NODE_ID=${CLOUDAIX_LOCAL_NODE_ID:-${SLURM_NODEID:?run me with srun, one task per node}}
JOB_ID=${CLOUDAIX_LOCAL_JOB_ID:-${SLURM_JOB_ID:-0}}
HOST=$(hostname)
FRONTEND_HOST=${CLOUDAIX_LOCAL_HOST:-${SLURM_JOB_MASTER_NODE:-$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)}}
FRONTEND_PORT=${CLOUDAIX_LOCAL_FRONTEND_PORT:-$FRONTEND_PORT}
ETCD_PORT=${CLOUDAIX_LOCAL_ETCD_PORT:-$ETCD_PORT}
ETCD_PEER_PORT=${CLOUDAIX_LOCAL_ETCD_PEER_PORT:-$ETCD_PEER_PORT}
NATS_PORT=${CLOUDAIX_LOCAL_NATS_PORT:-$NATS_PORT}
WORKER_PORT=${CLOUDAIX_LOCAL_WORKER_PORT:-$((WORKER_PORT_BASE + NODE_ID))}
FAILURE_MARKER="$RESULTS_DIR/failure.marker"
DONE_MARKER="$RESULTS_DIR/done.marker"
# A fresh scratch directory each time: job ids repeat when a cluster's state is reset, and a
# killed job leaves its directory behind (etcd would restart from that job's data and leases).
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cloudaix-$JOB_ID-$NODE_ID.XXXXXX") || {
  echo "cloudaix: cannot create a scratch directory in ${TMPDIR:-/tmp}" >&2
  exit 1
}

if [ "$NODE_ID" -eq 0 ]; then
  ROLE=frontend
elif [ "$NODE_ID" -le "$NUM_PREFILL" ]; then
  ROLE=prefill
elif [ "$NODE_ID" -le $((NUM_PREFILL + NUM_DECODE)) ]; then
  ROLE=decode
else
  echo "node $NODE_ID ($HOST): no role in a job of 1 + $NUM_PREFILL + $NUM_DECODE nodes" >&2
  exit 1
fi

# What commands (defaults and user overrides) can use.
export CLOUDAIX_RESULTS_DIR="$RESULTS_DIR" CLOUDAIX_CONFIG="$CONFIG" CLOUDAIX_MODEL="$MODEL"
export CLOUDAIX_FRONTEND_HOST="$FRONTEND_HOST" CLOUDAIX_FRONTEND_PORT="$FRONTEND_PORT"
export CLOUDAIX_ETCD_PORT="$ETCD_PORT" CLOUDAIX_ETCD_PEER_PORT="$ETCD_PEER_PORT" CLOUDAIX_NATS_PORT="$NATS_PORT"
export CLOUDAIX_WORKER_PORT="$WORKER_PORT"
export CLOUDAIX_NODE_ID="$NODE_ID" CLOUDAIX_ROLE="$ROLE" CLOUDAIX_SCRATCH="$SCRATCH"
case $ROLE in
  frontend) WORKER_INDEX=0 ;;
  prefill) WORKER_INDEX=$((NODE_ID - 1)) ;;
  *) WORKER_INDEX=$((NODE_ID - NUM_PREFILL - 1)) ;;
esac
export CLOUDAIX_WORKER_INDEX=$WORKER_INDEX
export ETCD_ENDPOINTS="http://$FRONTEND_HOST:$ETCD_PORT" NATS_SERVER="nats://$FRONTEND_HOST:$NATS_PORT"

log() { echo "[cloudaix $(date +%H:%M:%S) node$NODE_ID $HOST $ROLE] $*"; }
log "role=$ROLE frontend=$FRONTEND_HOST"
echo "$NODE_ID $HOST $ROLE" >> "$RESULTS_DIR/node_roles.log"

PIDS=() NAMES=() OUTS=() ERRS=()

# Start a command in its own session, so that stopping it stops everything it started. Its
# output goes where CloudAI 13816b1a puts it, at the top of the run directory:
# <name>_stdout.txt/_stderr.txt on the frontend node, <name>_stdout_node<ID>.txt on workers.
start() {
  local name=$1 suffix=$2 cmd=$3
  shift 3
  local out="$RESULTS_DIR/${name}_stdout${suffix}.txt" err="$RESULTS_DIR/${name}_stderr${suffix}.txt"
  log "start $name"
  setsid bash -c "$cmd \"\$@\"" "$name" "$@" > "$out" 2> "$err" < /dev/null &
  PIDS+=("$!") NAMES+=("$name") OUTS+=("$out") ERRS+=("$err")
}

# The load generator writes into the job's own stdout.txt/stderr.txt, as in CloudAI (where
# genai-perf ran in the foreground); a copy in the node's scratch directory feeds the marker.
start_loadgen() {
  local out="$SCRATCH/$LOADGEN.out" err="$SCRATCH/$LOADGEN.err"
  log "start $LOADGEN"
  setsid bash -c "$LOADGEN_CMD \"\$@\"" "$LOADGEN" "$@" > >(tee "$out") 2> >(tee "$err" >&2) < /dev/null &
  PIDS+=("$!") NAMES+=("$LOADGEN") OUTS+=("$out") ERRS+=("$err")
}

