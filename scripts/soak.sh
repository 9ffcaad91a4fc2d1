#!/usr/bin/env bash
# soak.sh: gnomond under sustained mixed load (issue 12 §4, `make soak`; not
# part of `make test`).
#
# In a fresh pair of network namespaces joined by a veth pair it starts
# gnomond (virtual clock, CAP_SYS_TIME dropped with setpriv, pinned to one
# CPU) with a symmetric key file and NTS (NTS-KE on 4460 with a throw-away
# self-signed certificate), then
#   1. measures the highest rate gnomond answers with < 1 % loss and no wrong
#      reply under the soak's own mix: a ramp from SOAK_START_RATE by
#      SOAK_FACTOR, SOAK_STEP seconds a step, then SOAK_BISECT bisection steps,
#   2. runs the same mix at SOAK_LOAD_PCT (80) % of that rate for
#      SOAK_DURATION seconds (default 600) with `gnomonctl bench ntp --mix`,
#      sampling every SOAK_INTERVAL (10) s gnomond's RSS (/proc/PID/status
#      VmRSS), and from its /metrics go_goroutines,
#      process_resident_memory_bytes, process_open_fds and its request,
#      reply and error counters,
#   3. prints the samples as a table and a verdict, and exits non-zero unless:
#      0 wrong replies (gnomonctl's wrong_replies: any reply that breaks the
#      rules of its kind, including any answer to a malformed request other
#      than the crypto-NAK an unknown key ID may get); RSS growth after the
#      warm-up (SOAK_WARMUP s, default 60, or a quarter of a shorter run)
#      below SOAK_RSS_PCT (5) %; goroutines flat (max − min after warm-up ≤
#      SOAK_GOROUTINE_SLACK, default 4); the same gnomond process alive
#      throughout (no restart); no send or receive errors in gnomond's
#      counters.
#
# Mix (SOAK_MIX, shares of the generator's sockets and so of its requests):
# default basic=35,xleave=25,nts=15,mac=15,malformed=10. When gnomond does
# not answer NTS (the NTS-KE probe fails or its replies are wrong) the nts
# share goes to basic with a loud note, unless SOAK_REQUIRE_NTS=1, which
# fails instead.
#
# Safety (house rules): root for namespaces; the host clock is never touched
# (gnomond runs on its virtual clock with CAP_SYS_TIME dropped; the kernel
# clock state is compared before and after); traffic stays in the two
# namespaces; every process started is killed by PID and the namespaces
# deleted on exit (trap). Every generator run is bounded by its --duration.
#
# Knobs: SOAK_DURATION (600, at most 600: gnomonctl's limit), SOAK_MIX,
# SOAK_CLIENTS (64), SOAK_STEP (3), SOAK_START_RATE (5000), SOAK_FACTOR (1.5),
# SOAK_BISECT (2), SOAK_MAX_RATE (1000000), SOAK_RATE (skip the measurement,
# soak at this rate), SOAK_LOAD_PCT (80), SOAK_INTERVAL (10), SOAK_WARMUP,
# SOAK_RSS_PCT (5), SOAK_GOROUTINE_SLACK (4), SOAK_OUT (also write the
# markdown result there), SOAK_KEEP=1 (keep the state directory),
# SOAK_GNOMOND_BIN (run this binary).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${SOAK_DURATION:-600}
MIX=${SOAK_MIX:-basic=35,xleave=25,nts=15,mac=15,malformed=10}
CLIENTS=${SOAK_CLIENTS:-64}
STEP=${SOAK_STEP:-3}
START_RATE=${SOAK_START_RATE:-5000}
FACTOR=${SOAK_FACTOR:-1.5}
BISECT=${SOAK_BISECT:-2}
MAX_RATE=${SOAK_MAX_RATE:-1000000}
LOAD_PCT=${SOAK_LOAD_PCT:-80}
INTERVAL=${SOAK_INTERVAL:-10}
RSS_PCT=${SOAK_RSS_PCT:-5}
SLACK=${SOAK_GOROUTINE_SLACK:-4}
if [ -n "${SOAK_WARMUP:-}" ]; then WARMUP=$SOAK_WARMUP; elif [ "$DURATION" -ge 240 ]; then WARMUP=60; else WARMUP=$((DURATION / 4)); fi
PORT=123 KEPORT=4460 METRICS=127.0.0.1:18125

