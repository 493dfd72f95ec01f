#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where users and tools look, wg behaves as the in-tree driver does:
# the device counters that `ip -s link` shows, and a tunnel nested in
# another tunnel of the same device (onion routing), with a loop of such
# tunnels dropped and counted.
#
#   ns1: v1 192.0.2.1/24 2001:db8::1/64   wg0 10.10.0.1/24 :10001
#   ns2: v2 192.0.2.2/24 2001:db8::2/64   wg0 10.10.0.2/24 :10002
#   onion cases: ns2 wg1 10.20.0.2/24 fd20::2/64 :5, a second peer of
#   ns1's wg0 whose endpoint is ns2's wg0 address, inside the first tunnel
. /selftests/lib.sh

if [ ! -f /selftests/tunnel-lib.sh ]; then
	ktap_plan 1
	ktap_skip "parity tests" "/selftests/tunnel-lib.sh not packed"
	ktap_finished
fi
. /selftests/tunnel-lib.sh

K1="" P1="" K2="" P2="" K3="" P3=""

# pair_setup KIND: ns1 and ns2 joined by a veth, a KIND device wg0 in
# each, IPv4 only inside (no IPv6 address, so nothing but the test's
# packets crosses the tunnel).
pair_setup()
{
	local kind=$1 n
	ns_add ns1 ns2
	veth_pair ns1 v1 ns2 v2
	$IP -n ns1 addr add 192.0.2.1/24 dev v1
	$IP -n ns2 addr add 192.0.2.2/24 dev v2
	$IP -n ns1 addr add 2001:db8::1/64 dev v1 nodad
	$IP -n ns2 addr add 2001:db8::2/64 dev v2 nodad
	wg_keypair K1 P1
	wg_keypair K2 P2
	for n in 1 2; do
		wg_dev_add "ns$n" wg0 "$kind"
	done
	wg_set_key ns1 wg0 "$K1"
	wg_set_key ns2 wg0 "$K2"
	nsx ns1 "$WG" set wg0 listen-port 10001 peer "$P2" \
		allowed-ips 10.10.0.2/32,fd10::2/128 endpoint 192.0.2.2:10002
	nsx ns2 "$WG" set wg0 listen-port 10002 peer "$P1" \
		allowed-ips 10.10.0.1/32,fd10::1/128 endpoint 192.0.2.1:10001
	for n in 1 2; do
		$IP -n "ns$n" addr add "10.10.0.$n/24" dev wg0
		$IP -n "ns$n" link set wg0 up
	done
}

# dev_counts NS: rx_bytes rx_packets tx_bytes tx_packets of NS's wg0.
dev_counts()
{
	local c out=
	for c in rx_bytes rx_packets tx_bytes tx_packets; do
		out="$out $(nsx "$1" cat "/sys/class/net/wg0/statistics/$c")"
	done
	echo "${out# }"
}

# counts: both ends' device counters and peer transfer, one line.
counts()
{
	echo "ns1 dev $(dev_counts ns1) peer $(wg_rx ns1 wg0 "$P2") $(wg_tx ns1 wg0 "$P2")" \
		"ns2 dev $(dev_counts ns2) peer $(wg_rx ns2 wg0 "$P1") $(wg_tx ns2 wg0 "$P1")"
}

rx_packets_ge()
{
	[ "$(nsx "$1" cat /sys/class/net/wg0/statistics/rx_packets)" -ge "$2" ]
}

# ten_pings: a handshake and 10 echo requests of 84 bytes from ns1, each
# answered; returns once both ends have counted all 11 messages.
ten_pings()
{
	local out
	out=$(nsx ns1 "$PING" -c 10 -i 0.2 -W 5 10.10.0.2)
	assert_eq "$(ping_received "$out")" 10 "echo replies"
	wait_for 5 rx_packets_ge ns1 11
	wait_for 5 rx_packets_ge ns2 11
}

peer_rx_ge()
{
	[ "$(wg_rx "$1" wg0 "$2")" -ge "$3" ]
}

# exchange KIND MODULE: the same traffic through MODULE's devices; prints
# the counts after the pings and after a keepalive.
exchange()
{
	local rx0
	use_module "$2"
	pair_setup "$1"
	ten_pings
	echo "after 10 pings: $(counts)"
	# One datagram that nothing answers (a listener, so no ICMP error
	# either): ns2 owes a keepalive, after 10 s.
	bg_nsx /tmp/parity-udp.log ns2 ncat -u -l 9
	wait_for 10 udp_listening ns2 9
	rx0=$(wg_rx ns1 wg0 "$P2")
	nsx ns1 bash -c 'echo x >/dev/udp/10.10.0.2/9'
	wait_for 30 peer_rx_ge ns1 "$P2" $((rx0 + 32))
	echo "after a keepalive: $(counts)"
	bg_stop "$BG_PID"
	_case_cleanup
}

udp_listening()
{
	[ -n "$(nsx "$1" ss -Huln "sport = :$2")" ]
}

# --- cases ------------------------------------------------------------------

