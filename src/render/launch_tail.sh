
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
