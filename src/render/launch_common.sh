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
