#!/usr/bin/env bash
# Installs the third-party peers the interop tests and benchmarks talk to
# (chronyd/chronyc, ntpdig, ptp4l/pmc, gpsd and gpsfake (gpsd-clients), iproute2, ping, util-linux's setpriv, curl for the README's tour;
# ethtool for the benchmark; headless chromium for the status page's test; prometheus and promtool for
# the metrics tests) WITHOUT starting their
# services and without touching the host's time configuration:
# a temporary /usr/sbin/policy-rc.d (exit 101) denies every invoke-rc.d start
# during the install, and any stray daemon the install left is reported.
# Idempotent; needs root. Prints what it did.
set -euo pipefail

pkgs=(chrony ntpsec-ntpdig linuxptp gpsd gpsd-clients iproute2 iputils-ping util-linux curl ethtool chromium prometheus)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-peers: all present (${pkgs[*]})"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-peers: missing ${missing[*]} and not root; cannot install" >&2
	exit 1
fi

policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
	saved=$(mktemp)
	cp -p "$policy" "$saved"
fi
restore() {
	if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore EXIT
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"

echo "install-peers: installing ${missing[*]} (services blocked by policy-rc.d)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/install-peers.$$.log 2>&1; then
	apt-get update >/dev/null 2>&1 || true
	apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/install-peers.$$.log 2>&1 || {
		cat /tmp/install-peers.$$.log >&2
		exit 1
	}
fi
rm -f /tmp/install-peers.$$.log
# Belt and braces on systemd hosts: keep the services off.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl disable --now chrony.service >/dev/null 2>&1 || true
	systemctl disable --now ptp4l.service phc2sys.service >/dev/null 2>&1 || true
	systemctl disable --now gpsd.service gpsd.socket >/dev/null 2>&1 || true
	systemctl disable --now prometheus.service prometheus-node-exporter.service >/dev/null 2>&1 || true
fi
for d in chronyd ntpd ptp4l phc2sys gpsd prometheus prometheus-node; do  # comm is cut at 15 characters
	if pids=$(pgrep -x "$d"); then
		echo "install-peers: WARNING: $d is running (pids $pids); it was not started by this script" >&2
	fi
done
echo "install-peers: done"
