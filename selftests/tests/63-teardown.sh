#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Teardown and concurrency: while iperf3 runs through the tunnel in both
# directions, reconfigure and tear down everything there is (syncconf that
# adds and removes peers and prefixes, private keys, listen ports, peer
# removal, moving the device between namespaces, deleting the namespace
# that holds its UDP sockets, deleting the device), several times over
# (after each change the tunnel must carry a ping again), and finally
# rmmod.  Then create/configure/delete cycles must leave slab usage
# and the module's reference count where they started.  run.sh runs this
# script on 2 and on 4 vCPUs in the debug lane, each VM with some of the
# teardown rounds (wgtest.teardowns).
. /selftests/lib.sh
. /selftests/tunnel-lib.sh

ROUNDS=${WG_TEARDOWN_ROUNDS:-$(wgtest_arg rounds 30)}
CYCLES=${WG_TEARDOWN_CYCLES:-$(wgtest_arg cycles 1000)}
# iperf3's rate each way (its -b; 0 = as fast as it goes).  A saturated
# tunnel queues megabytes (the receiver's veth backlog and decrypt ring,
# as in the in-tree driver): on the debug kernel with 4 vCPUs, at about
# 2 Mbit/s, TCP's window reached 2.8 MB and no ping came back within 5 s
# for a minute.  That lane runs iperf3 below what the tunnel carries.
RATE=${WG_TEARDOWN_RATE:-$(wgtest_arg tdrate 0)}
# The rounds of t_stress, each ended by its own teardown: 1 deletes the
# namespace of the UDP sockets, 2 the device, 3 the peer's device.
TEARDOWNS=$(wgtest_arg teardowns 1,2,3)
WGNL=${WGNL:-/usr/bin/wgnl}

ktap_plan 2

K1="" P1="" K2="" P2=""

# birth holds ns1's UDP sockets: wg0 is created there and moved to ns1.
setup()
{
	ns_add birth ns1 ns2 ns3
	veth_pair birth v1 ns2 v2
	$IP -n birth addr add 192.0.2.1/24 dev v1
	$IP -n ns2 addr add 192.0.2.2/24 dev v2
	wg_keypair K1 P1
	wg_keypair K2 P2
	wg_dev_add birth wg0
	$IP -n birth link set wg0 netns ns1
	wg_dev_add ns2 wg0
	wg_set_key ns1 wg0 "$K1"
	wg_set_key ns2 wg0 "$K2"
	nsx ns1 "$WG" set wg0 listen-port 10001 peer "$P2" \
		allowed-ips 10.10.0.2/32 endpoint 192.0.2.2:10002
	nsx ns2 "$WG" set wg0 listen-port 10002 peer "$P1" \
		allowed-ips 10.10.0.1/32 endpoint 192.0.2.1:10001
	$IP -n ns1 addr add 10.10.0.1/24 dev wg0
	$IP -n ns2 addr add 10.10.0.2/24 dev wg0
	$IP -n ns1 link set wg0 up
	$IP -n ns2 link set wg0 up
}

# rx_ge NS PUB BYTES: wg0 in NS has received BYTES from peer PUB.
rx_ge()
{
	local v
	v=$(wg_rx "$1" wg0 "$2")
	[ -n "$v" ] && [ "$v" -ge "$3" ]
}

# tunnel_ok NS: a ping crosses the tunnel between NS (ns1 or ns3) and
# ns2.  Both ends send one at the same time: the end whose peer or device
# was just recreated starts a handshake at once, while the other would
# keep using its old session until it times out (15 s, as the protocol
# says).  The reply may wait behind iperf3's data in the queues.
tunnel_ok()
{
	local a b first rc
	nsx ns2 "$PING" -c 1 -W 10 10.10.0.1 >/dev/null 2>&1 &
	a=$!
	nsx "$1" "$PING" -c 1 -W 10 10.10.0.2 >/dev/null 2>&1 &
	b=$!
	# The first reply decides: waiting for the other ping too would
	# wait out its reply timeout whenever that end's session is stale.
	wait -n -p first "$a" "$b"
	rc=$?
	if [ "$rc" != 0 ]; then
		if [ "$first" = "$a" ]; then
			a=$b
		fi
		wait "$a"
		return
	fi
	kill "$a" "$b" 2>/dev/null
	wait "$a" "$b" 2>/dev/null
	return 0
}

