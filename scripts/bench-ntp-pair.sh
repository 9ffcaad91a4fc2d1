# bench-ntp-pair.sh: the paired ramp of bench-ntp.sh (BENCH_PAIR="A B";
# sourced by it, not run).
#
# Why: a server's maximum rate at < 1 % loss, ramped on its own, measures
# the machine of those few minutes as much as the server. On the 2-vCPU VM of
# docs/benchmarks.md one server's ramps minutes apart differ by up to 2x,
# and so did the ratios between servers ramped one after the other
# (gnomond / reflector 0.46–1.66 across acceptance runs). The paired ramp runs
# both servers at once, pinned to the same CPU, on two addresses of the
# server namespace, and steps them alternately: at every rung of the ladder
# (BENCH_START_RATE × BENCH_FACTOR^k) A then B, or B then A on the next rung,
# seconds apart; a failing step is repeated once, as in the single ramp. A
# server leaves the ladder at its second failure; then both are bisected
# (BENCH_BISECT steps each, interleaved) between their last passing and
# first failing rate. The idle server of a step waits in recvmmsg (gnomond's
# runtime wakes a few hundred times a second), so each runs in the other's
# conditions. What it reports: each server's maximum, and B / A. Before the
# ladder, the server CPU per answered request (all of its CPU, and the
# server process's utime + stime, which holds the softirq work that
# interrupted it and excludes a NAPI thread's) and system calls
# per request at BENCH_COMMON_RATE and BENCH_EFF_RATE, measured in three rounds,
# the servers alternating within each: the median of each server's three,
# and the median of the three per-round ratios.
#
# Uses bench-ntp.sh's globals and functions: SRV_IP, SRV_PID, GN_METRICS,
# start_server, stop_server, step, vdrops_of, set_net, gen_ceiling, log, die,
# medr, ratio, STEP, START_RATE, FACTOR, MAX_RATE, BISECT, DEADLINE.

# pair_check: BENCH_PAIR names two different servers that can run at once.
pair_check() {
	read -r PA PB PX <<<"$PAIR"
	if [ -z "$PB" ] || [ -n "$PX" ] || [ "$PA" = "$PB" ]; then
		die "BENCH_PAIR needs two different servers, e.g. \"reflector gnomond\""
	fi
	case "$PA $PB" in
	gnomond*gnomond* | ntpresponder*ntpresponder*) die "BENCH_PAIR: two gnomonds or two ntpresponders would share ports" ;;
	esac
}

# pair_main: the paired ramps of every repetition and model, then the table.
pair_main() {
	local rep mode
	for rep in $(seq 1 "$REPS"); do
		for mode in ${BENCH_NET:-napi rps}; do
			set_net "$mode"
			if [ "$rep" = 1 ]; then
				MODELS+=("$mode")
				gen_ceiling "$mode"
			fi
			pair_ramp "$PA@$mode#$rep" "$PB@$mode#$rep" "$rep"
		done
	done
	CLOCK_AFTER=$(clockstate)
	LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
	pair_report | tee "$STATE/table.md"
	[ -z "${BENCH_OUT:-}" ] || cp "$STATE/table.md" "$BENCH_OUT"
	lib_clock_unchanged "$CLOCK_BEFORE" "$CLOCK_AFTER" || exit 1
}

# Second server's address (the generator's sources start at .10).
SRV_IP2=10.200.0.3
declare -A P_IP P_PID P_MET P_MAX P_NEXT P_LAST P_FAIL P_DONE P_PREV P_GF P_CPU P_PCPU P_SYS P_CR
PAIR_ROWS=()

# ptarget NAME: the next steps go to that server.
ptarget() { SRV_IP=${P_IP[$1]} SRV_PID=${P_PID[$1]:-} GN_METRICS=${P_MET[$1]}; }

# pstep NAME RATE TAG: one step at RATE, repeated once if it loses ≥ 1 %;
# prints "pass|fail SENT LOSS GENERATOR_LIMITED".
pstep() {
	local name=$1 rate=$2 tag=$3 try loss rr glim gcpu scpu sdrop
	ptarget "$name"
	for try in 1 2; do
		read -r loss rr _ _ _ gcpu scpu glim sdrop _ < <(step "$name" "$tag-$rate" --rate "$rate" --duration "${STEP}s")
		rr=$(printf '%.0f' "$rr")
		log "$name @ $rate/s ($tag): sent $rr/s, server loss $(printf '%.3f' "$loss") % (+$(vdrops_of "$name" "$tag-$rate") veth drops), server cpu $scpu %, generator busy $gcpu %, generator_limited $glim, drops: server socket $sdrop; $(cat "$STATE/$name/$tag-$rate.cpu")"
		if [ "$(awk -v l="$loss" 'BEGIN{print (l < 1)}')" = 1 ]; then
			echo "pass $rr $loss $glim"
			return
		fi
	done
	echo "fail $rr $loss $glim"
}

