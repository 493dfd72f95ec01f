#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# More interop with the in-tree wireguard driver on VM B: the tunnel over
# an IPv6 outer endpoint (the link gets fd00:241::1/64 and fd00:241::2/64),
# in both roles; then two peers at once: our wg0 on VM A has two peers, VM
# B's in-tree wg0 and wg1 (two keys, ports 51820 and 51821), one started
# by each side.  Both ends count the same bytes for each pair.
. /selftests/lib.sh

A6=fd00:241::1
B6=fd00:241::2
# VM B's second interface (wg1): its own key, port and tunnel addresses.
B2_PRIV=0Bq5mG/1sb2RykzktBoT/3ZsOVq0B6sR7KWqpu0Rs1Q=
B2_PUB=$(printf '%s' "$B2_PRIV" | $WG pubkey 2>/dev/null || true)
B2_PORT=51821
A2_TUN=10.242.0.1
B2_TUN=10.242.0.2

ktap_plan 8

handshake_done()
{
	$WG show wg0 latest-handshakes | awk -v k="$1" '$1 == k && $2 != 0 { ok = 1 } END { exit !ok }'
}

# a_field WHAT PUB: column 2.. of our `wg show wg0 WHAT` for a peer.
a_field()
{
	$WG show wg0 "$1" | awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print }'
}

# b_field DEV WHAT: the same on VM B, for its only peer (VM A).
b_field()
{
	peer_run "wg show $1 $2" | awk '{ $1 = ""; sub(/^ /, ""); print }'
}

# transfer_agrees DEV PUB: our rx/tx with peer PUB are VM B's DEV's tx/rx.
transfer_agrees()
{
	local a_rx a_tx b_rx b_tx
	read -r a_rx a_tx <<<"$(a_field transfer "$2")"
	read -r b_rx b_tx <<<"$(b_field "$1" transfer)"
	[ "$a_rx" = "$b_tx" ] && [ "$a_tx" = "$b_rx" ]
}

show_transfer()
{
	echo "ours with $2: $(a_field transfer "$2"); VM B $1: $(b_field "$1" transfer)"
}

# iperf_bytes ARGS...: iperf3 from VM A to VM B's server; prints the bytes
# the receiver counted, then the bytes the sender wrote and the segments
# it retransmitted (with -R, VM B's, as iperf3 exchanges them).
iperf_bytes()
{
	iperf3 -J "$@" >/tmp/iperf-v6.json || { tail -n 20 /tmp/iperf-v6.json; return 1; }
	awk '/"sum_sent"/ { s = 1 } /"sum_received"/ { r = 1 }
		s == 1 && /"bytes"/ { gsub(/[^0-9]/, "", $2); sent = $2; s = 2 }
		s == 2 && /"retransmits"/ { gsub(/[^0-9]/, "", $2); retr = $2; s = 3 }
		r == 1 && /"bytes"/ { gsub(/[^0-9]/, "", $2); got = $2; r = 2 }
		END { if (got == "" || sent == "") exit 1; print got, sent, retr + 0 }' /tmp/iperf-v6.json
}

# rx_drops_mark: remember our wg0's counters now, for rx_drops_moved.
# (Our wg0 is made anew before VM B's: a message VM B's old wg0 still
# sends under its old session, a late TCP segment of the last case,
# rightly counts as rx_no_keypair before the case begins.)
rx_drops_mark()
{
	ethtool -S wg0 >/tmp/rx-drops-mark
}

# rx_drops_moved REGEX: our wg0's rx_ counters matching REGEX that moved
# since rx_drops_mark, as "name delta" pairs (empty when none moved).
rx_drops_moved()
{
	ethtool -S wg0 | awk -v re="^rx_($1)" '
		NR == FNR { base[$1] = $2; next }
		$1 ~ re && $2 != base[$1] { printf "%s%s +%d", sep, $1, $2 - base[$1]; sep = ", " }' \
		/tmp/rx-drops-mark -
}

# --- cases ------------------------------------------------------------------

t_setup()
{
	peer_wait_ready 60
	modprobe -r wg 2>/dev/null || true
	modprobe wg
	$IP addr add "$A6/64" dev eth0 nodad
	peer_run "ip addr add $B6/64 dev eth0 nodad"
	wait_for 20 ping -6 -c 1 -W 1 "$B6"
}

# We initiate to VM B's IPv6 address; VM B has no endpoint and learns
# ours, an IPv6 one.
t_v6_we_initiate()
{
	interop_b_wg0 -
	interop_a_wg0 "[$B6]:$INTEROP_WG_PORT"
	wait_for 20 ping -c 1 -W 1 "$INTEROP_B_TUN"
	handshake_done "$INTEROP_B_PUB"
	ping -c 5 -i 0.2 -W 2 "$INTEROP_B_TUN" >/dev/null
	ping -6 -c 5 -i 0.2 -W 2 fd41::2 >/dev/null
	assert_eq "$(b_field wg0 endpoints)" "[$A6]:$INTEROP_WG_PORT" "VM B's endpoint for us"
	assert_eq "$(a_field endpoints "$INTEROP_B_PUB")" "[$B6]:$INTEROP_WG_PORT" "our endpoint for VM B"
}

