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
SCRATCH="${TMPDIR:-/tmp}/cloudaix-$JOB_ID-$NODE_ID"
mkdir -p "$SCRATCH"

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

stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$SCRATCH"
}
trap stop_all EXIT
trap 'exit 143' TERM INT

# Record the first failure of the job (the first writer wins) and stop this node. `node` is
# the Slurm node id, as in the log file names (decode_stdout_node2.txt); `host` its hostname.
fail() {
  local process=$1 code=$2 f
  shift 2
  if mkdir "$RESULTS_DIR/.failure.lock" 2>/dev/null; then
    {
      echo "role=$ROLE node=$NODE_ID host=$HOST process=$process exit=$code"
      for f in "$@"; do
        if [ -s "$f" ]; then tail -n 10 "$f"; fi
      done
    } > "$FAILURE_MARKER.tmp" && mv "$FAILURE_MARKER.tmp" "$FAILURE_MARKER"
  fi
  log "FAILED: $process exited with code $code"
  exit 1
}

# Fail if any started service has ended (the load generator is expected to end).
check_children() {
  local i code
  for i in "${!PIDS[@]}"; do
    [ "${NAMES[$i]}" = "$LOADGEN" ] && continue
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      wait "${PIDS[$i]}"
      code=$?
      fail "${NAMES[$i]}" "$code" "${OUTS[$i]}" "${ERRS[$i]}"
    fi
  done
  if [ -e "$FAILURE_MARKER" ]; then
    log "another node failed: $(head -n 1 "$FAILURE_MARKER")"
    exit 1
  fi
}

http_get() {
  if command -v curl > /dev/null; then
    curl -fsS --max-time 5 "$1" 2> /dev/null
  else
    python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1" 2> /dev/null
  fi
}

port_open() { (exec 3<> "/dev/tcp/$1/$2") 2> /dev/null; }

# Ready when the model is listed and, where /health lists instances, every worker is there.
frontend_ready() {
  local models health
  models=$(http_get "http://$FRONTEND_HOST:$FRONTEND_PORT/v1/models") || return 1
  grep -qF -- "$MODEL" <<< "$models" || return 1
  health=$(http_get "http://$FRONTEND_HOST:$FRONTEND_PORT/health") || return 0
  grep -q '"instances"' <<< "$health" || return 0
  [ "$(grep -o '"endpoint":"generate"' <<< "$health" | wc -l)" -ge $((NUM_PREFILL + NUM_DECODE)) ]
}

wait_until() {
  local what=$1 check=$2 deadline=$((SECONDS + READY_TIMEOUT))
  until $check; do
    check_children
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "$what" "timeout"
    fi
    sleep 1
  done
  log "$what ready after ${SECONDS}s"
}

etcd_up() { port_open "$FRONTEND_HOST" "$ETCD_PORT"; }
nats_up() { port_open "$FRONTEND_HOST" "$NATS_PORT"; }

if [ "$ROLE" = frontend ]; then
  cd "$WORKDIR" 2> /dev/null || cd "$RESULTS_DIR" || exit 1
  start etcd "" "$ETCD_CMD"
  start nats "" "$NATS_CMD"
  wait_until etcd etcd_up
  wait_until nats nats_up
  start frontend "" "$FRONTEND_CMD"
  wait_until "frontend serving $MODEL" frontend_ready
  set_loadgen_args
  start_loadgen "${LOADGEN_ARGS[@]}"
  loadgen_pid=${PIDS[-1]}
  while kill -0 "$loadgen_pid" 2> /dev/null; do
    check_children
    sleep 1
  done
  wait "$loadgen_pid"
  code=$?
  [ "$code" -eq 0 ] || fail "$LOADGEN" "$code" "${OUTS[-1]}" "${ERRS[-1]}"
  log "$LOADGEN done"
  touch "$DONE_MARKER"
  exit 0
fi

cd "$WORKDIR" 2> /dev/null || cd "$RESULTS_DIR" || exit 1
if [ "$ROLE" = prefill ]; then
  start prefill "_node$NODE_ID" "$PREFILL_CMD"
else
  start decode "_node$NODE_ID" "$DECODE_CMD"
fi
until [ -e "$DONE_MARKER" ]; do
  check_children
  sleep 1
done
log "frontend done, stopping"
exit 0
