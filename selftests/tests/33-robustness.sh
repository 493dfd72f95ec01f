#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What a tunnel meets outside the lab: several active peers on one device,
# MTU changes, a smaller outer MTU, a lossy link, a peer without endpoint
# and an endpoint without route.  Every case builds its topology afresh:
#
#   ns1: v1 192.0.2.1/24 2001:db8::1/64   wg0 10.10.0.1/24 fd10::1/64 :10001
#   ns2: v2 192.0.2.2/24 2001:db8::2/64   wg0 10.10.0.2/24 fd10::2/64 :10002
#   several peers: ns1 v1N 192.0.N.1/24 <-> nsN vN1 192.0.N.2/24,
#                  nsN wg0 10.10.0.N/24 :1000N  (N = 2, 3, 4)
#
# Needs in the guest: iputils ping, ethtool, tc (netem) and
# /selftests/tunnel-lib.sh.
. /selftests/lib.sh

if [ ! -f /selftests/tunnel-lib.sh ]; then
	ktap_plan 1
	ktap_skip "robustness tests" "/selftests/tunnel-lib.sh not packed"
	ktap_finished
fi
. /selftests/tunnel-lib.sh

K1="" P1="" K2="" P2=""

# pair_setup: ns1 and ns2 as above.  ns1's endpoint for ns2 is
# ${NS1_ENDPOINT-192.0.2.2:10002} (empty: none).  Sets K1/P1 and K2/P2.
pair_setup()
{
	local n ep=${NS1_ENDPOINT-192.0.2.2:10002}
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	ns_add ns1 ns2
	veth_pair ns1 v1 ns2 v2
	$IP -n ns1 addr add 192.0.2.1/24 dev v1
	$IP -n ns2 addr add 192.0.2.2/24 dev v2
	$IP -n ns1 addr add 2001:db8::1/64 dev v1 nodad
	$IP -n ns2 addr add 2001:db8::2/64 dev v2 nodad
	wg_keypair K1 P1
	wg_keypair K2 P2
	for n in 1 2; do
		wg_dev_add "ns$n" wg0
	done
	wg_set_key ns1 wg0 "$K1"
	wg_set_key ns2 wg0 "$K2"
	nsx ns1 "$WG" set wg0 listen-port 10001 peer "$P2" \
		allowed-ips 10.10.0.2/32,fd10::2/128
	if [ -n "$ep" ]; then
		nsx ns1 "$WG" set wg0 peer "$P2" endpoint "$ep"
	fi
	nsx ns2 "$WG" set wg0 listen-port 10002 peer "$P1" \
		allowed-ips 10.10.0.1/32,fd10::1/128 endpoint 192.0.2.1:10001
	for n in 1 2; do
		$IP -n "ns$n" addr add "10.10.0.$n/24" dev wg0
		$IP -n "ns$n" addr add "fd10::$n/64" dev wg0 nodad
		$IP -n "ns$n" link set wg0 up
	done
}

pair_up()
{
	wait_for 30 tping ns1 10.10.0.2
	wg_handshake_done ns1 wg0
	wg_handshake_done ns2 wg0
}

# reload_wg [ARGS...]: reload the module with parameters.
reload_wg()
{
	unload_wg
	modprobe "$WG_MODULE" "$@"
}

# --- several peers --------------------------------------------------------