# Bulk both ways over the IPv6 outer endpoint: what iperf3 counted went
# through the tunnel, both ends count the same bytes, nothing failed.
t_v6_iperf()
{
	local up down rx0 tx0 rx tx up_sent up_retr down_sent down_retr max_tx max_rx
	rx_drops_mark
	read -r rx0 tx0 <<<"$(a_field transfer "$INTEROP_B_PUB")"
	read -r up up_sent up_retr <<<"$(iperf_bytes -c "$INTEROP_B_TUN" -t 3)"
	read -r down down_sent down_retr <<<"$(iperf_bytes -c "$INTEROP_B_TUN" -t 3 -R)"
	wait_for 10 transfer_agrees wg0 "$INTEROP_B_PUB" || {
		show_transfer wg0 "$INTEROP_B_PUB"
		return 1
	}
	read -r rx tx <<<"$(a_field transfer "$INTEROP_B_PUB")"
	echo "iperf3: $up bytes up ($up_sent sent, $up_retr segments retransmitted)," \
		"$down down ($down_sent sent, $down_retr retransmitted);" \
		"tunnel: $((tx - tx0)) bytes sent, $((rx - rx0)) received"
	[ "$up" -gt 100000 ] || { echo "iperf3 up moved $up bytes"; return 1; }
	[ "$down" -gt 100000 ] || { echo "iperf3 down moved $down bytes"; return 1; }
	# Messages carry 1,368-byte segments in 1,452 bytes at most, and
	# each retransmitted segment once more (a slow receiver, the KASAN
	# lane's, makes the sender retransmit); each direction also carries
	# the other run's ACKs (96-byte messages, one per two segments at
	# most: under a tenth of that run's bytes).
	max_tx=$(((up_sent + up_retr * 1368) * 6 / 5 + down_sent / 10 + 100000))
	max_rx=$(((down_sent + down_retr * 1368) * 6 / 5 + up_sent / 10 + 100000))
	[ $((tx - tx0)) -ge "$up" ] || { echo "sent less than iperf3 counted"; return 1; }
	[ $((tx - tx0)) -le $max_tx ] ||
		{ echo "sent over 1.2 x the bytes iperf3 sent and retransmitted ($max_tx)"; return 1; }
	[ $((rx - rx0)) -ge "$down" ] || { echo "received less than iperf3 counted"; return 1; }
	[ $((rx - rx0)) -le $max_rx ] ||
		{ echo "received over 1.2 x the bytes iperf3 sent and retransmitted ($max_rx)"; return 1; }
	assert_eq "$(rx_drops_moved 'auth_fail|replay|bad_|no_keypair|expired')" "" \
		"our rx_auth_fail, rx_replay, rx_bad_*, rx_no_keypair, rx_expired_keypair"
	assert_eq "$(a_field endpoints "$INTEROP_B_PUB")" "[$B6]:$INTEROP_WG_PORT" "our endpoint for VM B"
}

# VM B initiates to our IPv6 address; we learn its IPv6 endpoint.
t_v6_they_initiate()
{
	interop_a_wg0 -
	interop_b_wg0 "[$A6]:$INTEROP_WG_PORT"
	peer_run "ping -c 1 -W 5 $INTEROP_A_TUN; true" >/dev/null
	wait_for 20 handshake_done "$INTEROP_B_PUB"
	peer_run "ping -c 5 -i 0.2 -W 2 $INTEROP_A_TUN >/dev/null && ping -6 -c 5 -i 0.2 -W 2 fd41::1 >/dev/null"
	assert_eq "$(a_field endpoints "$INTEROP_B_PUB")" "[$B6]:$INTEROP_WG_PORT" "our endpoint for VM B"
}

