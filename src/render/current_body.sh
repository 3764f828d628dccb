
etcd_healthy() {
  local h
  if h=$(http_get "http://$FRONTEND_HOST:$ETCD_PORT/health"); then
    grep -q '"health": *"true"' <<< "$h"
  else
    port_open "$FRONTEND_HOST" "$ETCD_PORT"
  fi
}
nats_up() { port_open "$FRONTEND_HOST" "$NATS_PORT"; }

# Workers whose log matched their role's worker-initialized-regex (one log per worker).
initialized() {
  local role=$1 regex=$2
  grep -l -i -E -- "$regex" "$RESULTS_DIR"/logs/dynamo_"$role"_node*.log 2> /dev/null | wc -l
}
frontend_serving() {
  local models
  models=$(http_get "http://$FRONTEND_HOST:$FRONTEND_PORT/v1/models") || return 1
  grep -qF -- "\"$MODEL\"" <<< "$models"
}
READY_STATE=""
all_ready() {
  local d p f=no
  d=$(initialized decode "$DECODE_REGEX")
  p=$(initialized prefill "$PREFILL_REGEX")
  frontend_serving && f=yes
  READY_STATE="decode workers initialized $d/$EXPECTED_DECODE (worker-initialized-regex '$DECODE_REGEX'), prefill $p/$EXPECTED_PREFILL (worker-initialized-regex '$PREFILL_REGEX'), frontend serving $MODEL: $f"
  [ "$d" -ge "$EXPECTED_DECODE" ] && [ "$p" -ge "$EXPECTED_PREFILL" ] && [ "$f" = yes ]
}

wait_until() {
  local what=$1 check=$2 deadline=$((SECONDS + READY_TIMEOUT)) last=0
  until $check; do
    check_children
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "not ready after ${READY_TIMEOUT}s: $what${READY_STATE:+ ($READY_STATE)}" > "$SCRATCH/readiness.txt"
      fail readiness timeout "$SCRATCH/readiness.txt"
    fi
    if [ $((SECONDS - last)) -ge 10 ] && [ -n "$READY_STATE" ]; then
      log "waiting: $READY_STATE"
      last=$SECONDS
    fi
    sleep 1
  done
  log "$what: ready after ${SECONDS}s"
}

# The GPUs of this node: Slurm's CUDA_VISIBLE_DEVICES, else 0..N-1 of the plan.
if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
  IFS=, read -r -a NODE_GPUS <<< "$CUDA_VISIBLE_DEVICES"
else
  mapfile -t NODE_GPUS < <(seq 0 $((GPUS_PER_NODE_PLAN - 1)))
fi
gpu_slice() {
  local IFS=,
  echo "${NODE_GPUS[*]:$1:$2}"
}

BASE_SYSTEM_PORT=${DYN_SYSTEM_PORT:-9090}
BASE_NIXL_PORT=${VLLM_NIXL_SIDE_CHANNEL_PORT:-5557}
BASE_KV_EVENT_PORT=${DYN_VLLM_KV_EVENT_PORT:-20080}
BASE_KVBM_PORT=${DYN_KVBM_LEADER_ZMQ_PUB_PORT:-56001}

# Workers of one role on this node, each on its own GPUs and ports (CloudAI's layout:
# prefill after decode on a shared node).
launch_workers() {
  local role=$1 cmd=$2 wpn=$3 gpw=$4 gpu_offset=$5 index_offset=$6 nixl_offset=$7 tp=$8
  shift 8
  local i k
  for ((i = 0; i < wpn; i++)); do
    k=$((index_offset + i))
    export CUDA_VISIBLE_DEVICES
    CUDA_VISIBLE_DEVICES=$(gpu_slice $((gpu_offset + i * gpw)) "$gpw")
    export DYN_SYSTEM_PORT=$((BASE_SYSTEM_PORT + k))
    export VLLM_NIXL_SIDE_CHANNEL_PORT=$((BASE_NIXL_PORT + nixl_offset + i * tp))
    export DYN_VLLM_KV_EVENT_PORT=$((BASE_KV_EVENT_PORT + k))
    export DYN_KVBM_LEADER_ZMQ_PUB_PORT=$((BASE_KVBM_PORT + 2 * k))
    export DYN_KVBM_LEADER_ZMQ_ACK_PORT=$((BASE_KVBM_PORT + 2 * k + 1))
    export CLOUDAIX_WORKER_INDEX=$k CLOUDAIX_WORKER_GPUS=$CUDA_VISIBLE_DEVICES
    log "$role worker $i on GPUs $CUDA_VISIBLE_DEVICES, system port $DYN_SYSTEM_PORT"
    start "dynamo_${role}_node${NODE_ID}_$i" "$cmd" "$@"
  done
}

