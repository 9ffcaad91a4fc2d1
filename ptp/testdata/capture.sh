#!/usr/bin/env bash
# capture.sh — re-capture the golden PTP packets in this directory from real peers.
#
# Usage (root; NOT part of `make test`):
#     bash ptp/testdata/capture.sh [OUTDIR]          # default OUTDIR: this script's directory
#     SPTP=/path/to/sptp bash ptp/testdata/capture.sh  # also capture facebook/time sptp's Delay_Req
#     SPTP=... PTP4U=/path/to/ptp4u bash ...          # also capture ptp4u's answers to sptp
#     KEEP=1 ...                                       # keep the state dir (pcaps, configs, logs)
#
# What it does, every step bounded in time:
#   1. Creates two network namespaces joined by a veth pair (names "gnpg<PID>s"/"gnpg<PID>c",
#      addresses 10.203.0.1 (master) and 10.203.0.2 (slave)); traffic never leaves them.
#   2. Unicast negotiation: ptp4l unicast master (unicast_listen 1, inhibit_multicast_service 1,
#      masterOnly 1) and ptp4l unicast slave (unicast_master_table, logSyncInterval -3,
#      unicast_req_duration 60) for UNICAST_SECS seconds; then the slave is stopped with SIGTERM
#      (ptp4l 3.1.1 sends no CANCEL on exit, so no cancel file is written unless one is seen).
#   3. Multicast E2E: ptp4l master + slaveOnly slave (configs as in shared/reference/peers.md §6.1)
#      for MCAST_SECS seconds.
#   4. Optional, when $SPTP names an sptp binary: sptp (software timestamps, freerunning) sends
#      SPTP Delay_Reqs to 10.203.0.1 for SPTP_SECS seconds; nobody answers.
#   5. Optional, when $PTP4U names a ptp4u binary too: the same sptp against ptp4u (software
#      timestamps, default dynamic config) on 10.203.0.1, recording ptp4u's SPTP answers.
#   tcpdump records UDP ports 319/320 on the master's veth end; the UDP payloads are then written
#   one packet per file as lowercase hex, 16 bytes per line.
#
# Safety: every peer runs under `setpriv --inh-caps=-sys_time --bounding-set=-sys_time`, ptp4l
# with free_running 1 and kernel_leap 0, sptp with freerunning: true, so no peer can touch the
# system clock. Only PIDs this script recorded are killed; the namespaces (and so the veth pair)
# and, unless KEEP=1, the state dir are removed on exit, including on error or Ctrl-C.
#
# Needs: ip (iproute2), setpriv, timeout, ptp4l (linuxptp), tcpdump, awk.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE}
UNICAST_SECS=${UNICAST_SECS:-20}
MCAST_SECS=${MCAST_SECS:-6}
SPTP_SECS=${SPTP_SECS:-4}
SPTP=${SPTP:-}
PTP4U=${PTP4U:-}