# Our wg0 with VM B's wg0 and wg1 as two peers (IPv4 outer): we know both
# endpoints; VM B's wg0 knows none, its wg1 knows ours.  We initiate to
# wg0, wg1 initiates to us.
t_two_peers()
{
	local pids=() n out
	interop_a_wg0 "$INTEROP_B_ADDR:$INTEROP_WG_PORT"
	$WG set wg0 peer "$B2_PUB" allowed-ips "$B2_TUN/32" \
		endpoint "$INTEROP_B_ADDR:$B2_PORT"
	$IP addr add "$A2_TUN/24" dev wg0
	interop_b_wg0 -
	peer_run "
		set -e
		ip link add wg1 type wireguard
		f=\$(mktemp)
		echo $B2_PRIV >\$f
		wg set wg1 private-key \$f listen-port $B2_PORT \
			peer $INTEROP_A_PUB allowed-ips $A2_TUN/32 \
			endpoint $INTEROP_A_ADDR:$INTEROP_WG_PORT
		ip addr add $B2_TUN/24 dev wg1
		ip link set wg1 up
	"
	assert_eq "$($WG show wg0 peers | wc -l)" 2 "our peers"
	wait_for 20 ping -c 1 -W 1 "$INTEROP_B_TUN"
	peer_run "ping -c 1 -W 5 $A2_TUN" >/dev/null
	handshake_done "$INTEROP_B_PUB"
	handshake_done "$B2_PUB"
	# Both tunnels at once, both ways.
	ping -c 50 -i 0.05 -W 2 "$INTEROP_B_TUN" >/tmp/two-1.log 2>&1 &
	pids+=($!)
	ping -c 50 -i 0.05 -W 2 "$B2_TUN" >/tmp/two-2.log 2>&1 &
	pids+=($!)
	out=$(peer_run "ping -c 50 -i 0.05 -W 2 $INTEROP_A_TUN >/tmp/two-b1.log 2>&1 &
		ping -c 50 -i 0.05 -W 2 $A2_TUN >/tmp/two-b2.log 2>&1 &
		wait; tail -qn 2 /tmp/two-b1.log /tmp/two-b2.log | grep transmitted")
	for n in 0 1; do
		wait "${pids[n]}" || { tail -n 3 "/tmp/two-$((n + 1)).log"; return 1; }
	done
	tail -qn 2 /tmp/two-1.log /tmp/two-2.log | grep transmitted
	echo "$out"
	assert_eq "$(ping_count /tmp/two-1.log)" 50 "our replies from VM B's wg0"
	assert_eq "$(ping_count /tmp/two-2.log)" 50 "our replies from VM B's wg1"
	assert_eq "$(printf '%s\n' "$out" | awk '/ 50 received/ { n++ } END { print n + 0 }')" 2 \
		"VM B's replies on wg0 and wg1"
	wait_for 10 transfer_agrees wg0 "$INTEROP_B_PUB" || { show_transfer wg0 "$INTEROP_B_PUB"; return 1; }
	wait_for 10 transfer_agrees wg1 "$B2_PUB" || { show_transfer wg1 "$B2_PUB"; return 1; }
	show_transfer wg0 "$INTEROP_B_PUB"
	show_transfer wg1 "$B2_PUB"
	assert_eq "$(b_field wg1 endpoints)" "$INTEROP_A_ADDR:$INTEROP_WG_PORT" "VM B wg1's endpoint for us"
	assert_eq "$(b_field wg0 endpoints)" "$INTEROP_A_ADDR:$INTEROP_WG_PORT" "VM B wg0's endpoint for us (learnt)"
}

ping_count()
{
	sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' "$1" | tail -n 1
}

# Bulk through each peer in turn: each in-tree interface counts what we
# count for that peer, the other peer's counters do not move.
t_two_peers_iperf()
{
	local b1 b2 t1 t2
	rx_drops_mark
	read -r _ t2 <<<"$(a_field transfer "$B2_PUB")"
	read -r b1 _ <<<"$(iperf_bytes -c "$INTEROP_B_TUN" -t 2)"
	read -r _ t1 <<<"$(a_field transfer "$B2_PUB")"
	assert_eq "$t1" "$t2" "bytes sent to wg1 while iperf3 ran through wg0"
	read -r b2 _ <<<"$(iperf_bytes -c "$B2_TUN" -t 2 -R)"
	echo "iperf3: $b1 bytes to VM B's wg0, $b2 bytes from its wg1"
	[ "$b1" -gt 100000 ] || { echo "iperf3 through wg0 moved $b1 bytes"; return 1; }
	[ "$b2" -gt 100000 ] || { echo "iperf3 through wg1 moved $b2 bytes"; return 1; }
	wait_for 10 transfer_agrees wg0 "$INTEROP_B_PUB" || { show_transfer wg0 "$INTEROP_B_PUB"; return 1; }
	wait_for 10 transfer_agrees wg1 "$B2_PUB" || { show_transfer wg1 "$B2_PUB"; return 1; }
	show_transfer wg0 "$INTEROP_B_PUB"
	show_transfer wg1 "$B2_PUB"
	assert_eq "$(rx_drops_moved 'auth_fail|replay|bad_|no_keypair|expired|src_not_allowed')" "" \
		"our rx drop counters"
}

t_cleanup()
{
	$IP link del wg0
	peer_run "ip link del wg0; ip link del wg1; ip addr del $B6/64 dev eth0"
	$IP addr del "$A6/64" dev eth0
	modprobe -r wg
}

run_case "load wg, IPv6 on the link" t_setup
run_case "IPv6 outer, we initiate: handshake, ping, endpoints" t_v6_we_initiate
run_case "IPv6 outer: iperf3 both directions, counted alike" t_v6_iperf
run_case "IPv6 outer, they initiate: handshake, ping, endpoint learnt" t_v6_they_initiate
run_case "IPv6 outer: iperf3 both directions after their handshake" t_v6_iperf
run_case "two peers (in-tree wg0 and wg1): handshakes both ways, pings" t_two_peers
run_case "two peers: iperf3 through each, counted per peer" t_two_peers_iperf
run_case "clean up" t_cleanup
ktap_finished
