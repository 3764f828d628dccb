# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts
# .ci/cluster/lib.sh - settings and helpers shared by `up` and `down` (sourced, not executed).
#
# Layout (all overridable, but up and down must agree):
#   $CLUSTER_RUN   = /run/cloudaix-cluster      pid files, bin/ client wrappers, settings of the
#                                              running cluster (volatile: gone after a reboot,
#                                              exactly like the processes they describe)
#   $CLUSTER_STATE = /var/lib/cloudaix-cluster  spool, logs, MariaDB datadir, fake GPU devices,
#                                              fake_pyxis.so, job-id counter (kept across down/up)
#   $CLUSTER_ETC                               slurm.conf & friends: /etc/netns/$NS/slurm in netns
#                                              mode (only visible inside our namespaces), else
#                                              /etc/slurm
# Every file or /etc/hosts line we write carries $MARK so `down` (and a re-run of `up`) can
# tell ours from anybody else's.

CLUSTER_RUN=${CLUSTER_RUN:-/run/cloudaix-cluster}
CLUSTER_STATE=${CLUSTER_STATE:-/var/lib/cloudaix-cluster}
NS=${CLUSTER_NETNS:-slurmci}          # controller namespace; node i lives in "$NS-node<i>"
MARK="cloudaix-cluster"
PIDS=$CLUSTER_RUN/pids

_t0=$(date +%s%N)
_elapsed() { awk "BEGIN{printf \"%.2f\", ($(date +%s%N) - $_t0) / 1e9}"; }
log() { printf '[%s %6ss] %s\n' "${LOG_TAG:-cluster}" "$(_elapsed)" "$*"; }
die() { printf '[%s] ERROR: %s\n' "${LOG_TAG:-cluster}" "$*" >&2; exit 1; }

# A pid counts as alive only if it exists and is not a zombie. Why: PID 1 on these machines
# reaps orphans only every ~2 s, so a daemon we just killed stays visible to `kill -0`.
pid_alive() {
  [ -n "${1:-}" ] && [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
pidfile_alive() { [ -f "$1" ] && pid_alive "$(cat "$1" 2>/dev/null)"; }

# retry TRIES(x0.1s) CMD... : poll until CMD succeeds (quietly)
retry() {
  local n=$1; shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# Stop one daemon by pid file: TERM, wait up to 10 s, then KILL. Removes the pid file.
stop_pidfile() { # name pidfile
  local name=$1 f=$2 p
  [ -f "$f" ] || return 0
  p=$(cat "$f" 2>/dev/null || true); rm -f "$f"
  pid_alive "$p" || return 0
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 200); do pid_alive "$p" || { log "stopped $name (pid $p)"; return 0; }; sleep 0.05; done
  kill -9 "$p" 2>/dev/null || true
  log "killed -9 $name (pid $p)"
}

# net_mode of the running cluster (what `up` recorded), or empty
running_net_mode() { cat "$CLUSTER_RUN/net_mode" 2>/dev/null || true; }

# Run a Slurm client against the cluster regardless of mode: in netns mode the controller
# (and its addresses) only exist inside namespace $NS, and `ip netns exec` also bind-mounts
# /etc/netns/$NS/{hosts,slurm} over /etc so the client finds the right slurm.conf.
# CLIENT_MODE is set by the caller: `up` uses the mode it starts, `down` the recorded one.
slurm_client() {
  if [ "${CLIENT_MODE:-}" = netns ]; then
    ip netns exec "$NS" "$@"
  else
    "$@"
  fi
}