LOG_TAG=soak KEEP_VAR=SOAK_KEEP DIE_RC=2 STOP_TRIES=20
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces); run: sudo $0"
[ "$DURATION" -ge 20 ] && [ "$DURATION" -le 600 ] || die "SOAK_DURATION must be 20..600 s"
[ "$CLIENTS" -ge 5 ] && [ "$CLIENTS" -le 240 ] || die "SOAK_CLIENTS must be 5..240"
for c in ip setpriv taskset go jq curl openssl python3 timeout awk; do
	command -v "$c" >/dev/null || die "missing command: $c"
done

ID=$$
SRV_NS=gns-srv-$ID CLI_NS=gns-cli-$ID SRV_IF=gnss$ID CLI_IF=gnsc$ID
SRV_IP=10.201.0.1 CLI_IP=10.201.0.2 NET=10.201.0.0/24
lib_state gnomon-soak
lib_traps

NCPU=$(nproc)
MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MACHINE="$NCPU CPU ($MODEL), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), $(go version | awk '{print $3}')"
if [ "$NCPU" -ge 2 ]; then GEN_CPU=0 SRV_CPU=1; else GEN_CPU=0 SRV_CPU=0; fi
log "machine: $MACHINE; load average $(cut -d' ' -f1-3 /proc/loadavg); generator on CPU $GEN_CPU, gnomond on CPU $SRV_CPU"
CLOCK_BEFORE=$(clockstate)

# --- build -------------------------------------------------------------------
log "building gnomonctl and gnomond"
(cd "$ROOT" && go build -o "$BIN/gnomonctl" ./cmd/gnomonctl)
if [ -n "${SOAK_GNOMOND_BIN:-}" ]; then
	cp "$SOAK_GNOMOND_BIN" "$BIN/gnomond"
else
	(cd "$ROOT" && CGO_ENABLED=0 go build -o "$BIN/gnomond" ./cmd/gnomond)
fi
REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo "?")

# --- keys and certificate ----------------------------------------------------
MACKEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
umask 077
echo "30 AES128 HEX:$MACKEY" >"$STATE/keys"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=gnomon soak" \
	-addext "subjectAltName=IP:$SRV_IP" -keyout "$STATE/nts.key" -out "$STATE/nts.crt" 2>/dev/null ||
	die "openssl cannot make the NTS certificate"
umask 022
chmod 644 "$STATE/nts.crt"

# --- namespaces --------------------------------------------------------------
ip netns add "$SRV_NS"
ip netns add "$CLI_NS"
ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS"
ip -n "$SRV_NS" addr add "$SRV_IP/24" dev "$SRV_IF"
ip -n "$CLI_NS" addr add "$CLI_IP/24" dev "$CLI_IF"
SOURCES=""
for i in $(seq 0 $((CLIENTS - 1))); do # one client address per socket: per-client state in gnomond
	ip -n "$CLI_NS" addr add "10.201.0.$((10 + i))/24" dev "$CLI_IF"
	SOURCES+="${SOURCES:+,}10.201.0.$((10 + i))"
done
for ns in "$SRV_NS" "$CLI_NS"; do ip -n "$ns" link set lo up; done
ip -n "$SRV_NS" link set "$SRV_IF" up
ip -n "$CLI_NS" link set "$CLI_IF" up
# A UDP_SEGMENT batch must cross as separate datagrams (as from a NIC).
for pair in "$SRV_NS $SRV_IF" "$CLI_NS $CLI_IF"; do
	set -- $pair
	ip netns exec "$1" ethtool -K "$2" tx-udp-segmentation off >/dev/null 2>&1 || log "note: ethtool -K $2 failed; GSO batches may cross whole"
done
log "namespaces $SRV_NS ($SRV_IP) <-> $CLI_NS ($CLI_IP)"

# --- gnomond -----------------------------------------------------------------
cat >"$STATE/gnomond.yaml" <<YAML
ntp:
  listen:
    - $SRV_IP:$PORT
  allow:
    - $NET
  keys_file: $STATE/keys
sources:
  - local: {stratum: 1}
metrics:
  listen: $METRICS
control:
  listen_optional: []
  socket: ""
nts:
  listen:
    - $SRV_IP:$KEPORT
  certificate: $STATE/nts.crt
  key: $STATE/nts.key
  key_file: $STATE/nts-master.keys
YAML
"$BIN/gnomond" validate --config "$STATE/gnomond.yaml" >/dev/null || die "gnomond rejects the soak configuration"
ip netns exec "$SRV_NS" taskset -c "$SRV_CPU" "${NOTIME[@]}" "$BIN/gnomond" --config "$STATE/gnomond.yaml" >"$STATE/gnomond.log" 2>&1 &
SRV_PID=$!
PIDS+=("$SRV_PID")
SRV_START=$(awk '{print $22}' "/proc/$SRV_PID/stat")

