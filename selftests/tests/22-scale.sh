#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scale: 1,000,000 IPv4 prefixes across 1,000 peers load with `wg setconf`
# and dump back equal.  Prints the load time and the slab memory per prefix
# (the figures the README quotes).  wgtest.scalepeers=N on the kernel
# command line takes N peers instead (run.sh's lighter second kernel).
. /selftests/lib.sh

PEERS=$(wgtest_arg scalepeers 1000)
PER_PEER=1000
# A million lines through busybox's awk took a minute under TCG; mawk (and
# coreutils' sort, in the guest as "sort") is over ten times faster.
AWK=$(command -v mawk || echo awk)
ktap_plan 3

gen_conf()
{
	# Random-looking but valid public keys: any 32 bytes will do.
	head -c $((PEERS * 33)) /dev/urandom | base64 -w 0 |
	$AWK -v peers=$PEERS -v per=$PER_PEER '
	{
		for (p = 0; p < peers; p++) {
			key = substr($0, p * 44 + 1, 43)
			# 32 bytes are 43 base64 digits plus "=": a last digit
			# of "A" keeps the unused low bits zero.
			key = substr(key, 1, 42) "A="
			printf "[Peer]\nPublicKey = %s\nAllowedIPs = ", key
			for (i = 0; i < per; i++) {
				n = p * per + i
				printf "%s%d.%d.%d.%d/32", i ? "," : "",
					10 + int(n / 16777216), int(n / 65536) % 256,
					int(n / 256) % 256, n % 256
			}
			printf "\n"
		}
	}'
}

# Hundredths of a second since boot (busybox date has no %N).
uptime_cs()
{
	awk '{ split($1, a, "."); print a[1] * 100 + a[2] }' /proc/uptime
}

slab_kb()
{
	awk '/^Slab:/ { print $2 }' /proc/meminfo
}

t_load()
{
	modprobe wg
	$IP link add wgscale type wg
	_case_links=
}

t_setconf()
{
	local before after t0 t1 per
	gen_conf >/tmp/scale.conf
	$AWK '/^AllowedIPs/ { n += gsub(/\//, "/") } END { print n " prefixes generated" }' /tmp/scale.conf
	sync
	echo 3 >/proc/sys/vm/drop_caches
	before=$(slab_kb)
	t0=$(uptime_cs)
	$WG setconf wgscale /tmp/scale.conf
	t1=$(uptime_cs)
	after=$(slab_kb)
	per=$(( (after - before) * 1024 / (PEERS * PER_PEER) ))
	echo "SCALE load_seconds=$(( (t1 - t0) / 100 )).$(( (t1 - t0) % 100 )) slab_delta_kb=$((after - before)) bytes_per_prefix=$per"
	grep -E '^(wg_allowedips_node|wg_peer) ' /proc/slabinfo || true
}

t_dump_equal()
{
	local want got
	want=$($AWK '/^PublicKey/ { k = $3 } /^AllowedIPs/ { n = split($3, a, ","); for (i = 1; i <= n; i++) print k, a[i] }' /tmp/scale.conf | LC_ALL=C sort | md5sum)
	$WG showconf wgscale >/tmp/scale.out
	got=$($AWK '/^PublicKey/ { k = $3 } /^AllowedIPs/ { n = split(substr($0, index($0, "=") + 2), a, ", "); for (i = 1; i <= n; i++) print k, a[i] }' /tmp/scale.out | LC_ALL=C sort | md5sum)
	echo "peers: $(grep -c '^\[Peer\]' /tmp/scale.out)"
	assert_eq "$got" "$want" "dumped prefixes"
	$IP link del wgscale
	rm -f /tmp/scale.conf /tmp/scale.out
}

run_case "load module" t_load
run_case "setconf $((PEERS * PER_PEER)) prefixes over $PEERS peers" t_setconf
run_case "dump equals the configuration" t_dump_equal
ktap_finished
