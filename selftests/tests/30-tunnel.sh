#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The protocol proof: two namespaces joined by a veth, a wg0 in each, and
# traffic through the tunnel.  Every case builds the topology afresh:
#
#   ns1: v1 192.0.2.1/24 2001:db8::1/64   wg0 10.10.0.1/24 fd10::1/64 :10001
#   ns2: v2 192.0.2.2/24 2001:db8::2/64   wg0 10.10.0.2/24 fd10::2/64 :10002
#   ns3 (flood case): v31 198.51.100.2/24 <-> ns1 v13 198.51.100.1/24
#
# Needs in the guest: iputils ping, ethtool, iperf3, wgpkt
# (selftests/tools/wgpkt.c) and /selftests/tunnel-lib.sh.
. /selftests/lib.sh

if [ ! -f /selftests/tunnel-lib.sh ]; then
	ktap_plan 1
	ktap_skip "tunnel tests" "/selftests/tunnel-lib.sh not packed"
	ktap_finished
fi
. /selftests/tunnel-lib.sh

# Reproducible fuzzing: override with WG_FUZZ_SEED to replay another run.
WG_FUZZ_SEED=${WG_FUZZ_SEED:-20240229}

K1="" P1="" K2="" P2=""

# tunnel_setup: the topology above, with ns2's peer allowing
# ${NS2_ALLOWED:-10.10.0.1/32,fd10::1/128}.  Sets K1/P1 and K2/P2.
tunnel_setup()
{
	local n
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
		allowed-ips 10.10.0.2/32,fd10::2/128 endpoint 192.0.2.2:10002
	nsx ns2 "$WG" set wg0 listen-port 10002 peer "$P1" \
		allowed-ips "${NS2_ALLOWED:-10.10.0.1/32,fd10::1/128}" \
		endpoint 192.0.2.1:10001
	for n in 1 2; do
		$IP -n "ns$n" addr add "10.10.0.$n/24" dev wg0
		$IP -n "ns$n" addr add "fd10::$n/64" dev wg0 nodad
		$IP -n "ns$n" link set wg0 up
	done
}

# tunnel_up [NS]: the first ping (sent from NS, default ns1) gets through,
# so a handshake has completed.
tunnel_up()
{
	if [ "${1:-ns1}" = ns1 ]; then
		wait_for 30 tping ns1 10.10.0.2
	else
		wait_for 30 tping ns2 10.10.0.1
	fi
	wg_handshake_done ns1 wg0
	wg_handshake_done ns2 wg0
}

# ns3_setup: a third namespace on a second link into ns1.
ns3_setup()
{
	ns_add ns3
	veth_pair ns1 v13 ns3 v31
	$IP -n ns1 addr add 198.51.100.1/24 dev v13
	$IP -n ns3 addr add 198.51.100.2/24 dev v31
}

# --- cases ----------------------------------------------------------------

t_ping_v4_outer()
{
	tunnel_setup
	tunnel_up
	tping ns2 10.10.0.1
	wait_for 10 tping ns1 fd10::2
	tping ns2 fd10::1
	nsx ns1 "$PING" -c 3 -i 0.2 -W 2 10.10.0.2
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" 192.0.2.2:10002 "ns1's endpoint for ns2"
	assert_eq "$(wg_endpoint ns2 wg0 "$P1")" 192.0.2.1:10001 "ns2's endpoint for ns1"
	[ "$(wg_tx ns1 wg0 "$P2")" -gt 0 ]
	[ "$(wg_rx ns1 wg0 "$P2")" -gt 0 ]
}

t_ping_v6_outer()
{
	tunnel_setup
	nsx ns1 "$WG" set wg0 peer "$P2" endpoint '[2001:db8::2]:10002'
	nsx ns2 "$WG" set wg0 peer "$P1" endpoint '[2001:db8::1]:10001'
	# No IPv4 on the link: only IPv6 can carry the tunnel.
	$IP -n ns1 addr del 192.0.2.1/24 dev v1
	$IP -n ns2 addr del 192.0.2.2/24 dev v2
	tunnel_up
	tping ns2 10.10.0.1
	wait_for 10 tping ns1 fd10::2
	tping ns2 fd10::1
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" '[2001:db8::2]:10002' "ns1's endpoint for ns2"
	assert_eq "$(wg_endpoint ns2 wg0 "$P1")" '[2001:db8::1]:10001' "ns2's endpoint for ns1"
}

# dev_stat NS COUNTER: a statistic of NS's wg0.
dev_stat()
{
	nsx "$1" cat "/sys/class/net/wg0/statistics/$2"
}

t_flood_ping()
{
	local out got tx0 rx0 tx rx
	need_iputils_ping
	tunnel_setup
	tunnel_up
	tx0=$(dev_stat ns1 tx_packets) rx0=$(dev_stat ns2 rx_packets)
	out=$(nsx ns1 "$PING" -f -c 500 -w 60 10.10.0.2 2>&1 || true)
	printf '%s\n' "$out" | tail -n 2
	got=$(ping_received "$out")
	[ "${got:-0}" -ge 475 ] || { echo "only ${got:-0}/500 replies"; return 1; }
	# Each echo request counted once on each side (a keepalive may add).
	tx=$(($(dev_stat ns1 tx_packets) - tx0)) rx=$(($(dev_stat ns2 rx_packets) - rx0))
	echo "wg0 packets: ns1 sent $tx, ns2 received $rx"
	[ "$tx" -ge "$got" ] || { echo "ns1 sent fewer than $got"; return 1; }
	[ "$tx" -le $((got + 30)) ] || { echo "ns1 sent more than $got + 30"; return 1; }
	[ "$rx" -ge "$got" ] || { echo "ns2 received fewer than $got"; return 1; }
	[ "$rx" -le $((got + 30)) ] || { echo "ns2 received more than $got + 30"; return 1; }
	out=$(nsx ns2 "$PING" -f -c 200 -s 1000 -w 60 fd10::1 2>&1 || true)
	printf '%s\n' "$out" | tail -n 2
	got=$(ping_received "$out")
	[ "${got:-0}" -ge 190 ] || { echo "only ${got:-0}/200 IPv6 replies"; return 1; }
}