# Three peers on ns1's wg0, one per namespace, each with its own link.
# Concurrent pings to all three: each gets its own echo requests (the
# allowed IPs route them), each peer's transfer counters agree with the
# other end's, and a ping to one reaches no other.
t_three_peers()
{
	local k1 p1 n pids=() pub=() k p c0 c1 tx rx
	need_iputils_ping
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	wg_keypair k1 p1
	ns_add ns1
	wg_dev_add ns1 wg0
	wg_set_key ns1 wg0 "$k1"
	nsx ns1 "$WG" set wg0 listen-port 10001
	$IP -n ns1 addr add 10.10.0.1/24 dev wg0
	for n in 2 3 4; do
		ns_add "ns$n"
		veth_pair ns1 "v1$n" "ns$n" "v${n}1"
		$IP -n ns1 addr add "192.0.$n.1/24" dev "v1$n"
		$IP -n "ns$n" addr add "192.0.$n.2/24" dev "v${n}1"
		wg_keypair k p
		pub[n]=$p
		wg_dev_add "ns$n" wg0
		wg_set_key "ns$n" wg0 "$k"
		nsx "ns$n" "$WG" set wg0 listen-port "1000$n" peer "$p1" \
			allowed-ips 10.10.0.0/24 endpoint 192.0.$n.1:10001
		$IP -n "ns$n" addr add "10.10.0.$n/24" dev wg0
		$IP -n "ns$n" link set wg0 up
		nsx ns1 "$WG" set wg0 peer "$p" allowed-ips "10.10.0.$n/32" \
			endpoint "192.0.$n.2:1000$n"
	done
	$IP -n ns1 link set wg0 up
	assert_eq "$(nsx ns1 "$WG" show wg0 peers | wc -l)" 3 "ns1's peers"

	for n in 2 3 4; do
		nsx ns1 "$PING" -c 100 -i 0.01 -W 5 "10.10.0.$n" \
			>"/tmp/three-$n.log" 2>&1 &
		pids[n]=$!
	done
	for n in 2 3 4; do
		wait "${pids[n]}" || { tail -n 3 "/tmp/three-$n.log"; return 1; }
		tail -n 2 "/tmp/three-$n.log"
		# the first request may wait for the handshake, and is kept
		assert_eq "$(ping_received "$(cat "/tmp/three-$n.log")")" 100 "replies from ns$n"
	done
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" 3 "ns1's handshakes"
	for n in 2 3 4; do
		wg_handshake_done "ns$n" wg0
		# Both ends count the same messages once nothing is in flight.
		wait_for 10 transfer_agrees "ns$n" "${pub[n]}" "$p1" || {
			echo "ns1 -> ns$n: tx $(wg_tx ns1 wg0 "${pub[n]}"), rx $(wg_rx ns1 wg0 "${pub[n]}");" \
				"ns$n: rx $(wg_rx "ns$n" wg0 "$p1"), tx $(wg_tx "ns$n" wg0 "$p1")"
			return 1
		}
		tx=$(wg_tx ns1 wg0 "${pub[n]}") rx=$(wg_rx ns1 wg0 "${pub[n]}")
		echo "ns1 <-> ns$n: tx $tx, rx $rx bytes"
		# The initiation (148), the response (92), 100 echo messages of
		# 84 bytes padded to 96 + 32 each way; two keepalives (32) at most.
		[ "$tx" -ge 12948 ] || { echo "too little sent to ns$n"; return 1; }
		[ "$tx" -le $((12948 + 64)) ] || { echo "too much sent to ns$n"; return 1; }
		[ "$rx" -ge 12892 ] || { echo "too little received from ns$n"; return 1; }
		[ "$rx" -le $((12892 + 64)) ] || { echo "too much received from ns$n"; return 1; }
	done

	# A ping to ns3 reaches ns3 and no other peer.
	for n in 2 3 4; do
		c0[n]=$(snmp_sum "ns$n" Icmp InEchos)
	done
	nsx ns1 "$PING" -c 5 -i 0.05 -W 2 10.10.0.3 >/dev/null
	for n in 2 3 4; do
		c1=$(snmp_sum "ns$n" Icmp InEchos)
		if [ "$n" = 3 ]; then
			assert_eq $((c1 - c0[n])) 5 "echo requests at ns3"
		else
			assert_eq $((c1 - c0[n])) 0 "echo requests at ns$n"
		fi
	done
	# Each peer answers ns1 and reaches another peer through it only if
	# ns1 forwards: not configured, so a peer's allowed IPs are its own.
	tping ns4 10.10.0.1
	tping ns2 10.10.0.1
}