where_wg0()
{
	local ns
	for ns in ns1 ns3; do
		if $IP -n $ns link show wg0 >/dev/null 2>&1; then echo $ns; return; fi
	done
	echo none
}

# One disturbance, chosen by the round number.
disturb()
{
	local r=$1 k p conf i ns
	ns=$(where_wg0)
	case $((r % 7)) in
	0)	conf=/tmp/td.conf
		{
			printf '[Interface]\nPrivateKey = %s\nListenPort = 10002\n' "$K2"
			printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.10.0.1/32, 10.%d.0.0/16\nEndpoint = 192.0.2.1:10001\n' "$P1" $((r % 200))
			for i in $(seq 1 $((1 + r % 5))); do
				wg_keypair k p
				printf '[Peer]\nPublicKey = %s\nAllowedIPs = 172.16.%d.0/24\n' "$p" "$i"
			done
		} >$conf
		nsx ns2 "$WG" syncconf wg0 $conf
		nsx ns2 "$WG" syncconf wg0 <(printf '[Interface]\nPrivateKey = %s\nListenPort = 10002\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.10.0.1/32\nEndpoint = 192.0.2.1:10001\n' "$K2" "$P1") ;;
	1)	wg_keypair k p
		wg_set_key ns2 wg0 "$k"
		wg_set_key ns2 wg0 "$K2" ;;
	2)	nsx ns2 "$WG" set wg0 listen-port 10003
		nsx ns2 "$WG" set wg0 listen-port 10002 ;;
	3)	[ "$ns" = none ] || {
			nsx $ns "$WG" set wg0 peer "$P2" remove
			nsx $ns "$WG" set wg0 peer "$P2" allowed-ips 10.10.0.2/32 endpoint 192.0.2.2:10002
		} ;;
	4)	[ "$ns" = none ] || {
			local other=ns3
			[ "$ns" = ns1 ] || other=ns1
			$IP -n $ns link set wg0 netns $other
			$IP -n $other addr add 10.10.0.1/24 dev wg0 2>/dev/null || true
			$IP -n $other link set wg0 up
		} ;;
	5)	nsx ns2 "$WG" set wg0 peer "$P1" remove
		nsx ns2 "$WG" set wg0 peer "$P1" allowed-ips 10.10.0.1/32 endpoint 192.0.2.1:10001 ;;
	6)	$IP -n ns2 link set wg0 down
		$IP -n ns2 link set wg0 up ;;
	esac
}

t_stress()
{
	local outer r ns s c pp n t0 t1 tc waits gone=
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	need_cmd iperf3
	for outer in ${TEARDOWNS//,/ }; do
		t1=$SECONDS
		setup
		bg_nsx /tmp/td-s.log ns2 iperf3 -s -B 10.10.0.2
		s=$BG_PID
		wait_for 60 tping ns1 10.10.0.2
		wait_for 20 tcp_listening 5201 ns2
		bg_nsx /tmp/td-c.log ns1 timeout 600 iperf3 -c 10.10.0.2 -t 600 --bidir \
			-b "$RATE" --connect-timeout 30000
		c=$BG_PID
		# iperf3 in ns1 loses its connection when wg0 first leaves ns1;
		# pings from ns2 follow wg0 wherever it goes.
		bg_nsx /tmp/td-p.log ns2 "$PING" -q -i 0.02 -W 1 -c 100000 10.10.0.1
		pp=$BG_PID
		# The disturbances start once data flows.
		wait_for 60 rx_ge ns2 "$P1" 100000 || {
			cat /tmp/td-c.log /tmp/td-s.log
			return 1
		}
		waits=
		t1=$((SECONDS - t1))
		tc=$SECONDS
		for r in $(seq 1 "$ROUNDS"); do
			disturb "$r"
			# The tunnel carries traffic again before the next one.
			ns=$(where_wg0)
			t0=$SECONDS
			wait_for 60 tunnel_ok "$ns" || {
				echo "no ping between $ns and ns2 after change $r (kind $((r % 7))) of round $outer"
				tunnel_diag "$ns" ns2
				# Moving or stuck?  The same again 3 s later,
				# with the UDP and device counters.
				sleep 3
				tunnel_diag "$ns" ns2
				for n in "$ns" ns2; do
					echo "$n: $(nsx $n awk '/^Udp:/' /proc/net/snmp | tail -n 1)"
					$IP -n $n -s link show wg0 | sed "s/^/$n: /"
				done
				tail -n 3 /tmp/td-p.log /tmp/td-c.log
				return 1
			}
			waits="$waits $((SECONDS - t0))"
		done
		# Nothing here spoofs: what a removed peer had in flight is
		# no spoofed source, and replacing a peer's allowed IPs
		# (syncconf) leaves no gap.
		for n in "$ns" ns2; do
			assert_eq "$(wg_stat "$n" wg0 rx_src_not_allowed)" 0 \
				"rx_src_not_allowed on $n"
		done
		echo "round $outer: set up in $t1 s; $ROUNDS changes in $((SECONDS - tc)) s, a ping through after each (s:$waits); ns2 received $(wg_rx ns2 wg0 "$P1") bytes since its last peer change"
		# The UDP sockets' namespace goes, then the device, then the rest.
		case $outer in
		1) $IP netns del birth ;;
		2) ns=$(where_wg0); [ "$ns" = none ] || $IP -n $ns link del wg0 ;;
		3) $IP -n ns2 link del wg0 ;;
		esac
		kill "$c" "$s" "$pp" 2>/dev/null || true
		for ns in birth ns1 ns2 ns3; do
			$IP netns del $ns 2>/dev/null || true
		done
		_case_netns=''
		t0=$SECONDS
		wait_for 120 sh -c "! $IP link show 2>/dev/null | grep -q ' wg0'"
		gone="$gone $((SECONDS - t0))"
	done
	# Everything is gone: the module must go too.
	t0=$SECONDS
	wait_for 120 sh -c "[ \"\$(cat /sys/module/$WG_MODULE/refcnt)\" = 0 ]"
	echo "devices gone after (s):$gone; module unused after $((SECONDS - t0)) s"
	modprobe -r "$WG_MODULE"
	load_wg
}