# direct_delta NS BEFORE: how much NS's tx_direct grew since BEFORE.
direct_delta()
{
	echo $(($(wg_stat "$1" wg0 tx_direct) - $2))
}

# A short packet sent with nothing ahead of it in its peer's queue leaves
# from the sending context (tx_direct); a flood ping is nothing but such
# packets on both sides.  Larger ones go through the crypt workers and the
# transmit work, even when alone.
t_direct_send()
{
	local out got d1 d2
	need_iputils_ping
	need_stats
	tunnel_setup
	tunnel_up
	d1=$(wg_stat ns1 wg0 tx_direct) d2=$(wg_stat ns2 wg0 tx_direct)
	out=$(nsx ns1 "$PING" -f -c 300 -w 60 10.10.0.2 2>&1 || true)
	got=$(ping_received "$out")
	d1=$(direct_delta ns1 "$d1") d2=$(direct_delta ns2 "$d2")
	echo "${got:-0}/300 replies; sent directly: ns1 $d1, ns2 $d2"
	[ "${got:-0}" -ge 285 ] && [ "$d1" -ge $((got * 9 / 10)) ] &&
		[ "$d2" -ge $((got * 9 / 10)) ] || return 1
	d1=$(wg_stat ns1 wg0 tx_direct) d2=$(wg_stat ns2 wg0 tx_direct)
	out=$(nsx ns1 "$PING" -f -c 100 -s 1000 -w 60 10.10.0.2 2>&1 || true)
	got=$(ping_received "$out")
	d1=$(direct_delta ns1 "$d1") d2=$(direct_delta ns2 "$d2")
	echo "${got:-0}/100 replies of 1000 bytes; sent directly: ns1 $d1, ns2 $d2"
	# A keepalive may be among them.
	[ "${got:-0}" -ge 95 ] || { echo "only ${got:-0}/100 replies"; return 1; }
	[ "$d1" -le 2 ] || { echo "ns1 sent $d1 large packets directly"; return 1; }
	[ "$d2" -le 2 ] || { echo "ns2 sent $d2 large packets directly"; return 1; }
}

# iperf_mbits ARGS...: run the iperf3 client in ns1, print the receiver's
# Mbits/sec.  The server may still be closing the last test: retry.
iperf_mbits()
{
	local out _ rate
	for _ in 1 2 3; do
		if out=$(nsx ns1 iperf3 -c 10.10.0.2 -t 3 -f m "$@" 2>&1); then
			break
		fi
		echo "$out" | tail -n 3 >&2
		wait_for 5 server_listening
	done
	printf '%s\n' "$out" | grep -E 'sender|receiver' >&2
	rate=$(printf '%s\n' "$out" | awk '/receiver/ {
		for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") r = $(i - 1)
	} END { print r }')
	echo "${rate:-0}"
}

server_listening()
{
	nsx ns2 ss -Htln 'sport = :5201' | grep -q .
}

# gt A B: A > B for decimals.
gt()
{
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'
}

# reorder_events NS: reordering the TCP stack of NS detected as a sender
# (SACK, timestamps, Reno); the tunnel must keep a peer's packets in order.
reorder_events()
{
	nsx "$1" cat /proc/net/netstat | awk '
		/^TcpExt:/ && !h { for (i = 2; i <= NF; i++) n[i] = $i; h = 1; next }
		/^TcpExt:/ { for (i = 2; i <= NF; i++) if (n[i] ~ /^TCP(SACK|TS|Reno)Reorder$/) r += $i }
		END { print r + 0 }'
}