die() { echo "capture.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for t in ip setpriv timeout ptp4l tcpdump awk; do
	command -v "$t" >/dev/null || die "tool $t not found (apt-get install iproute2 util-linux linuxptp tcpdump)"
done
[ -z "$SPTP" ] || [ -x "$SPTP" ] || die "SPTP=$SPTP is not executable"
[ -z "$PTP4U" ] || [ -x "$PTP4U" ] || die "PTP4U=$PTP4U is not executable"

TAG=gnpg$$
SRV_NS=${TAG}s CLI_NS=${TAG}c SRV_IF=${TAG}s CLI_IF=${TAG}c
SRV_IP=10.203.0.1 CLI_IP=10.203.0.2
NOTIME=(setpriv --inh-caps=-sys_time --bounding-set=-sys_time)
STATE=$(mktemp -d /tmp/gnomon-ptpcap.XXXXXX)
PIDS=()

stop_pid() { # stop_pid PID: TERM, wait up to 3 s, then KILL; only PIDs we started
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	wait 2>/dev/null || true
	ip netns del "$SRV_NS" 2>/dev/null || true
	ip netns del "$CLI_NS" 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then echo "state kept in $STATE"; else rm -rf "$STATE"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME NS CMD...: run CMD in NS without CAP_SYS_TIME, log to $STATE/NAME.log, remember the PID
# (ip netns exec, setpriv and timeout all exec or stay the parent, so $! is ours to kill).
start() {
	local name=$1 ns=$2; shift 2
	ip netns exec "$ns" "${NOTIME[@]}" timeout -k 5 120 "$@" >"$STATE/$name.log" 2>&1 &
	PIDS+=("$!")
	eval "PID_$name=$!"
}

ip netns add "$SRV_NS"
ip netns add "$CLI_NS"
ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS"
ip -n "$SRV_NS" addr add "$SRV_IP/24" dev "$SRV_IF"
ip -n "$CLI_NS" addr add "$CLI_IP/24" dev "$CLI_IF"
for ns in "$SRV_NS" "$CLI_NS"; do ip -n "$ns" link set lo up; done
ip -n "$SRV_NS" link set "$SRV_IF" up
ip -n "$CLI_NS" link set "$CLI_IF" up
# multicast PTP (224.0.1.129) needs a route in each namespace
ip -n "$SRV_NS" route add 224.0.0.0/4 dev "$SRV_IF"
ip -n "$CLI_NS" route add 224.0.0.0/4 dev "$CLI_IF"
sleep 1

master_common() {
	cat <<EOF
[global]
priority1               1
priority2               1
clockClass              6
clockAccuracy           0x21
timeSource              0x20
domainNumber            0
time_stamping           software
network_transport       UDPv4
delay_mechanism         E2E
free_running            1
kernel_leap             0
EOF
}
slave_common() {
	cat <<EOF
[global]
slaveOnly               1
priority1               255
domainNumber            0
time_stamping           software
network_transport       UDPv4
delay_mechanism         E2E
free_running            1
freq_est_interval       0
kernel_leap             0
logSyncInterval         -3
logMinDelayReqInterval  -3
logAnnounceInterval     0
summary_interval        -3
EOF
}

capture() { # capture NAME: tcpdump on the master's veth end
	ip netns exec "$SRV_NS" timeout -k 5 120 tcpdump -i "$SRV_IF" -nn -U -w "$STATE/$1.pcap" \
		'udp and (port 319 or port 320)' >"$STATE/tcpdump-$1.log" 2>&1 &
	PIDS+=("$!")
	eval "PID_tcpdump_${1//-/_}=$!"
	sleep 1 # let tcpdump attach before the peers start
}

# --- 2. unicast negotiation -------------------------------------------------------------------
mkdir -p "$STATE/uc"
{ master_common; cat <<EOF
uds_address             $STATE/uc/srv.sock
[$SRV_IF]
masterOnly              1
unicast_listen          1
inhibit_multicast_service 1
EOF
} >"$STATE/uc/srv.conf"
{ slave_common | grep -v '^logSyncInterval\|^logMinDelayReqInterval\|^logAnnounceInterval\|^summary'; cat <<EOF
logSyncInterval         -3
logMinDelayReqInterval  -3
logAnnounceInterval     0
summary_interval        -3
unicast_req_duration    60
uds_address             $STATE/uc/cli.sock
[unicast_master_table]
table_id                1
logQueryInterval        0
UDPv4                   $SRV_IP
[$CLI_IF]
unicast_master_table    1
EOF
} >"$STATE/uc/cli.conf"
capture unicast
start uc_master "$SRV_NS" ptp4l -f "$STATE/uc/srv.conf" -m -q
sleep 1
start uc_slave "$CLI_NS" ptp4l -f "$STATE/uc/cli.conf" -m -q
sleep "$UNICAST_SECS"
stop_pid "$PID_uc_slave"
sleep 1
stop_pid "$PID_uc_master"
stop_pid "$PID_tcpdump_unicast"

# --- 3. multicast E2E -------------------------------------------------------------------------
mkdir -p "$STATE/mc"
{ master_common; cat <<EOF
logSyncInterval         -3
logAnnounceInterval     0
logMinDelayReqInterval  -3
uds_address             $STATE/mc/srv.sock
[$SRV_IF]
masterOnly              1
EOF
} >"$STATE/mc/srv.conf"
{ slave_common; cat <<EOF
uds_address             $STATE/mc/cli.sock
[$CLI_IF]
EOF
} >"$STATE/mc/cli.conf"
capture multicast
start mc_master "$SRV_NS" ptp4l -f "$STATE/mc/srv.conf" -m -q
sleep 1
start mc_slave "$CLI_NS" ptp4l -f "$STATE/mc/cli.conf" -m -q
sleep "$MCAST_SECS"
stop_pid "$PID_mc_slave"
stop_pid "$PID_mc_master"
stop_pid "$PID_tcpdump_multicast"

# --- 4. sptp Delay_Req (optional) -------------------------------------------------------------
if [ -n "$SPTP" ]; then
	mkdir -p "$STATE/sptp"
	cat >"$STATE/sptp/sptp.yaml" <<EOF
iface: $CLI_IF
timestamping: software
freerunning: true
monitoringport: 4269
interval: 1s
servers:
  $SRV_IP: 0
EOF
	capture sptp
	start sptp "$CLI_NS" "$SPTP" -config "$STATE/sptp/sptp.yaml"
	sleep "$SPTP_SECS"
	stop_pid "$PID_sptp"
	stop_pid "$PID_tcpdump_sptp"
fi

# --- 5. sptp against ptp4u (optional) ---------------------------------------------------------
if [ -n "$SPTP" ] && [ -n "$PTP4U" ]; then
	mkdir -p "$STATE/ptp4u"
	capture sptp-ptp4u
	start ptp4u "$SRV_NS" "$PTP4U" -iface "$SRV_IF" -ip "$SRV_IP" -timestamptype software \
		-pidfile "$STATE/ptp4u/ptp4u.pid" -drainfile "$STATE/ptp4u/drain" \
		-undrainfile "$STATE/ptp4u/undrain" -monitoringport 8888 -workers 2 -recvworkers 1 \
		-loglevel info
	sleep 2
	start sptp2 "$CLI_NS" "$SPTP" -config "$STATE/sptp/sptp.yaml"
	sleep "$SPTP_SECS"
	stop_pid "$PID_sptp2"
	stop_pid "$PID_ptp4u"
	stop_pid "$PID_tcpdump_sptp_ptp4u"
fi

# --- extraction -------------------------------------------------------------------------------
# dump PCAP: one line per packet, "<src>.<sport> <dst>.<dport> <hex of the UDP payload>"
dump() {
	tcpdump -r "$1" -nn -x 2>/dev/null | awk '
		function flush() {
			if (hex == "") return
			ihl = index("0123456789abcdef", substr(hex, 2, 1)) - 1
			print src, dst, substr(hex, ihl * 8 + 16 + 1)
			hex = ""
		}
		/^[0-9]/ { flush(); src = $3; dst = $5; sub(/:$/, "", dst); next }
		/^[ \t]+0x/ { for (i = 2; i <= NF; i++) hex = hex $i }
		END { flush() }'
}
# pick PCAP PREFIX: write the first packet of each kind to PREFIX-<kind>.hex; Sync/Follow_Up and
# Delay_Req/Delay_Resp are written as matching pairs (same sequenceId, and for Delay_Resp the
# requestingPortIdentity equal to the Delay_Req sourcePortIdentity); a Sync or Delay_Req that was
# never answered is written only when the capture has no pair at all. SPTP=1 (third argument):
# pair each Delay_Req with the Sync and Announce that answer it (same sequenceId).
pick() {
	dump "$1" | awk -v out="$OUT" -v pfx="$2" -v sptp="${3:-0}" '
		function save(kind, hex,   f, i) {
			if (kind in done) return
			done[kind] = 1
			f = out "/" pfx "-" kind ".hex"
			printf "" > f
			for (i = 1; i <= length(hex); i += 32) print substr(hex, i, 32) > f
			close(f)
			print "wrote " f " (" length(hex) / 2 " bytes)"
		}
		function inner(h) { # messageType named in the first TLV (REQUEST/GRANT/CANCEL...)
			return substr(h, 97, 1)
		}
		{
			h = $3; mt = substr(h, 2, 1); seq = substr(h, 61, 4); spi = substr(h, 41, 20)
		}
		sptp { # SPTP: the server answers a Delay_Req with a Sync and an Announce of the same sequenceId
			if (mt == "1" && !(seq in dreq)) dreq[seq] = h
			else if (mt == "0" && (seq in dreq) && !("sync" in done)) { save("delayreq", dreq[seq]); save("sync", h); pairseq = seq }
			else if (mt == "b" && seq == pairseq) save("announce", h)
			next
		}
		{
			if (mt == "0") { if (!("sync" in done)) sync[seq] = h }
			else if (mt == "8") { if (seq in sync) { save("sync", sync[seq]); save("followup", h) } }
			else if (mt == "1") { if (!("delayreq" in done)) dreq[spi seq] = h }
			else if (mt == "9") { k = substr(h, 89, 20) seq; if (k in dreq) { save("delayreq", dreq[k]); save("delayresp", h) } }
			else if (mt == "b") save("announce", h)
			else if (mt == "c") {
				tlv = substr(h, 89, 4)
				m = inner(h); kind = (m == "b") ? "announce" : (m == "0") ? "sync" : (m == "9") ? "delayresp" : "msg" m
				if (tlv == "0004") {
					# more than one TLV: name all of them (e.g. sync-delayresp)
					rest = substr(h, 89); kinds = ""
					while (length(rest) >= 8) {
						len = 0; for (j = 5; j <= 8; j++) len = len * 16 + index("0123456789abcdef", substr(rest, j, 1)) - 1
						m = substr(rest, 9, 1)
						kinds = kinds (kinds == "" ? "" : "-") ((m == "b") ? "announce" : (m == "0") ? "sync" : (m == "9") ? "delayresp" : "msg" m)
						rest = substr(rest, 9 + len * 2)
					}
					save("request-" kinds, h)
				}
				else if (tlv == "0005") save("grant-" kind, h)
				else if (tlv == "0006") save("cancel-" kind, h)
				else if (tlv == "0007") save("ackcancel-" kind, h)
				else save("signaling-tlv" tlv, h)
			}
			else if (mt == "d") save("management", h)
			if (mt == "0" && first0 == "") first0 = h
			if (mt == "1" && first1 == "") first1 = h
		}
		END { # a capture without answers (sptp with no server): keep the first unpaired ones
			if (first0 != "") save("sync", first0)
			if (first1 != "") save("delayreq", first1)
		}'
}

mkdir -p "$OUT"
pick "$STATE/unicast.pcap" ptp4l-unicast
pick "$STATE/multicast.pcap" ptp4l-multicast
[ -z "$SPTP" ] || pick "$STATE/sptp.pcap" sptp
[ -z "$SPTP" ] || [ -z "$PTP4U" ] || pick "$STATE/sptp-ptp4u.pcap" sptp-ptp4u 1
echo "--- versions"
ptp4l -v
tcpdump --version 2>&1 | head -1
echo "--- packets per capture"
for f in "$STATE"/*.pcap; do echo "$(basename "$f"): $(tcpdump -r "$f" -nn 2>/dev/null | wc -l)"; done
echo "--- unicast slave log (head)"
head -n 20 "$STATE/uc_slave.log"
