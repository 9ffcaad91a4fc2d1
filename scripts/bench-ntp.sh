#!/usr/bin/env bash
# bench-ntp.sh: side-by-side NTP server benchmark (issue 2 §5, `make bench-ntp`).
#
# In a fresh pair of network namespaces joined by a veth pair it runs, one
# after another, gnomond, chronyd 4.3 (-x, `local stratum 1`) and facebook/time's
# ntpresponder (built from its Go module at the version in go.mod), each pinned
# to one CPU, under the same load generator (`gnomonctl bench ntp`) pinned to
# another CPU. gnomond and chronyd get the same 4 MiB socket receive buffer.
# Under each network model (BENCH_NET, see "how packets cross the veth") and
# for each server it
#   1. measures RTT percentiles at a common moderate rate (BENCH_COMMON_RATE),
#   2. steps the request rate up by BENCH_FACTOR from BENCH_START_RATE until
#      the server's loss (requests not answered, less those the veth dropped
#      on the way) reaches 1 % (a failing step is repeated once: runs vary),
#      then bisects between the last passing and the failing rate, and
#      reports the highest rate sent with < 1 % loss,
#   3. runs the generator in --max mode (bounded window) for the closed-loop
#      reply rate,
# and prints one table plus the machine. CPU use of server and generator and
# the drop counters (server socket, veth) per step tell which side was the
# bottleneck.
#
# Safety (house rules): needs root for namespaces; never touches the host
# clock (every server runs with CAP_SYS_TIME dropped via setpriv, chronyd with
# -x; the kernel clock state is read before and after with adjtimex modes=0 and
# compared); traffic stays inside the two namespaces; every process started is
# recorded and killed, and the namespaces deleted, on exit (trap), also on
# failure. Total time is bounded by BENCH_BUDGET seconds (default 540) and
# every generator run by its --duration (hard cap in gnomonctl: 10 min).
# Needs ethtool and gcc (scripts/install-peers.sh installs ethtool); perf, when
# present, counts the servers' system calls per request.
#
# Environment knobs (all optional):
#   BENCH_SERVERS      servers to run, in order (default "reflector gnomond chronyd ntpresponder";
#                      NAME-xleave, e.g. gnomond-xleave or chronyd-xleave, is that server under
#                      interleaved requests (RFC 9769, chronyd `xleave` clients);
#                      reflector is scripts/reflector.c, the bare recvmmsg → stamp →
#                      sendmmsg ceiling of any user-space server here, built with gcc;
#                      also gnomond-sysbuf and chronyd-sysbuf; gnomond is skipped with a
#                      note when ./cmd/gnomond does not build). gnomond and chronyd both
#                      get 4 MiB socket receive buffers (chronyd through
#                      scripts/rcvbuf-preload.c); the -sysbuf variants both keep the
#                      system default.
#   BENCH_STEP         seconds per rate step (default 3)
#   BENCH_START_RATE   first rate of the ramp, req/s (default 10000)
#   BENCH_FACTOR       ramp factor (default 1.25)
#   BENCH_MAX_RATE     never ask more than this, req/s (default 1000000)
#   BENCH_COMMON_RATE  rate of the RTT measurement, req/s (default 20000)
#   BENCH_EFF_RATE     second fixed rate at which server CPU per request is measured (default 60000)
#   BENCH_CLIENTS      generator sockets, each with its own source address (1..240, default 64)
#   BENCH_BUDGET       total seconds for all servers and models (default 1800)
#   BENCH_XLEAVE=1     send chrony-style interleaved requests (RFC 9769) in every step, to every server
#   BENCH_REPS         repetitions of the whole run (default 1); every other one runs the servers
#                      in reverse order, and the summary gives each figure's median and range
#   BENCH_OUT          also write the final table (markdown) to this file
#   BENCH_NICE         nice value of servers and generator (default -10)
#   BENCH_NET          network models to measure under, in order (default "napi rps"; also
#                      "none"): who runs each side's receive path, see below
#   BENCH_BISECT       bisection steps between the last passing and the failing rate (default 3)
#   BENCH_KEEP=1       keep the state directory (logs, configs, JSON results)
#   BENCH_FIXED_ONLY=1 measure only at the two fixed rates (RTT, CPU and system calls
#                      per request), no ramp and no --max run: a quick comparison
#   BENCH_PERF_EVENTS  extra perf events counted on the server's CPU (all tasks, -a -C) at the
#                      two fixed rates, e.g. "ipi:ipi_send_cpu,irq:softirq_entry"; each count per
#                      answered request goes to the log (a diagnosis aid, not in the table)
#   BENCH_PERF_RECORD=1 also record a call-graph profile of the server's CPU at the fixed rates
#                      (STATE/NAME/TAG.perf.data; use with BENCH_KEEP=1)
#   BENCH_GNOMOND_BIN  run this gnomond binary instead of building ./cmd/gnomond (e.g. an
#                      older commit's, to compare)
#   BENCH_PAIR="A B"   instead of the per-server runs: the paired ramp of two different servers
#                      (e.g. "reflector gnomond"), both running at once on CPU 1 on two
#                      addresses and stepped alternately at every rate, then bisected
#                      (scripts/bench-ntp-pair.sh); reports each one's maximum rate at < 1 %
#                      loss and B / A, per model and repetition (BENCH_REPS)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVERS=${BENCH_SERVERS:-"reflector gnomond chronyd ntpresponder"}
PAIR=${BENCH_PAIR:-}
[ -z "$PAIR" ] || SERVERS=$PAIR
STEP=${BENCH_STEP:-3}
START_RATE=${BENCH_START_RATE:-10000}
FACTOR=${BENCH_FACTOR:-1.25}
MAX_RATE=${BENCH_MAX_RATE:-1000000}
COMMON_RATE=${BENCH_COMMON_RATE:-20000}
EFF_RATE=${BENCH_EFF_RATE:-60000}
CLIENTS=${BENCH_CLIENTS:-64}
BUDGET=${BENCH_BUDGET:-1800}
BISECT=${BENCH_BISECT:-3}
REPS=${BENCH_REPS:-1}
# Server and generator run at nice -10 by default, so that background work
# on a shared machine disturbs the measurement less (same for every server).
NICE=${BENCH_NICE:--10}
XLEAVE=""
[ "${BENCH_XLEAVE:-0}" = 1 ] && XLEAVE=--xleave
PORT=123
# gnomond's metrics endpoint inside the server namespace (srvtx reads it).
GN_METRICS=127.0.0.1:18124

