#!/usr/bin/env bash
# bench-ptp.sh: side-by-side PTP grandmaster capacity (issue 10, `make bench-ptp`).
#
# In a fresh pair of network namespaces joined by a veth pair it runs, one
# after another, gnomond's PTP grandmaster (virtual clock, local source) and
# facebook/time's ptp4u (built from its Go module at the version in go.mod),
# both with software timestamps, each pinned to one CPU with CAP_SYS_TIME
# dropped, under the same load generator (`gnomonctl bench ptp`, pinned to
# the other CPU). Every simulated client negotiates unicast Announce, Sync and
# Delay_Resp at 1 Hz (--sync-rate 1, --announce-log 0) and sends Delay_Req at
# 1 Hz.
#
# Generator mode: address mode (--source-prefix). ptp4u sends Sync, Announce
# and Follow_Up to the client's ports 319/320 (only a Delay_Req from a
# "ptping" client, portNumber > 10, is answered to its source port), so port
# mode receives no Sync from it. Client i has its own address 10.201.0.0 +
# 1 + i; these addresses live on the client veth as /32s and the server
# namespace routes 10.201.0.0/16 via the client's main address (one neighbour
# entry, not one per client). One generator process serves every client
# through one socket on 319 and one on 320 bound to the wildcard address
# (the destination address of each datagram names its client; each client's
# messages leave from its own address). gnomond answers 319/320 clients on
# 319/320 too, so both servers see the same load.
#
# Measure: for a client count N, a step starts the server afresh (no state
# from the previous step), waits until it answers, runs the generators for
# BENCH_STEP seconds, and sums their results. The step passes when, for each
# of Announce, Sync, Follow_Up and Delay_Resp, at most BENCH_LOSS % of the
# expected messages are missing, and no grant was denied. Server CPU is
# utime+stime of the server process (/proc/PID/stat) from the generators'
# start to their end, divided by N × wall time: CPU µs per client-second.
# Search per server: double N from BENCH_START_CLIENTS until a step fails (or
# BENCH_MAX_CLIENTS; if the first step fails, halve until one passes), then
# BENCH_BISECT bisection steps; the result is the largest passing N. Repetitions (BENCH_REPS, default 3) alternate the
# servers (gnomond, ptp4u, gnomond, ...); the table gives the median and each
# repetition's result.
#
# Safety (house rules): needs root for namespaces; never touches the host
# clock (servers run with CAP_SYS_TIME dropped via setpriv; gnomond on its
# virtual clock with a local source; the kernel clock state is read before
# and after with adjtimex modes=0 and compared); traffic stays inside the two
# namespaces; every process started is recorded and killed, and the
# namespaces deleted, on exit (trap). Total time bounded by BENCH_BUDGET
# seconds (default 570): a step that would start past it is not run and the
# table says so; each generator run is bounded by its --duration plus a
# timeout.
#
# Environment knobs (all optional):
#   BENCH_SERVERS        servers, in alternation order (default "gnomond ptp4u")
#   BENCH_REPS           repetitions of the whole search (default 3)
#   BENCH_STEP           seconds the clients run per step (default 8)
#   BENCH_START_CLIENTS  first client count (default 500); its step also gives the
#                        CPU comparison at a common load
#   BENCH_MAX_CLIENTS    largest client count tried (default 32000)
#   BENCH_BISECT         bisection steps after the doubling (default 3)
#   BENCH_LOSS           maximum loss per message type, % (default 0.1)
#   BENCH_PTP4U_ARGS     extra ptp4u flags (e.g. "-queue 1000"; the default is none)
#   BENCH_BUDGET         total seconds (default 570)
#   BENCH_NICE           nice value of servers and generators (default -10)
#   BENCH_NET            rps (default: each side's receive path on its own CPU) or none
#   BENCH_PROFILE=N      after the search, one more step at N clients with a
#                        CPU profile of the server (runtime/pprof; `go tool pprof
#                        -top` printed): gnomond built from this tree with
#                        net/http/pprof added by `go build -overlay` (also when
#                        BENCH_GNOMOND_BIN is set), ptp4u with its -pprofaddr
#   BENCH_PROFILE_SERVER gnomond (default) or ptp4u
#   BENCH_PROFILE_OUT    copy that profile (cpu.pb.gz) here
#   BENCH_GNOMOND_BIN    run this gnomond binary instead of ./cmd/gnomond's (experiments)
#   BENCH_OUT            also write the final table (markdown) to this file
#   BENCH_KEEP=1         keep the state directory (logs, configs, JSON results)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVERS=${BENCH_SERVERS:-"gnomond ptp4u"}
REPS=${BENCH_REPS:-3}
STEP=${BENCH_STEP:-8}
START=${BENCH_START_CLIENTS:-500}
MAXC=${BENCH_MAX_CLIENTS:-32000}
BISECT=${BENCH_BISECT:-3}
LOSS=${BENCH_LOSS:-0.1}
BUDGET=${BENCH_BUDGET:-570}
NICE=${BENCH_NICE:--10}
NETMODEL=${BENCH_NET:-rps}