t_ten_pings()
{
	local ns1 ns2
	use_module "$WG_MODULE"
	pair_setup "$WG_KIND"
	ten_pings
	ns1=$(dev_counts ns1) ns2=$(dev_counts ns2)
	echo "ns1 wg0: $ns1; ns2 wg0: $ns2"
	# Initiation 148, response 92, data 16 + 96 (84 padded) + 16 = 128.
	assert_eq "$ns1" "1372 11 1428 11" "ns1 rx_bytes rx_packets tx_bytes tx_packets"
	assert_eq "$ns2" "1428 11 1372 11" "ns2 rx_bytes rx_packets tx_bytes tx_packets"
	assert_eq "$(wg_rx ns1 wg0 "$P2") $(wg_tx ns1 wg0 "$P2")" "1372 1428" "ns1 peer transfer"
	assert_eq "$(wg_rx ns2 wg0 "$P1") $(wg_tx ns2 wg0 "$P1")" "1428 1372" "ns2 peer transfer"
}

t_counts_as_intree()
{
	local ref ours
	modprobe -n -q wireguard || skip "no in-tree wireguard module"
	need_cmd ncat
	at_case_exit 'use_module "$WG_MODULE" >/dev/null 2>&1'
	# Not in $(...): set -e must hold inside.
	exchange wireguard wireguard >/tmp/parity-ref
	exchange "$WG_KIND" "$WG_MODULE" >/tmp/parity-ours
	ref=$(cat /tmp/parity-ref) ours=$(cat /tmp/parity-ours)
	echo "in-tree: $ref"
	echo "wg:      $ours"
	assert_eq "$ours" "$ref" "counts"
	# The keepalive is in both: the exchange above did wait for it.
	assert_match "$ours" 'after a keepalive: ns1 dev [0-9]+ 12 [0-9]+ 12 '
}

# udp_in NS: UDP datagrams NS's stack has received (delivered or not).
udp_in()
{
	snmp_sum "$1" Udp InDatagrams InErrors NoPorts
}

# cookie_flood KIND MODULE: ns3 (a second link into ns1) replays ns2's
# handshake initiation until ns1, under load, answers with cookie replies;
# prints "<datagrams ns3 received> <ns1 wg0 tx_bytes - its peer's tx>".
cookie_flood()
{
	local n0 out
	use_module "$2"
	pair_setup "$1"
	ns_add ns3
	veth_pair ns1 v13 ns3 v31
	$IP -n ns1 addr add 198.51.100.1/24 dev v13
	$IP -n ns3 addr add 198.51.100.2/24 dev v31
	capture_start ns1 v1 /tmp/parity-init.bin --dport 10001 --type 1 \
		--len 148 --direction in --timeout 30
	wait_for 30 tping ns2 10.10.0.1
	capture_wait >/dev/null
	n0=$(udp_in ns3)
	for _ in 1 2 3; do
		out=$(nsx ns3 "$WGPKT" send --to 198.51.100.1:10001 \
			--bind-port 10003 --file /tmp/parity-init.bin --count 4000 \
			--recv-timeout 2)
		assert_match "$out" '^received type 3: [0-9]' "wgpkt's summary"
		if assert_match "$out" '^received type 3: [1-9]' >/dev/null; then
			break
		fi
	done
	# Quiet again: both ends' last messages are counted.
	wait_for 20 tping ns2 10.10.0.1
	echo "$(($(udp_in ns3) - n0)) $(($(nsx ns1 cat /sys/class/net/wg0/statistics/tx_bytes) - $(wg_tx ns1 wg0 "$P2")))"
	_case_cleanup
}

t_cookie_counts_as_intree()
{
	local ref ours n extra
	[ "$(wgtest_arg paritycookies 1)" = 1 ] ||
		skip "once per make check, on the first kernel (wgtest.paritycookies=0)"
	modprobe -n -q wireguard || skip "no in-tree wireguard module"
	need_wgpkt
	at_case_exit 'use_module "$WG_MODULE" >/dev/null 2>&1'
	cookie_flood wireguard wireguard >/tmp/parity-ref
	cookie_flood "$WG_KIND" "$WG_MODULE" >/tmp/parity-ours
	ref=$(tail -n 1 /tmp/parity-ref) ours=$(tail -n 1 /tmp/parity-ours)
	echo "in-tree: $ref (datagrams to ns3, device tx beyond the peer's)"
	echo "wg:      $ours"
	# Every datagram to ns3 is a 64-byte cookie reply, and the device
	# counts it while no peer does: so in both.
	read -r n extra <<<"$ref"
	[ "$n" -gt 0 ]
	assert_eq "$extra" $((64 * n)) "in-tree: device tx beyond the peer's"
	read -r n extra <<<"$ours"
	[ "$n" -gt 0 ]
	assert_eq "$extra" $((64 * n)) "wg: device tx beyond the peer's"
}

