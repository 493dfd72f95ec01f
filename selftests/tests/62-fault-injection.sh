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

# Each injection may fail TIMES allocations; `times` counts down with
# every failure injected, so TIMES minus what is left is how many were.
TIMES=1000000

# inject on|off PERCENT [SPACE TIMES]: fail PERCENT of our module's
# allocations; with SPACE, only after SPACE bytes were allocated, and at
# most TIMES of them.
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
		TIMES=${4:-1000000}
		echo "$TIMES" >"$d/times"
		echo 1 >"$d/interval"
		echo "${3:-0}" >"$d/space"
		echo N >"$d/task-filter"
		[ ! -e "$d/ignore-gfp-wait" ] || echo N >"$d/ignore-gfp-wait"
		[ ! -e "$d/ignore-gfp-highmem" ] || echo N >"$d/ignore-gfp-highmem"
		echo "$2" >"$d/probability"
	done
}

# injected: failures injected since the last `inject on` (failslab and
# fail_page_alloc together).
injected()
{
	local d n=0
	for d in $FS $FP; do
		[ -d "$d" ] || continue
		n=$((n + TIMES - $(cat "$d/times")))
	done
	echo "$n"
}

# The debug build announces every interface, peer and keypair it creates
# and destroys; guest-init keeps the kernel log in KMSG.
KMSG=/tmp/kmsg-all

kmsg_offset()
{
	if [ -f $KMSG ]; then wc -c <$KMSG; else echo 0; fi
}

# objects_balanced OFFSET: every object announced as created in the log
# after OFFSET is announced destroyed too.
objects_balanced()
{
	[ -f $KMSG ] || return 0
	tail -c +$(($1 + 1)) $KMSG | awk '
		/(interface|peer [0-9]+|keypair [0-9]+( for peer [0-9]+)?) created/ { c++ }
		/(interface|peer [0-9]+|keypair [0-9]+( for peer [0-9]+)?) destroyed/ { d++ }
		END { exit c != d }'
}

# nothing_left NS OFFSET: no wg device in NS, and every object of the
# round is gone.
nothing_left()
{
	if nsx "$1" $IP -o link show type "$WG_KIND" | grep -q .; then
		echo "a $WG_KIND device is left in $1"
		return 1
	fi
	wait_for 20 objects_balanced "$2" || {
		tail -c +$(($2 + 1)) $KMSG | grep -E ' (created|destroyed)' | tail -n 5
		return 1
	}
}

# clean_fail RC ERR WHAT: a command that failed under injection said why.
clean_fail()
{
	[ "$1" -ne 0 ] || return 0
	[ -n "$2" ] || { echo "$3 failed (exit $1) without an error message"; return 1; }
}

# applied NS: wg0 in NS has the whole of $conf (read back with wg show).
applied()
{
	local got
	got=$(nsx "$1" "$WG" show wg0 dump | awk 'NR > 1 { print $1, $3, $4, $8 }' | sort)
	assert_eq "$got" "$(sort "$conf.expect")" "peers applied"
}

need_failslab()
{
	[ -d $FS ] || skip "no failslab (CONFIG_FAILSLAB, debugfs)"
	[ -e $FS/require-start ] || skip "no stack trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)"
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	trap 'inject off' EXIT
}