LOG_TAG=bench-ptp KEEP_VAR=BENCH_KEEP
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces); run: sudo $0"
for c in ip setpriv taskset go jq python3 timeout; do
	command -v "$c" >/dev/null || die "missing command: $c"
done
[ "$MAXC" -le 65534 ] || die "BENCH_MAX_CLIENTS must be ≤ 65534 (the hosts of 10.201.0.0/16)"
[ "$START" -ge 1 ] && [ "$START" -le "$MAXC" ] || die "BENCH_START_CLIENTS must be 1..BENCH_MAX_CLIENTS"
[ "$REPS" -ge 1 ] && [ "$REPS" -le 9 ] || die "BENCH_REPS must be 1..9"
[ "$STEP" -ge 3 ] && [ "$STEP" -le 120 ] || die "BENCH_STEP must be 3..120 s"

ID=$$
SRV_NS=gpb-srv-$ID CLI_NS=gpb-cli-$ID
SRV_IF=gpbs$ID CLI_IF=gpbc$ID
SRV_IP=10.200.0.1 CLI_IP=10.200.0.2 CLI_NET=10.201.0.0/16
lib_state gnomon-bench-ptp
lib_traps

# --- machine -----------------------------------------------------------------
NCPU=$(nproc)
MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MACHINE="$NCPU CPU ($MODEL), Linux $(uname -r), $(go version | awk '{print $3}')"
if [ "$NCPU" -ge 2 ]; then GEN_CPU=0 SRV_CPU=1; else GEN_CPU=0 SRV_CPU=0; log "warning: one CPU only: server and generator share it"; fi
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
log "machine: $MACHINE; generator on CPU $GEN_CPU, server on CPU $SRV_CPU; load average $LOAD_BEFORE"
CLOCK_BEFORE=$(clockstate)
HZ=$(getconf CLK_TCK)

# --- build -------------------------------------------------------------------
log "building gnomonctl and gnomond"
(cd "$ROOT" && go build -o "$BIN/gnomonctl" ./cmd/gnomonctl && go build -o "$BIN/gnomond" ./cmd/gnomond)
if [ -n "${BENCH_GNOMOND_BIN:-}" ]; then
	log "gnomond: using $BENCH_GNOMOND_BIN instead of ./cmd/gnomond (experiment; the table says so)"
	cp "$BENCH_GNOMOND_BIN" "$BIN/gnomond"
fi
FBVER=$(cd "$ROOT" && go list -m -f '{{.Version}}' github.com/facebook/time)
if [[ " $SERVERS " == *" ptp4u "* ]]; then
	# `go install pkg@version` is refused for this module (its go.mod has
	# replace directives), so build it in a throw-away module: the gnomon
	# go.mod/go.sum stay untouched.
	log "building ptp4u (github.com/facebook/time@$FBVER; first time downloads its dependencies)"
	mkdir -p "$STATE/fbtime"
	(cd "$STATE/fbtime" && go mod init benchptp/fbtime >/dev/null 2>&1 &&
		go get "github.com/facebook/time/cmd/ptp4u@$FBVER" >"$STATE/fbtime/get.log" 2>&1 &&
		go build -o "$BIN/ptp4u" github.com/facebook/time/cmd/ptp4u) || die "building ptp4u failed (see $STATE/fbtime/get.log; BENCH_KEEP=1 keeps it)"
fi

