#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Interop with wireguard-go (userspace, configured by the same wg tool) in
# the same VM: our wg0 in ns1, wireguard-go's wgo0 in ns2, both roles, ping,
# iperf3 and a rekey driven by our module's scaled-down timers.
. /selftests/lib.sh

DIVISOR=20
ktap_plan 9

A_TUN=10.77.0.1
B_TUN=10.77.0.2
GO_LOG=/tmp/wgo0.log
GO_PID=/tmp/wgo0.pid

setup()
{
	local f k1 p1 k2 p2 psk
	ns_add gons1 gons2
	veth_pair gons1 v1 gons2 v2
	$IP -n gons1 addr add 192.0.2.1/24 dev v1
	$IP -n gons2 addr add 192.0.2.2/24 dev v2

	wg_keypair k1 p1
	wg_keypair k2 p2
	psk=$($WG genpsk)
	f=$(mktemp)
	echo "$psk" >"$f"

	wg_dev_add gons1 wg0
	wg_set_key gons1 wg0 "$k1"
	nsx gons1 $WG set wg0 listen-port 20001 peer "$p2" preshared-key "$f" \
		allowed-ips $B_TUN/32
	$IP -n gons1 addr add $A_TUN/24 dev wg0
	$IP -n gons1 link set wg0 up

	# wireguard-go in the foreground (-f), in the background of this
	# script, so that its log is kept: daemonized, its errors are lost.
	# Its socket is /var/run/wireguard/wgo0.sock; the file exists from
	# bind(), before wireguard-go listens (wg says "No such device"
	# then), and under KASAN the Go runtime takes a while to start.
	LOG_LEVEL=verbose $IP netns exec gons2 wireguard-go -f wgo0 >"$GO_LOG" 2>&1 &
	echo $! >"$GO_PID"
	wait_for 60 nsx gons2 "$WG" show wgo0 >/dev/null || {
		echo "wireguard-go's log:"
		cat "$GO_LOG"
		return 1
	}
	wg_set_key gons2 wgo0 "$k2"
	nsx gons2 $WG set wgo0 listen-port 20002 peer "$p1" preshared-key "$f" \
		allowed-ips $A_TUN/32
	$IP -n gons2 addr add $B_TUN/24 dev wgo0
	$IP -n gons2 link set wgo0 up
	rm -f "$f"
	echo "$p1" >/tmp/go-p1
	echo "$p2" >/tmp/go-p2
}

teardown()
{
	$IP -n gons2 link del wgo0 2>/dev/null || true
	if [ -s "$GO_PID" ]; then
		kill "$(cat "$GO_PID")" 2>/dev/null || true
		rm -f "$GO_PID"
	fi
	$IP netns del gons1 2>/dev/null || true
	$IP netns del gons2 2>/dev/null || true
}

latest()
{
	nsx gons1 $WG show wg0 latest-handshakes | awk '{ print $2 }'
}

handshake_done()
{
	[ "$(latest)" != 0 ]
}

t_load()
{
	command -v wireguard-go
	modprobe tun
	wait_for 10 test -c /dev/net/tun
	modprobe -r wg 2>/dev/null || true
	modprobe wg time_divisor=$DIVISOR
}

# Our side initiates: only we know the other's endpoint.
t_we_initiate()
{
	setup
	_case_netns=
	nsx gons1 $WG set wg0 peer "$(cat /tmp/go-p2)" endpoint 192.0.2.2:20002
	nsx gons1 ping -c 1 -W 5 $B_TUN || true
	wait_for 20 handshake_done
	nsx gons1 ping -c 5 -i 0.3 -W 3 $B_TUN
	nsx gons2 $WG show wgo0 endpoints | grep -q 192.0.2.1:20001
}

t_iperf()
{
	local up down
	nsx gons2 iperf3 -s -D
	wait_for 10 tcp_listening 5201 gons2
	up=$(nsx gons1 iperf3 -c $B_TUN -t 3 -f m | awk '/receiver/ { print $7 }')
	down=$(nsx gons1 iperf3 -c $B_TUN -t 3 -f m -R | awk '/receiver/ { print $7 }')
	echo "iperf3 wg -> wireguard-go $up Mbit/s, back $down Mbit/s"
	awk -v a="$up" -v b="$down" 'BEGIN { exit !(a > 0 && b > 0) }'
}

rekey_under_traffic()
{
	local first now i ok=0
	[ -e "/sys/module/$WG_MODULE/parameters/time_divisor" ] ||
		skip "release build: no time_divisor (a rekey takes 2 minutes)"
	first=$(latest)
	for i in $(seq 1 60); do
		nsx "$1" ping -c 1 -W 1 "$2" >/dev/null && ok=$((ok + 1))
		now=$(latest)
		[ "$now" != "$first" ] && [ "$i" -gt 10 ] && break
		sleep 0.2
	done
	echo "handshake $first then $now; $ok of $i pings answered"
	[ "$now" != "$first" ]
	[ $((i - ok)) -le $((i / 4)) ]
	nsx "$1" ping -c 3 -W 3 "$2"
}

t_rekey_initiator()
{
	rekey_under_traffic gons1 $B_TUN
}

# wireguard-go initiates: we start without its endpoint.
t_they_initiate()
{
	teardown
	setup
	_case_netns=
	nsx gons2 $WG set wgo0 peer "$(cat /tmp/go-p1)" endpoint 192.0.2.1:20001
	nsx gons2 ping -c 1 -W 5 $A_TUN || true
	wait_for 20 handshake_done
	nsx gons2 ping -c 5 -i 0.3 -W 3 $A_TUN
	nsx gons1 $WG show wg0 endpoints | grep -q 192.0.2.2:20002
}

t_iperf_they()
{
	local up
	nsx gons1 iperf3 -s -D
	wait_for 10 tcp_listening 5201 gons1
	up=$(nsx gons2 iperf3 -c $A_TUN -t 3 -f m | awk '/receiver/ { print $7 }')
	echo "iperf3 wireguard-go -> wg $up Mbit/s"
	awk -v a="$up" 'BEGIN { exit !(a > 0) }'
}

t_rekey_responder()
{
	rekey_under_traffic gons2 $A_TUN
}

t_no_auth_failures()
{
	nsx gons1 ethtool -S wg0 | grep -E 'rx_auth_fail|rx_replay|handshakes'
	[ "$(nsx gons1 ethtool -S wg0 | awk '/rx_auth_fail:/ { print $2 }')" = 0 ]
}

t_cleanup()
{
	pkill iperf3 || true
	teardown
	modprobe -r wg
}

run_case "load wg with time_divisor=$DIVISOR" t_load
run_case "we initiate to wireguard-go: handshake and ping" t_we_initiate
run_case "we initiate: iperf3 both directions" t_iperf
run_case "we initiate: session renewed while traffic flows" t_rekey_initiator
run_case "wireguard-go initiates: handshake, ping, endpoint learned" t_they_initiate
run_case "wireguard-go initiates: iperf3 towards us" t_iperf_they
run_case "wireguard-go initiates: session renewed while traffic flows" t_rekey_responder
run_case "no authentication failures" t_no_auth_failures
run_case "clean up" t_cleanup
ktap_finished
