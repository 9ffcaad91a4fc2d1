# lib.sh: what bench-ntp.sh, bench-ptp.sh and soak.sh share. Sourced, not run.
#
# The sourcing script sets, before it calls anything here:
#   LOG_TAG   the prefix of its log lines (bench-ntp, bench-ptp, soak);
#   DIE_RC    the exit status of die (default 1);
#   KEEP_VAR  the name of the variable that keeps the state directory
#             (BENCH_KEEP, SOAK_KEEP);
#   SRV_NS, CLI_NS  its two network namespaces (cleanup deletes them);
#   STOP_TRIES how many 0.2 s waits a stopped process gets before SIGKILL
#             (default 10).
# and gets: log, die, lib_state (STATE, BIN, PIDS), cleanup with its traps
# (lib_traps), NOTIME, clockstate and lib_clock_unchanged.

log() { printf '%s: %s\n' "$LOG_TAG" "$*" >&2; }
die() { log "error: $*"; exit "${DIE_RC:-1}"; }

# lib_state PREFIX makes the state directory /tmp/PREFIX.<pid>.XXXXXX with a
# bin/ inside (STATE, BIN) and empties PIDS (processes cleanup ends).
lib_state() {
	STATE=$(mktemp -d "/tmp/$1.$ID.XXXXXX")
	chmod 755 "$STATE"
	BIN=$STATE/bin
	mkdir -p "$BIN"
	PIDS=()
}

# cleanup ends the processes in PIDS (TERM, then KILL), deletes the two
# namespaces with anything still inside them (all started by the script;
# the veth goes with its namespace) and removes STATE unless ${!KEEP_VAR}
# is 1. It exits with the status the script was exiting with.
cleanup() {
	local rc=$?
	# Ignore further signals (a second Ctrl-C) until everything is removed.
	trap '' INT TERM HUP
	trap - EXIT
	local pid ns p
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 "${STOP_TRIES:-10}"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for ns in "$SRV_NS" "$CLI_NS"; do
		if ip netns list | grep -qw "$ns"; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
			ip netns del "$ns" 2>/dev/null || log "warning: could not delete namespace $ns"
		fi
	done
	if [ "${!KEEP_VAR:-0}" = 1 ]; then log "state kept in $STATE"; else rm -rf "$STATE"; fi
	exit "$rc"
}

lib_traps() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

# Every peer and gnomond itself run without CAP_SYS_TIME.
NOTIME=(setpriv --inh-caps=-sys_time --bounding-set=-sys_time)

# clockstate prints a read-only snapshot of the kernel clock state
# (adjtimex with modes = 0): only what a stray step, leap or status change
# would alter; freq is left out because a system time daemon on the host
# may legitimately slew it.
clockstate() {
	python3 - <<'PY'
import ctypes, ctypes.util
class Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("pad", ctypes.c_int * 11)]
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
t = Timex()  # modes = 0: read only
state = libc.adjtimex(ctypes.byref(t))
print(f"state={state} status={t.status:#x} tick={t.tick} tai={t.tai}")
PY
}

# lib_clock_unchanged BEFORE AFTER logs whether the kernel clock state
# changed during the run and fails (status 1) if it did.
lib_clock_unchanged() {
	if [ "$1" != "$2" ]; then
		log "WARNING: kernel clock state changed during the run: before [$1] after [$2]"
		return 1
	fi
	log "kernel clock state unchanged: $2"
}