t_iperf3()
{
	local rx0 tx0 rx1 tx1 rate pk0 pk1 ud0 ud1
	need_cmd iperf3
	tunnel_setup
	tunnel_up
	bg_nsx /tmp/iperf3-server.log ns2 iperf3 -s -B 10.10.0.2
	wait_for 20 server_listening

	tx0=$(wg_tx ns1 wg0 "$P2")
	# ns1 first, ns2 last: a datagram in flight meanwhile is counted
	# by ns1 only.
	pk0=$(dev_stat ns1 tx_packets) ud0=$(snmp_sum ns2 Udp InDatagrams)
	rate=$(iperf_mbits)
	echo "TCP ns1 -> ns2: $rate Mbits/sec"
	gt "$rate" 0
	ud1=$(snmp_sum ns2 Udp InDatagrams) pk1=$(dev_stat ns1 tx_packets)
	tx1=$(wg_tx ns1 wg0 "$P2")
	echo "wg transfer ns1 tx: +$((tx1 - tx0)) bytes"
	[ $((tx1 - tx0)) -gt 262144 ]
	# ip -s link counts every datagram sent, also those of an outer
	# batch (send.c): at least as many as ns2's UDP took in (only the
	# tunnel's, TCP inside).
	echo "ns1 wg0 tx_packets +$((pk1 - pk0)), ns2 UDP datagrams in +$((ud1 - ud0))"
	[ $((ud1 - ud0)) -gt 100 ] || { echo "too few datagrams to compare"; return 1; }
	[ $((pk1 - pk0)) -ge $((ud1 - ud0)) ] ||
		{ echo "ns1 wg0 counted fewer packets than ns2 received"; return 1; }

	rx0=$(wg_rx ns1 wg0 "$P2")
	rate=$(iperf_mbits -R)
	echo "TCP ns2 -> ns1: $rate Mbits/sec"
	gt "$rate" 0
	rx1=$(wg_rx ns1 wg0 "$P2")
	echo "wg transfer ns1 rx: +$((rx1 - rx0)) bytes"
	[ $((rx1 - rx0)) -gt 262144 ]

	tx0=$(wg_tx ns1 wg0 "$P2")
	rx0=$(wg_rx ns2 wg0 "$P1")
	rate=$(iperf_mbits -u -b 50M -l 1200)
	echo "UDP ns1 -> ns2: $rate Mbits/sec"
	gt "$rate" 0
	tx1=$(wg_tx ns1 wg0 "$P2")
	rx1=$(wg_rx ns2 wg0 "$P1")
	echo "wg transfer: ns1 tx +$((tx1 - tx0)), ns2 rx +$((rx1 - rx0)) bytes"
	[ $((tx1 - tx0)) -gt 262144 ]
	[ $((rx1 - rx0)) -gt 262144 ]

	# In order: neither TCP sender detected reordering.
	echo "reordering seen by TCP: ns1 $(reorder_events ns1), ns2 $(reorder_events ns2)"
	assert_eq "$(reorder_events ns1)" 0 "reordering seen by ns1's TCP"
	assert_eq "$(reorder_events ns2)" 0 "reordering seen by ns2's TCP"
}

# A flood ping leaves from whichever CPU sends it (tx_direct), and may
# take a done bulk bundle that is ahead of it along; TCP's bulk leaves from
# the transmit work.  veth hands each packet to the backlog of the CPU that
# sent it, so two CPUs sending for one peer could reorder its packets on
# the way to the receiver.  Ping pinned to CPU 0 and iperf3 to the last
# CPU, both ways: TCP must see no reordering, and the senders must have
# had to wait for another CPU's backlog (tx_order_waits), or the case did
# not test the race.
# order_waits: tx_order_waits of ns1 and ns2 together.
order_waits()
{
	echo $(($(wg_stat ns1 wg0 tx_order_waits) + $(wg_stat ns2 wg0 tx_order_waits)))
}

t_order_mixed()
{
	local last r1 r2 w0 w rate p1 p2
	need_cmd iperf3
	need_iputils_ping
	need_stats
	tunnel_setup
	tunnel_up
	last=$(($(nproc) - 1))
	[ "$last" -gt 0 ] || skip "needs two CPUs"
	bg_nsx /tmp/iperf3-server.log ns2 iperf3 -s -B 10.10.0.2 -A "$last"
	wait_for 20 server_listening
	r1=$(reorder_events ns1) r2=$(reorder_events ns2)
	w0=$(order_waits)
	nsx ns1 taskset 1 "$PING" -f -w 7 10.10.0.2 >/tmp/om-ping1.log 2>&1 &
	p1=$!
	nsx ns2 taskset 1 "$PING" -f -w 7 10.10.0.1 >/tmp/om-ping2.log 2>&1 &
	p2=$!
	rate=$(iperf_mbits -A "$last")
	echo "TCP ns1 -> ns2 beside flood pings: $rate Mbits/sec"
	rate=$(iperf_mbits -A "$last" -R)
	echo "TCP ns2 -> ns1 beside flood pings: $rate Mbits/sec"
	wait "$p1" "$p2" || true
	tail -qn 2 /tmp/om-ping1.log /tmp/om-ping2.log | grep transmitted
	r1=$(($(reorder_events ns1) - r1)) r2=$(($(reorder_events ns2) - r2))
	w=$(($(order_waits) - w0))
	echo "reordering seen by TCP: ns1 $r1, ns2 $r2; senders waited for another CPU's backlog $w times"
	assert_eq "$r1" 0 "reordering seen by ns1's TCP"
	assert_eq "$r2" 0 "reordering seen by ns2's TCP"
	[ "$w" -gt 0 ] || { echo "no sender waited for another CPU: the race was not tested"; return 1; }
}

# set_psk NS PEER PSK
set_psk()
{
	local f
	f=$(mktemp /tmp/psk.XXXXXX)
	printf '%s\n' "$3" >"$f"
	nsx "$1" "$WG" set wg0 peer "$2" preshared-key "$f"
	rm -f "$f"
}

t_psk_match()
{
	local psk
	tunnel_setup
	psk=$($WG genpsk)
	set_psk ns1 "$P2" "$psk"
	set_psk ns2 "$P1" "$psk"
	assert_eq "$(wg_field ns1 wg0 preshared-keys "$P2")" "$psk" "ns1 psk"
	tunnel_up
	tping ns2 fd10::1
}