# --- namespaces --------------------------------------------------------------
ip netns add "$SRV_NS"
ip netns add "$CLI_NS"
ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS"
ip -n "$SRV_NS" addr add "$SRV_IP/24" dev "$SRV_IF"
ip -n "$CLI_NS" addr add "$CLI_IP/24" dev "$CLI_IF"
for ns in "$SRV_NS" "$CLI_NS"; do ip -n "$ns" link set lo up; done
ip -n "$SRV_NS" link set "$SRV_IF" up
ip -n "$CLI_NS" link set "$CLI_IF" up
ip -n "$SRV_NS" route add "$CLI_NET" via "$CLI_IP"
case $NETMODEL in
rps)
	[ "$GEN_CPU" != "$SRV_CPU" ] || die "BENCH_NET=rps needs two CPUs"
	ip netns exec "$SRV_NS" sh -c "printf '%x' $((1 << SRV_CPU)) >/sys/class/net/$SRV_IF/queues/rx-0/rps_cpus" &&
		ip netns exec "$CLI_NS" sh -c "printf '%x' $((1 << GEN_CPU)) >/sys/class/net/$CLI_IF/queues/rx-0/rps_cpus" ||
		die "cannot set RPS on the veths"
	NETDESC="RPS: server receive path on CPU $SRV_CPU, generator's on CPU $GEN_CPU"
	;;
none) NETDESC="no steering: each side runs the other's receive path" ;;
*) die "BENCH_NET: want rps or none" ;;
esac
log "namespaces $SRV_NS ($SRV_IP) <-> $CLI_NS ($CLI_IP, clients in $CLI_NET); $NETDESC"

# Client addresses 10.201.0.1 … (client i: 10.201.0.0 + 1 + i), added when
# first needed.
ADDRS=0
ensure_addrs() { # n
	local j
	[ "$ADDRS" -lt "$1" ] || return 0
	for ((j = ADDRS + 1; j <= $1; j++)); do
		echo "addr add 10.201.$((j / 256)).$((j % 256))/32 dev $CLI_IF"
	done >"$STATE/addr.batch"
	ip -n "$CLI_NS" -batch "$STATE/addr.batch" || die "adding client addresses $((ADDRS + 1))..$1 failed"
	ADDRS=$1
}

# --- servers -----------------------------------------------------------------
SRV_PID=""
declare -A RCVBUF

start_server() { # name [step-dir [pprof]]
	local name=$1 dir="$STATE/$1" cmd=()
	mkdir -p "$dir"
	chmod 755 "$dir"
	case $name in
	gnomond)
		cat >"$dir/gnomond.yaml" <<EOF
clock:
  mode: virtual
sources:
  - local: {stratum: 1}
ntp:
  listen:
    - 127.0.0.1:11123
  listen_optional: []
control:
  listen_optional: []
  socket: ""
metrics:
  listen: 127.0.0.1:18124
ptp:
  enabled: true
  listen: [$SRV_IP]
  interface: $SRV_IF
  timestamping: software
  allow: [$CLI_NET]
  max_clients: 1000000
EOF
		cmd=("$BIN/gnomond" --config "$dir/gnomond.yaml")
		;;
	ptp4u)
		# Defaults otherwise (10 receive, 100 send workers; minsubinterval 1 s,
		# which 1 Hz meets); its state files go to the state directory.
		cmd=("$BIN/ptp4u" -iface "$SRV_IF" -ip "$SRV_IP" -timestamptype software -monitoringport 18888
			-pidfile "$dir/ptp4u.pid" -drainfile "$dir/drain" -undrainfile "$dir/undrain" -loglevel warning ${BENCH_PTP4U_ARGS:-})
		[ "$3" != pprof ] || cmd+=(-pprofaddr 127.0.0.1:6060)
		;;
	*) die "unknown server $name" ;;
	esac
	# ip netns exec, nice, taskset and setpriv all exec: $! is the server's PID.
	ip netns exec "$SRV_NS" nice -n "$NICE" taskset -c "$SRV_CPU" "${NOTIME[@]}" "${cmd[@]}" >>"$dir/server.log" 2>&1 &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	local cap
	for _ in $(seq 1 30); do
		sleep 0.3
		kill -0 "$SRV_PID" 2>/dev/null || { tail -5 "$dir/server.log" >&2; die "$name exited at start"; }
		# Up when both ports are bound.
		if [ "$(ip netns exec "$SRV_NS" ss -uanH "( sport = :319 or sport = :320 )" | wc -l)" -ge 2 ]; then
			cap=$(awk '/^CapEff/ {print $2}' "/proc/$SRV_PID/status")
			[ $((0x$cap & (1 << 25))) = 0 ] || die "$name has CAP_SYS_TIME (CapEff $cap)"
			RCVBUF[$name]=$(ip netns exec "$SRV_NS" ss -uanmH "sport = :319" 2>/dev/null | grep -o 'rb[0-9]*' | head -1 | tr -d rb)
			return 0
		fi
	done
	tail -5 "$dir/server.log" >&2
	die "$name does not listen on $SRV_IP:319/320"
}

stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null || true
	for _ in $(seq 1 25); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.2; done
	kill -KILL "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=""
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
srvdrops() { ip netns exec "$SRV_NS" awk 'NR > 1 { d += $NF } END { print d + 0 }' /proc/net/udp; }
clidrops() { ip netns exec "$CLI_NS" awk 'NR > 1 { d += $NF } END { print d + 0 }' /proc/net/udp; }

# step NAME N TAG: one measured step; prints
# "pass worst_loss_pct worst_flow cpu_us_per_client_s server_cpu_pct gen_cpu_pct denied sync_p99_gap_us drlag_p99_us srv_drops cli_drops"
step() {
	local name=$1 n=$2 tag=$3 dir="$STATE/$1/$3"
	mkdir -p "$dir"
	local procs=1 k gp=()
	ensure_addrs "$n"
	start_server "$name" "$dir" "${4:-}"
	local prof=""
	if [ "${4:-}" = pprof ]; then
		# CPU profile of the middle of the run (Go's runtime/pprof, 100 Hz).
		ip netns exec "$SRV_NS" timeout $((STEP + 30)) python3 -c '
import sys, time, urllib.request
time.sleep(1.5)
d = urllib.request.urlopen("http://127.0.0.1:6060/debug/pprof/profile?seconds=" + sys.argv[1], timeout=60).read()
open(sys.argv[2], "wb").write(d)' $((STEP - 2)) "$dir/cpu.pb.gz" 2>"$dir/pprof.log" &
		prof=$!
		PIDS+=($prof)
	fi
	local d0 e0 s0 t0 s1 t1 d1 e1
	d0=$(srvdrops)
	e0=$(clidrops)
	s0=$(ticks "$SRV_PID")
	t0=$(date +%s.%N)
	for ((k = 0; k < procs; k++)); do
		ip netns exec "$CLI_NS" nice -n "$NICE" taskset -c "$GEN_CPU" "${NOTIME[@]}" \
			timeout -k 5 $((STEP + 60)) "$BIN/gnomonctl" bench ptp --server "$SRV_IP" --clients "$n" \
			--source-prefix 10.201.0.0/16 --sync-rate 1 --announce-log 0 --grant 60s \
			--duration "${STEP}s" --json >"$dir/gen-$k.json" 2>"$dir/gen-$k.log" &
		gp+=($!)
		PIDS+=($!)
	done
	for p in "${gp[@]}"; do wait "$p" || true; done
	[ -z "$prof" ] || wait "$prof" || log "pprof fetch failed: $(tail -1 "$dir/pprof.log")"
	t1=$(date +%s.%N)
	s1=$(ticks "$SRV_PID")
	d1=$(srvdrops)
	e1=$(clidrops)
	stop_server
	# Sum the processes' flows; a process without a result counts as all lost.
	local ok=1
	for ((k = 0; k < procs; k++)); do jq -e .sync "$dir/gen-$k.json" >/dev/null 2>&1 || ok=0; done
	if [ $ok = 0 ]; then
		log "$name $tag: a generator process gave no result ($(tail -2 "$dir"/gen-*.log | tr '\n' ' '))"
		echo "0 100 no-result 0 0 0 0 0 0 $((d1 - d0)) $((e1 - e0))"
		return
	fi
	jq -s --arg n "$n" --arg lim "$LOSS" --arg st "$((s1 - s0))" --arg hz "$HZ" --arg wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')" \
		--arg sd "$((d1 - d0))" --arg cd "$((e1 - e0))" -r '
		def loss(f): (map(.[f].expected) | add) as $e | (map(.[f].received) | add) as $r | if $e > 0 then 100 * ($e - $r) / $e else 100 end;
		. as $g
		| [ {f: "announce", l: loss("announce")}, {f: "sync", l: loss("sync")}, {f: "follow_up", l: loss("follow_up")}, {f: "delay_resp", l: loss("delay_resp")} ]
		| max_by(.l) as $w
		| (($st | tonumber) / ($hz | tonumber)) as $cpu_s
		| ($g | map(.grants.denied) | add) as $denied
		| [ (if $w.l <= ($lim | tonumber) and $denied == 0 then 1 else 0 end), ($w.l * 1000 | round / 1000), $w.f,
		    ($cpu_s * 1e6 / ($n | tonumber) / ($wall | tonumber) | . * 100 | round / 100),
		    ($cpu_s * 100 / ($wall | tonumber) | round),
		    ($g | map(.gen_cpu_pct) | add | round), $denied,
		    ($g | map(.sync_gap.p99_us) | max | round), ($g | map(.delay_resp_rtt.p99_us) | max | round), $sd, $cd ]
		| map(tostring) | join(" ")' "$dir"/gen-*.json
}