# onion_setup OUTER: ns2 gets a second device wg1 (port 5) whose peer is
# ns1's wg0; ns1's wg0 reaches it as a second peer through the first
# tunnel, over IPv4 (OUTER=4: endpoint 10.10.0.2:5) or IPv6 (OUTER=6:
# [fd10::2]:5).
onion_setup()
{
	local ep=10.10.0.2:5
	[ "$1" = 4 ] || ep='[fd10::2]:5'
	use_module "$WG_MODULE"
	pair_setup "$WG_KIND"
	$IP -n ns1 addr add fd10::1/64 dev wg0 nodad
	$IP -n ns2 addr add fd10::2/64 dev wg0 nodad
	wg_keypair K3 P3
	wg_dev_add ns2 wg1
	wg_set_key ns2 wg1 "$K3"
	nsx ns2 "$WG" set wg1 listen-port 5 peer "$P1" \
		allowed-ips 10.20.0.1/32,fd20::1/128
	$IP -n ns2 addr add 10.20.0.2/24 dev wg1
	$IP -n ns2 addr add fd20::2/64 dev wg1 nodad
	$IP -n ns2 link set wg1 up
	nsx ns1 "$WG" set wg0 peer "$P3" allowed-ips 10.20.0.2/32,fd20::2/128 \
		endpoint "$ep"
	$IP -n ns1 addr add 10.20.0.1/24 dev wg0
	$IP -n ns1 addr add fd20::1/64 dev wg0 nodad
}

# onion OUTER: ping through the nested tunnel, then loop it.
onion()
{
	local outer=$1 ep self loops0 loops out
	onion_setup "$outer"
	ep=10.10.0.2:5 self=10.20.0.2:5
	[ "$outer" = 4 ] || ep='[fd10::2]:5' self='[fd20::2]:5'
	wait_for 30 tping ns1 10.20.0.2
	wait_for 10 tping ns1 fd20::2
	# It did nest: ns2's wg1 heard ns1 from ns1's inner address.
	assert_eq "$(nsx ns2 "$WG" show wg1 endpoints | awk '{ print $2 }')" \
		"$([ "$outer" = 4 ] && echo 10.10.0.1:10001 || echo '[fd10::1]:10001')" \
		"ns2 wg1's endpoint for ns1"
	assert_eq "$(wg_endpoint ns1 wg0 "$P3")" "$ep" "ns1's endpoint for wg1"
	assert_eq "$(wg_stat ns1 wg0 tx_routing_loop)" 0 "tx_routing_loop"

	# The second peer's endpoint inside its own tunnel: a loop.
	loops0=$(wg_stat ns1 wg0 tx_routing_loop)
	nsx ns1 "$WG" set wg0 peer "$P3" endpoint "$self"
	out=$(nsx ns1 "$PING" -c 3 -i 0.3 -W 1 10.20.0.2 || true)
	assert_eq "$(ping_received "$out")" 0 "echo replies through a loop"
	# A new handshake is needed (the old session stays usable for a
	# while): force one, and it must be dropped too.
	nsx ns1 "$WG" set wg0 peer "$P3" remove
	nsx ns1 "$WG" set wg0 peer "$P3" allowed-ips 10.20.0.2/32,fd20::2/128 \
		endpoint "$self"
	out=$(nsx ns1 "$PING" -c 2 -i 0.5 -W 1 10.20.0.2 || true)
	assert_eq "$(ping_received "$out")" 0 "echo replies through a loop"
	wait_stat 10 ns1 wg0 tx_routing_loop $((loops0 + 1))
	assert_eq "$(wg_rx ns1 wg0 "$P3")" 0 "bytes received through a loop"
	dmesg | grep -q 'wg0: routing loop' || {
		echo "no routing loop message in the kernel log"
		return 1
	}

	# Two peers each inside the other's tunnel: a loop of two.
	loops=$(wg_stat ns1 wg0 tx_routing_loop)
	nsx ns1 "$WG" set wg0 peer "$P3" endpoint "$ep"
	nsx ns1 "$WG" set wg0 peer "$P2" endpoint "$self"
	out=$(nsx ns1 "$PING" -c 2 -i 0.5 -W 1 10.10.0.2 || true)
	assert_eq "$(ping_received "$out")" 0 "echo replies through a loop of two"
	wait_stat 10 ns1 wg0 tx_routing_loop $((loops + 1))

	# Undone, both tunnels carry again.
	nsx ns1 "$WG" set wg0 peer "$P2" endpoint 192.0.2.2:10002
	wait_for 30 tping ns1 10.10.0.2
	wait_for 30 tping ns1 10.20.0.2
	echo "ns1: $(wg_stats ns1 wg0)"
}

t_onion_v4() { onion 4; }
t_onion_v6() { onion 6; }

ktap_plan 5
run_case "10 pings: device and peer count 1,428 bytes sent, 1,372 received" t_ten_pings
run_case "device and peer counts equal the in-tree driver's" t_counts_as_intree
run_case "cookie replies counted on the device as by the in-tree driver" t_cookie_counts_as_intree
run_case "onion routing through one device, IPv4 outer; loops dropped" t_onion_v4
run_case "onion routing through one device, IPv6 outer; loops dropped" t_onion_v6
ktap_finished