t_psk_mismatch()
{
	local inv1 inv2
	need_stats
	tunnel_setup
	set_psk ns1 "$P2" "$($WG genpsk)"
	set_psk ns2 "$P1" "$($WG genpsk)"
	inv1=$(wg_stat ns1 wg0 rx_handshake_invalid)
	inv2=$(wg_stat ns2 wg0 rx_handshake_invalid)
	# ns1 initiates; ns2 cannot tell the PSKs differ (the initiation does
	# not depend on it), ns1 fails to open the response.
	expect_fail wait_for 6 tping ns1 10.10.0.2
	echo "ns1: $(wg_stats ns1 wg0)"
	echo "ns2: $(wg_stats ns2 wg0)"
	expect_fail wg_handshake_done ns1 wg0
	expect_fail wg_handshake_done ns2 wg0
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" 0 "ns1 handshakes_completed"
	assert_eq "$(wg_stat ns2 wg0 handshakes_completed)" 0 "ns2 handshakes_completed"
	[ "$(wg_stat ns1 wg0 rx_handshake_invalid)" -gt "$inv1" ] ||
		{ echo "rx_handshake_invalid on the initiator (ns1) did not grow"; return 1; }
	# The responder accepted every initiation.
	assert_eq "$(wg_stat ns2 wg0 rx_handshake_invalid)" "$inv2" "ns2 rx_handshake_invalid"
}

t_roaming()
{
	local h1 h2
	need_stats
	tunnel_setup
	tunnel_up ns2
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" 192.0.2.2:10002 "endpoint before"
	h1=$(wg_stat ns1 wg0 handshakes_completed) h2=$(wg_stat ns2 wg0 handshakes_completed)
	# Keep .3 when the primary .2 goes.
	nsx ns2 bash -c 'echo 1 >/proc/sys/net/ipv4/conf/v2/promote_secondaries'
	$IP -n ns2 addr add 192.0.2.3/24 dev v2
	$IP -n ns2 addr del 192.0.2.2/24 dev v2
	wait_for 20 tping ns2 10.10.0.1
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" 192.0.2.3:10002 "endpoint after"
	tping ns1 10.10.0.2
	tping ns1 fd10::2
	# Learnt from the data packets of the session: no new handshake (it
	# would also teach ns1 the endpoint, 15 s later).
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" "$h1" "ns1 handshakes_completed"
	assert_eq "$(wg_stat ns2 wg0 handshakes_completed)" "$h2" "ns2 handshakes_completed"
}

t_spoofed_source()
{
	local before after
	need_stats
	NS2_ALLOWED=10.10.0.0/24,fd10::1/128 tunnel_setup
	$IP -n ns2 addr add 10.10.0.99/32 dev wg0
	tunnel_up ns2
	before=$(wg_stat ns1 wg0 rx_src_not_allowed)
	expect_fail nsx ns2 "$PING" -c 3 -i 0.3 -W 1 -I 10.10.0.99 10.10.0.1
	wait_stat 10 ns1 wg0 rx_src_not_allowed $((before + 3))
	after=$(wg_stat ns1 wg0 rx_src_not_allowed)
	echo "rx_src_not_allowed: $before -> $after"
	tping ns2 10.10.0.1
}

t_key_change()
{
	local k1 p1 c0
	tunnel_setup
	tunnel_up ns2
	# Not -w: with a deadline, iputils ping exits at the first ICMP error,
	# and a packet sent between the removal of the old peer and the
	# addition of the new one gets "host unreachable".
	bg_nsx /tmp/keychange-ping.log ns2 "$PING" -i 0.2 -W 1 -c 300 10.10.0.1
	c0=$(icmp_echo_replies ns2)
	wait_for 10 replies_ge ns2 $((c0 + 3))
	wg_keypair k1 p1
	wg_set_key ns1 wg0 "$k1"
	nsx ns2 "$WG" set wg0 peer "$P1" remove peer "$p1" \
		allowed-ips 10.10.0.1/32,fd10::1/128 endpoint 192.0.2.1:10001
	c0=$(icmp_echo_replies ns2)
	# The running ping gets answers again, under the new keys.
	wait_for 30 replies_ge ns2 $((c0 + 3)) || {
		tunnel_diag
		tail -n 5 /tmp/keychange-ping.log
		return 1
	}
	echo "echo replies after the key change: $(($(icmp_echo_replies ns2) - c0))"
	assert_eq "$(nsx ns1 "$WG" show wg0 public-key)" "$p1" "ns1's new public key"
	assert_eq "$(nsx ns2 "$WG" show wg0 peers)" "$p1" "ns2's peers"
	[ "$(wg_latest ns2 wg0 "$p1")" -gt 0 ]
	bg_stop "$BG_PID"
}

# expect_data_len NS ADDR SIZE INNER_HDR: the encrypted packet for one
# echo request of SIZE payload bytes is 32 + the padded inner length.
expect_data_len()
{
	local ns=$1 addr=$2 size=$3 hdr=$4 inner padded len dev sport
	if [ "$ns" = ns1 ]; then dev=v1 sport=10001; else dev=v2 sport=10002; fi
	inner=$((size + hdr))
	padded=$(((inner + 15) / 16 * 16))
	[ "$padded" -le 1420 ] || padded=1420
	capture_start "$ns" "$dev" /tmp/data.bin --sport "$sport" --type 4 \
		--min-len 33 --direction out --timeout 10
	nsx "$ns" "$PING" -c 1 -W 3 -s "$size" "$addr" >/dev/null
	capture_wait
	len=$(file_size /tmp/data.bin)
	echo "inner $inner bytes -> UDP payload $len (expected $((32 + padded)))"
	assert_eq "$len" $((32 + padded)) "data packet length for inner $inner"
	assert_eq $(((len - 32) % 16 == 0 || len - 32 == 1420)) 1 "padding"
}