LOG_TAG=bench-ntp KEEP_VAR=BENCH_KEEP
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
# shellcheck source=scripts/bench-ntp-report.sh
. "$ROOT/scripts/bench-ntp-report.sh"
# shellcheck source=scripts/bench-ntp-pair.sh
. "$ROOT/scripts/bench-ntp-pair.sh"
# Results are kept per server name: a name given twice would print the
# second run's figures in both rows (BENCH_REPS repeats a run); pair_check
# refuses the same for a pair.
if [ -n "$PAIR" ]; then
	pair_check
elif [ -n "$(tr ' ' '\n' <<<"$SERVERS" | sed '/^$/d' | sort | uniq -d)" ]; then
	die "BENCH_SERVERS names a server twice: $SERVERS (for repetitions use BENCH_REPS)"
fi

[ "$CLIENTS" -ge 1 ] && [ "$CLIENTS" -le 240 ] || die "BENCH_CLIENTS must be 1..240 (one address each in 10.200.0.0/24)"
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces); run: sudo $0"
for c in ip chronyd setpriv taskset chrt pgrep ethtool go jq python3 timeout; do
	command -v "$c" >/dev/null || die "missing command: $c (scripts/install-peers.sh installs the peers)"
done

# Unique names: the PID keeps concurrent runs and other tests apart.
ID=$$
SRV_NS=gnb-srv-$ID CLI_NS=gnb-cli-$ID
SRV_IF=gnbs$ID CLI_IF=gnbc$ID
SRV_IP=10.200.0.1 CLI_IP=10.200.0.2 NET=10.200.0.0/24
lib_state gnomon-bench-ntp
lib_traps

# --- machine -----------------------------------------------------------------
NCPU=$(nproc)
MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
KERNEL=$(uname -r)
MACHINE="$NCPU CPU ($MODEL), Linux $KERNEL, $(go version | awk '{print $3}'), chrony $(chronyd -v | awk '{print $4}')"
if [ "$NCPU" -ge 2 ]; then
	GEN_CPU=0 SRV_CPU=1
else
	GEN_CPU=0 SRV_CPU=0
	log "warning: one CPU only: server and generator share it"
fi
log "machine: $MACHINE; generator on CPU $GEN_CPU, server on CPU $SRV_CPU"
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
if [ "$(awk -v l="$LOAD_BEFORE" -v n="$NCPU" 'BEGIN{print (l > n / 2)}')" = 1 ]; then
	log "WARNING: load average $LOAD_BEFORE on $NCPU CPUs: other work competes for the CPUs, numbers will be low and noisy"
fi
CLOCK_BEFORE=$(clockstate)

# --- build -------------------------------------------------------------------
log "building gnomonctl"
(cd "$ROOT" && go build -o "$BIN/gnomonctl" ./cmd/gnomonctl)
# perf counts the servers' system calls (raw_syscalls tracepoint); without
# it the table says "?".
HAVE_PERF=0
if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
	HAVE_PERF=1
else
	log "note: perf with the raw_syscalls tracepoint is not available: no system-call counts"
fi
HAVE_GNOMOND=0
if [[ " $SERVERS " == *" gnomond"* ]]; then
	if [ -n "${BENCH_GNOMOND_BIN:-}" ]; then
		cp "$BENCH_GNOMOND_BIN" "$BIN/gnomond" || die "BENCH_GNOMOND_BIN $BENCH_GNOMOND_BIN: cannot copy"
		HAVE_GNOMOND=1
		log "gnomond: $BENCH_GNOMOND_BIN (BENCH_GNOMOND_BIN)"
	elif (cd "$ROOT" && go build -o "$BIN/gnomond" ./cmd/gnomond) 2>"$STATE/gnomond-build.log"; then
		HAVE_GNOMOND=1
	else
		log "note: ./cmd/gnomond does not build yet; skipping gnomond (see below)"
		sed 's/^/  /' "$STATE/gnomond-build.log" | head -5 >&2
	fi
fi
# chronyd cannot be told its socket receive buffer: this shim gives it the
# same 4 MiB gnomond asks for (see the file). Without gcc, chronyd keeps the
# system default and the table says so.
SHIM=""
if [[ " $SERVERS " == *" chronyd"* ]]; then
	if gcc -shared -fPIC -O2 -o "$BIN/rcvbuf-preload.so" "$ROOT/scripts/rcvbuf-preload.c" -ldl 2>"$STATE/shim-build.log"; then
		SHIM=$BIN/rcvbuf-preload.so
	else
		log "note: cannot build scripts/rcvbuf-preload.c (gcc); chronyd keeps the system default receive buffer"
	fi
fi
if [[ " $SERVERS " == *" reflector "* ]]; then
	gcc -O2 -pthread -o "$BIN/reflector" "$ROOT/scripts/reflector.c" 2>"$STATE/reflector-build.log" ||
		die "cannot build scripts/reflector.c (gcc): $(head -3 "$STATE/reflector-build.log")"
fi
if [[ " $SERVERS " == *" ntpresponder "* ]]; then
	FBVER=$(cd "$ROOT" && go list -m -f '{{.Version}}' github.com/facebook/time)
	log "building ntpresponder (github.com/facebook/time@$FBVER; first time downloads its dependencies)"
	# go install pkg@version builds in its own module context: the gnomon
	# go.mod/go.sum stay untouched.
	GOBIN="$BIN" go install "github.com/facebook/time/cmd/ntpresponder@$FBVER"
fi