# gen OUT.json ARGS...: one generator run in the client namespace, pinned.
gen() {
	local out=$1
	shift
	ip netns exec "$CLI_NS" taskset -c "$GEN_CPU" "${NOTIME[@]}" timeout -k 5 700 "$BIN/gnomonctl" bench ntp \
		--server "$SRV_IP:$PORT" --source "$SOURCES" --clients "$CLIENTS" --mac "30:AES128:$MACKEY" --json "$@" >"$out"
}
metric() { # NAME: sum of a metric's samples in gnomond's /metrics
	ip netns exec "$SRV_NS" curl -sf --max-time 3 "http://$METRICS/metrics" |
		awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF; f = 1 } END { if (f) printf "%.0f\n", s; else print "?" }'
}
for _ in $(seq 1 40); do
	sleep 0.5
	kill -0 "$SRV_PID" 2>/dev/null || { tail -5 "$STATE/gnomond.log" >&2; die "gnomond exited at start"; }
	gen "$STATE/probe.json" --rate 200 --duration 300ms --mix basic=100 2>/dev/null && break
done
[ -s "$STATE/probe.json" ] || die "gnomond does not answer on $SRV_IP:$PORT"
log "gnomond up (pid $SRV_PID, CapEff $(awk '/^CapEff/ {print $2}' "/proc/$SRV_PID/status"))"

# NTS probe: gnomond on this tree may not serve NTS yet.
NTS_NOTE=""
if [[ $MIX == *nts=* ]] && ! [[ $MIX =~ nts=0(,|$) ]]; then
	if gen "$STATE/nts-probe.json" --rate 200 --duration 1s --mix nts=100 --nts "$SRV_IP:$KEPORT" --nts-ca "$STATE/nts.crt" 2>"$STATE/nts-probe.err" &&
		[ "$(jq .wrong_replies "$STATE/nts-probe.json")" = 0 ] && [ "$(jq '.kinds.nts.valid' "$STATE/nts-probe.json")" -gt 0 ]; then
		log "NTS answered (probe: $(jq -c '{valid: .kinds.nts.valid, naks: .nts_naks}' "$STATE/nts-probe.json"))"
	else
		why=$( (grep -v '^gnomonctl: note' "$STATE/nts-probe.err" | tail -1; [ -s "$STATE/nts-probe.json" ] && jq -c '{reasons, nts_valid: .kinds.nts.valid}' "$STATE/nts-probe.json") 2>/dev/null | tr '\n' ' ' || true)
		[ "${SOAK_REQUIRE_NTS:-0}" = 1 ] && die "gnomond does not serve NTS: $why"
		share=$(grep -o 'nts=[0-9]*' <<<"$MIX" | cut -d= -f2)
		basic=$(grep -o 'basic=[0-9]*' <<<"$MIX" | cut -d= -f2)
		MIX=$(sed -E "s/(^|,)nts=[0-9]+//; s/basic=[0-9]+/basic=$((${basic:-0} + share))/; s/^,//" <<<"$MIX")
		[[ $MIX == *basic=* ]] || MIX="basic=$share,$MIX"
		NTS_NOTE="NTS share moved to basic: gnomond did not serve NTS ($why)"
		log "WARNING: $NTS_NOTE"
	fi
fi
NTSARGS=()
[[ $MIX == *nts=* ]] && NTSARGS=(--nts "$SRV_IP:$KEPORT" --nts-ca "$STATE/nts.crt")
log "mix: $MIX"

# --- max rate ----------------------------------------------------------------
ok_step() { # JSON: < 1 % loss, no wrong reply, generator kept up
	jq -e '.loss_pct < 1 and .wrong_replies == 0 and (.generator_limited | not)' "$1" >/dev/null
}
step() { # RATE -> prints sent rate; status 0 when the step passed
	local f="$STATE/step-$1.json"
	gen "$f" --rate "$1" --duration "${STEP}s" --mix "$MIX" "${NTSARGS[@]}" 2>>"$STATE/gen.err" || true
	[ -s "$f" ] || return 1
	log "  rate $1: sent $(jq -r '.request_rate | floor' "$f")/s loss $(jq -r .loss_pct "$f") % wrong $(jq -r .wrong_replies "$f") gen_limited $(jq -r .generator_limited "$f") gen_cpu $(jq -r '.gen_cpu_pct | floor' "$f") %"
	ok_step "$f"
}
if [ -n "${SOAK_RATE:-}" ]; then
	MAXR="" SOAKR=$SOAK_RATE LIMIT=""
	log "soak rate given: $SOAKR/s (no measurement)"