t_mtu_padding()
{
	local s
	need_iputils_ping
	need_wgpkt
	tunnel_setup
	tunnel_up
	assert_eq "$(nsx ns1 cat /sys/class/net/wg0/mtu)" 1420 "wg0 mtu"
	nsx ns1 "$PING" -c 1 -W 3 -M "do" -s 1392 10.10.0.2
	nsx ns2 "$PING" -c 1 -W 3 -M "do" -s 1372 fd10::1
	# One byte more does not fit wg0 without fragmenting.
	expect_fail nsx ns1 "$PING" -c 1 -W 1 -M "do" -s 1393 10.10.0.2
	for s in 0 1 20 100 555 1000 1392; do
		expect_data_len ns1 10.10.0.2 "$s" 28
	done
	for s in 0 33 1372; do
		expect_data_len ns2 fd10::1 "$s" 48
	done
}

t_handshake_flood()
{
	local c0 inv0 r0 r1 out rl
	need_wgpkt
	need_stats
	tunnel_setup
	lower_under_load
	ns3_setup
	capture_start ns1 v1 /tmp/init.bin --dport 10001 --type 1 --len 148 \
		--direction in --timeout 30
	tunnel_up ns2
	capture_wait
	"$WGPKT" info /tmp/init.bin
	c0=$(wg_stat ns1 wg0 rx_cookie_replies_sent)
	inv0=$(wg_stat ns1 wg0 rx_handshake_invalid)
	r0=$(icmp_echo_replies ns2)
	# The legit peer keeps pinging through the flood.
	bg_nsx /tmp/flood-ping.log ns2 "$PING" -i 0.1 -W 1 -c 1200 10.10.0.1
	for _ in 1 2 3; do
		out=$(flood_ns3 --recv-timeout 2)
		echo "$out"
		! stat_ge ns1 wg0 rx_cookie_replies_sent $((c0 + 1)) || break
	done
	r1=$(icmp_echo_replies ns2)
	echo "ns1: $(wg_stats ns1 wg0)"
	wait_stat 10 ns1 wg0 rx_cookie_replies_sent $((c0 + 1))
	assert_match "$out" '^received type 3: [1-9]' "cookie replies at ns3"
	echo "rx_handshake_invalid: $inv0 -> $(wg_stat ns1 wg0 rx_handshake_invalid)"
	# Echo replies kept coming while the handshake queue was full (the
	# flood and the 2 s wait for cookie replies).
	echo "echo replies during the flood: $((r1 - r0))"
	[ "$r1" -gt "$r0" ]
	bg_stop "$BG_PID"
	wait_for 20 tping ns2 10.10.0.1
	tping ns1 10.10.0.2
	# The device counts every datagram it sends (iptunnel_xmit() does):
	# the peer's messages and the 64-byte cookie replies to ns3.
	wait_for 10 cookies_counted || {
		echo "ns1 wg0 tx_bytes $(dev_stat ns1 tx_bytes), peer tx $(wg_tx ns1 wg0 "$P2")," \
			"cookie replies $(wg_stat ns1 wg0 rx_cookie_replies_sent)"
		return 1
	}
	# The rate limiter sees initiations with a valid MAC2 (the cookie
	# ns1 gave their source address and port): a burst of 5, then 50 a
	# second per address.  ns2's retry with MAC2, sent 50 times at once
	# from ns2's address and port under load, must be refused.
	mac2_retry || mac2_retry || { echo "no initiation with MAC2 from ns2"; return 1; }
	$IP -n ns2 link set wg0 down	# frees 192.0.2.2:10002
	rl=$(wg_stat ns1 wg0 rx_handshake_ratelimited)
	for _ in 1 2 3; do
		flood_ns3 >/dev/null
		nsx ns2 "$WGPKT" send --to 192.0.2.1:10001 --bind 192.0.2.2 \
			--bind-port 10002 --file /tmp/mac2.bin.1 --count 50 >/dev/null
		! wait_for 3 stat_ge ns1 wg0 rx_handshake_ratelimited $((rl + 1)) || break
	done
	echo "rx_handshake_ratelimited: $rl -> $(wg_stat ns1 wg0 rx_handshake_ratelimited)"
	wait_stat 5 ns1 wg0 rx_handshake_ratelimited $((rl + 10))
}

# mac2_retry: ns2 starts a new handshake while ns1 is under load; ns1
# answers with a cookie, and ns2 sends the next initiation, REKEY_TIMEOUT
# later, with MAC2: captured to /tmp/mac2.bin.1.
# flood_ns3 [ARGS...]: 4000 copies of ns2's captured initiation from ns3.
# The sender runs as SCHED_FIFO on CPU 0, so the handshake worker queued
# there waits (but for RT throttling's share) and the queue grows even
# where the sender's path costs more than the worker's (a KASAN kernel).
flood_ns3()
{
	nsx ns3 taskset 1 "$WGPKT" send --fifo --to 198.51.100.1:10001 \
		--bind-port 10003 --file /tmp/init.bin --count 4000 "$@"
}

mac2_retry()
{
	local mac2
	$IP -n ns2 link set wg0 down
	$IP -n ns2 link set wg0 up
	capture_start ns1 v1 /tmp/mac2.bin --sport 10002 --type 1 --len 148 \
		--direction in --count 2 --timeout 20
	flood_ns3 >/dev/null
	nsx ns2 "$PING" -c 1 -W 1 10.10.0.1 >/dev/null 2>&1 || true
	capture_wait >/dev/null || return 1
	mac2=$(od -An -tx1 -j132 -N16 /tmp/mac2.bin.1 | tr -d ' \n')
	echo "ns2's second initiation under load: MAC2 ${mac2:-missing}"
	[ -n "$mac2" ] && [ "$mac2" != 00000000000000000000000000000000 ]
}

