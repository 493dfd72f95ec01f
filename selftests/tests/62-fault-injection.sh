#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Allocation failures inside the module: failslab and fail_page_alloc,
# restricted to call chains that pass through the module's code
# (require-start/require-end from /sys/module/wg/sections/.text and the
# module's size), while devices are created and configured, handshakes run
# and traffic flows.  Every failure must end in a clean error or a counted
# drop: no splat, no leak (kmemleak, after the suite), and once injection
# stops the same configuration applies and the tunnel works.  Needs a
# kernel with CONFIG_FAILSLAB and the stack trace filter (the debug lane).
. /selftests/lib.sh
. /selftests/tunnel-lib.sh

ROUNDS=${WG_FAULT_ROUNDS:-$(wgtest_arg faultrounds 40)}
FS=/sys/kernel/debug/failslab
FP=/sys/kernel/debug/fail_page_alloc

ktap_plan 3

# inject on|off PERCENT
inject()
{
	local d start end
	# Marks the window in which guest-init accepts allocation-failure
	# traces (warn_alloc) in the kernel log.
	echo "wgtest: fault injection $1" >/dev/kmsg
	for d in $FS $FP; do
		[ -d "$d" ] || continue
		if [ "$1" = off ]; then
			echo 0 >"$d/probability"
			continue
		fi
		start=$(cat /sys/module/$WG_MODULE/sections/.text)
		end=$(printf '0x%x' $((start + $(cat /sys/module/$WG_MODULE/coresize))))
		echo "$start" >"$d/require-start"
		echo "$end" >"$d/require-end"
		echo 32 >"$d/stacktrace-depth"
		echo 0 >"$d/verbose"
		echo -1 >"$d/times"
		echo 1 >"$d/interval"
		echo 0 >"$d/space"
		echo N >"$d/task-filter"
		[ ! -e "$d/ignore-gfp-wait" ] || echo N >"$d/ignore-gfp-wait"
		[ ! -e "$d/ignore-gfp-highmem" ] || echo N >"$d/ignore-gfp-highmem"
		echo "$2" >"$d/probability"
	done
}

need_failslab()
{
	[ -d $FS ] || skip "no failslab (CONFIG_FAILSLAB, debugfs)"
	[ -e $FS/require-start ] || skip "no stack trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)"
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	trap 'inject off' EXIT
}

# Create, configure, delete; with failures, then the same again without.
t_config()
{
	local i k p conf fails=0 ok=0 want got
	need_failslab
	ns_add fi
	wg_keypair k p
	conf=/tmp/fi.conf
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = 0\n' "$k"
		for i in $(seq 1 20); do
			wg_keypair k p
			printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.0.0/16, fd00:%d::/32\nEndpoint = 192.0.2.%d:51820\nPersistentKeepalive = 25\n' \
				"$p" "$i" "$i" "$i"
		done
	} >$conf
	for i in $(seq 1 "$ROUNDS"); do
		inject on 10
		if $IP -n fi link add wg0 type "$WG_KIND" 2>/dev/null; then
			if nsx fi "$WG" setconf wg0 $conf 2>/dev/null &&
				$IP -n fi link set wg0 up 2>/dev/null; then
				ok=$((ok + 1))
			else
				fails=$((fails + 1))
			fi
			inject off
			# Whatever state a failure left, the full request applies now.
			nsx fi "$WG" setconf wg0 $conf
			want=$(grep -c '^\[Peer\]' $conf)
			got=$(nsx fi "$WG" show wg0 peers | wc -l)
			assert_eq "$got" "$want" "peers after a clean setconf"
			$IP -n fi link del wg0
		else
			fails=$((fails + 1))
			inject off
		fi
	done
	echo "$ROUNDS rounds: $ok without a failure, $fails with one"
	$IP -n fi link add wg0 type "$WG_KIND"
	$IP -n fi link del wg0
}

# Handshakes and traffic with allocations failing; the tunnel recovers.
t_traffic()
{
	local k1 p1 k2 p2 n
	need_failslab
	ns_add fa fb
	veth_pair fa v1 fb v2
	$IP -n fa addr add 192.0.2.1/24 dev v1
	$IP -n fb addr add 192.0.2.2/24 dev v2
	wg_keypair k1 p1
	wg_keypair k2 p2
	wg_dev_add fa wg0
	wg_dev_add fb wg0
	wg_set_key fa wg0 "$k1"
	wg_set_key fb wg0 "$k2"
	nsx fa "$WG" set wg0 listen-port 1 peer "$p2" allowed-ips 10.9.0.2/32 endpoint 192.0.2.2:2
	nsx fb "$WG" set wg0 listen-port 2 peer "$p1" allowed-ips 10.9.0.1/32 endpoint 192.0.2.1:1
	for n in a b; do
		$IP -n f$n link set wg0 up
	done
	$IP -n fa addr add 10.9.0.1/24 dev wg0
	$IP -n fb addr add 10.9.0.2/24 dev wg0
	inject on 5
	for n in $(seq 1 "$ROUNDS"); do
		# new handshakes: a key change drops the sessions
		if [ $((n % 8)) = 0 ]; then
			wg_set_key fa wg0 "$k1" 2>/dev/null || true
			nsx fa "$WG" set wg0 peer "$p2" remove 2>/dev/null || true
			nsx fa "$WG" set wg0 peer "$p2" allowed-ips 10.9.0.2/32 \
				endpoint 192.0.2.2:2 2>/dev/null || true
		fi
		nsx fa "$PING" -c 5 -i 0.05 -W 1 10.9.0.2 >/dev/null 2>&1 || true
	done
	inject off
	echo "with failures: $(wg_stats fa wg0)"
	nsx fa "$WG" set wg0 peer "$p2" allowed-ips 10.9.0.2/32 endpoint 192.0.2.2:2
	wait_for 60 tping fa 10.9.0.2
	wait_for 60 tping fb 10.9.0.1
}

# Module load with failures: clean refusal or a working module; unload.
t_load()
{
	local i
	need_failslab
	for i in $(seq 1 10); do
		$IP link add wgl0 type "$WG_KIND" 2>/dev/null && $IP link del wgl0
		modprobe -r "$WG_MODULE"
		load_wg
		inject on 20
		$IP link add wgl0 type "$WG_KIND" 2>/dev/null || true
		inject off
		$IP link del wgl0 2>/dev/null || true
	done
	[ "$(cat /sys/module/$WG_MODULE/refcnt)" = 0 ]
	modprobe -r "$WG_MODULE"
}

run_case "configuration with failing allocations" t_config
run_case "handshakes and traffic with failing allocations" t_traffic
run_case "device creation with failing allocations, then rmmod" t_load
ktap_finished
