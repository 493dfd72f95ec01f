#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Interop with the in-tree wireguard driver on VM B, in both roles.  Our
# side runs with time_divisor so that a rekey (REKEY_AFTER_TIME and key
# expiry) happens within the test; the in-tree side keeps real times and
# must accept the new handshakes.
. /selftests/lib.sh

DIVISOR=20
# On the KASAN kernel (two of them share the host's CPUs) a handshake
# takes longer than REKEY_TIMEOUT/20 (250 ms): every retransmission would
# replace the initiation whose response is on its way.  5 s/4 there.
case $(uname -r) in
*wgdebug) DIVISOR=4 ;;
esac
ktap_plan 11

# handshake_diag: both ends' view when no handshake completes.
handshake_diag()
{
	echo "VM A:"
	$WG show wg0
	ethtool -S wg0 | awk 'NF == 2 && $2 != 0'
	grep '^Udp:' /proc/net/snmp
	echo "VM B (in-tree):"
	peer_run "wg show wg0; grep '^Udp:' /proc/net/snmp; dmesg | tail -n 5" || true
}

handshake_done()
{
	$WG show wg0 latest-handshakes | awk '$2 != 0 { ok = 1 } END { exit !ok }'
}

latest_handshake()
{
	$WG show wg0 latest-handshakes | awk '{ print $2 }'
}

t_load()
{
	peer_wait_ready 60
	modprobe -r wg 2>/dev/null || true
	# A release build has no time_divisor: its rekey cases skip.
	if ! modinfo -F parm wg | grep -q '^time_divisor:'; then
		modprobe wg
		return 0
	fi
	modprobe wg time_divisor=$DIVISOR
	grep -qx $DIVISOR /sys/module/wg/parameters/time_divisor
}

# Role: we initiate.  B has no endpoint for us, so it cannot start.
t_we_initiate()
{
	interop_b_wg0 -
	interop_a_wg0 "$INTEROP_B_ADDR:$INTEROP_WG_PORT"
	ping -c 1 -W 5 "$INTEROP_B_TUN" || true
	wait_for 20 handshake_done || { handshake_diag; return 1; }
	ping -c 5 -i 0.3 -W 3 "$INTEROP_B_TUN"
	peer_run "wg show wg0"
	$WG show wg0
}

t_ping6()
{
	wait_for 10 ping -6 -c 1 -W 2 fd41::2
	ping -6 -c 5 -i 0.3 -W 3 fd41::2
}

t_iperf()
{
	local up down
	up=$(iperf3 -c "$INTEROP_B_TUN" -t 3 -f m | awk '/receiver/ { print $7 }')
	down=$(iperf3 -c "$INTEROP_B_TUN" -t 3 -f m -R | awk '/receiver/ { print $7 }')
	echo "iperf3 to in-tree: $up Mbit/s up, $down Mbit/s down"
	awk -v a="$up" -v b="$down" 'BEGIN { exit !(a > 0 && b > 0) }'
}

# A session older than REKEY_AFTER_TIME/DIVISOR is renewed by the
# initiator while traffic flows; packets keep going through.
t_rekey()
{
	local first now ok=0 i=0 lost start=$SECONDS
	[ -e /sys/module/wg/parameters/time_divisor ] ||
		skip "release build: no time_divisor (a rekey takes 2 minutes)"
	first=$(latest_handshake)
	# Pings until the session is renewed: REKEY_AFTER_TIME (120 s) over
	# DIVISOR, and 30 s more.
	while [ $((SECONDS - start)) -lt $((120 / DIVISOR + 30)) ]; do
		i=$((i + 1))
		ping -c 1 -W 1 "$INTEROP_B_TUN" >/dev/null && ok=$((ok + 1))
		now=$(latest_handshake)
		[ "$now" != "$first" ] && [ "$i" -gt 10 ] && break
		sleep 0.2
	done
	echo "handshake at $first, then $now; $ok of $i pings answered"
	[ "$now" != "$first" ]
	# A few pings may die with the old session; most must pass.
	lost=$((i - ok))
	[ "$lost" -le $((i / 4)) ]
	ping -c 3 -W 3 "$INTEROP_B_TUN"
}

# Role: they initiate.  We have no endpoint and learn theirs.
t_they_initiate()
{
	interop_a_wg0 -
	interop_b_wg0 "$INTEROP_A_ADDR:$INTEROP_WG_PORT"
	peer_run "ping -c 1 -W 5 $INTEROP_A_TUN; true" >/dev/null
	wait_for 20 handshake_done || { handshake_diag; return 1; }
	peer_run "ping -c 5 -i 0.3 -W 3 $INTEROP_A_TUN"
	$WG show wg0 endpoints | grep -q "$INTEROP_B_ADDR:$INTEROP_WG_PORT"
}

t_iperf_they()
{
	local out
	iperf3 -s -D -1 --logfile /tmp/iperf-a.log
	wait_for 10 tcp_listening 5201
	out=$(peer_run "iperf3 -c $INTEROP_A_TUN -t 3 -f m | awk '/receiver/ { print \$7 }'")
	echo "iperf3 from in-tree: $out Mbit/s"
	awk -v a="$out" 'BEGIN { exit !(a > 0) }'
}

t_rekey_responder()
{
	t_rekey
}

t_counters()
{
	local rx tx
	read -r _ rx tx < <($WG show wg0 transfer)
	echo "rx $rx tx $tx"
	[ "$rx" -gt 0 ] || { echo "nothing received from the in-tree peer"; return 1; }
	[ "$tx" -gt 0 ] || { echo "nothing sent to the in-tree peer"; return 1; }
	ethtool -S wg0 | grep -E 'rx_auth_fail|rx_replay|rx_handshake_invalid'
	[ "$(ethtool -S wg0 | awk '/rx_auth_fail:/ { print $2 }')" = 0 ]
}

t_cleanup()
{
	$IP link del wg0
	peer_run "ip link del wg0"
	modprobe -r wg
}

run_case "load wg with time_divisor=$DIVISOR" t_load
run_case "we initiate: handshake and ping over IPv4" t_we_initiate
run_case "we initiate: ping over IPv6" t_ping6
run_case "we initiate: iperf3 both directions" t_iperf
run_case "we initiate: session renewed while traffic flows" t_rekey
run_case "they initiate: handshake, ping, endpoint learned" t_they_initiate
run_case "they initiate: ping over IPv6" t_ping6
run_case "they initiate: iperf3 from the in-tree side" t_iperf_they
run_case "they initiate: session renewed while traffic flows" t_rekey_responder
run_case "no authentication failures, transfer counted" t_counters
run_case "clean up" t_cleanup
ktap_finished