# cookies_counted: ns1's wg0 tx_bytes = its peer's tx + 64 per cookie reply.
cookies_counted()
{
	local dev peer cookies
	peer=$(wg_tx ns1 wg0 "$P2")
	cookies=$(wg_stat ns1 wg0 rx_cookie_replies_sent)
	dev=$(dev_stat ns1 tx_bytes)
	[ "$cookies" -gt 0 ] || return 1
	[ "$dev" -eq $((peer + 64 * cookies)) ]
}

# send_bad NS TO ARGS...: one datagram to ns1's listen port.
send_bad()
{
	local ns=$1 to=$2
	shift 2
	nsx "$ns" "$WGPKT" send --to "$to" "$@" >/dev/null
}

t_malformed()
{
	local bt bs nk bm to
	need_wgpkt
	need_stats
	tunnel_setup
	tunnel_up
	bt=$(wg_stat ns1 wg0 rx_bad_type)
	bs=$(wg_stat ns1 wg0 rx_bad_size)
	nk=$(wg_stat ns1 wg0 rx_no_keypair)
	bm=$(wg_stat ns1 wg0 rx_handshake_bad_mac)
	for to in 192.0.2.1:10001 '[2001:db8::1]:10001'; do
		# Unknown types: 4 x rx_bad_type.
		send_bad ns2 "$to" --hex 00000000 --resize 32
		send_bad ns2 "$to" --hex 05000000 --resize 32
		send_bad ns2 "$to" --hex ff000000 --resize 148
		send_bad ns2 "$to" --hex 01000100 --resize 148	# reserved byte set
		# Wrong sizes: 6 x rx_bad_size.
		send_bad ns2 "$to" --hex 010000
		send_bad ns2 "$to" --hex 01000000 --resize 100
		send_bad ns2 "$to" --hex 01000000 --resize 1400
		send_bad ns2 "$to" --hex 02000000 --resize 91
		send_bad ns2 "$to" --hex 03000000 --resize 65
		send_bad ns2 "$to" --hex 04000000 --resize 31
		# Well-formed but unknown session, bad MAC: one each.
		send_bad ns2 "$to" --hex 04000000 --resize 32 --set-le32 4=0x5eedf00d
		send_bad ns2 "$to" --hex 01000000 --resize 148 --set-byte 100=0x55
	done
	wait_stat 10 ns1 wg0 rx_bad_type $((bt + 8))
	wait_stat 10 ns1 wg0 rx_bad_size $((bs + 12))
	wait_stat 10 ns1 wg0 rx_no_keypair $((nk + 2))
	wait_stat 10 ns1 wg0 rx_handshake_bad_mac $((bm + 2))
	echo "ns1: $(wg_stats ns1 wg0)"
	assert_eq "$(wg_stat ns1 wg0 rx_bad_type)" $((bt + 8)) rx_bad_type
	assert_eq "$(wg_stat ns1 wg0 rx_bad_size)" $((bs + 12)) rx_bad_size
	assert_eq "$(wg_stat ns1 wg0 rx_no_keypair)" $((nk + 2)) rx_no_keypair
	assert_eq "$(wg_stat ns1 wg0 rx_handshake_bad_mac)" $((bm + 2)) rx_handshake_bad_mac
	# Empty datagrams: whether UDP hands them to the tunnel hook at all
	# depends on the kernel, so they are not counted, only survived.
	send_bad ns2 192.0.2.1:10001 --hex '' --count 3
	send_bad ns2 '[2001:db8::1]:10001' --hex '' --count 3
	tping ns1 10.10.0.2
	tping ns2 fd10::1
}

# rx_drops NS: the sum of ns's rx_* drop counters.
rx_drops()
{
	nsx "$1" ethtool -S wg0 |
		awk '$1 ~ /^rx_/ && $1 != "rx_keepalives:" && $1 != "rx_cookie_replies_sent:" { s += $2 } END { print s + 0 }'
}

t_fuzz()
{
	local d0 d1 hc lh n=3000
	need_wgpkt
	need_stats
	tunnel_setup
	capture_start ns1 v1 /tmp/fz-init.bin --dport 10001 --type 1 --len 148 \
		--direction in --timeout 30
	tunnel_up ns2
	capture_wait
	capture_start ns1 v1 /tmp/fz-data.bin --dport 10001 --type 4 \
		--min-len 33 --direction in --timeout 10
	tping ns2 10.10.0.1
	capture_wait
	hc=$(wg_stat ns1 wg0 handshakes_completed)
	lh=$(wg_latest ns1 wg0 "$P2")
	d0=$(rx_drops ns1)
	nsx ns2 "$WGPKT" fuzz --to 192.0.2.1:10001 --seed "$WG_FUZZ_SEED" \
		--count "$n" --file /tmp/fz-init.bin --file /tmp/fz-data.bin
	nsx ns2 "$WGPKT" fuzz --to '[2001:db8::1]:10001' \
		--seed $((WG_FUZZ_SEED + 1)) --count 500
	wait_for 20 drops_ge ns1 $((d0 + n / 2))
	d1=$(rx_drops ns1)
	echo "ns1 drops: +$((d1 - d0)); $(wg_stats ns1 wg0)"
	wait_for 20 tping ns2 10.10.0.1
	tping ns1 fd10::2
	# Nothing forged got through: no new session, no roaming.
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" "$hc" handshakes_completed
	assert_eq "$(wg_latest ns1 wg0 "$P2")" "$lh" "latest handshake"
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" 192.0.2.2:10002 "ns1's endpoint for ns2"
}

drops_ge()
{
	[ "$(rx_drops "$1")" -ge "$2" ]
}