else
	log "measuring the max rate with the mix (ramp from $START_RATE ×$FACTOR, ${STEP}s steps)"
	good=0 bad=0 r=$START_RATE LIMIT=""
	while [ "$r" -le "$MAX_RATE" ]; do
		if step "$r"; then good=$r; r=$(awk -v r="$r" -v f="$FACTOR" 'BEGIN{printf "%d", r*f}'); else bad=$r LIMIT=$(jq -r 'if .generator_limited then "the generator (it could not keep the rate: the max is a floor for gnomond)" else "gnomond (loss or wrong replies)" end' "$STATE/step-$r.json" 2>/dev/null || echo "?"); break; fi
	done
	[ "$good" -gt 0 ] || die "gnomond fails the mix even at $START_RATE/s (see above)"
	[ "$bad" -gt 0 ] || bad=$r
	for _ in $(seq 1 "$BISECT"); do
		mid=$(((good + bad) / 2))
		if step "$mid"; then good=$mid; else bad=$mid; fi
	done
	MAXR=$good
	SOAKR=$((MAXR * LOAD_PCT / 100))
	log "max rate with < 1 % loss: $MAXR/s; soaking at $LOAD_PCT %: $SOAKR/s for ${DURATION}s"
fi

# --- soak --------------------------------------------------------------------
SAMPLES=$STATE/samples.tsv
printf 't_s\tvmrss_kib\tprocess_rss_b\tgoroutines\topen_fds\trequests\treplies\tsend_err\trecv_err\n' >"$SAMPLES"
sample() {
	local t=$1 rss
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SRV_PID/status" 2>/dev/null || echo "?")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "$(metric process_resident_memory_bytes)" \
		"$(metric go_goroutines)" "$(metric process_open_fds)" "$(metric gnomon_ntp_requests_total)" \
		"$(metric gnomon_ntp_replies_total)" "$(metric gnomon_ntp_send_errors_total)" "$(metric gnomon_ntp_receive_errors_total)" >>"$SAMPLES"
}
gen "$STATE/soak.json" --rate "$SOAKR" --duration "${DURATION}s" --mix "$MIX" "${NTSARGS[@]}" 2>"$STATE/soak.err" &
GEN_PID=$!
PIDS+=("$GEN_PID")
T0=$(date +%s)
RESTART=""
sample 0
while kill -0 "$GEN_PID" 2>/dev/null; do
	sleep "$INTERVAL" & wait $! || true
	t=$(($(date +%s) - T0))
	if ! kill -0 "$SRV_PID" 2>/dev/null || [ "$(awk '{print $22}' "/proc/$SRV_PID/stat" 2>/dev/null)" != "$SRV_START" ]; then
		RESTART="gnomond (pid $SRV_PID) gone at ${t}s"
		log "FAIL: $RESTART"
		break
	fi
	kill -0 "$GEN_PID" 2>/dev/null && sample "$t"
	log "  t=${t}s $(tail -1 "$SAMPLES" | awk -F'\t' '{printf "rss %s KiB, goroutines %s, fds %s", $2, $4, $5}')"
done
wait "$GEN_PID" || log "note: the generator exited with status $? ($(tail -1 "$STATE/soak.err" 2>/dev/null))"
[ -n "$RESTART" ] || sample "$(($(date +%s) - T0))"
CLOCK_AFTER=$(clockstate)

# --- verdict -----------------------------------------------------------------
J=$STATE/soak.json
[ -s "$J" ] || die "no generator result ($(tail -3 "$STATE/soak.err"))"
export SAMPLES WARMUP RSS_PCT SLACK
python3 - >"$STATE/stats" <<'EOF'
import csv, os
rows = list(csv.DictReader(open(os.environ["SAMPLES"]), delimiter="\t"))
w = int(os.environ["WARMUP"])
post = [r for r in rows if int(r["t_s"]) >= w and r["vmrss_kib"] not in ("?", "")]
def num(r, k):
    try: return float(r[k])
    except ValueError: return None
if len(post) < 2:
    print("? ? ? ? ?", len(post)); raise SystemExit
