# bench-ntp-report.sh: the tables of bench-ntp.sh (sourced by it, not run).
# bench_ntp_report prints them from the run's globals: MACHINE, the load
# averages, the generator settings, MODELS with NETDESC and CEIL, ORDER (the
# measured server@model[#rep] names) and the R_* result arrays bench_server
# fills, SERVERS and REPS.

# medr V...: "median [min–max]" of the numeric values (others ignored).
medr() {
	printf '%s\n' "$@" | awk '$1 ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ { v[n++] = $1 + 0 }
		END {
			if (n == 0) { print "?"; exit }
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			if (n == 1) printf "%g\n", m; else printf "%g [%g–%g]\n", m, v[0], v[n - 1] }'
}
# txf "basic m/sd/p99/max; xleave …" KIND FIELD: one figure of txerr's output (FIELD 1..4).
txf() { echo "$1" | tr ';' '\n' | awk -v k="$2" -v f="$3" '$1 == k { split($2, x, "/"); print x[f] }'; }
# ratio A B: A / B, two decimals ("?" unless both are positive numbers).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f\n", a / b; else print "?" }'; }

# bench_ntp_report prints the markdown tables and the ratios of the run.
bench_ntp_report() {
	echo "Machine: $MACHINE; load average $LOAD_BEFORE before, $LOAD_AFTER after"
	echo "Generator: gnomonctl bench ntp${XLEAVE:+ $XLEAVE}, $CLIENTS sockets (one source address each), 1 worker on CPU $GEN_CPU, UDP_SEGMENT batches; servers on CPU $SRV_CPU; veth between two netns; nice $NICE; ${STEP} s per step, ramp x$FACTOR from $START_RATE/s, then $BISECT bisection steps"
	for mode in "${MODELS[@]}"; do
		echo "Network model $mode: ${NETDESC[$mode]}; generator send-only ceiling ${CEIL[$mode]} req/s"
	done
	echo
	echo "| model | server | socket rcvbuf (B) | max rate @ < 1 % server loss (req/s sent) | first failing step | RTT p50 @ $COMMON_RATE/s (µs) | RTT p99 @ $COMMON_RATE/s (µs) | server CPU µs/request @ $COMMON_RATE/s, @ $EFF_RATE/s | syscalls/request @ $COMMON_RATE/s, @ $EFF_RATE/s | --max replies/s (16 outstanding x $CLIENTS) | interleaved share (%) @ $COMMON_RATE/s, @ $EFF_RATE/s, @ 90 % of max | first 2 s: lost or > 100 ms (%) | bottleneck |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for s in "${ORDER[@]}"; do
		printf '| %s | %s | %s | %s | %s | %.1f | %.1f | %s, %s | %s, %s | %s | %s, %s, %s | %s | %s%s |\n' "${s#*@}" "${s%@*}" "${R_RB[$s]:-?}" "${R_MAX[$s]}" "${R_NEXT[$s]}" \
			"${R_P50[$s]}" "${R_P99[$s]}" "${R_CPU1[$s]:-?}" "${R_CPU2[$s]:-?}" "${R_SYS1[$s]:-?}" "${R_SYS2[$s]:-?}" "${R_XMAX[$s]}" \
			"${R_XS1[$s]:--}" "${R_XS2[$s]:--}" "${R_XS90[$s]:--}" "${R_LATE[$s]:-?}" "${R_BOTTLENECK[$s]}" "${R_NOTE[$s]:+; ${R_NOTE[$s]}}"
	done
	echo
	echo "TX-timestamp error, µs (client kernel RX stamp − server Transmit − half the minimum RTT; mean/sd/p99/max;" \
		"server: gnomond's own gnomon_ntp_basic_transmit_error_seconds over the step, its kernel TX stamp − Transmit of the basic replies it stamps: mean/median bucket/p99 bucket/samples, and the share of basic replies sent in a shared sendmmsg with a calibrated Transmit):"
	echo
	echo "| model | server | @ $COMMON_RATE/s | @ $EFF_RATE/s |"
	echo "|---|---|---|---|"
	for s in "${ORDER[@]}"; do
		printf '| %s | %s | %s | %s |\n' "${s#*@}" "${s%@*}" "${R_TXE1[$s]:-?}" "${R_TXE2[$s]:-?}"
	done
	echo
	for mode in "${MODELS[@]}"; do
		for pair in "gnomond chronyd" "gnomond-sysbuf chronyd-sysbuf" "gnomond reflector" "gnomond-xleave reflector" "chronyd reflector"; do
			set -- $pair
			a=${R_MAX[$1@$mode]:-} b=${R_MAX[$2@$mode]:-}
			if [ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt 0 ]; then
				echo "$mode: $1 / $2 = $(ratio "$a" "$b")x (max rate at < 1 % server loss)"
			fi
		done
	done
	if [ "$REPS" -gt 1 ]; then
		echo
		echo "Summary of $REPS repetitions (servers in alternating order): median [min–max]"
		echo
		echo "| model | server | max rate @ < 1 % server loss (req/s) | server CPU µs/request @ $COMMON_RATE/s | @ $EFF_RATE/s | syscalls/request @ $COMMON_RATE/s | @ $EFF_RATE/s | basic TX error mean, p99 (µs) @ $COMMON_RATE/s | @ $EFF_RATE/s | interleaved TX error mean (µs) @ $COMMON_RATE/s, @ $EFF_RATE/s | interleaved share (%) @ $COMMON_RATE/s, @ $EFF_RATE/s, @ 90 % of max | first 2 s: lost or > 100 ms (%) |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
		# col ARRAY, colt ARRAY KIND FIELD: medr of ARRAY's (or of its
		# txerr strings' txf KIND FIELD) values over the repetitions k.
		col() { local a=() n; for n in "${k[@]}"; do eval "a+=(\"\${$1[\$n]:-?}\")"; done; medr "${a[@]}"; }
		colt() { local a=() n v; for n in "${k[@]}"; do eval "v=\${$1[\$n]:-}"; a+=("$(txf "$v" "$2" "$3")"); done; medr "${a[@]}"; }
		for mode in "${MODELS[@]}"; do
			for sv in $SERVERS; do
				k=()
				for r in $(seq 1 "$REPS"); do k+=("$sv@$mode#$r"); done
				echo "| $mode | $sv | $(col R_MAX) | $(col R_CPU1) | $(col R_CPU2) | $(col R_SYS1) | $(col R_SYS2) | $(colt R_TXE1 basic 1), $(colt R_TXE1 basic 3) | $(colt R_TXE2 basic 1), $(colt R_TXE2 basic 3) | $(colt R_TXE1 xleave 1), $(colt R_TXE2 xleave 1) | $(col R_XS1), $(col R_XS2), $(col R_XS90) | $(col R_LATE) |"
			done
		done
		echo
		echo "Ratios per repetition (same repetition, minutes apart), median [min–max]:"
		echo
		for mode in "${MODELS[@]}"; do
			for pair in "gnomond reflector R_MAX" "gnomond-xleave reflector R_MAX" "gnomond chronyd R_MAX" "gnomond-xleave chronyd-xleave R_MAX" \
				"gnomond chronyd R_CPU1" "gnomond chronyd R_CPU2" "gnomond reflector R_CPU1" "gnomond reflector R_CPU2" \
				"gnomond chronyd R_SYS1" "gnomond chronyd R_SYS2"; do
				set -- $pair
				[[ " $SERVERS " == *" $1 "* ]] && [[ " $SERVERS " == *" $2 "* ]] || continue
				rs=()
				for r in $(seq 1 "$REPS"); do
					eval "a=\${$3[\$1@\$mode#\$r]:-} b=\${$3[\$2@\$mode#\$r]:-}"
					rs+=("$(ratio "$a" "$b")")
				done
				case $3 in
				R_MAX) what="max rate at < 1 % server loss" ;;
				R_CPU1) what="server CPU per request @ $COMMON_RATE/s" ;;
				R_CPU2) what="server CPU per request @ $EFF_RATE/s" ;;
				R_SYS1) what="syscalls per request @ $COMMON_RATE/s" ;;
				R_SYS2) what="syscalls per request @ $EFF_RATE/s" ;;
				esac
				echo "- $mode: $1 / $2, $what: $(medr "${rs[@]}") (per repetition: ${rs[*]})"
			done
		done
	fi
	[ "$FRAME_WARN" = 0 ] || echo "WARNING: some requests did not cross the veth as separate frames (see the log)"
	if [ $HAVE_GNOMOND = 0 ] && [[ " $SERVERS " == *" gnomond"* ]]; then
		echo
		echo "gnomond: not measured (./cmd/gnomond does not build)"
	fi
}