# --- namespaces (peers.md §3) ------------------------------------------------
ip netns add "$SRV_NS"
ip netns add "$CLI_NS"
ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS"
ip -n "$SRV_NS" addr add "$SRV_IP/24" dev "$SRV_IF"
[ -z "$PAIR" ] || ip -n "$SRV_NS" addr add "$SRV_IP2/24" dev "$SRV_IF"
ip -n "$CLI_NS" addr add "$CLI_IP/24" dev "$CLI_IF"
# One source address per generator socket (10.200.0.10 + i): servers keep
# per-address state (client log, interleaved timestamps, rate limits), so the
# load looks like CLIENTS hosts rather than one host with many ports.
SOURCES=""
for i in $(seq 0 $((CLIENTS - 1))); do
	ip -n "$CLI_NS" addr add "10.200.0.$((10 + i))/24" dev "$CLI_IF"
	SOURCES+="${SOURCES:+,}10.200.0.$((10 + i))"
done
for ns in "$SRV_NS" "$CLI_NS"; do ip -n "$ns" link set lo up; done
ip -n "$SRV_NS" link set "$SRV_IF" up
ip -n "$CLI_NS" link set "$CLI_IF" up
# --- how packets cross the veth ---------------------------------------------
# A veth hands a packet to its peer in the sender's context; how the receive
# side is driven decides who pays for what. Each network model in BENCH_NET
# (default "napi rps": every server is measured under both) stands for a
# class of real NIC (docs/benchmarks.md has the profiles behind this):
#   napi: NAPI on both veths (GRO on; TSO off, which makes every packet
#     eligible), each run by its kernel thread pinned to the receiving side's
#     CPU at SCHED_FIFO 50, like a NIC's interrupt and softirq, which preempt
#     the server; with interrupt coalescing (gro_flush_timeout 20 µs,
#     napi_defer_hard_irqs 2). Each side pays for its own receive path; a
#     send costs no cross-CPU wake-up while traffic flows. Like a NIC whose
#     transmit doorbell is cheap (bare metal, SR-IOV).
#   rps: receive packet steering to the receiving side's CPU. A send costs
#     an inter-processor interrupt (in a VM: a VM exit) unless the receiver
#     is still busy with earlier packets, so senders that batch pay it less
#     often. Like a paravirtual NIC (virtio-net) whose transmit kick is a VM
#     exit unless the host is still draining the queue.
#   none: no steering; each side runs the other's receive path.
# UDP segmentation offload is off on both veths, so a UDP_SEGMENT batch from
# the generator is cut into separate datagrams before it crosses: the server
# receives one frame per request, as from a NIC (checked at every step).
ns_of() { [ "$1" = "$SRV_IF" ] && echo "$SRV_NS" || echo "$CLI_NS"; }
for ifc in "$SRV_IF" "$CLI_IF"; do
	ip netns exec "$(ns_of "$ifc")" ethtool -K "$ifc" tx-udp-segmentation off tso off >/dev/null 2>&1 ||
		die "ethtool -K $ifc tx-udp-segmentation off failed (scripts/install-peers.sh installs ethtool)"
done
declare -A NETDESC

# set_net MODEL: reconfigure the veth pair for one network model.
set_net() {
	local mode=$1 ifc ns cpu t threads
	for ifc in "$SRV_IF" "$CLI_IF"; do # back to plain veths first
		ns=$(ns_of "$ifc")
		ip netns exec "$ns" sh -c "echo 0 >/sys/class/net/$ifc/queues/rx-0/rps_cpus; echo 0 >/sys/class/net/$ifc/threaded
			echo 0 >/sys/class/net/$ifc/gro_flush_timeout; echo 0 >/sys/class/net/$ifc/napi_defer_hard_irqs" 2>/dev/null || true
		ip netns exec "$ns" ethtool -K "$ifc" gro off >/dev/null 2>&1 || true
	done
	case $mode in
	napi)
		[ "$GEN_CPU" != "$SRV_CPU" ] || die "network model napi needs two CPUs"
		for ifc in "$SRV_IF" "$CLI_IF"; do
			ns=$(ns_of "$ifc")
			cpu=$GEN_CPU
			[ "$ifc" = "$SRV_IF" ] && cpu=$SRV_CPU
			ip netns exec "$ns" ethtool -K "$ifc" gro on >/dev/null || die "ethtool -K $ifc gro on failed"
			ip netns exec "$ns" sh -c "echo 1 >/sys/class/net/$ifc/threaded && echo 20000 >/sys/class/net/$ifc/gro_flush_timeout &&
				echo 2 >/sys/class/net/$ifc/napi_defer_hard_irqs" || die "cannot enable threaded NAPI on $ifc"
			threads=$(pgrep -f "^\[?napi/$ifc-" || true)
			[ -n "$threads" ] || die "no NAPI thread for $ifc"
			for t in $threads; do
				taskset -pc "$cpu" "$t" >/dev/null && chrt -f -p 50 "$t" || die "cannot pin NAPI thread $t of $ifc"
			done
		done
		NETDESC[$mode]="threaded NAPI on both veths, each thread on its side's CPU at SCHED_FIFO 50, coalescing 20 µs"
		;;
	rps)
		[ "$GEN_CPU" != "$SRV_CPU" ] || die "network model rps needs two CPUs"
		ip netns exec "$SRV_NS" sh -c "printf '%x' $((1 << SRV_CPU)) >/sys/class/net/$SRV_IF/queues/rx-0/rps_cpus" &&
			ip netns exec "$CLI_NS" sh -c "printf '%x' $((1 << GEN_CPU)) >/sys/class/net/$CLI_IF/queues/rx-0/rps_cpus" ||
			die "cannot set RPS on the veths"
		NETDESC[$mode]="RPS, server rx on CPU $SRV_CPU, generator rx on CPU $GEN_CPU"
		;;
	none) NETDESC[$mode]="no steering: each side runs the other's receive path" ;;
	*) die "BENCH_NET: unknown network model $mode (want napi, rps or none)" ;;
	esac
	log "network model $mode: ${NETDESC[$mode]}"
}
log "namespaces $SRV_NS ($SRV_IP) <-> $CLI_NS ($CLI_IP)"

# --- servers -----------------------------------------------------------------
SRV_PID=""

start_server() { # name@model
	local name=$1 dir="$STATE/$1" base=${1%@*}
	base=${base%-xleave}
	mkdir -p "$dir"
	chmod 755 "$dir"
	local cmd=()
	case $base in
	gnomond | gnomond-sysbuf)
		local rb=0 # gnomond's default: 4 MiB
		[ "$base" = gnomond-sysbuf ] && rb=-1
		cat >"$dir/gnomond.yaml" <<EOF