base = num(post[0], "vmrss_kib")
growth = 100 * (max(num(r, "vmrss_kib") for r in post) - base) / base
g = [num(r, "goroutines") for r in post if num(r, "goroutines") is not None]
f = [num(r, "open_fds") for r in post if num(r, "open_fds") is not None]
print(f"{growth:.2f}", int(min(g)), int(max(g)), int(min(f)), int(max(f)), len(post))
EOF
read -r RSS_GROWTH G_MIN G_MAX FD_MIN FD_MAX NSAMP <"$STATE/stats"
WRONG=$(jq .wrong_replies "$J")
SENDERR=$(tail -1 "$SAMPLES" | cut -f8)
RECVERR=$(tail -1 "$SAMPLES" | cut -f9)
FAIL=()
[ "$WRONG" = 0 ] || FAIL+=("$WRONG wrong replies ($(jq -c .reasons "$J"))")
[ -z "$RESTART" ] || FAIL+=("$RESTART")
if [ "$RSS_GROWTH" = "?" ]; then
	FAIL+=("fewer than 2 samples after the warm-up")
else
	awk -v g="$RSS_GROWTH" -v l="$RSS_PCT" 'BEGIN{exit !(g < l)}' || FAIL+=("RSS grew $RSS_GROWTH % after the warm-up (limit $RSS_PCT %)")
	[ $((G_MAX - G_MIN)) -le "$SLACK" ] || FAIL+=("goroutines not flat: $G_MIN..$G_MAX (slack $SLACK)")
fi
[ "$SENDERR" = 0 ] && [ "$RECVERR" = 0 ] || FAIL+=("gnomond send/receive errors: $SENDERR / $RECVERR")
[ "$CLOCK_BEFORE" = "$CLOCK_AFTER" ] || FAIL+=("kernel clock state changed: $CLOCK_BEFORE -> $CLOCK_AFTER")
VERDICT=PASS
[ ${#FAIL[@]} -eq 0 ] || VERDICT=FAIL

{
	echo "### Soak run $(date -u +%Y-%m-%d) ($VERDICT)"
	echo
	echo "Machine: $MACHINE; gnomond $REV on CPU $SRV_CPU, generator on CPU $GEN_CPU; load average before $(cut -d' ' -f1 /proc/loadavg)."
	echo "Mix: $MIX ($CLIENTS sockets, one client address each)${NTS_NOTE:+. **$NTS_NOTE**}."
	echo "Max rate with the mix (< 1 % loss, 0 wrong): ${MAXR:-not measured (SOAK_RATE)}/s${LIMIT:+ (the ramp stopped at ${bad}/s, limited by $LIMIT)}; soak at $SOAKR/s for ${DURATION} s, warm-up ${WARMUP} s."
	echo
	jq -r '"Generator: sent \(.sent) (\(.request_rate|floor)/s), received \(.received), lost \(.lost) (\(.loss_pct*1000|floor/1000) %), wrong replies \(.wrong_replies), KoD \(.kod), malformed sent \(.malformed_sent // 0) (crypto-NAKs \(.crypto_naks // 0)), NTS key exchanges \(.nts_key_exchanges // 0), NTS NAKs \(.nts_naks // 0), cookies reused \(.nts_cookie_reuse // 0); generator CPU \(.gen_cpu_pct|floor) % of a core; RTT p50/p99 \(.rtt_p50_us|floor)/\(.rtt_p99_us|floor) µs."' "$J"
	jq -r '"Per kind (sockets / sent / valid): " + ([.kinds // {} | to_entries[] | "\(.key) \(.value.sockets)/\(.value.sent)/\(.value.valid)"] | join(", "))' "$J"
	echo
	echo "| t (s) | VmRSS (KiB) | process_resident_memory_bytes | go_goroutines | process_open_fds | requests | replies | send err | recv err |"
	echo "|---|---|---|---|---|---|---|---|---|"
	tail -n +2 "$SAMPLES" | awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}'
	echo
	echo "After warm-up ($NSAMP samples): RSS growth ${RSS_GROWTH} % (limit ${RSS_PCT} %), goroutines ${G_MIN}..${G_MAX} (slack ${SLACK}), open fds ${FD_MIN}..${FD_MAX}; restarts: ${RESTART:-none}; kernel clock state unchanged: $([ "$CLOCK_BEFORE" = "$CLOCK_AFTER" ] && echo yes || echo NO)."
	if [ "$VERDICT" = PASS ]; then echo; echo "Verdict: PASS."; else echo; echo "Verdict: FAIL: $(IFS=';'; echo "${FAIL[*]}")."; fi
} | tee "$STATE/result.md"
[ -z "${SOAK_OUT:-}" ] || cp "$STATE/result.md" "$SOAK_OUT"
[ "$VERDICT" = PASS ] || exit 1