# Create, configure, delete; with failures, then the same again without.
# A step that fails says why and leaves no half device; a step that
# succeeds has applied fully; every round leaves nothing behind.
t_config()
{
	local i k p fails=0 ok=0 want got off err rc inj total=0
	need_failslab
	ns_add fins
	wg_keypair k p
	conf=/tmp/fi.conf
	: >"$conf.expect"
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = 0\n' "$k"
		for i in $(seq 1 20); do
			wg_keypair k p
			printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.0.0/16, fd00:%d::/32\nEndpoint = 192.0.2.%d:51820\nPersistentKeepalive = 25\n' \
				"$p" "$i" "$i" "$i"
			printf '%s 192.0.2.%d:51820 10.%d.0.0/16,fd00:%d::/32 25\n' \
				"$p" "$i" "$i" "$i" >>"$conf.expect"
		done
	} >$conf
	want=$(grep -c '^\[Peer\]' $conf)
	for i in $(seq 1 "$ROUNDS"); do
		off=$(kmsg_offset)
		# Odd rounds: one allocation in ten fails.  Even rounds: one
		# failure, after a budget that doubles (1 KiB, 2 KiB, ...), so
		# later ones come after the request is done and it succeeds.
		if [ $((i % 2)) = 1 ]; then
			inject on 10
		else
			inject on 100 $((1024 << (i / 2 - 1))) 1
		fi
		rc=0
		err=$($IP -n fins link add wg0 type "$WG_KIND" 2>&1) || rc=$?
		if [ "$rc" -ne 0 ]; then
			inject off
			total=$((total + $(injected)))
			fails=$((fails + 1))
			clean_fail "$rc" "$err" "ip link add"
			nothing_left fins "$off"
			continue
		fi
		rc=0
		err=$(nsx fins "$WG" setconf wg0 $conf 2>&1) || rc=$?
		if [ "$rc" -eq 0 ]; then
			err=$($IP -n fins link set wg0 up 2>&1) || rc=$?
			[ "$rc" -eq 0 ] || err="link up: $err"
		fi
		inject off
		inj=$(injected)
		total=$((total + inj))
		clean_fail "$rc" "$err" "setconf or link up"
		if [ "$rc" -eq 0 ]; then
			ok=$((ok + 1))
			# Applied fully, though allocations failed around it.
			applied fins
			assert_match "$($IP -n fins link show wg0)" '[<,]UP[,>]' "wg0 up"
		else
			fails=$((fails + 1))
		fi
		# Whatever state a failure left, the full request applies now.
		nsx fins "$WG" setconf wg0 $conf
		got=$(nsx fins "$WG" show wg0 peers | wc -l)
		assert_eq "$got" "$want" "peers after a clean setconf"
		applied fins
		$IP -n fins link del wg0
		nothing_left fins "$off"
	done
	echo "$ROUNDS rounds: $ok without a failure, $fails with one; $total allocations failed"
	[ "$total" -gt 0 ] || { echo "no allocation failure was injected"; return 1; }
	[ "$fails" -gt 0 ] || { echo "no command failed under injection"; return 1; }
	[ "$ok" -gt 0 ] || { echo "no round succeeded under injection"; return 1; }
	$IP -n fins link add wg0 type "$WG_KIND"
	$IP -n fins link del wg0
}

# Handshakes and traffic with allocations failing; the tunnel recovers.
t_traffic()
{
	local k1 p1 k2 p2 n rc err total=0
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
			rc=0
			err=$(nsx fa "$WG" set wg0 peer "$p2" allowed-ips 10.9.0.2/32 \
				endpoint 192.0.2.2:2 2>&1) || rc=$?
			# Read back without injection: failed cleanly, or applied.
			total=$((total + $(injected)))
			inject off
			clean_fail "$rc" "$err" "wg set peer"
			if [ "$rc" -eq 0 ]; then
				assert_eq "$(wg_field fa wg0 endpoints "$p2")" 192.0.2.2:2 "endpoint set under injection"
				assert_eq "$(wg_field fa wg0 allowed-ips "$p2")" 10.9.0.2/32 "allowed IPs set under injection"
			fi
			inject on 5
		fi
		nsx fa "$PING" -c 5 -i 0.05 -W 1 10.9.0.2 >/dev/null 2>&1 || true
	done
	total=$((total + $(injected)))
	inject off
	echo "with failures ($total allocations failed): $(wg_stats fa wg0)"
	[ "$total" -gt 0 ] || { echo "no allocation failure was injected"; return 1; }
	nsx fa "$WG" set wg0 peer "$p2" allowed-ips 10.9.0.2/32 endpoint 192.0.2.2:2
	wait_for 60 tping fa 10.9.0.2
	wait_for 60 tping fb 10.9.0.1
}

# Module load with failures: clean refusal or a working module; unload.
t_load()
{
	local i rc err total=0 fails=0
	need_failslab
	for i in $(seq 1 10); do
		modprobe -r "$WG_MODULE"
		load_wg
		inject on 20
		rc=0
		err=$($IP link add wgl0 type "$WG_KIND" 2>&1) || rc=$?
		inject off
		total=$((total + $(injected)))
		clean_fail "$rc" "$err" "ip link add"
		if [ "$rc" -eq 0 ]; then
			assert_match "$($IP -d link show wgl0)" "$WG_KIND" "wgl0 created"
			$IP link del wgl0
		else
			fails=$((fails + 1))
			expect_fail test -e /sys/class/net/wgl0
		fi
	done
	echo "10 rounds: $fails device creations failed; $total allocations failed"
	[ "$total" -gt 0 ] || { echo "no allocation failure was injected"; return 1; }
	[ "$(cat /sys/module/$WG_MODULE/refcnt)" = 0 ]
	modprobe -r "$WG_MODULE"
}

run_case "configuration with failing allocations" t_config
run_case "handshakes and traffic with failing allocations" t_traffic
run_case "device creation with failing allocations, then rmmod" t_load
ktap_finished