# pair_ramp A B REP: the paired ramp of two server@model#rep names; which
# server steps first alternates from rung to rung and, for the first rung,
# from repetition to repetition.
pair_ramp() {
	local a=$1 b=$2 s rate=$START_RATE rung=$((${3:-1} - 1)) order verdict rr loss glim
	P_IP[$a]=$SRV_IP P_MET[$a]=127.0.0.1:18124
	P_IP[$b]=$SRV_IP2 P_MET[$b]=127.0.0.1:18125
	for s in "$a" "$b"; do
		ptarget "$s"
		start_server "$s"
		P_PID[$s]=$SRV_PID P_MAX[$s]=0 P_NEXT[$s]="-" P_LAST[$s]=0 P_FAIL[$s]="" P_DONE[$s]=0 P_PREV[$s]=0 P_GF[$s]=0
	done
	# CPU and system calls per request at the two fixed rates, alternately.
	local k t r ca cb reply scpu
	for k in 1 2 3; do
		for t in common eff; do
			r=$COMMON_RATE
			[ $t = common ] || r=$EFF_RATE
			order="$a $b"
			[ $(((k + rung) % 2)) = 1 ] || order="$b $a"
			for s in $order; do
				ptarget "$s"
				read -r _ _ reply _ _ _ scpu _ < <(step "$s" "$t" --rate "$r" --duration "${STEP}s")
				P_CPU[$s,$t]+=" $(cat "$STATE/$s/$t.cpuus")"
				P_PCPU[$s,$t]+=" $(awk -v c="$scpu" -v r="$reply" 'BEGIN { if (r > 0) printf "%.2f", c * 1e4 / r; else print "?" }')"
				P_SYS[$s,$t]+=" $(cat "$STATE/$s/$t.sys" 2>/dev/null || echo '?')"
			done
			ca=$(cat "$STATE/$a/$t.cpuus") cb=$(cat "$STATE/$b/$t.cpuus")
			P_CR[$a,$t]+=" $(ratio "$cb" "$ca")"
			log "${b%%@*} / ${a%%@*} (${a#*@}) round $k @ $r/s: server CPU $cb / $ca µs per request"
		done
	done
	while [ $((${P_DONE[$a]} + ${P_DONE[$b]})) -lt 2 ]; do
		if [ $SECONDS -ge "$DEADLINE" ]; then
			log "pair: time budget hit during the ramp"
			break
		fi
		[ "$(awk -v r="$rate" -v m="$MAX_RATE" 'BEGIN{print (r > m)}')" = 0 ] || break
		order="$a $b"
		[ $((rung % 2)) = 0 ] || order="$b $a"
		for s in $order; do
			[ "${P_DONE[$s]}" = 0 ] || continue
			read -r verdict rr loss glim < <(pstep "$s" "$rate" rate)
			if [ "$verdict" = fail ]; then
				P_DONE[$s]=1 P_FAIL[$s]=$rate
				P_NEXT[$s]="$rate/s target, $rr/s sent: $(printf '%.1f' "$loss") % loss"
				continue
			fi
			[ "$rr" -gt "${P_MAX[$s]}" ] && P_MAX[$s]=$rr
			P_LAST[$s]=$rate
			# The generator, not the server, ends a ramp that stops gaining.
			if [ "$glim" = true ] && [ "$(awk -v a="$rr" -v p="${P_PREV[$s]}" 'BEGIN{print (a < 1.05 * p)}')" = 1 ]; then
				P_GF[$s]=$((${P_GF[$s]} + 1))
				if [ "${P_GF[$s]}" -ge 2 ]; then
					P_DONE[$s]=1 P_NEXT[$s]="none: generator saturated first ($rr req/s sent)"
				fi
			fi
			P_PREV[$s]=$rr
		done
		rate=$(awk -v r="$rate" -v f="$FACTOR" 'BEGIN{printf "%.0f", r * f}')
		rung=$((rung + 1))
	done
	# Bisection, both servers interleaved.
	local i lo hi mid
	declare -A lo_ hi_
	for s in "$a" "$b"; do lo_[$s]=${P_LAST[$s]} hi_[$s]=${P_FAIL[$s]}; done
	for ((i = 0; i < BISECT; i++)); do
		order="$a $b"
		[ $(((i + rung) % 2)) = 0 ] || order="$b $a"
		for s in $order; do
			[ -n "${hi_[$s]}" ] && [ "${lo_[$s]}" -gt 0 ] && [ $SECONDS -lt "$DEADLINE" ] || continue
			mid=$(((${lo_[$s]} + ${hi_[$s]}) / 2))
			read -r verdict rr loss glim < <(pstep "$s" "$mid" bisect)
			if [ "$verdict" = pass ]; then
				[ "$rr" -gt "${P_MAX[$s]}" ] && P_MAX[$s]=$rr
				lo_[$s]=$mid
			else
				hi_[$s]=$mid
				P_NEXT[$s]="$mid/s target, $rr/s sent: $(printf '%.1f' "$loss") % loss"
			fi
		done
	done
	for s in "$a" "$b"; do
		ptarget "$s"
		stop_server
	done
	SRV_IP=${P_IP[$a]}
	log "pair ${a%%@*} / ${b%%@*} (${a#*@}): max rate at < 1 % server loss ${P_MAX[$a]} and ${P_MAX[$b]} req/s, ratio $(ratio "${P_MAX[$b]}" "${P_MAX[$a]}")"
	PAIR_ROWS+=("$a $b")
}