cd "$RESULTS_DIR" || exit 1
if [ -n "$NODE_SETUP_CMD" ]; then
  log "node setup: $NODE_SETUP_CMD"
  bash -c "$NODE_SETUP_CMD" > "$RESULTS_DIR/logs/node_setup_node$NODE_ID.log" 2>&1 < /dev/null ||
    log "node setup exited with $? (see logs/node_setup_node$NODE_ID.log)"
fi

# startup_cmd's manifest for this node (runtime/<host>.json: {"VAR": {"old": "new", …}}): the
# file each VAR names is copied to runtime/<stem>.<host><suffix> with the replacements made,
# and VAR points to the copy.
MANIFEST="$RESULTS_DIR/runtime/$HOST.json"
if [ -f "$MANIFEST" ]; then
  RUNTIME_LOG="$RESULTS_DIR/logs/runtime_config_node$NODE_ID.log"
  python3 - "$MANIFEST" "$HOST" > "$SCRATCH/runtime.env" 2> "$RUNTIME_LOG" << 'PY' ||
import json, os, re, shlex, sys
from pathlib import Path

manifest, host = Path(sys.argv[1]), sys.argv[2]
try:
    spec = json.loads(manifest.read_text())
    if not isinstance(spec, dict):
        sys.exit(f"{manifest}: expected an object of VARIABLE: {{old: new}}")
    for var, swaps in spec.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            sys.exit(f"{manifest}: {var!r} is not an environment variable name")
        if var not in os.environ:
            sys.exit(f"{manifest}: {var} is not set on {host}: no file to rewrite")
        if not isinstance(swaps, dict) or not all(isinstance(v, str) for v in swaps.values()):
            sys.exit(f"{manifest}: {var}: expected an object of text replacements")
        source = Path(os.environ[var])
        text = source.read_text()
        for old, new in swaps.items():
            text = text.replace(old, new)
        target = manifest.parent / f"{source.stem}.{host}{source.suffix}"
        target.write_text(text)
        print(f"export {var}={shlex.quote(str(target))}")
except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    sys.exit(f"{manifest}: {e}")
PY
    fail runtime-config "$?" "$RUNTIME_LOG"
  # shellcheck source=/dev/null
  . "$SCRATCH/runtime.env"
  log "runtime config: $(tr '\n' ' ' < "$SCRATCH/runtime.env")"
fi

if $IS_FRONTEND; then
  start etcd "$ETCD_CMD --listen-client-urls http://0.0.0.0:$ETCD_PORT --advertise-client-urls http://0.0.0.0:$ETCD_PORT"
  start nats "$NATS_CMD -p $NATS_PORT"
  wait_until "etcd healthy" etcd_healthy
  wait_until "nats" nats_up
  # As in CloudAI main, the LMCache controller's end does not end the job (its log says
  # why): it is not among the watched processes, and is stopped with them at the end.
  if [ -n "$LMCACHE_CONTROLLER_CMD" ]; then
    start lmcache_controller "$LMCACHE_CONTROLLER_CMD"
    LMCACHE_CONTROLLER_PID=${PIDS[-1]}
    unset 'PIDS[-1]' 'NAMES[-1]' 'OUTS[-1]' 'ERRS[-1]'
    trap 'kill -TERM -- "-$LMCACHE_CONTROLLER_PID" 2> /dev/null; stop_all' EXIT
  fi
  start frontend "$INGRESS_CMD --http-port $FRONTEND_PORT"
elif [ "$ROLE" != idle ]; then
  wait_until "etcd healthy" etcd_healthy
fi