t_persistent_keepalive()
{
	local k0
	need_wgpkt
	need_stats
	tunnel_setup
	tunnel_up
	k0=$(wg_stat ns1 wg0 rx_keepalives)
	# Nothing else flows now: only keepalives come from ns2.
	capture_start ns1 v1 /tmp/ka.bin --sport 10002 --type 4 --len 32 \
		--count 2 --timeout 5
	nsx ns2 "$WG" set wg0 peer "$P1" persistent-keepalive 1
	capture_wait
	[ "$(grep -c '^captured len=32 type=4' /tmp/ka.bin.log)" -ge 2 ]
	wait_stat 5 ns1 wg0 rx_keepalives $((k0 + 2))
	echo "rx_keepalives: $k0 -> $(wg_stat ns1 wg0 rx_keepalives)"
	assert_eq "$(wg_field ns2 wg0 persistent-keepalive "$P1")" 1 "persistent-keepalive"
}

t_initiation_replay()
{
	local inv hc lh
	need_wgpkt
	need_stats
	tunnel_setup
	capture_start ns1 v1 /tmp/init.bin --dport 10001 --type 1 --len 148 \
		--direction in --timeout 30
	tunnel_up ns2
	capture_wait
	inv=$(wg_stat ns1 wg0 rx_handshake_invalid)
	hc=$(wg_stat ns1 wg0 handshakes_completed)
	lh=$(wg_latest ns1 wg0 "$P2")
	nsx ns2 "$WGPKT" send --to 192.0.2.1:10001 --bind-port 10009 \
		--file /tmp/init.bin
	wait_stat 10 ns1 wg0 rx_handshake_invalid $((inv + 1))
	tping ns2 10.10.0.1
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" "$hc" handshakes_completed
	assert_eq "$(wg_latest ns1 wg0 "$P2")" "$lh" "latest handshake"
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" 192.0.2.2:10002 "ns1's endpoint for ns2"
}

t_no_peer()
{
	local np out rc
	need_stats
	tunnel_setup
	tunnel_up
	np=$(wg_stat ns1 wg0 tx_no_peer)
	rc=0
	out=$(nsx ns1 "$PING" -c 1 -W 2 10.10.0.99 2>&1) || rc=$?
	echo "$out"
	[ "$rc" -ne 0 ]
	if [ "$PING_IPUTILS" = 1 ]; then
		assert_match "$out" 'Unreachable|unreachable' "ping output"
	fi
	rc=0
	out=$(nsx ns1 "$PING" -c 1 -W 2 fd10::99 2>&1) || rc=$?
	echo "$out"
	[ "$rc" -ne 0 ]
	wait_stat 5 ns1 wg0 tx_no_peer $((np + 2))
	tping ns1 10.10.0.2
}

# While ns1 floods ns2 with pings, ns2 replaces its peer's allowed IPs 40
# times (wg set ... allowed-ips replaces them), with ns1's address last of
# 101.  The replacement must never leave the peer without a prefix it keeps:
# no echo request fails ns2's source check, no reply finds no peer.  (When
# the old prefixes went first, 32 requests of the flood fell into the gap
# and one reply found no peer.)  All in one request: wg puts about 140
# prefixes in a netlink message, and a later message of the same change
# only adds to what the first left.
t_replace_allowedips()
{
	local i ips s0 n0 s1 n1 pid
	need_stats
	need_iputils_ping
	tunnel_setup
	tunnel_up
	ips=''
	for i in $(seq 0 98); do
		ips="${ips}10.20.$i.0/24,"
	done
	s0=$(wg_stat ns2 wg0 rx_src_not_allowed)
	n0=$(wg_stat ns2 wg0 tx_no_peer)
	bg_nsx /tmp/replace-ping.log ns1 "$PING" -f -w 120 10.10.0.2
	pid=$BG_PID
	for i in $(seq 40); do
		nsx ns2 "$WG" set wg0 peer "$P1" \
			allowed-ips "${ips}fd10::1/128,10.10.0.1/32"
	done
	bg_stop "$pid"
	s1=$(wg_stat ns2 wg0 rx_src_not_allowed)
	n1=$(wg_stat ns2 wg0 tx_no_peer)
	echo "ns2: rx_src_not_allowed $s0 -> $s1, tx_no_peer $n0 -> $n1"
	assert_eq "$s1" "$s0" "rx_src_not_allowed on ns2"
	assert_eq "$n1" "$n0" "tx_no_peer on ns2"
	assert_eq "$(nsx ns2 "$WG" show wg0 allowed-ips | wc -w)" 102 \
		"ns2's peer and prefixes"
	tping ns1 10.10.0.2
}

# reload_wg [ARGS...]: reload the module with parameters.
reload_wg()
{
	unload_wg
	modprobe "$WG_MODULE" "$@"
}

