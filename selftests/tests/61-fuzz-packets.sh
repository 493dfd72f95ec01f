#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hostile packets at the listen port while a real tunnel carries iperf3
# traffic: wgpkt fuzz mutates captured handshake initiations, responses and
# data messages plus zero-bodied messages of all four types (cookie replies
# among them): bit flips, truncations, extensions, valid headers with
# garbage, wrong receiver indexes, splices, and the seeds unchanged
# (replayed, in random order).  The tunnel must keep working, nothing forged
# may be accepted, and every datagram must be accounted for: dropped under
# one of the module's reasons (ethtool -S wg0) or by the UDP layer below it
# (socket buffer full, counted in /proc/net/snmp) or the backlog.
#
# Reproduce: WG_APPEND="wgtest.pktseed=S" with the seed printed.
. /selftests/lib.sh
. /selftests/tunnel-lib.sh

SEED=${WG_PKT_FUZZ_SEED:-$(wgtest_arg pktseed $(( $(date +%s) % 100000 )))}
COUNT=${WG_PKT_FUZZ_COUNT:-$(wgtest_arg pktcount 50000)}
# iperf3's rate (0: as fast as it goes).  The debug lane sets 1 Mbit/s
# (wgtest.tdrate, as for 63): saturated there, the tunnel left the fuzzer
# about 40 datagrams a second.
RATE=$(wgtest_arg tdrate 0)

ktap_plan 1

K1="" P1="" K2="" P2=""

setup()
{
	local n
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	ns_add ns1 ns2
	veth_pair ns1 v1 ns2 v2
	$IP -n ns1 addr add 192.0.2.1/24 dev v1
	$IP -n ns2 addr add 192.0.2.2/24 dev v2
	wg_keypair K1 P1
	wg_keypair K2 P2
	for n in 1 2; do
		wg_dev_add "ns$n" wg0
	done
	wg_set_key ns1 wg0 "$K1"
	wg_set_key ns2 wg0 "$K2"
	nsx ns1 "$WG" set wg0 listen-port 10001 peer "$P2" \
		allowed-ips 10.10.0.2/32 endpoint 192.0.2.2:10002
	nsx ns2 "$WG" set wg0 listen-port 10002 peer "$P1" \
		allowed-ips 10.10.0.1/32 endpoint 192.0.2.1:10001
	for n in 1 2; do
		$IP -n "ns$n" addr add "10.10.0.$n/24" dev wg0
		$IP -n "ns$n" link set wg0 up
	done
}

# Datagrams the module or the layers below it dropped, in ns1.
accounted()
{
	local wg udp sn
	wg=$(nsx ns1 ethtool -S wg0 | awk '$1 ~ /^rx_/ && $1 != "rx_keepalives:" { s += $2 } END { print s + 0 }')
	udp=$(nsx ns1 awk '($1 == "Udp:" || $1 == "Udp6:") && $2 ~ /^[0-9]+$/ { s += $4 } END { print s + 0 }' /proc/net/snmp)
	udp=$((udp + $(nsx ns1 awk '$1 == "Udp6InErrors" { print $2 }' /proc/net/snmp6)))
	local _ d _r
	sn=0
	while read -r _ d _r; do
		sn=$((sn + 0x$d))
	done </proc/net/softnet_stat
	echo $((wg + udp + sn))
}

accounted_ge()
{
	[ "$(accounted)" -ge "$1" ]
}

t_fuzz()
{
	local a0 a1 sent hc files f pid out
	need_wgpkt
	need_stats
	need_cmd iperf3
	setup
	# Seeds: ns2's initiation and ns1's response, then data messages.
	capture_start ns1 v1 /tmp/pf-init.bin --dport 10001 --type 1 --direction in --timeout 60
	bg_nsx /tmp/pf-resp.log ns2 "$WGPKT" capture --iface v2 --dport 10002 --type 2 \
		--direction in --timeout 60 --out /tmp/pf-resp.bin --ready /tmp/pf-resp.rdy
	wait_for 20 test -e /tmp/pf-resp.rdy
	wait_for 60 tping ns2 10.10.0.1
	capture_wait
	wait_for 60 test -s /tmp/pf-resp.bin
	capture_start ns1 v1 /tmp/pf-data.bin --dport 10001 --type 4 --min-len 33 \
		--direction in --count 16 --timeout 60
	nsx ns2 "$PING" -c 20 -i 0.2 10.10.0.1 >/dev/null
	capture_wait
	files="--file /tmp/pf-init.bin --file /tmp/pf-resp.bin"
	for f in /tmp/pf-data.bin /tmp/pf-data.bin.*; do
		files="$files --file $f"
	done

	bg_nsx /tmp/pf-iperf-s.log ns1 iperf3 -s -1 -B 10.10.0.1
	wait_for 30 tcp_listening 5201 ns1
	bg_nsx /tmp/pf-iperf-c.log ns2 iperf3 -c 10.10.0.1 -t 3600 --bidir \
		-b "$RATE"
	pid=$BG_PID
	wait_for 60 grep -q 'sec' /tmp/pf-iperf-c.log

	hc=$(wg_stat ns1 wg0 handshakes_completed)
	a0=$(accounted)
	echo "seed $SEED, $COUNT datagrams; before: $(wg_stats ns1 wg0)"
	# shellcheck disable=SC2086
	out=$(nsx ns2 "$WGPKT" fuzz --to 192.0.2.1:10001 --seed "$SEED" \
		--count "$COUNT" --defaults $files)
	echo "$out" | tr '\n' ' '; echo
	sent=$(echo "$out" | sed -n 's/^sent: //p')
	if ! wait_for 120 accounted_ge $((a0 + sent)); then
		a1=$(accounted)
		echo "sent $sent, accounted for $((a1 - a0)): $(wg_stats ns1 wg0)"
		return 1
	fi
	a1=$(accounted)
	echo "sent $sent, accounted for $((a1 - a0)); after: $(wg_stats ns1 wg0)"
	# The tunnel carried traffic throughout and still does.
	kill -0 "$pid"
	kill "$pid"
	wait_for 60 tping ns2 10.10.0.1
	wait_for 60 tping ns1 10.10.0.2
	grep -E 'receiver|sender' /tmp/pf-iperf-c.log | tail -n 2 || true
	# Nothing forged completed a handshake or moved the endpoint.
	[ "$(wg_stat ns1 wg0 handshakes_completed)" -le $((hc + 1)) ]
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" 192.0.2.2:10002 "ns1's endpoint for ns2"
}

run_case "packet fuzz at the listen port while iperf3 runs" t_fuzz
ktap_finished