# pair_report: one row per paired ramp, and per model the median ratio.
pair_report() {
	local row a b mode
	echo "Machine: $MACHINE; load average $LOAD_BEFORE before, $LOAD_AFTER after"
	echo "Generator: gnomonctl bench ntp${XLEAVE:+ $XLEAVE}, $CLIENTS sockets, CPU $GEN_CPU; both servers on CPU $SRV_CPU at once, stepped alternately (BENCH_PAIR); ${STEP} s per step, ladder x$FACTOR from $START_RATE/s, a failing step repeated once, then $BISECT bisection steps each"
	for mode in "${MODELS[@]}"; do
		echo "Network model $mode: ${NETDESC[$mode]}; generator send-only ceiling ${CEIL[$mode]} req/s"
	done
	echo
	local na nb
	read -r na nb <<<"${PAIR_ROWS[0]}"
	na=${na%%@*} nb=${nb%%@*}
	echo "A = $na, B = $nb. CPU: server CPU µs per answered request (all of the server's CPU), median of 3 alternating rounds, and the median of the rounds' B / A; process CPU: the server process's utime + stime per answered request (softirq work that interrupted it included); syscalls per request; each median [min–max] of the 3 rounds."
	echo
	echo "| model | repetition | A max rate @ < 1 % server loss (req/s) | A's first failing step | B max rate | B's first failing step | max rate B / A | CPU A, B @ $COMMON_RATE/s (B / A) | CPU A, B @ $EFF_RATE/s (B / A) | process CPU A, B @ $COMMON_RATE/s; @ $EFF_RATE/s | syscalls A, B @ $COMMON_RATE/s; @ $EFF_RATE/s |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for row in "${PAIR_ROWS[@]}"; do
		read -r a b <<<"$row"
		printf '| %s | %s | %s | %s | %s | %s | %s | %s, %s (%s) | %s, %s (%s) | %s, %s; %s, %s | %s, %s; %s, %s |\n' "$(echo "${a#*@}" | cut -d'#' -f1)" "${a##*#}" \
			"${P_MAX[$a]}" "${P_NEXT[$a]}" "${P_MAX[$b]}" "${P_NEXT[$b]}" "$(ratio "${P_MAX[$b]}" "${P_MAX[$a]}")" \
			"$(medr ${P_CPU[$a,common]})" "$(medr ${P_CPU[$b,common]})" "$(medr ${P_CR[$a,common]})" \
			"$(medr ${P_CPU[$a,eff]})" "$(medr ${P_CPU[$b,eff]})" "$(medr ${P_CR[$a,eff]})" \
			"$(medr ${P_PCPU[$a,common]})" "$(medr ${P_PCPU[$b,common]})" "$(medr ${P_PCPU[$a,eff]})" "$(medr ${P_PCPU[$b,eff]})" \
			"$(medr ${P_SYS[$a,common]})" "$(medr ${P_SYS[$b,common]})" "$(medr ${P_SYS[$a,eff]})" "$(medr ${P_SYS[$b,eff]})"
	done
	echo
	for mode in "${MODELS[@]}"; do
		local rs=()
		for row in "${PAIR_ROWS[@]}"; do
			read -r a b <<<"$row"
			[[ $a == *"@$mode#"* ]] && rs+=("$(ratio "${P_MAX[$b]}" "${P_MAX[$a]}")")
		done
		echo "$mode: ${b%%@*} / ${a%%@*}, paired max rate: median [min–max] $(medr "${rs[@]}") over ${#rs[@]} repetitions"
	done
}