# transfer_agrees NS PUB_AT_NS1 PUB_OF_NS1: ns1's tx to the peer in NS is
# what NS received from ns1, and the other way round.
transfer_agrees()
{
	[ "$(wg_tx ns1 wg0 "$2")" = "$(wg_rx "$1" wg0 "$3")" ] || return 1
	[ "$(wg_rx ns1 wg0 "$2")" = "$(wg_tx "$1" wg0 "$3")" ]
}

# --- MTU --------------------------------------------------------------------

# ping_df NS ADDR SIZE: one echo request of SIZE bytes that must not be
# fragmented; prints ping's output, returns its status.
ping_df()
{
	nsx "$1" "$PING" -c 1 -W 2 -M "do" -s "$3" "$2" 2>&1
}

# expect_too_long NS ADDR SIZE: refused locally as any device refuses a
# packet over its MTU.
expect_too_long()
{
	local out rc=0
	out=$(ping_df "$@") || rc=$?
	echo "$out" | tail -n 2
	[ "$rc" -ne 0 ] || { echo "a $3-byte ping with DF got through"; return 1; }
	assert_match "$out" '[Mm]essage too long' "ping -M do -s $3"
}

t_mtu_change()
{
	need_iputils_ping
	pair_setup
	pair_up
	$IP -n ns1 link set wg0 mtu 1280
	assert_eq "$(nsx ns1 cat /sys/class/net/wg0/mtu)" 1280 "ns1 wg0 mtu"
	# 1280 - 20 - 8 and 1280 - 40 - 8
	ping_df ns1 10.10.0.2 1252 >/dev/null
	ping_df ns1 fd10::2 1232 >/dev/null
	expect_too_long ns1 10.10.0.2 1253
	expect_too_long ns1 fd10::2 1233
	# Larger pings without DF are fragmented before the tunnel.
	nsx ns1 "$PING" -c 1 -W 2 -s 2000 10.10.0.2 >/dev/null
	# ns2's wg0 keeps its own MTU.
	assert_eq "$(nsx ns2 cat /sys/class/net/wg0/mtu)" 1420 "ns2 wg0 mtu"
	ping_df ns2 10.10.0.1 1252 >/dev/null
	$IP -n ns1 link set wg0 mtu 1420
	assert_eq "$(nsx ns1 cat /sys/class/net/wg0/mtu)" 1420 "ns1 wg0 mtu back"
	ping_df ns1 10.10.0.2 1392 >/dev/null
	ping_df ns1 fd10::2 1372 >/dev/null
	expect_too_long ns1 10.10.0.2 1393
}

# An outer link with a smaller MTU than wg0 needs: the encrypted packets
# are fragmented on the way out (IPv4 and IPv6 outer) and the large inner
# packets still arrive.
t_pmtu()
{
	local f0 r0 f1 r1
	need_iputils_ping
	pair_setup
	$IP -n ns1 link set v1 mtu 1300
	$IP -n ns2 link set v2 mtu 1300
	pair_up
	f0=$(snmp_sum ns1 Ip FragCreates) r0=$(snmp_sum ns2 Ip ReasmOKs)
	# inner 1420 bytes: outer 1420 + 32 + 8 + 20 > 1300
	ping_df ns1 10.10.0.2 1392 >/dev/null
	ping_df ns1 fd10::2 1372 >/dev/null
	f1=$(snmp_sum ns1 Ip FragCreates) r1=$(snmp_sum ns2 Ip ReasmOKs)
	echo "IPv4 outer: ns1 fragments created $((f1 - f0)), ns2 reassembled $((r1 - r0))"
	[ $((f1 - f0)) -ge 4 ] || { echo "ns1 did not fragment the outer packets"; return 1; }
	[ $((r1 - r0)) -ge 2 ] || { echo "ns2 reassembled nothing"; return 1; }

	nsx ns1 "$WG" set wg0 peer "$P2" endpoint '[2001:db8::2]:10002'
	nsx ns2 "$WG" set wg0 peer "$P1" endpoint '[2001:db8::1]:10001'
	f0=$(snmp_sum ns1 snmp6 Ip6FragCreates) r0=$(snmp_sum ns2 snmp6 Ip6ReasmOKs)
	ping_df ns1 10.10.0.2 1392 >/dev/null
	ping_df ns1 fd10::2 1372 >/dev/null
	ping_df ns2 fd10::1 1372 >/dev/null
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" '[2001:db8::2]:10002' "ns1's endpoint for ns2"
	f1=$(snmp_sum ns1 snmp6 Ip6FragCreates) r1=$(snmp_sum ns2 snmp6 Ip6ReasmOKs)
	echo "IPv6 outer: ns1 fragments created $((f1 - f0)), ns2 reassembled $((r1 - r0))"
	[ $((f1 - f0)) -ge 4 ] || { echo "ns1 did not fragment the outer packets"; return 1; }
	[ $((r1 - r0)) -ge 2 ] || { echo "ns2 reassembled nothing"; return 1; }
}