ntp:
  listen:
    - $SRV_IP:$PORT
  allow:
    - $NET
  recv_buffer: $rb
  # Room for twice the interleaved associations the generator can keep
  # (64 sockets × (64 unechoed replies + those in flight)), as
  # ntp/clientlog's doc advises: the default 4096 holds fewer than it keeps
  # at high rates. 1 MiB; chronyd below has clientloglimit 10 MB, but
  # 131072 entries (8 MiB) cost gnomond ≈ 15 % more CPU at 90k req/s here
  # (cache and TLB misses), for no better interleaved share.
  client_log_size: 16384
sources:
  - local: {stratum: 1}
metrics:
  listen: $GN_METRICS
EOF
		cmd=("$BIN/gnomond" --config "$dir/gnomond.yaml")
		;;
	chronyd | chronyd-sysbuf)
		cat >"$dir/chronyd.conf" <<EOF
local stratum 1
allow $NET
cmdport 0
bindcmdaddress /
pidfile $dir/chronyd.pid
driftfile $dir/chrony.drift
clientloglimit 10000000
${PAIR:+bindaddress $SRV_IP}
EOF
		# chronyd drops root for its run user, which then writes the drift file.
		if id _chrony >/dev/null 2>&1; then chown _chrony "$dir"; fi
		cmd=(chronyd -x -d -f "$dir/chronyd.conf")
		if [ "$base" = chronyd ] && [ -n "$SHIM" ]; then
			cmd=(env LD_PRELOAD="$SHIM" RCVBUF_BYTES=$((4 << 20)) "${cmd[@]}")
		fi
		;;
	reflector)
		cmd=("$BIN/reflector" "$SRV_IP" "$PORT")
		;;
	ntpresponder)
		cmd=("$BIN/ntpresponder" -ip "$SRV_IP" -port "$PORT" -interface "$SRV_IF"
			-manage-loopback=false -monitoringport 18123 -stratum 1 -refid GNMB)
		;;
	*) die "unknown server $base" ;;
	esac
	# ip netns exec, taskset and setpriv all exec: $! is the server's PID.
	ip netns exec "$SRV_NS" nice -n "$NICE" taskset -c "$SRV_CPU" "${NOTIME[@]}" "${cmd[@]}" >"$dir/server.log" 2>&1 &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	# Wait until it answers (at most ~15 s).
	for _ in $(seq 1 30); do
		sleep 0.5
		kill -0 "$SRV_PID" 2>/dev/null || { tail -5 "$dir/server.log" >&2; die "$name exited at start"; }
		if gen "$dir/probe.json" --rate 200 --duration 300ms --clients 2 2>/dev/null; then
			local cap
			cap=$(awk '/^CapEff/ {print $2}' "/proc/$SRV_PID/status")
			R_RB[$name]=$(ip netns exec "$SRV_NS" ss -uanmH "sport = :$PORT" 2>/dev/null | grep -o 'rb[0-9]*' | head -1 | tr -d rb)
			log "$name up (pid $SRV_PID, CapEff $cap, socket receive buffer ${R_RB[$name]:-?} B)"
			return 0
		fi
	done
	tail -5 "$dir/server.log" >&2
	die "$name does not answer on $SRV_IP:$PORT"
}

stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null || true
	for _ in $(seq 1 25); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.2; done
	kill -KILL "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=""
}

# UDP receive-buffer drops of all sockets in the server namespace (last
# column of /proc/net/udp), and backlog drops of the host (softnet_stat
# column 2, hex, summed over CPUs): they show where lost requests died.
srvdrops() { ip netns exec "$SRV_NS" awk 'NR > 1 { d += $NF } END { print d + 0 }' /proc/net/udp; }
# Frames the server's veth received, and packets dropped on either veth
# (a full NAPI ring shows here, not in the socket counters).
ifstat() { ip netns exec "$(ns_of "$1")" cat "/sys/class/net/$1/statistics/$2"; }
srvframes() { ifstat "$SRV_IF" rx_packets; }
vethdrops() {
	echo $(($(ifstat "$SRV_IF" rx_dropped) + $(ifstat "$SRV_IF" tx_dropped) + $(ifstat "$CLI_IF" rx_dropped) + $(ifstat "$CLI_IF" tx_dropped)))
}
netdrops() { python3 -c 'import sys; print(sum(int(l.split()[1], 16) for l in open("/proc/net/softnet_stat")))'; }

# cpustat N: "idle+iowait softirq steal" jiffies of CPU N (/proc/stat). Busy
# time is the window minus idle: with a tickless idle the kernel measures
# idle time exactly (and interrupts and softirqs on an idle CPU are not
# idle), while the busy fields are only sampled at the tick, which misses
# short bursts on a mostly idle CPU.
cpustat() { awk -v c="cpu$1" '$1 == c { print $5+$6, $8, $9 }' /proc/stat; }

# CPU ticks (utime+stime) of a process.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

# gen OUT.json ARGS...: one generator run in the client namespace, pinned,
# JSON to OUT; exit status of gnomonctl (1 = no reply at all).
gen() {
	local out=$1
	shift
	ip netns exec "$CLI_NS" nice -n "$NICE" taskset -c "$GEN_CPU" "${NOTIME[@]}" \
		timeout -k 5 660 "$BIN/gnomonctl" bench ntp --server "$SRV_IP:$PORT" --json "$@" >"$out"
}

