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
# script on 2 and on 4 vCPUs in the debug lane.
. /selftests/lib.sh
. /selftests/tunnel-lib.sh

ROUNDS=${WG_TEARDOWN_ROUNDS:-$(sed -n 's/.*wgtest\.rounds=\([0-9]*\).*/\1/p' /proc/cmdline)}
ROUNDS=${ROUNDS:-30}
CYCLES=${WG_TEARDOWN_CYCLES:-$(sed -n 's/.*wgtest\.cycles=\([0-9]*\).*/\1/p' /proc/cmdline)}
CYCLES=${CYCLES:-1000}

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
# ns2.  It is sent from both ends: the end whose peer or device was just
# recreated starts a handshake at once, while the other would keep using
# its old session until it times out (15 s, as the protocol says).  The
# reply may wait behind iperf3's data in the queues: on the debug kernel
# with 4 vCPUs that took more than a second.
tunnel_ok()
{
	nsx ns2 "$PING" -c 1 -W 5 10.10.0.1 >/dev/null 2>&1 ||
		nsx "$1" "$PING" -c 1 -W 5 10.10.0.2 >/dev/null 2>&1
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
	local outer r ns s c pp
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	need_cmd iperf3
	for outer in 1 2 3; do
		setup
		bg_nsx /tmp/td-s.log ns2 iperf3 -s -B 10.10.0.2
		s=$BG_PID
		wait_for 60 tping ns1 10.10.0.2
		wait_for 20 tcp_listening 5201 ns2
		bg_nsx /tmp/td-c.log ns1 timeout 600 iperf3 -c 10.10.0.2 -t 600 --bidir --connect-timeout 30000
		c=$BG_PID
		# iperf3 in ns1 loses its connection when wg0 first leaves ns1;
		# pings from ns2 follow wg0 wherever it goes.
		bg_nsx /tmp/td-p.log ns2 "$PING" -q -i 0.02 -W 1 -c 100000 10.10.0.1
		pp=$BG_PID
		# The disturbances start once data flows.
		wait_for 60 rx_ge ns2 "$P1" 1000000 || {
			cat /tmp/td-c.log /tmp/td-s.log
			return 1
		}
		for r in $(seq 1 "$ROUNDS"); do
			disturb "$r"
			# The tunnel carries traffic again before the next one.
			ns=$(where_wg0)
			wait_for 60 tunnel_ok "$ns" || {
				echo "no ping between $ns and ns2 after disturbance $((r % 7)) of round $r"
				tunnel_diag "$ns" ns2
				return 1
			}
		done
		echo "round $outer: $ROUNDS disturbances, tunnel up after each; ns2 received $(wg_rx ns2 wg0 "$P1") bytes since its last peer change"
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
		wait_for 120 sh -c "! $IP link show 2>/dev/null | grep -q ' wg0'"
	done
	# Everything is gone: the module must go too.
	wait_for 120 sh -c "[ \"\$(cat /sys/module/$WG_MODULE/refcnt)\" = 0 ]"
	modprobe -r "$WG_MODULE"
	load_wg
}

slab_kb()
{
	awk '$1 == "SUnreclaim:" { print $2 }' /proc/meminfo
}

t_cycles()
{
	local i s0 s1 r0 r1 k p
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	ns_add cy
	wg_keypair k p
	# Warm up caches (first-time allocations are not leaks).
	for i in 1 2 3 4 5; do
		$IP -n cy link add wg0 type "$WG_KIND"
		$IP -n cy link del wg0
	done
	printf '%s\n' "$k" >/tmp/cy.key
	r0=$(cat /sys/module/$WG_MODULE/refcnt)
	s0=$(slab_kb)
	# Inside the namespace, two processes a cycle: wg configures the
	# device, then one ip batch brings it up, deletes it and creates the
	# next one (6.1 under TCG: 0.23 s a cycle, 0.36 s with a process for
	# each step).
	$IP -n cy link add wg0 type "$WG_KIND"
	nsx cy bash -c '
		IP=$1 WG=$2 KIND=$3 N=$4 P=$5
		for i in $(seq 1 "$N"); do
			"$WG" set wg0 listen-port $((20000 + i % 1000)) \
				private-key /tmp/cy.key peer "$P" \
				allowed-ips 10.$((i % 250)).0.0/16,fd00::/64 \
				endpoint 192.0.2.9:1 || exit
			printf "link set wg0 up\nlink del wg0\n" >/tmp/cy.batch
			[ "$i" -eq "$N" ] ||
				echo "link add wg0 type $KIND" >>/tmp/cy.batch
			"$IP" -batch /tmp/cy.batch || exit
		done' - "$IP" "$WG" "$WG_KIND" "$CYCLES" "$p"
	rm -f /tmp/cy.key /tmp/cy.batch
	# Deleted devices are freed from work items: wait for the last one.
	wait_for 30 sh -c "[ \"\$(cat /sys/module/$WG_MODULE/refcnt)\" = $r0 ]" || true
	r1=$(cat /sys/module/$WG_MODULE/refcnt)
	s1=$(slab_kb)
	echo "$CYCLES cycles: unreclaimable slab ${s0} kB -> ${s1} kB, module refcount $r0 -> $r1"
	assert_eq "$r1" "$r0" "module reference count"
	# A leak of one small object per cycle would be some tens of kB.
	[ $((s1 - s0)) -lt $((CYCLES / 4 + 512)) ] || { echo "slab grew by $((s1 - s0)) kB"; return 1; }
}

run_case "reconfigure and tear down under iperf3, then rmmod" t_stress
run_case "$CYCLES create/configure/delete cycles keep slab and refcount" t_cycles
ktap_finished