DECODE_INDEXES=0
if $IS_DECODE; then
  launch_workers decode "$DECODE_CMD" "$DECODE_WPN" "$DECODE_GPW" 0 0 0 "$DECODE_TP" "${DECODE_ARGS[@]}"
  DECODE_INDEXES=$DECODE_WPN
fi
if $IS_PREFILL; then
  gpu_offset=0 nixl_offset=0 index_offset=0
  if $IS_DECODE && [ "$SHARED" = true ]; then
    gpu_offset=$PREFILL_GPU_OFFSET
    nixl_offset=$((DECODE_INDEXES * DECODE_TP))
    index_offset=$DECODE_INDEXES
  fi
  launch_workers prefill "$PREFILL_CMD" "$PREFILL_WPN" "$PREFILL_GPW" "$gpu_offset" "$index_offset" "$nixl_offset" "$PREFILL_TP" "${PREFILL_ARGS[@]}"
fi

if ! $IS_FRONTEND; then
  until [ -e "$SUCCESS_MARKER" ]; do
    check_children
    sleep 1
  done
  log "frontend done, stopping"
  exit 0
fi

wait_until "workers initialized and frontend serving $MODEL" all_ready

export FRONTEND_URL="http://$FRONTEND_HOST:$FRONTEND_PORT"
for ((s = 0; s < NUM_STEPS; s++)); do
  name=${STEP_NAME[$s]}
  log "workload step $((s + 1))/$NUM_STEPS: $name (${STEP_KIND[$s]})"
  if [ -n "${STEP_SETUP[$s]}" ]; then
    log "setup for $name"
    bash -lc "${STEP_SETUP[$s]}" > "$RESULTS_DIR/logs/${name}_setup.log" 2>&1 < /dev/null ||
      fail "$name setup" "$?" "$RESULTS_DIR/logs/${name}_setup.log"
  fi
  rm -rf "${STEP_ARTIFACTS[$s]}"
  mkdir -p "${STEP_ARTIFACTS[$s]}"
  set_step_args "$s"
  LOADGEN=$name
  start "$name" "${STEP_CMD[$s]}" "${STEP_ARGS[@]}"
  step_pid=${PIDS[-1]}
  while kill -0 "$step_pid" 2> /dev/null; do
    check_children
    sleep 1
  done
  wait "$step_pid"
  code=$?
  if [ "$code" -ne 0 ]; then
    [ "${STEP_CONTINUE[$s]}" = true ] || fail "$name" "$code" "${OUTS[-1]}"
    log "$name failed with $code; continuing (continue-on-phase-failure)"
  elif [ -n "${STEP_SOURCE[$s]}" ]; then
    # aiperf writes its summary at the top of its artifact directory (and copies per
    # phase under phases/warmup and phases/profiling: never the warmup's); genai-perf one
    # directory down.
    src=${STEP_ARTIFACTS[$s]}/${STEP_SOURCE[$s]}
    [ -f "$src" ] || src=$(find "${STEP_ARTIFACTS[$s]}" -name "${STEP_SOURCE[$s]}" -type f \
      -not -path '*/warmup/*' | sort | head -n 1)
    if [ -n "$src" ]; then
      cp "$src" "${STEP_REPORT[$s]}"
      log "$name report: ${STEP_REPORT[$s]}"
      if [ -n "${STEP_ALSO[$s]}" ]; then
        cp "${STEP_REPORT[$s]}" "${STEP_ALSO[$s]}"
        log "final report: ${STEP_ALSO[$s]}"
      fi
    else
      fail "$name: no ${STEP_SOURCE[$s]} under ${STEP_ARTIFACTS[$s]}" 1 "${OUTS[-1]}"
    fi
  fi
  # The step has ended: it is no longer a process to watch.
  unset 'PIDS[-1]' 'NAMES[-1]' 'OUTS[-1]' 'ERRS[-1]'
  if [ -n "${STEP_BETWEEN[$s]}" ]; then
    bash -lc "${STEP_BETWEEN[$s]}" >> "$RESULTS_DIR/logs/between_phases.log" 2>&1 < /dev/null
  fi
  check_children
done
touch "$SUCCESS_MARKER"
log "all workloads done"
exit 0