# --- loss -------------------------------------------------------------------

# Every packet ns1 sends on v1 is lost.  An initiation is retried every
# REKEY_TIMEOUT (5 s, + jitter) until REKEY_ATTEMPT_TIME (90 s) has
# passed: 90 / 5 = 18 retries allowed, then the in-tree driver sends
# MAX_TIMER_HANDSHAKES + 2 = 20 initiations in all and gives up.  With
# time_divisor=30 that takes 20 x 1/6 s + jitter (up to 1/3 s each).
# Initiations are 148 bytes and nothing else can leave without a session:
# ns1's transfer to ns2 counts them.
INIT_LEN=148

initiations()
{
	echo $(($(wg_tx ns1 wg0 "$P2") / INIT_LEN))
}

initiations_ge()
{
	[ "$(initiations)" -ge "$1" ]
}

t_loss_retransmit()
{
	local t0 t1 n hc
	need_cmd tc
	if ! reload_wg time_divisor=30; then
		reload_wg
		skip "$WG_MODULE does not load with time_divisor=30"
	fi
	at_case_exit 'grep -qx 30 "/sys/module/$WG_MODULE/parameters/time_divisor" 2>/dev/null && reload_wg'
	[ "$(cat "/sys/module/$WG_MODULE/parameters/time_divisor" 2>/dev/null)" = 30 ] ||
		skip "not a debug build (no time_divisor)"
	pair_setup
	# The neighbour first: with the link lossy, ARP would not resolve.
	tping ns1 192.0.2.2
	nsx ns1 tc qdisc add dev v1 root netem loss 100%
	expect_fail tping ns1 192.0.2.2
	assert_eq "$(wg_tx ns1 wg0 "$P2")" 0 "ns1's transfer before"
	t0=$(date +%s.%N)
	# One packet: more traffic would start a new series of attempts.
	expect_fail tping ns1 10.10.0.2
	wait_for 5 initiations_ge 3
	assert_eq "$(wg_latest ns1 wg0 "$P2")" 0 "latest handshake while retrying"
	wait_for 30 initiations_ge 20 || { echo "$(initiations) initiations"; return 1; }
	t1=$(date +%s.%N)
	# Given up: nothing more in twice the longest retry interval.
	expect_fail wait_for 2 initiations_ge 21
	n=$(initiations)
	echo "$n initiations in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s;" \
		"$(nsx ns1 tc -s qdisc show dev v1 | grep -o 'dropped [0-9]*')"
	assert_eq "$n" 20 "initiations sent (MAX_TIMER_HANDSHAKES + 2)"
	assert_eq "$(($(wg_tx ns1 wg0 "$P2") % INIT_LEN))" 0 "only initiations sent"
	# 19 retries of at least REKEY_TIMEOUT / 30 each
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 19 * 5 / 30) }' ||
		{ echo "retried faster than REKEY_TIMEOUT"; return 1; }
	assert_eq "$(wg_latest ns1 wg0 "$P2")" 0 "latest handshake after giving up"
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" 0 "ns1 handshakes_completed"
	hc=$(wg_stat ns2 wg0 handshakes_completed)
	assert_eq "$hc" 0 "ns2 handshakes_completed"
	# The link heals: new traffic starts a new handshake.
	nsx ns1 tc qdisc del dev v1 root
	wait_for 10 tping ns1 10.10.0.2
	wg_handshake_done ns1 wg0
	_case_cleanup
	reload_wg
}