# search NAME REP: doubling then bisection; sets RES[NAME,REP] and notes.
declare -A RES CPUUS CPUSTART NOTE FAILAT
DEADLINE=$((SECONDS + BUDGET))
search() {
	local name=$1 rep=$2 n=$START lo=0 hi=0 i out pass loss flow cpu scpu gcpu den gap rtt sd cd best_cpu="-"
	run() { # n -> sets the fields; returns 1 when out of time
		if [ $SECONDS -ge $DEADLINE ]; then
			NOTE[$name,$rep]="time budget hit"
			return 1
		fi
		# Not in $(...): step must update ADDRS, RCVBUF and PIDS here.
		step "$name" "$1" "r$rep-n$1" >"$STATE/last.out"
		out=$(cat "$STATE/last.out")
		read -r pass loss flow cpu scpu gcpu den gap rtt sd cd <<<"$out"
		log "$name rep $rep: $1 clients: $([ "$pass" = 1 ] && echo pass || echo FAIL), worst loss $loss % ($flow), denied $den, server CPU $scpu % = $cpu µs per client-second, generator CPU $gcpu % (sum of processes), Sync gap p99 $gap µs, Delay_Resp RTT p99 $rtt µs, socket drops server $sd / clients $cd"
		echo "$name rep$rep n=$1 $out" >>"$STATE/steps.log"
	}
	local halvings=0
	while :; do
		run "$n" || break
		[ "$n" != "$START" ] || CPUSTART[$name,$rep]=$cpu
		if [ "$pass" = 1 ]; then
			lo=$n best_cpu=$cpu
			[ "$hi" = 0 ] || break # came down from a failure: bisect now
			[ "$n" -lt "$MAXC" ] || { NOTE[$name,$rep]="passed BENCH_MAX_CLIENTS"; break; }
			n=$((2 * n > MAXC ? MAXC : 2 * n))
		else
			hi=$n
			FAILAT[$name,$rep]="$n: $loss % $flow"
			[ "$lo" = 0 ] || break
			# The first step failed: halve (at most 6 times) until one passes.
			halvings=$((halvings + 1))
			[ $halvings -le 6 ] && [ "$n" -ge 2 ] || { NOTE[$name,$rep]="failed down to $n clients"; break; }
			n=$((n / 2))
		fi
	done
	if [ "$hi" -gt 0 ] && [ "$lo" -gt 0 ]; then
		for ((i = 0; i < BISECT; i++)); do
			n=$(((lo + hi) / 2))
			[ $((hi - lo)) -gt $((lo / 50)) ] || break # within 2 %: stop
			run "$n" || break
			if [ "$pass" = 1 ]; then lo=$n best_cpu=$cpu; else
				hi=$n
				FAILAT[$name,$rep]="$n: $loss % $flow"
			fi
		done
	fi
	RES[$name,$rep]=$lo
	CPUUS[$name,$rep]=$best_cpu
}

for ((rep = 1; rep <= REPS; rep++)); do
	for s in $SERVERS; do search "$s" "$rep"; done
done

# Optional CPU profile of gnomond at a fixed client count: the same step
# with a gnomond built with net/http/pprof added through `go build -overlay`
# (the tree is not changed), profiled by runtime/pprof and summarised with
# `go tool pprof`.
if [ -n "${BENCH_PROFILE:-}" ] && [ $SECONDS -lt $DEADLINE ]; then
	PSRV=${BENCH_PROFILE_SERVER:-gnomond}
	PBIN=$BIN/ptp4u
	if [ "$PSRV" = gnomond ]; then
		PBIN=$BIN/gnomond-pprof
		mkdir -p "$STATE/overlay"
		cat >"$STATE/overlay/pprof.go" <<'EOF'
package main

import (
	"net/http"
	_ "net/http/pprof"
)

