#!/bin/sh
# Regenerates the synthetic fixtures of package leap. Run from anywhere:
#   sh clock/leap/testdata/mkfixtures.sh
#
# leap-seconds.list and right-UTC.tzif are copies of the host's files
# (Debian 12 tzdata 2025b: /usr/share/zoneinfo/leap-seconds.list and
# right/UTC), not generated. The synthetic lists below derive from the real
# list; their #h hashes are computed here with awk + sha1sum, independently
# of the Go parser, following the rule in the file's own comments: SHA-1
# over the #$ and #@ values and the data fields, in file order, white space
# and comments removed. The TZif fixtures are compiled by zic from the
# host's tz "leapseconds" file plus one extra Leap line.
set -eu
cd "$(dirname "$0")"
real=leap-seconds.list

ntp() { echo $(( $(date -u -d "$1" +%s) + 2208988800 )); }

hashof() {
	awk '/^#[$@]/ { print substr($0, 3); next } /^#/ { next } { sub(/#.*/, ""); print }' "$1" |
		tr -d ' \t\r\n' | sha1sum | cut -c1-40
}

# words HASH PAD: five space-separated words, zero-padded if PAD=1.
words() {
	h=$1
	out=""
	for i in 0 1 2 3 4; do
		w=$(echo "$h" | cut -c$((i * 8 + 1))-$((i * 8 + 8)))
		if [ "$2" = 0 ]; then w=$(printf '%x' "0x$w"); fi
		out="$out $w"
	done
	echo "${out# }"
}

# mk OUT UPDATE EXPIRY PAD [DATA LINE...]: real list with new #$ and #@,
# extra data lines after the last one, and a fresh #h.
mk() {
	out=$1 upd=$2 exp=$3 pad=$4
	shift 4
	extra=$(printf '%s\n' "$@")
	awk -v upd="$upd" -v expiry="$exp" -v extra="$extra" '
		/^#h/ { next }
		/^#\$/ { print "#$\t" upd; next }
		/^#@/ { print "#@\t" expiry; next }
		/^3692217600/ { print; if (extra != "") print extra; next }
		{ print }' "$real" >"$out.tmp"
	printf '#h\t%s\n' "$(words "$(hashof "$out.tmp")" "$pad")" >>"$out.tmp"
	mv "$out.tmp" "$out"
}

upd2026=$(ntp 2026-07-07)
# A leap inserted at the end of 2026, list valid until 2027-06-28.
mk future.list "$upd2026" "$(ntp 2027-06-28)" 1 "$(ntp 2027-01-01)      38      # 1 Jan 2027"
# A negative leap (23:59:59 deleted) at the end of 2026.
mk negative.list "$upd2026" "$(ntp 2027-06-28)" 1 "$(ntp 2027-01-01)      36      # 1 Jan 2027"
# The real data as published in July 2016 (announcing 2017-01-01), expired 2017-06-28.
mk expired.list "$(ntp 2016-07-06)" "$(ntp 2017-06-28)" 1
# A list whose hash has a word with a leading zero, printed without it (as
# some editions do): vary the update time until such a word appears.
d=0
while :; do
	u=$((upd2026 + d))
	mk nopad.list "$u" "$(ntp 2027-06-28)" 1 "$(ntp 2027-01-01)      38      # 1 Jan 2027"
	if grep '^#h' nopad.list | grep -Eq '[[:space:]]0'; then break; fi
	d=$((d + 86400))
done
mk nopad.list "$u" "$(ntp 2027-06-28)" 0 "$(ntp 2027-01-01)      38      # 1 Jan 2027"
# The real list with its expiry pushed a year out by hand: the hash no longer matches.
sed "s/^#@.*/#@\t$(ntp 2027-06-28)/" "$real" >badhash.list

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' /usr/share/zoneinfo/leapseconds | grep -v '^$' >"$tmp/leaps"
echo 'Zone	Etc/UTC	0	-	UTC' >"$tmp/utc.zi"
{ cat "$tmp/leaps"; echo 'Leap	2026	Dec	31	23:59:60	+	S'; } >"$tmp/future"
{ cat "$tmp/leaps"; echo 'Leap	2026	Dec	31	23:59:59	-	S'; } >"$tmp/negative"
for k in future negative; do
	zic -d "$tmp/$k.out" -L "$tmp/$k" "$tmp/utc.zi"
	cp "$tmp/$k.out/Etc/UTC" "zic-$k.tzif"
done