# srvtx: gnomond's own basic transmit-error histogram
# (gnomon_ntp_basic_transmit_error_seconds: kernel TX stamp − Transmit of the
# basic replies it stamps), its count of basic replies sent in a shared
# sendmmsg with a calibrated Transmit and of Transmits it wrote, from its
# metrics endpoint, as exposition lines.
srvtx() {
	ip netns exec "$SRV_NS" python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://'"$GN_METRICS"'/metrics", timeout=2).read().decode())' 2>/dev/null |
		grep -E '^gnomon_ntp_basic_(transmit_error_seconds|replies_batched_total)|^gnomon_ntp_tx_timestamps_total\{kind="daemon"\}' || true
}
# srvtxdiff BEFORE AFTER: that histogram over a step (the difference of two
# srvtx scrapes) as "server MEAN/P50/P99/N, batched B%": mean µs, the bucket
# bounds (µs) holding the median and the 99th percentile, samples, and the
# share of the Transmits written that went out in a shared sendmmsg; "-"
# without any.
srvtxdiff() {
	python3 - "$1" "$2" <<'PY'
import re, sys
def parse(path):
    b, s, n, c = {}, 0.0, 0, {}
    for line in open(path):
        if line.startswith(('gnomon_ntp_basic_replies_batched_total ', 'gnomon_ntp_tx_timestamps_total{')):
            c[line.split()[0]] = float(line.split()[1])
        m = re.match(r'gnomon_ntp_basic_transmit_error_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            b[float(m.group(1))] = float(m.group(2))
        elif line.startswith('gnomon_ntp_basic_transmit_error_seconds_sum '):
            s = float(line.split()[1])
        elif line.startswith('gnomon_ntp_basic_transmit_error_seconds_count '):
            n = float(line.split()[1])
    return b, s, n, c
b0, s0, n0, c0 = parse(sys.argv[1])
b1, s1, n1, c1 = parse(sys.argv[2])
n = n1 - n0
if n <= 0 or not b1:
    print("-")
    sys.exit()
def q(p):
    for le in sorted(b1):
        if b1[le] - b0.get(le, 0) >= p * n:
            return "≤%g" % (le * 1e6) if le != float("inf") else ">1000"
def delta(k):
    return c1.get(k, 0) - c0.get(k, 0)
written = delta('gnomon_ntp_tx_timestamps_total{kind="daemon"}')
batched = "" if written <= 0 else ", batched %.2f%%" % (100 * delta('gnomon_ntp_basic_replies_batched_total') / written)
print("server %.2f/%s/%s/%d%s" % ((s1 - s0) / n * 1e6, q(0.5), q(0.99), n, batched))
PY
}

# step NAME TAG ARGS...: a measured generator run; prints
# "loss_pct request_rate reply_rate p50_us p99_us gen_busy srv_cpu generator_limited
#  server_socket_drops generator_socket_drops"
# (gen_busy: % of the generator's loop time spent sending/receiving; its CPU is
# always ≈ 100 % because it busy-polls).
step() {
	local name=$1 tag=$2
	shift 2
	local out="$STATE/$name/$tag.json" t0 t1 s0 s1 d0 d1 n0 n1 xl=""
	isxleave "$name" && xl=--xleave
	d0=$(srvdrops)
	n0=$(netdrops)
	local f0 f1 v0 v1
	f0=$(srvframes)
	v0=$(vethdrops)
	local c0 c1
	c0=$(cpustat "$SRV_CPU")
	s0=$(ticks "$SRV_PID")
	# System calls of the server process (all its threads) at the fixed
	# rates, counted by the raw_syscalls tracepoint while the generator runs.
	local perfpid=""
	if [ "$HAVE_PERF" = 1 ] && { [ "$tag" = common ] || [ "$tag" = eff ]; }; then
		perf stat -x, -e raw_syscalls:sys_enter -p "$SRV_PID" -o "$STATE/$name/$tag.perf" 2>/dev/null &
		perfpid=$!
		PIDS+=("$perfpid")
		if [ -n "${BENCH_PERF_EVENTS:-}" ]; then
			perf stat -x, -a -C "$SRV_CPU" -e "$BENCH_PERF_EVENTS" -o "$STATE/$name/$tag.perfx" 2>/dev/null &
			perfpid="$perfpid $!"
			PIDS+=("$!")
		fi
		if [ "${BENCH_PERF_RECORD:-0}" = 1 ]; then
			perf record -q -g -a -C "$SRV_CPU" -o "$STATE/$name/$tag.perf.data" 2>/dev/null &
			perfpid="$perfpid $!"
			PIDS+=("$!")
		fi
		sleep 0.3
	fi
	local gn=""
	if [[ $name == gnomond* ]] && { [ "$tag" = common ] || [ "$tag" = eff ]; }; then
		gn=1
		srvtx >"$STATE/$name/$tag.srvtx0"
	fi
	t0=$(date +%s.%N)
	gen "$out" --clients "$CLIENTS" --source "$SOURCES" $xl "$@" 2>>"$STATE/$name/gen.log" || true
	t1=$(date +%s.%N)
	if [ -n "$gn" ]; then
		srvtx >"$STATE/$name/$tag.srvtx1"
		srvtxdiff "$STATE/$name/$tag.srvtx0" "$STATE/$name/$tag.srvtx1" >"$STATE/$name/$tag.srvtx" 2>/dev/null || echo - >"$STATE/$name/$tag.srvtx"
	fi
	if [ -n "$perfpid" ]; then
		# shellcheck disable=SC2086 # a list of PIDs
		kill -INT $perfpid 2>/dev/null || true
		# shellcheck disable=SC2086
		wait $perfpid 2>/dev/null || true
		if [ -s "$STATE/$name/$tag.perfx" ]; then
			awk -F, -v n="$(jq -r '.received // 0' "$out" 2>/dev/null)" -v who="$name $tag" \
				'$3 != "" && n > 0 { printf "bench-ntp: %s: %s %.3f per answered request (%s in all)\n", who, $3, $1 / n, $1 }' \
				"$STATE/$name/$tag.perfx" >&2
		fi
		local nsys
		nsys=$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$STATE/$name/$tag.perf" 2>/dev/null)
		jq -r --arg n "${nsys:-0}" 'if .received > 0 and ($n | tonumber) > 0 then ($n | tonumber) / .received | . * 100 | round / 100 else "?" end' \
			"$out" >"$STATE/$name/$tag.sys" 2>/dev/null || echo "?" >"$STATE/$name/$tag.sys"
	fi
	s1=$(ticks "$SRV_PID")
	c1=$(cpustat "$SRV_CPU")
	d1=$(srvdrops)
	n1=$(netdrops)
	f1=$(srvframes)
	v1=$(vethdrops)
	# Every request must have crossed as its own frame (GSO split before the
	# veth); the probe and ARP add a few frames, never fewer.
	local sent
	sent=$(jq -r '.sent // 0' "$out" 2>/dev/null || echo 0)
	if [ "$sent" -gt 0 ] && [ $((f1 - f0 + v1 - v0)) -lt "$sent" ]; then
		log "WARNING: $name $tag: $sent requests arrived in $((f1 - f0)) frames ($((v1 - v0)) dropped on the veth): segmentation offload crossed the veth"
		FRAME_WARN=1
	fi
	# Server CPU as a whole: busy, of which softirq (its receive path with
	# RPS) and steal (hypervisor); busy minus the server process minus
	# softirq is other work on that CPU.
	local cpuline
	local busy
	busy=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN {
		split(a, x); split(b, y); v = (t1 - t0) * hz - (y[1] - x[1]); print (v < 0 ? 0 : v) }')
	cpuline=$(awk -v a="$c0" -v b="$c1" -v busy="$busy" -v p0="$s0" -v p1="$s1" -v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN {
		split(a, x); split(b, y); f = 100 / hz / (t1 - t0)
		printf "cpu%s busy %.0f %% (server process %.0f %%, softirq %.0f %%, steal %.0f %%; softirq may be charged to the process too)", "'"$SRV_CPU"'",
			busy*f, (p1-p0)*f, (y[2]-x[2])*f, (y[3]-x[3])*f }')
	echo "$tag server_socket_drops=$((d1 - d0)) backlog_drops=$((n1 - n0)) veth_drops=$((v1 - v0)) server_frames=$((f1 - f0)) requests=$sent $cpuline" >>"$STATE/$name/drops.log"
	echo "$cpuline" >"$STATE/$name/$tag.cpu"
	# Server-CPU time per answered request, all of it: the server process,
	# its receive path (softirq or NAPI thread) and anything else on that CPU.
	jq -r --arg busy "$busy" --arg hz "$HZ" \
		'if .received > 0 then ($busy | tonumber) / ($hz | tonumber) * 1e6 / .received else 0 end | . * 100 | round / 100' \
		"$out" >"$STATE/$name/$tag.cpuus" 2>/dev/null || echo 0 >"$STATE/$name/$tag.cpuus"
	local srv_cpu
	srv_cpu=$(awk -v a="$s0" -v b="$s1" -v t0="$t0" -v t1="$t1" -v hz="$HZ" \
		'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
	# The loss the server is answerable for: requests lost minus those the
	# veth dropped (its NAPI ring holds 256 packets, so a stall of the whole
	# vCPU by the hypervisor overflows it whatever server runs; counted in
	# drops.log and the log line).
	jq -r --arg srv "$srv_cpu" --arg sd "$((d1 - d0))" --arg vd "$((v1 - v0))" '[
		(if .sent > 0 then ([.lost - ($vd | tonumber), 0] | max) * 100 / .sent else 100 end), .request_rate, .reply_rate, .rtt_p50_us, .rtt_p99_us,
		(.gen_busy_pct | floor), ($srv | tonumber), .generator_limited, ($sd | tonumber), .gen_rx_drops] | map(tostring) | join(" ")' "$out" 2>/dev/null ||
		echo "100 0 0 0 0 0 $srv_cpu false $((d1 - d0)) 0" # no result: count the step as all lost
}

FRAME_WARN=0
declare -A R_RB R_CPU1 R_CPU2 R_SYS1 R_SYS2 R_TXE1 R_TXE2 R_XS1 R_XS2 R_XS90 R_LATE

# txerr NAME TAG: the transmit-timestamp error of that step's replies
# (gnomonctl bench ntp: client kernel RX stamp − server Transmit − half
# the minimum RTT), "basic mean/sd/p99/max" and, when any, "xleave …", µs;
# for gnomond also "server …", its own measure (srvtxdiff).
txerr() {
	local j sv
	j=$(jq -r 'def f(e): if e == null then "-" else "\(e.mean_us*100|round/100)/\(e.stddev_us*100|round/100)/\(e.p99_us*100|round/100)/\(e.max_us*100|round/100)" end;
		"basic " + f(.tx_error_basic) + (if .tx_error_interleaved == null then "" else "; xleave " + f(.tx_error_interleaved) end)' \
		"$STATE/$1/$2.json" 2>/dev/null) || j="?"
	sv=$(cat "$STATE/$1/$2.srvtx" 2>/dev/null || true)
	if [ -n "$sv" ] && [ "$sv" != - ]; then j="$j; $sv"; fi
	echo "$j"
}
declare -A R_MAX R_NEXT R_P50 R_P99 R_XMAX R_BOTTLENECK R_NOTE
DEADLINE=$((SECONDS + BUDGET))

# dropcount NAME TAG FIELD: FIELD (server_socket_drops, veth_drops, ...) of
# the last run of that step in drops.log.
dropcount() { grep "^$2 " "$STATE/$1/drops.log" | tail -1 | sed -n "s/.* $3=\([0-9]*\).*/\1/p"; }
vdrops_of() { dropcount "$1" "$2" veth_drops; }

# classify NAME TAG: who was too slow in a failing step, from where the lost
# requests died: the server's socket overflowing means the server did not
# read fast enough (at full CPU: it is saturated; below: it was stalled or
# descheduled); drops elsewhere point at the path or the generator.
classify() {
	local name=$1 tag=$2 json="$STATE/$1/$2.json" cpuinfo cbusy glim gcpu gdrop scpu sdrop vdrop
	cpuinfo=$(cat "$STATE/$name/$tag.cpu")
	cbusy=$(awk '{ print $3 }' "$STATE/$name/$tag.cpu")
	read -r glim gcpu gdrop < <(jq -r '[.generator_limited, (.gen_busy_pct | floor), .gen_rx_drops] | map(tostring) | join(" ")' "$json" 2>/dev/null || echo "false 0 0")
	scpu=$(sed -n 's/.*server process \([0-9]*\) %.*/\1/p' "$STATE/$name/$tag.cpu")
	sdrop=$(dropcount "$name" "$tag" server_socket_drops)
	vdrop=$(vdrops_of "$name" "$tag")
	if [ "$glim" = true ]; then
		echo "unclear: generator also fell short (busy $gcpu %, own socket drops $gdrop), server $cpuinfo"
	elif [ "${sdrop:-0}" -gt 0 ] && { [ "${scpu:-0}" -ge 90 ] || [ "${cbusy:-0}" -ge 95 ]; }; then
		echo "server: CPU saturated, $sdrop socket drops ($cpuinfo)"
	elif [ "${sdrop:-0}" -gt 0 ]; then
		echo "server: socket overflow below CPU saturation, $sdrop drops ($cpuinfo; stalls or descheduling)"
	elif [ "${vdrop:-0}" -gt 0 ]; then
		echo "path: $vdrop veth drops, no server socket drops ($cpuinfo)"
	else
		echo "path: no server socket or veth drops ($cpuinfo)"
	fi
}

# isxleave NAME: whether NAME's steps send interleaved requests.
isxleave() { [ -n "$XLEAVE" ] || [[ $1 == *-xleave@* ]]; }

# xshare NAME TAG: the server's interleaved share in that step, in %: of
# the valid replies to requests it could answer interleaved (their Origin a
# Receive field no request had echoed before: gnomonctl bench ntp
# xleave_eligible), those answered interleaved. Interleaved requests only;
# "-" otherwise.
xshare() {
	isxleave "$1" || { echo "-"; return; }
	jq -r 'if .xleave_eligible > 0 then .xleave_eligible_interleaved * 100 / .xleave_eligible | . * 100 | floor / 100 else "-" end' "$STATE/$1/$2.json" 2>/dev/null || echo "?"
}

bench_server() { # name
	local name=$1
	start_server "$name"

	# 0. The first 2 s after start (the server has just answered its
	# probe): requests lost or answered more than 100 ms late, in %.
	step "$name" start --rate "$COMMON_RATE" --duration 2s >/dev/null
	R_LATE[$name]=$(jq -r 'if .sent > 0 then (.lost + .rtt_over_100ms) * 100 / .sent | . * 1000 | round / 1000 else "?" end' "$STATE/$name/start.json" 2>/dev/null || echo "?")
	log "$name: first 2 s after start @ $COMMON_RATE/s: ${R_LATE[$name]} % of requests lost or answered > 100 ms late"

	# 1. RTT at the common rate.
	read -r loss rr _ p50 p99 gcpu scpu glim sdrop gdrop < <(step "$name" common --rate "$COMMON_RATE" --duration "${STEP}s")
	log "$name @ $COMMON_RATE/s: loss $loss %, rtt p50 $p50 µs p99 $p99 µs (server cpu $scpu %, generator busy $gcpu %, server socket drops $sdrop)"
	R_P50[$name]=$p50 R_P99[$name]=$p99
	R_CPU1[$name]=$(cat "$STATE/$name/common.cpuus")
	# Server CPU per request at a moderate and a high fixed rate.
	read -r loss _ < <(step "$name" eff --rate "$EFF_RATE" --duration "${STEP}s")
	R_CPU2[$name]=$(cat "$STATE/$name/eff.cpuus")
	R_SYS1[$name]=$(cat "$STATE/$name/common.sys" 2>/dev/null || echo "?")
	R_SYS2[$name]=$(cat "$STATE/$name/eff.sys" 2>/dev/null || echo "?")
	log "$name: server CPU per answered request: ${R_CPU1[$name]} µs @ $COMMON_RATE/s, ${R_CPU2[$name]} µs @ $EFF_RATE/s (loss $loss %); system calls per answered request: ${R_SYS1[$name]}, ${R_SYS2[$name]}"
	R_TXE1[$name]=$(txerr "$name" common) R_TXE2[$name]=$(txerr "$name" eff)
	R_XS1[$name]=$(xshare "$name" common) R_XS2[$name]=$(xshare "$name" eff)
	log "$name: TX-timestamp error mean/sd/p99/max (µs) @ $COMMON_RATE/s: ${R_TXE1[$name]}; @ $EFF_RATE/s: ${R_TXE2[$name]}"

	if [ "${BENCH_FIXED_ONLY:-0}" = 1 ]; then
		R_MAX[$name]="-" R_NEXT[$name]="- (BENCH_FIXED_ONLY)" R_BOTTLENECK[$name]="-" R_XMAX[$name]="-" R_XS90[$name]="-"
		stop_server
		return 0
	fi

	# 2. Ramp. A step passes with loss < 1 %; it is credited with the rate the
	# generator actually achieved (loss is relative to what was sent, so a
	# step the generator could not fully deliver still counts for what it
	# sent). A failing step is repeated once (runs vary by ±20 %). The ramp
	# stops at the second failure, or when the generator stops making
	# progress (achieved rate < 1.05 × the previous one while it fell short).
	local rate=$START_RATE best=0 prev=0 next="-" fails=0 gfails=0 bott="none found" failed="" lastpass=0
	while :; do
		if [ $SECONDS -ge $DEADLINE ]; then
			R_NOTE[$name]="time budget hit during ramp"
			break
		fi
		if [ "$(awk -v r="$rate" -v m="$MAX_RATE" 'BEGIN{print (r > m)}')" = 1 ]; then
			R_NOTE[$name]="reached BENCH_MAX_RATE"
			break
		fi
		read -r loss rr _ p50 p99 gcpu scpu glim sdrop gdrop < <(step "$name" "rate-$rate" --rate "$rate" --duration "${STEP}s")
		rr=$(printf '%.0f' "$rr")
		log "$name @ $rate/s: sent $rr/s$(isxleave "$name" && echo " ($(xshare "$name" "rate-$rate") % interleaved)"), server loss $(printf '%.3f' "$loss") % (+$(vdrops_of "$name" "rate-$rate") veth drops), p99 $p99 µs, server cpu $scpu %, generator busy $gcpu %, generator_limited $glim, drops: server socket $sdrop, generator sockets $gdrop; $(cat "$STATE/$name/rate-$rate.cpu")"
		if [ "$(awk -v l="$loss" 'BEGIN{print (l < 1)}')" = 1 ]; then
			[ "$rr" -gt "$best" ] && best=$rr
			fails=0
			if [ "$glim" = true ] && [ "$(awk -v a="$rr" -v p="$prev" 'BEGIN{print (a < 1.05 * p)}')" = 1 ]; then
				gfails=$((gfails + 1))
				if [ $gfails -ge 2 ]; then
					bott="generator (no more than $rr req/s sent)"
					next="none: generator saturated first"
					break
				fi
				continue # retry the same rate once
			fi
			gfails=0
			prev=$rr
			lastpass=$rate
			rate=$(awk -v r="$rate" -v f="$FACTOR" 'BEGIN{printf "%.0f", r * f}')
			continue
		fi
		fails=$((fails + 1))
		if [ $fails -ge 2 ]; then
			next="$rate/s target, $rr/s sent: $(printf '%.1f' "$loss") % loss"
			bott=$(classify "$name" "rate-$rate")
			failed=$rate
			break
		fi
	done

	# 3. Bisection between the last passing and the first failing target
	# (the ×FACTOR ramp alone leaves a gap of up to 25 %); a failing midpoint
	# is repeated once, like a ramp step.
	if [ -n "$failed" ] && [ "$lastpass" -gt 0 ]; then
		local lo=$lastpass hi=$failed mid i try
		for ((i = 0; i < BISECT; i++)); do
			[ $SECONDS -lt $DEADLINE ] || break
			mid=$(((lo + hi) / 2))
			for try in 1 2; do
				read -r loss rr _ p50 p99 gcpu scpu glim sdrop gdrop < <(step "$name" "rate-$mid" --rate "$mid" --duration "${STEP}s")
				rr=$(printf '%.0f' "$rr")
				log "$name @ $mid/s (bisect): sent $rr/s, server loss $(printf '%.3f' "$loss") % (+$(vdrops_of "$name" "rate-$mid") veth drops), server cpu $scpu %, generator busy $gcpu %, generator_limited $glim, drops: server socket $sdrop; $(cat "$STATE/$name/rate-$mid.cpu")"
				[ "$(awk -v l="$loss" 'BEGIN{print (l < 1)}')" = 1 ] && break
			done
			if [ "$(awk -v l="$loss" 'BEGIN{print (l < 1)}')" = 1 ]; then
				[ "$rr" -gt "$best" ] && best=$rr
				lo=$mid
			else
				hi=$mid
				next="$mid/s target, $rr/s sent: $(printf '%.1f' "$loss") % loss"
				bott=$(classify "$name" "rate-$mid")
			fi
		done
	fi
	R_MAX[$name]=$best R_NEXT[$name]=$next R_BOTTLENECK[$name]=$bott

	# Interleaved requests: the share answered interleaved at 90 % of
	# this server's own max rate.
	R_XS90[$name]="-"
	if isxleave "$name" && [ "$best" -gt 0 ] && [ $SECONDS -lt $DEADLINE ]; then
		local r90=$((best * 9 / 10))
		read -r loss rr _ < <(step "$name" x90 --rate "$r90" --duration "${STEP}s")
		R_XS90[$name]=$(xshare "$name" x90)
		log "$name @ $r90/s (90 % of max): ${R_XS90[$name]} % of valid replies interleaved, server loss $(printf '%.3f' "$loss") %"
	fi

	# 3. Closed loop, bounded window.
	if [ $SECONDS -lt $DEADLINE ]; then
		read -r loss rr reply _ _ gcpu scpu _ _ _ < <(step "$name" max --max --outstanding 16 --duration "${STEP}s")
		R_XMAX[$name]=$(printf '%.0f' "$reply")
		log "$name --max: $(printf '%.0f' "$reply") replies/s, loss $loss %, server cpu $scpu %"
	else
		R_XMAX[$name]="-"
	fi
	stop_server
}

# Generator ceiling: a UDP sink that never reads holds port 9 open in the
# server namespace, so the kernel drops at its full socket buffer without ICMP
# errors; the generator's achieved rate at an unreachable target rate is its
# own send capacity (including the veth delivery, which it pays in every run).
gen_ceiling() { # model
	mkdir -p "$STATE/sink"
	ip netns exec "$SRV_NS" taskset -c "$SRV_CPU" "${NOTIME[@]}" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9))
time.sleep(float(sys.argv[2]))' "$SRV_IP" 120 &
	local pid=$!
	PIDS+=("$pid")
	sleep 0.5
	ip netns exec "$CLI_NS" nice -n "$NICE" taskset -c "$GEN_CPU" "${NOTIME[@]}" timeout -k 5 60 "$BIN/gnomonctl" bench ntp \
		--server "$SRV_IP:9" --json --clients "$CLIENTS" --source "$SOURCES" --rate 3000000 --duration "${STEP}s" --drain 10ms \
		>"$STATE/sink/ceiling.json" 2>>"$STATE/sink/gen.log" || true
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	CEIL[$1]=$(jq -r '.request_rate | floor' "$STATE/sink/ceiling.json" 2>/dev/null || echo "?")
	log "generator send ceiling (sink that never reads): ${CEIL[$1]} req/s"
}
declare -A CEIL

ORDER=()
MODELS=()
if [ -n "$PAIR" ]; then
	pair_main
	exit 0
fi
REVERSED=$(echo $SERVERS | tr ' ' '\n' | tac | tr '\n' ' ')
for rep in $(seq 1 "$REPS"); do
	list=$SERVERS
	[ $((rep % 2)) = 0 ] && list=$REVERSED # alternate the order
	[ "$REPS" = 1 ] || log "repetition $rep of $REPS: $list"
	for mode in ${BENCH_NET:-napi rps}; do
		set_net "$mode"
		if [ "$rep" = 1 ]; then
			MODELS+=("$mode")
			gen_ceiling "$mode"
		fi
		for s in $list; do
			if [[ $s == gnomond* ]] && [ $HAVE_GNOMOND = 0 ]; then
				continue
			fi
			name="$s@$mode"
			[ "$REPS" = 1 ] || name+="#$rep"
			bench_server "$name"
			ORDER+=("$name")
		done
	done
done

CLOCK_AFTER=$(clockstate)
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)

# --- report ------------------------------------------------------------------
bench_ntp_report | tee "$STATE/table.md"
[ -n "${BENCH_OUT:-}" ] && cp "$STATE/table.md" "$BENCH_OUT"

lib_clock_unchanged "$CLOCK_BEFORE" "$CLOCK_AFTER" || exit 1