t_timers()
{
	local hc lh hc0 nk ex rp
	need_wgpkt
	need_stats
	if ! reload_wg time_divisor=$TD; then
		reload_wg
		skip "$WG_MODULE does not load with time_divisor=$TD"
	fi
	# Back to a plain load however the case ends.
	at_case_exit 'grep -qx $TD "/sys/module/$WG_MODULE/parameters/time_divisor" 2>/dev/null && reload_wg'
	[ "$(cat "/sys/module/$WG_MODULE/parameters/time_divisor" 2>/dev/null)" = "$TD" ] ||
		skip "not a debug build (no time_divisor)"
	tunnel_setup
	# Continuous traffic: a new handshake after REKEY_AFTER_TIME / TD
	# (4 s at 30).
	bg_nsx /tmp/timers-ping.log ns1 "$PING" -i 0.1 -W 1 -c $((6000 / TD + 400)) 10.10.0.2
	wait_for 20 wg_handshake_done ns1 wg0
	hc0=$(wg_stat ns1 wg0 handshakes_completed)
	lh=$(wg_latest ns1 wg0 "$P2")
	echo "first handshake at $lh, handshakes_completed $hc0"
	wait_stat $((360 / TD)) ns1 wg0 handshakes_completed $((hc0 + 1))
	wait_for 5 latest_changed ns1 "$P2" "$lh"
	echo "rekeyed at $(wg_latest ns1 wg0 "$P2")"
	bg_stop "$BG_PID"

	# A data packet from ns2 under the current keys, to replay later.
	fresh_data_packet || { echo "no data packet under fresh keys"; return 1; }
	ex=$(wg_stat ns1 wg0 rx_expired_keypair)
	nk=$(wg_stat ns1 wg0 rx_no_keypair)
	hc=$(wg_stat ns1 wg0 handshakes_completed)
	rp=$(wg_stat ns1 wg0 rx_replay)
	# While the keys are fresh, the packet again is a replay.
	nsx ns2 "$WGPKT" send --to 192.0.2.1:10001 --file /tmp/tm-data.bin >/dev/null
	wait_stat 5 ns1 wg0 rx_replay $((rp + 1))
	# Idle: the keys expire after REJECT_AFTER_TIME / TD (6 s at 30) and
	# are zeroed after 3 * REJECT_AFTER_TIME / TD (18 s).  The same
	# packet goes from rx_replay to rx_expired_keypair to rx_no_keypair.
	wait_for $((540 / TD + 12)) replay_until_zeroed "$nk"
	echo "ns1: $(wg_stats ns1 wg0)"
	[ "$(wg_stat ns1 wg0 rx_expired_keypair)" -gt "$ex" ] ||
		{ echo "rx_expired_keypair did not grow before the keys were zeroed"; return 1; }
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" "$hc" "no handshake while idle"
	# Traffic again needs a new handshake.
	wait_for 10 tping ns1 10.10.0.2
	[ "$(wg_stat ns1 wg0 handshakes_completed)" -gt "$hc" ]
	_case_cleanup
	reload_wg
}

# fresh_data_packet: capture into /tmp/tm-data.bin a data packet from ns2
# sent under keys at most half of REJECT_AFTER_TIME / TD old (3 s at 30),
# so that it is still a replay, not an expired keypair, when sent again.
# A slow (KASAN) kernel can take longer than that between a handshake and
# the capture; keys older than REKEY_AFTER_TIME / TD are renewed by the
# next ping, so try again.
fresh_data_packet()
{
	local lh _
	for _ in 1 2 3 4 5 6; do
		lh=$(wg_latest ns1 wg0 "$P2")
		capture_start ns1 v1 /tmp/tm-data.bin --sport 10002 --type 4 \
			--min-len 33 --direction in --timeout 10
		wait_for 5 tping ns1 10.10.0.2 || true
		capture_wait || continue
		if [ "$(wg_latest ns1 wg0 "$P2")" = "$lh" ] &&
		   [ $(($(date +%s) - lh)) -le $((90 / TD)) ]; then
			return 0
		fi
		echo "keys of $lh at $(date +%s): too old or renewed, again"
		sleep 1
	done
	return 1
}

latest_changed()
{
	local v
	v=$(wg_latest "$1" wg0 "$2")
	[ -n "$v" ] && [ "$v" != "$3" ]
}

# replay_until_zeroed NK: send the captured packet again; true once
# rx_no_keypair is above NK.  (wait_for polls every 0.1 s: pace it.)
replay_until_zeroed()
{
	nsx ns2 "$WGPKT" send --to 192.0.2.1:10001 --file /tmp/tm-data.bin >/dev/null
	if stat_ge ns1 wg0 rx_no_keypair $(($1 + 1)); then
		return 0
	fi
	sleep 0.5
	return 1
}

# The protocol's times divided by TD in t_timers (a debug build's
# time_divisor): 30 makes a rekey 4 s; the KASAN lane gives 10, its
# captures and pings take seconds each.
TD=$(wgtest_arg timedivisor 30)

ktap_plan 20
run_case "ping v4/v6 inside, IPv4 outer" t_ping_v4_outer
run_case "ping v4/v6 inside, IPv6 outer" t_ping_v6_outer
run_case "flood ping" t_flood_ping
run_case "lone short packets sent by the sender (tx_direct)" t_direct_send
run_case "iperf3 TCP both ways and UDP, in order" t_iperf3
run_case "short and bulk packets of a peer stay in order" t_order_mixed
run_case "preshared key match" t_psk_match
run_case "preshared key mismatch" t_psk_mismatch
run_case "roaming to a new outer address" t_roaming
run_case "spoofed inner source dropped" t_spoofed_source
run_case "keys changed mid-stream" t_key_change
run_case "MTU 1420 and padding to 16" t_mtu_padding
run_case "handshake flood answered with cookies" t_handshake_flood
run_case "malformed packets counted" t_malformed
run_case "fuzzed packets (seed $WG_FUZZ_SEED)" t_fuzz
run_case "persistent keepalive" t_persistent_keepalive
run_case "handshake initiation replay" t_initiation_replay
run_case "no peer for destination" t_no_peer
run_case "allowed IPs replaced under a flood: nothing dropped" t_replace_allowedips
run_case "rekey and key zeroing (time_divisor=$TD)" t_timers
ktap_finished