slab_kb()
{
	awk '$1 == "SUnreclaim:" { print $2 }' /proc/meminfo
}

# Asks every slab cache to give back what it can (with KASAN, this also
# empties its quarantine of freed objects).
slab_shrink()
{
	local f
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 >"$f"
	done 2>/dev/null
}

# slab_settled KB LIMIT: unreclaimable slab is less than LIMIT kB above KB.
slab_settled()
{
	slab_shrink
	[ $(($(slab_kb) - $1)) -lt "$2" ]
}

t_cycles()
{
	local i s0 s1 r0 r1 k p limit
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	need_cmd "$WGNL"
	ns_add cy
	wg_keypair k p
	# Warm up caches (first-time allocations are not leaks).
	for i in 1 2 3 4 5; do
		$IP -n cy link add wg0 type "$WG_KIND"
		$IP -n cy link del wg0
	done
	r0=$(cat /sys/module/$WG_MODULE/refcnt)
	slab_shrink
	s0=$(slab_kb)
	# One process for all cycles (each a process or two took 0.23 s a
	# cycle on 6.1 under TCG, the kernel's part a fraction of that).
	nsx cy "$WGNL" cycles "$CYCLES" "$WG_KIND" wg0 listen-port 20000 \
		private-key "$k" peer "$p" endpoint 192.0.2.9:1 \
		allowedip 10.1.0.0/16 allowedip fd00::/64 || return 1
	# Deleted devices are freed from work items: wait for the last one.
	wait_for 30 sh -c "[ \"\$(cat /sys/module/$WG_MODULE/refcnt)\" = $r0 ]" || true
	r1=$(cat /sys/module/$WG_MODULE/refcnt)
	assert_eq "$r1" "$r0" "module reference count"
	# A leak of one small object per cycle would be some tens of kB.
	# Some frees come late (kfree_rcu batches for seconds; KASAN holds
	# freed objects in its quarantine until a cache is shrunk): wait for
	# the slab to settle, shrinking the caches, 30 s at most.
	limit=$((CYCLES / 4 + 512))
	wait_for 30 slab_settled "$s0" "$limit" || true
	s1=$(slab_kb)
	echo "$CYCLES cycles: unreclaimable slab ${s0} kB -> ${s1} kB, module refcount $r0 -> $r1"
	[ $((s1 - s0)) -lt "$limit" ] || { echo "slab grew by $((s1 - s0)) kB"; return 1; }
}

run_case "reconfigure and tear down under iperf3, then rmmod" t_stress
run_case "$CYCLES create/configure/delete cycles keep slab and refcount" t_cycles
ktap_finished