# --- no endpoint, no route ----------------------------------------------------

# A peer without endpoint: a packet for it is refused (host unreachable,
# as the in-tree driver does) and counted in tx_no_endpoint; once the peer
# initiates, its endpoint is learned and traffic flows.
t_no_endpoint()
{
	local ne out rc=0
	need_stats
	NS1_ENDPOINT='' pair_setup
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" "(none)" "ns1's endpoint for ns2"
	ne=$(wg_stat ns1 wg0 tx_no_endpoint)
	out=$(nsx ns1 "$PING" -c 1 -W 2 10.10.0.2 2>&1) || rc=$?
	echo "$out" | tail -n 3
	[ "$rc" -ne 0 ] || { echo "ping to a peer without endpoint succeeded"; return 1; }
	if [ "$PING_IPUTILS" = 1 ]; then
		assert_match "$out" '[Uu]nreachable' "ping output"
	fi
	expect_fail tping ns1 fd10::2
	wait_stat 5 ns1 wg0 tx_no_endpoint $((ne + 2))
	assert_eq "$(wg_stat ns1 wg0 tx_no_endpoint)" $((ne + 2)) tx_no_endpoint
	assert_eq "$(wg_tx ns1 wg0 "$P2")" 0 "ns1's transfer to ns2"
	# ns2 knows ns1's endpoint: its handshake teaches ns1 the way back.
	wait_for 30 tping ns2 10.10.0.1
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" 192.0.2.2:10002 "endpoint learned"
	tping ns1 10.10.0.2
	tping ns1 fd10::2
	assert_eq "$(wg_stat ns1 wg0 tx_no_endpoint)" $((ne + 2)) "tx_no_endpoint after"
}

# An endpoint with no route to it (IPv4, then IPv6): the initiation cannot
# leave, tx_route_fail counts it, the packet is not delivered; with a
# routable endpoint the tunnel works and the counter stays.
t_route_fail()
{
	local rf
	need_stats
	NS1_ENDPOINT=203.0.113.9:10002 pair_setup
	rf=$(wg_stat ns1 wg0 tx_route_fail)
	expect_fail tping ns1 10.10.0.2
	wait_stat 5 ns1 wg0 tx_route_fail $((rf + 1))
	assert_eq "$(wg_tx ns1 wg0 "$P2")" 0 "ns1's transfer to ns2"
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" 0 handshakes_completed
	# The next attempt (REKEY_TIMEOUT later) goes to the new endpoint.
	rf=$(wg_stat ns1 wg0 tx_route_fail)
	nsx ns1 "$WG" set wg0 peer "$P2" endpoint '[2001:db8:ffff::9]:10002'
	wait_stat 15 ns1 wg0 tx_route_fail $((rf + 1))
	assert_eq "$(wg_tx ns1 wg0 "$P2")" 0 "ns1's transfer to ns2 (IPv6)"
	nsx ns1 "$WG" set wg0 peer "$P2" endpoint 192.0.2.2:10002
	rf=$(wg_stat ns1 wg0 tx_route_fail)
	wait_for 30 tping ns1 10.10.0.2
	tping ns1 fd10::2
	assert_eq "$(wg_stat ns1 wg0 tx_route_fail)" "$rf" "tx_route_fail once routable"
}

ktap_plan 6
run_case "three active peers on one device" t_three_peers
run_case "runtime MTU change: 1280 and back" t_mtu_change
run_case "outer MTU below the tunnel's: outer packets fragmented" t_pmtu
run_case "total loss: handshake retried, given up after REKEY_ATTEMPT_TIME (time_divisor=30)" t_loss_retransmit
run_case "peer without endpoint (tx_no_endpoint)" t_no_endpoint
run_case "endpoint without route (tx_route_fail)" t_route_fail
ktap_finished