// Benchmark build only (scripts/bench-ptp.sh): pprof on loopback of the
// server's network namespace.
func init() { go func() { _ = http.ListenAndServe("127.0.0.1:6060", nil) }() }
EOF
		printf '{"Replace":{"%s":"%s"}}\n' "$ROOT/cmd/gnomond/zz_benchpprof.go" "$STATE/overlay/pprof.go" >"$STATE/overlay/overlay.json"
		(cd "$ROOT" && go build -overlay "$STATE/overlay/overlay.json" -o "$BIN/gnomond-pprof" ./cmd/gnomond)
		cp "$BIN/gnomond-pprof" "$BIN/gnomond" # this tree's gnomond, also after BENCH_GNOMOND_BIN
	fi
	log "profiling $PSRV at $BENCH_PROFILE clients"
	step "$PSRV" "$BENCH_PROFILE" profile pprof >"$STATE/last.out"
	log "profile step: $(cat "$STATE/last.out")"
	pd="$STATE/$PSRV/profile"
	if [ -s "$pd/cpu.pb.gz" ]; then
		go tool pprof -top -nodecount 35 "$PBIN" "$pd/cpu.pb.gz" >"$pd/top.txt" 2>/dev/null || true
		go tool pprof -top -cum -nodecount 35 "$PBIN" "$pd/cpu.pb.gz" >"$pd/topcum.txt" 2>/dev/null || true
		log "go tool pprof -top (flat):"
		head -30 "$pd/top.txt" >&2
		log "go tool pprof -top -cum:"
		head -30 "$pd/topcum.txt" >&2
		[ -z "${BENCH_PROFILE_OUT:-}" ] || cp "$pd/cpu.pb.gz" "$BENCH_PROFILE_OUT"
	fi
fi

CLOCK_AFTER=$(clockstate)
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)

fmedian() { tr ' ' '\n' | grep -v '^-*$' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.2f", (a[NR/2]+a[NR/2+1])/2}'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

# --- report ------------------------------------------------------------------
{
	echo "Machine: $MACHINE; load average $LOAD_BEFORE before, $LOAD_AFTER after"
	[ -z "${BENCH_GNOMOND_BIN:-}" ] || echo "gnomond: EXPERIMENT, binary $BENCH_GNOMOND_BIN (not ./cmd/gnomond of this tree)"
	echo "Generator: gnomonctl bench ptp, address mode (each client has its own address; one process, one socket on 319 and one on 320), 1 Hz Sync/Delay_Req, Announce 1 s, 60 s grants, ${STEP} s per step, on CPU $GEN_CPU; server on CPU $SRV_CPU, restarted per step; $NETDESC; nice $NICE"
	echo "Search: doubling from $START clients (cap $MAXC), then ≤ $BISECT bisection steps; pass = every message type ≤ $LOSS % missing and no grant denied; $REPS repetitions alternating $SERVERS"
	echo
	echo "| server | max clients @ 1 Hz, ≤ $LOSS % loss (median) | per repetition | failing step bounding it, per repetition (clients: worst loss, type) | server CPU µs per client-second at $START clients (median) | same at the max (median) | socket rcvbuf (B) |"
	echo "|---|---|---|---|---|---|---|"
	for s in $SERVERS; do
		all="" fails="" cpus="" cpus0=""
		for ((rep = 1; rep <= REPS; rep++)); do
			all+="${RES[$s,$rep]:--}${NOTE[$s,$rep]:+ (${NOTE[$s,$rep]})}, "
			fails+="${FAILAT[$s,$rep]:--}; "
			cpus+="${CPUUS[$s,$rep]:-} "
			cpus0+="${CPUSTART[$s,$rep]:-} "
		done
		vals=""
		for ((rep = 1; rep <= REPS; rep++)); do vals+="${RES[$s,$rep]:-} "; done
		printf '| %s | **%s** | %s | %s | %s | %s | %s |\n' "$s" "$(echo "$vals" | median)" "${all%, }" "${fails%; }" \
			"$(echo "$cpus0" | fmedian)" "$(echo "$cpus" | fmedian)" "${RCVBUF[$s]:-?}"
	done
} | tee "$STATE/table.md"
[ -n "${BENCH_OUT:-}" ] && cp "$STATE/table.md" "$BENCH_OUT"
log "all steps: $(wc -l <"$STATE/steps.log") (server, repetition, clients, pass, worst loss, type, CPU µs/client-s, server %, generator %, denied, Sync gap p99, Delay_Resp p99, socket drops)"
cat "$STATE/steps.log" >&2

lib_clock_unchanged "$CLOCK_BEFORE" "$CLOCK_AFTER" || exit 1
