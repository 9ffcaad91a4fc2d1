#!/usr/bin/env bash
# Runs every Go native fuzz target in the module for $1 (default 60s) each.
# Fails on the first target that finds a failure; prints one line per target.
set -euo pipefail
fuzztime=${1:-60s}
cd "$(dirname "$0")/.."
n=0
for pkg in $(go list ./... | grep -v /interop); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		echo "fuzz: $pkg $t for $fuzztime"
		go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/gnomon-fuzz.$$.log 2>&1 || {
			cat /tmp/gnomon-fuzz.$$.log
			echo "fuzz: FAIL $pkg $t"
			exit 1
		}
		tail -1 /tmp/gnomon-fuzz.$$.log
		n=$((n + 1))
	done
done
rm -f /tmp/gnomon-fuzz.$$.log
echo "fuzz: $n targets ran $fuzztime each without a failure"
[ "$n" -gt 0 ]
