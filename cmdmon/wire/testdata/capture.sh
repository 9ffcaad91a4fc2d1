#!/bin/sh
# Captures golden cmdmon packets between the real chronyc and chronyd of this
# machine (chrony 4.3 on Debian bookworm) into this directory; see README.
# Needs root, chronyd, chronyc, strace, python3. Never touches the clock:
# both chronyd run with -x and without CAP_SYS_TIME; NTP only on 127.0.0.1.
set -eu
out=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/cmdmon-golden-$$.XXXX)
chmod 700 "$dir"
pa=$((20000 + $$ % 20000)); pb=$((pa + 1))
cleanup() {
	for f in "$dir"/a.pid "$dir"/b.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
	sleep 0.3; rm -rf "$dir"
}
trap cleanup EXIT INT TERM
# A: NTP server on 127.0.0.1:$pa (local stratum 8), polls B (noselect) so that
# B has a client to list. No control socket.
cat >"$dir/a.conf" <<CONF
port $pa
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
bindcmdaddress /
pidfile $dir/a.pid
server 127.0.0.1 port $pb minpoll 0 maxpoll 0 noselect
CONF
# B: the daemon whose control socket is captured; syncs (with -x: only in its
# own accounting) to A, serves NTP on $pb.
cat >"$dir/b.conf" <<CONF
port $pb
bindaddress 127.0.0.1
allow 127.0.0.1
cmdport 0
bindcmdaddress $dir/chronyd.sock
pidfile $dir/b.pid
server 127.0.0.1 port $pa iburst minpoll 0 maxpoll 0
CONF
drop="setpriv --inh-caps=-sys_time --bounding-set=-sys_time"
$drop chronyd -x -u root -f "$dir/a.conf" >"$dir/a.log" 2>&1
$drop chronyd -x -u root -f "$dir/b.conf" >"$dir/b.log" 2>&1
i=0
until [ -S "$dir/chronyd.sock" ] && chronyc -h "$dir/chronyd.sock" tracking 2>/dev/null | grep -q '^Reference ID.*7F000001'; do
	i=$((i + 1)); [ $i -gt 60 ] && { echo "B did not sync to A in 30 s" >&2; cat "$dir"/*.log >&2; exit 1; }
	sleep 0.5
done
sleep 5 # a few more samples for sourcestats
cap() { # name, chronyc args...
	name=$1; shift
	timeout 10 strace -f -qq -e trace=sendto,recvfrom,sendmsg,recvmsg,send,recv -xx -s 2000 -o "$dir/$name.strace" \
		chronyc -h "$dir/chronyd.sock" "$@" >"$out/$name.txt" 2>&1 || true
	python3 - "$dir/$name.strace" "$out" "$name" <<'PY'
import re, sys
src, out, name = sys.argv[1:]
n = 0
for line in open(src):
    m = re.search(r'\b(sendto|sendmsg|send|recvfrom|recvmsg|recv)\(\d+, .*?"((?:\\x[0-9a-f]{2})*)"', line)
    if not m:
        continue
    ret = re.search(r'= (\d+)$', line.strip())
    data = bytes.fromhex(m.group(2).replace('\\x', ''))
    if ret:
        data = data[:int(ret.group(1))]
    kind = 'req' if m.group(1).startswith('send') else 'rpy'
    n += 1
    open(f'{out}/{name}.{n:02d}.{kind}.bin', 'wb').write(data)
PY
}
cap tracking tracking
cap sources sources
cap sources-names -N sources
cap sourcestats sourcestats
cap selectdata selectdata
cap ntpdata ntpdata 127.0.0.1
cap ntpdata-unknown ntpdata 192.0.2.1
cap serverstats serverstats
cap clients clients
cap activity activity
cap smoothing smoothing
cap burst burst 2/4 127.0.0.1
cap reset reset sources
chronyc --version >"$out/chronyc-version.txt"
chronyd --version >"$out/chronyd-version.txt"
