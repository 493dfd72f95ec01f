#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The limits a tunnel runs into under pressure, each compared with the
# in-tree driver where it has the same behaviour: a responder under a
# handshake flood answering with cookies while a real initiator still gets
# through with MAC2, bulk traffic over an IPv6 outer endpoint, a key's
# message limits (REKEY_AFTER_MESSAGES, REJECT_AFTER_MESSAGES: lowered by
# the debug build's rekey_after_messages / reject_after_messages), and a
# decrypt ring overflowed by replayed data (rx_queue_full).
#
#   ns1: v1 192.0.2.1/24 2001:db8::1/64   wg0 10.10.0.1/24 fd10::1/64 :10001
#   ns2: v2 192.0.2.2/24 2001:db8::2/64   wg0 10.10.0.2/24 fd10::2/64 :10002
#   ns3 (cookie cases): v31 198.51.100.2/24 <-> ns1 v13 198.51.100.1/24
#
# Needs in the guest: iputils ping, ethtool, iperf3, wgpkt and
# /selftests/tunnel-lib.sh.
. /selftests/lib.sh

if [ ! -f /selftests/tunnel-lib.sh ]; then
	ktap_plan 1
	ktap_skip "limit tests" "/selftests/tunnel-lib.sh not packed"
	ktap_finished
fi
. /selftests/tunnel-lib.sh

K1="" P1="" K2="" P2=""

# pair_setup KIND OUTER: ns1 and ns2 as above with KIND devices (the
# loaded module's), endpoints over IPv4 (OUTER=4) or IPv6 (OUTER=6; the
# link then has no IPv4 address, so only IPv6 can carry the tunnel).
pair_setup()
{
	local kind=$1 outer=$2 n ep1=192.0.2.1:10001 ep2=192.0.2.2:10002
	ns_add ns1 ns2
	veth_pair ns1 v1 ns2 v2
	$IP -n ns1 addr add 2001:db8::1/64 dev v1 nodad
	$IP -n ns2 addr add 2001:db8::2/64 dev v2 nodad
	if [ "$outer" = 4 ]; then
		$IP -n ns1 addr add 192.0.2.1/24 dev v1
		$IP -n ns2 addr add 192.0.2.2/24 dev v2
	else
		ep1='[2001:db8::1]:10001' ep2='[2001:db8::2]:10002'
	fi
	wg_keypair K1 P1
	wg_keypair K2 P2
	for n in 1 2; do
		wg_dev_add "ns$n" wg0 "$kind"
	done
	wg_set_key ns1 wg0 "$K1"
	wg_set_key ns2 wg0 "$K2"
	nsx ns1 "$WG" set wg0 listen-port 10001 peer "$P2" \
		allowed-ips 10.10.0.2/32,fd10::2/128 endpoint "$ep2"
	nsx ns2 "$WG" set wg0 listen-port 10002 peer "$P1" \
		allowed-ips 10.10.0.1/32,fd10::1/128 endpoint "$ep1"
	for n in 1 2; do
		$IP -n "ns$n" addr add "10.10.0.$n/24" dev wg0
		$IP -n "ns$n" addr add "fd10::$n/64" dev wg0 nodad
		$IP -n "ns$n" link set wg0 up
	done
}

ns3_setup()
{
	ns_add ns3
	veth_pair ns1 v13 ns3 v31
	$IP -n ns1 addr add 198.51.100.1/24 dev v13
	$IP -n ns3 addr add 198.51.100.2/24 dev v31
}

# dev_stat NS DEV COUNTER: a statistic of DEV in NS (ip -s link).
dev_stat()
{
	nsx "$1" cat "/sys/class/net/$2/statistics/$3"
}

# outer_drops: packets dropped below the tunnel so far, one number: the
# veth pair's drops (a full peer backlog or ring) and the backlog drops of
# /proc/net/softnet_stat (all CPUs, all namespaces).
outer_drops()
{
	local s=0 c
	for c in rx_dropped tx_dropped; do
		s=$((s + $(dev_stat ns1 v1 "$c") + $(dev_stat ns2 v2 "$c")))
	done
	echo $((s + $(softnet_drops)))
}

softnet_drops()
{
	local d s=0
	for d in $(awk '{ print $2 }' /proc/net/softnet_stat); do
		s=$((s + 0x$d))
	done
	echo "$s"
}

# outer_drop_detail: the counters outer_drops adds, by name.
outer_drop_detail()
{
	echo "v1 rx_dropped $(dev_stat ns1 v1 rx_dropped) tx_dropped $(dev_stat ns1 v1 tx_dropped)," \
		"v2 rx_dropped $(dev_stat ns2 v2 rx_dropped) tx_dropped $(dev_stat ns2 v2 tx_dropped)," \
		"softnet dropped $(softnet_drops);" \
		"ns2 Udp InErrors+RcvbufErrors $(snmp_sum ns2 Udp InErrors RcvbufErrors)"
}

# dev_errors NS: rx/tx errors and drops of NS's wg0, one number (both
# drivers count their drops there).
dev_errors()
{
	local c s=0
	for c in rx_errors rx_dropped tx_errors tx_dropped; do
		s=$((s + $(dev_stat "$1" wg0 "$c")))
	done
	echo "$s"
}

# drop_stats NS: the module's drop counters that are not zero ("" if none):
# everything in ethtool -S but the counters of work done.
drop_stats()
{
	nsx "$1" ethtool -S wg0 | awk '
		NF == 2 && $1 ~ /:$/ && $2 != 0 &&
		$1 !~ /^(rx_keepalives|rx_cookie_replies_sent|handshakes_completed|tx_direct|tx_order_waits):$/ {
			printf "%s%s%s", s, $1, $2; s = " " }
		END { print "" }'
}

# udp_in NS: UDP datagrams NS's stack has received (delivered or not).
udp_in()
{
	snmp_sum "$1" Udp InDatagrams InErrors NoPorts
}

udp_in_ge()
{
	[ "$(udp_in "$1")" -ge "$2" ]
}

# udp6_in NS: the same over IPv6.
udp6_in()
{
	snmp_sum "$1" snmp6 Udp6InDatagrams Udp6InErrors Udp6NoPorts
}

transfer_agrees()
{
	[ "$(wg_tx ns1 wg0 "$P2")" = "$(wg_rx ns2 wg0 "$P1")" ] || return 1
	[ "$(wg_rx ns1 wg0 "$P2")" = "$(wg_tx ns2 wg0 "$P1")" ]
}

# reload_wg [ARGS...]: our module, reloaded with parameters.
reload_wg()
{
	if [ -d "/sys/module/$WG_REF_MODULE" ]; then
		wait_for 60 modprobe -r "$WG_REF_MODULE"
	fi
	unload_wg
	modprobe "$WG_MODULE" "$@"
}

need_intree()
{
	modprobe -n -q "$WG_REF_MODULE" || skip "no in-tree $WG_REF_MODULE module"
	at_case_exit 'use_module "$WG_MODULE" >/dev/null 2>&1'
}

# --- cookies ------------------------------------------------------------

# mac2_of FILE: the 16 MAC2 bytes of a captured handshake message, in hex.
mac2_of()
{
	local len
	len=$(file_size "$1")
	od -An -tx1 -v -j $((len - 16)) -N 16 "$1" | tr -d ' \n'
}

# cookie_sequence LOG FILE: from a capture of ns2's handshake messages
# (initiations out, cookie replies and responses in): an initiation
# without MAC2, a cookie reply, then an initiation with MAC2 answered by
# a response.  Prints the sequence; fails if it is not that.  Sets
# COOKIES_OUT: the cookie replies ns2 itself sent.
cookie_sequence()
{
	local log=$1 out=$2 i=0 f line seq='' cookie=0 mac2=0 done=0 m
	COOKIES_OUT=0
	while IFS= read -r line; do
		case $line in
		"captured len="*) ;;
		*) continue ;;
		esac
		f=$out
		[ "$i" = 0 ] || f=$out.$i
		i=$((i + 1))
		case $line in
		*" type=1 "*"dir=out")
			m=$(mac2_of "$f")
			if [ "$m" = 00000000000000000000000000000000 ]; then
				seq="$seq init"
			else
				seq="$seq init+mac2"
				[ "$cookie" = 0 ] || mac2=1
			fi ;;
		*" type=3 "*"dir=in") seq="$seq cookie"; cookie=1 ;;
		*" type=3 "*"dir=out")
			seq="$seq cookie-sent"
			COOKIES_OUT=$((COOKIES_OUT + 1)) ;;
		*" type=2 "*"dir=in")
			seq="$seq response"
			[ "$mac2" = 0 ] || done=1 ;;
		*) seq="$seq ?($line)" ;;
		esac
	done <"$log"
	echo "ns2's handshake messages:$seq"
	[ "$cookie" = 1 ] || { echo "ns2 got no cookie reply"; return 1; }
	[ "$mac2" = 1 ] || { echo "no initiation with MAC2 after the cookie reply"; return 1; }
	[ "$done" = 1 ] || { echo "the initiation with MAC2 got no response"; return 1; }
}

# cookie_mac2 MODULE KIND: ns3 floods ns1 with a replayed initiation until
# ns1 answers with cookie replies (under load); meanwhile ns2, which has
# just forgotten its session, initiates: ns1 answers its first initiation
# with a cookie reply and its retry (REKEY_TIMEOUT later), which carries
# MAC2, with a response, while the flood still gets cookie replies.
# Ours: ns2 completes the handshake before the flood ends.  (The in-tree
# driver keeps one load state for all its devices: its ns2, under load
# too, answers ns1's response with a cookie reply of its own, so that it
# completes later; the case prints how many it sent.)
cookie_mac2()
{
	local module=$1 kind=$2 u0 u1 u2 inv0 inv1 c0 rate
	use_module "$module"
	pair_setup "$kind" 4
	ns3_setup
	# ns2's initiation: MAC1 valid for ns1, so ns1 answers its replays.
	capture_start ns1 v1 /tmp/ck-init.bin --dport 10001 --type 1 --len 148 \
		--direction in --timeout 30
	wait_for 30 tping ns2 10.10.0.1
	capture_wait >/dev/null
	# ns2 forgets the session: its next packet needs a new handshake.
	nsx ns2 "$WG" set wg0 peer "$P1" remove
	nsx ns2 "$WG" set wg0 peer "$P1" allowed-ips 10.10.0.1/32,fd10::1/128 \
		endpoint 192.0.2.1:10001
	if [ "$module" = "$WG_MODULE" ]; then
		c0=$(wg_stat ns1 wg0 rx_cookie_replies_sent)
	fi
	rate=$(wgtest_arg cookierate 0)
	u0=$(udp_in ns3)
	bg_nsx /tmp/ck-flood.log ns3 "$WGPKT" send --to 198.51.100.1:10001 \
		--bind-port 10003 --file /tmp/ck-init.bin --count 100000000 --rate "$rate"
	FLOOD=$BG_PID
	# Under load: ns3 gets cookie replies.
	wait_for 20 udp_in_ge ns3 $((u0 + 1))
	if [ "$module" = "$WG_MODULE" ]; then
		inv0=$(wg_stat ns1 wg0 rx_handshake_invalid)
	fi
	capture_start ns2 v2 /tmp/ck-hs.bin --port 10002 --min-len 64 \
		--max-len 148 --count 50 --timeout 60
	# Echo requests of 200 bytes: their data messages are longer than 148.
	bg_nsx /tmp/ck-ping.log ns2 "$PING" -i 0.5 -W 1 -c 200 -s 200 10.10.0.1
	wait_for 45 cookie_sequence /tmp/ck-hs.bin.log /tmp/ck-hs.bin || {
		bg_stop "$CAPTURE_PID"
		cat /tmp/ck-hs.bin.log
		cookie_sequence /tmp/ck-hs.bin.log /tmp/ck-hs.bin || true
		echo "ns3 received $(($(udp_in ns3) - u0)) cookie replies"
		tunnel_diag 2>/dev/null || true
		return 1
	}
	u1=$(udp_in ns3)
	if [ "$module" = "$WG_MODULE" ]; then
		inv1=$(wg_stat ns1 wg0 rx_handshake_invalid)
		# ns2 is not under load: the response completes its handshake.
		wait_for 10 wg_handshake_done ns2 wg0
	fi
	# The load lasted: ns3 still gets cookie replies after the response.
	wait_for 10 udp_in_ge ns3 $((u1 + 1))
	u2=$(udp_in ns3)
	bg_stop "$FLOOD"
	bg_stop "$CAPTURE_PID"
	cat /tmp/ck-hs.bin.log
	cookie_sequence /tmp/ck-hs.bin.log /tmp/ck-hs.bin
	echo "cookie replies to ns3: $((u1 - u0)) until ns1 answered ns2 with a response," \
		"$((u2 - u1)) after; ns2 sent $COOKIES_OUT cookie replies"
	[ "$module" = "$WG_MODULE" ] || return 0
	wait_for 20 tping ns2 10.10.0.1
	tping ns1 10.10.0.2 >/dev/null
	echo "ns1: $(wg_stats ns1 wg0)"
	echo "ns2: $(wg_stats ns2 wg0)"
	# From the first cookie reply to ns2's response ns1 answered the
	# flood with cookie replies, not full handshake attempts (a replayed
	# initiation fully processed counts in rx_handshake_invalid).  The
	# load may lapse for a moment: when the workers, sending only cookie
	# replies, drain the queue below the threshold for a second, a few
	# initiations get the full treatment until it fills again.  At most
	# one in a hundred.
	echo "flood initiations fully processed while under load: $((inv1 - inv0))," \
		"cookie replies meanwhile: $((u1 - u0))"
	[ $(((inv1 - inv0) * 100)) -le $((u1 - u0)) ] ||
		{ echo "more than 1 in 100 flood initiations fully processed under load"; return 1; }
	stat_ge ns1 wg0 rx_cookie_replies_sent $((c0 + u2 - u0 + 1)) || {
		echo "rx_cookie_replies_sent $(wg_stat ns1 wg0 rx_cookie_replies_sent)," \
			"wanted >= $((c0 + u2 - u0 + 1)) (ns3's and ns2's)"
		return 1
	}
	assert_eq "$(wg_stat ns2 wg0 rx_cookie_invalid)" 0 "ns2 rx_cookie_invalid"
	assert_eq "$(wg_stat ns2 wg0 rx_cookie_replies_sent)" 0 "ns2 rx_cookie_replies_sent"
	assert_eq "$COOKIES_OUT" 0 "cookie replies ns2 sent"
}

t_cookie_ours()
{
	need_wgpkt
	need_stats
	need_iputils_ping
	cookie_mac2 "$WG_MODULE" "$WG_KIND"
}

t_cookie_intree()
{
	need_intree
	need_wgpkt
	need_iputils_ping
	cookie_mac2 "$WG_REF_MODULE" wireguard
}

# --- bulk over an IPv6 outer endpoint -----------------------------------

# iperf_bytes JSON-FILE: bytes iperf3's receiver got.
iperf_bytes()
{
	awk '/"sum_received"/ { f = 1 } f && /"bytes"/ { gsub(/[^0-9]/, "", $2); print $2; exit }' "$1"
}

# msg_counts NS: NS's wg0 messages sent, and messages received (delivered,
# dropped with a counter, or keepalives), as "SENT RECEIVED".
msg_counts()
{
	local r c
	r=$(wg_stat "$1" wg0 rx_keepalives)
	for c in rx_packets rx_dropped rx_errors; do
		r=$((r + $(dev_stat "$1" wg0 "$c")))
	done
	echo "$(dev_stat "$1" wg0 tx_packets) $r"
}

# msgs_agree: since MC1/MC2 were taken, every message one end sent the
# other received or dropped with a counter, both ways.
msgs_agree()
{
	local n1 n2
	n1=($(msg_counts ns1)) n2=($(msg_counts ns2))
	[ $((n1[0] - MC1[0])) = $((n2[1] - MC2[1])) ] &&
		[ $((n2[0] - MC2[0])) = $((n1[1] - MC1[1])) ]
}

# bulk OUTER MODULE: iperf3 TCP ns1 -> ns2 for 2 s through the tunnel
# as it is (endpoints over IPv<OUTER>); checks that the tunnel carried
# what iperf3 counted and, for our module, that every message sent was
# received or counted as dropped.  Loss-based TCP grows its window until
# a queue overflows: when ns1 sends faster than ns2 decrypts (IPv4
# batching) that queue is ns2's decrypt ring, and rx_queue_full is the
# one drop counter allowed to move.  Sets BULK_MSGS (messages ns1's wg0
# sent) and BULK_PKTS (packets v1 sent meanwhile).
bulk()
{
	local outer=$1 module=$2 e1 e2 t0 p0 m0 o0 q0=0 q bytes rx ep
	ep=192.0.2.2:10002
	[ "$outer" = 4 ] || ep='[2001:db8::2]:10002'
	e1=$(dev_errors ns1) e2=$(dev_errors ns2)
	t0=$(wg_rx ns2 wg0 "$P1") p0=$(dev_stat ns1 v1 tx_packets)
	m0=$(dev_stat ns1 wg0 tx_packets)
	o0=$(outer_drops)
	if [ "$module" = "$WG_MODULE" ]; then
		MC1=($(msg_counts ns1)) MC2=($(msg_counts ns2))
		q0=$(wg_stat ns2 wg0 rx_queue_full)
	fi
	nsx ns1 iperf3 -c 10.10.0.2 -t 2 -J >/tmp/bulk.json ||
		{ tail -n 20 /tmp/bulk.json; return 1; }
	bytes=$(iperf_bytes /tmp/bulk.json)
	BULK_MSGS=$(($(dev_stat ns1 wg0 tx_packets) - m0))
	BULK_PKTS=$(($(dev_stat ns1 v1 tx_packets) - p0))
	echo "IPv$outer outer, $module: iperf3 received ${bytes:-0} bytes;" \
		"ns1's wg0 sent $BULK_MSGS messages in $BULK_PKTS packets on v1"
	[ "${bytes:-0}" -gt 1000000 ] || { echo "iperf3 moved only ${bytes:-0} bytes"; return 1; }
	o0=$(($(outer_drops) - o0))
	[ "$o0" = 0 ] ||
		echo "the link below the tunnel dropped $o0: $(outer_drop_detail)"
	if [ "$module" = "$WG_MODULE" ]; then
		wait_for 10 msgs_agree || [ "$o0" -gt 0 ] || {
			echo "messages (sent received): ns1 ${MC1[*]} -> $(msg_counts ns1)," \
				"ns2 ${MC2[*]} -> $(msg_counts ns2); ns1 [$(drop_stats ns1)] ns2 [$(drop_stats ns2)]"
			echo "messages lost without a counter"
			return 1
		}
		q=$(($(wg_stat ns2 wg0 rx_queue_full) - q0))
		echo "ns2's decrypt ring overflowed $q times"
		# Nothing else dropped: ns2's drops and errors are those.
		assert_eq "$(drop_stats ns1)" "" "ns1 drop counters"
		assert_eq "$(drop_stats ns2 | sed 's/\<rx_queue_full:[0-9]*//; s/^ *//; s/ *$//')" "" \
			"ns2 drop counters but rx_queue_full"
		assert_eq "$(dev_errors ns1)" "$e1" "ns1 wg0 errors and drops"
		assert_eq "$(dev_errors ns2)" "$((e2 + q))" "ns2 wg0 errors and drops (rx_queue_full)"
	else
		# The in-tree driver may drop without counting (its full
		# decrypt ring is not in rx_dropped): shown, not asserted.
		assert_eq "$(dev_errors ns1)" "$e1" "ns1 wg0 errors and drops"
		echo "ns2 wg0 errors and drops +$(($(dev_errors ns2) - e2))"
		q=0
	fi
	# The tunnel carried what iperf3 counted: TCP segments of at most
	# 1368 bytes (IPv4 inside, timestamps) in messages of at most 1452,
	# with retransmissions and ACKs within a fifth more.  Without a drop
	# both ends count the same bytes.
	rx=$(($(wg_rx ns2 wg0 "$P1") - t0))
	echo "ns2 received $rx bytes of messages"
	[ "$rx" -ge "$bytes" ] || { echo "ns2 received fewer bytes than iperf3 counted"; return 1; }
	[ "$rx" -le $((bytes * 6 / 5)) ] || { echo "ns2 received over 1.2 x iperf3's bytes"; return 1; }
	if [ "$module" = "$WG_MODULE" ] && [ "$q" = 0 ] && [ "$o0" = 0 ]; then
		wait_for 10 transfer_agrees || {
			echo "ns1 tx $(wg_tx ns1 wg0 "$P2"), ns2 rx $(wg_rx ns2 wg0 "$P1");" \
				"ns2 tx $(wg_tx ns2 wg0 "$P1"), ns1 rx $(wg_rx ns1 wg0 "$P2")"
			return 1
		}
	fi
	assert_eq "$(wg_endpoint ns1 wg0 "$P2")" "$ep" "ns1's endpoint for ns2"
}

# bulk_v6 MODULE KIND: an IPv6-only link, iperf3 through the tunnel.
bulk_v6()
{
	use_module "$1"
	pair_setup "$2" 6
	bg_nsx /tmp/bulk-server.log ns2 iperf3 -s -B 10.10.0.2
	wait_for 20 tcp_listening 5201 ns2
	wait_for 30 tping ns1 10.10.0.2
	bulk 6 "$1"
	# IPv6 endpoints get one outer packet per message (README, send.c;
	# the in-tree driver sends every message alone).
	[ "$BULK_PKTS" -ge "$BULK_MSGS" ] ||
		{ echo "IPv6: $BULK_MSGS messages in only $BULK_PKTS packets"; return 1; }
}

t_bulk_v6()
{
	need_cmd iperf3
	need_stats
	bulk_v6 "$WG_MODULE" "$WG_KIND"
	# Outer batching is for IPv4 endpoints: the same traffic over IPv4
	# (both ends move there) leaves in fewer packets than messages.
	$IP -n ns1 addr add 192.0.2.1/24 dev v1
	$IP -n ns2 addr add 192.0.2.2/24 dev v2
	nsx ns1 "$WG" set wg0 peer "$P2" endpoint 192.0.2.2:10002
	nsx ns2 "$WG" set wg0 peer "$P1" endpoint 192.0.2.1:10001
	bulk 4 "$WG_MODULE"
	[ "$BULK_PKTS" -lt $((BULK_MSGS * 3 / 4)) ] ||
		{ echo "IPv4: $BULK_MSGS messages in $BULK_PKTS packets: not batched"; return 1; }
}

t_bulk_v6_intree()
{
	need_intree
	need_cmd iperf3
	bulk_v6 "$WG_REF_MODULE" wireguard
}

# --- message limits -----------------------------------------------------

# limits_load PARAM=VALUE: our module with a message limit lowered, and
# time_divisor=5 (REKEY_TIMEOUT, the least time between two initiations,
# 1 s); skips on a build without the knobs (the release build).
limits_load()
{
	local name=${1%%=*}
	reload_wg "$1" time_divisor=5 || skip "$WG_MODULE does not load with $1"
	at_case_exit 'reload_wg >/dev/null 2>&1'
	[ -e "/sys/module/$WG_MODULE/parameters/$name" ] ||
		skip "not a debug build (no $name)"
	assert_eq "$(cat "/sys/module/$WG_MODULE/parameters/$name")" "${1#*=}" "$name"
	assert_eq "$(cat "/sys/module/$WG_MODULE/parameters/time_divisor")" 5 time_divisor
}

# send_udp N: N datagrams from ns1 through the tunnel to ns2 (each one
# data message of ns1), paced.
send_udp()
{
	nsx ns1 "$WGPKT" send --to 10.10.0.2:9 --hex 00 --count "$1" --rate 2000 >/dev/null
}

# handshake_age_ge NS SECONDS: NS's last handshake is that old.
handshake_age_ge()
{
	local t
	t=$(nsx "$1" "$WG" show wg0 latest-handshakes | awk '{ print $2 }')
	[ "${t:-0}" -gt 0 ] && [ $(($(date +%s) - t)) -ge "$2" ]
}

LIMIT=1000

# A key that has sent more than REKEY_AFTER_MESSAGES messages starts a
# new handshake (at most one per REKEY_TIMEOUT: the case waits that long
# after the first); nothing is lost on the way.
t_rekey_messages()
{
	local hc tx ex r0 r1
	need_wgpkt
	need_stats
	limits_load "rekey_after_messages=$LIMIT"
	pair_setup "$WG_KIND" 4
	wait_for 30 tping ns1 10.10.0.2
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" 1 "ns1 handshakes_completed"
	# Under the limit (ns1 sent the keepalive and the echo request).
	send_udp $((LIMIT - 100))
	r0=$(dev_stat ns2 wg0 rx_packets)
	wait_for 10 handshake_age_ge ns1 2
	assert_eq "$(wg_stat ns1 wg0 handshakes_completed)" 1 "handshakes below the limit"
	# Over it: the next send after message LIMIT + 1 initiates.
	send_udp 200
	wait_stat 10 ns1 wg0 handshakes_completed 2
	wait_for 10 transfer_agrees
	r1=$(dev_stat ns2 wg0 rx_packets)
	echo "ns1: $(wg_stats ns1 wg0)"
	echo "ns2: $(wg_stats ns2 wg0)"
	# 200 datagrams, the response and the first message under the new key
	# (data or keepalive) arrived at ns2: nothing was dropped.
	[ $((r1 - r0)) -ge 200 ] || { echo "ns2 received $((r1 - r0)) packets for 200 datagrams"; return 1; }
	assert_eq "$(drop_stats ns1)" "" "ns1 drop counters"
	assert_eq "$(drop_stats ns2)" "" "ns2 drop counters"
	tping ns1 10.10.0.2 >/dev/null
	tping ns2 10.10.0.1 >/dev/null
}

# A key that has sent REJECT_AFTER_MESSAGES messages is used no more: the
# next packet waits (staged) for a new handshake (tx_key_exhausted), then
# goes out under the new key.  ns2 has the same limit: a message under the
# old key past it would count as rx_expired_keypair there.
t_reject_messages()
{
	local r0 r1 hc
	need_wgpkt
	need_stats
	limits_load "reject_after_messages=$LIMIT"
	pair_setup "$WG_KIND" 4
	wait_for 30 tping ns1 10.10.0.2
	wait_for 10 handshake_age_ge ns1 2
	r0=$(dev_stat ns2 wg0 rx_packets)
	# ns1 has sent 2 messages (keepalive, echo request): 1,100 more cross
	# the limit; the last 102 wait for the new handshake (fewer than the
	# 128 a peer stages).
	send_udp 1100
	wait_stat 10 ns1 wg0 tx_key_exhausted 1
	wait_stat 10 ns1 wg0 handshakes_completed 2
	wait_for 10 transfer_agrees
	r1=$(dev_stat ns2 wg0 rx_packets)
	echo "ns1: $(wg_stats ns1 wg0)"
	echo "ns2: $(wg_stats ns2 wg0)"
	[ $((r1 - r0)) -ge 1100 ] || { echo "ns2 received $((r1 - r0)) packets for 1100 datagrams"; return 1; }
	assert_eq "$(wg_stat ns2 wg0 rx_expired_keypair)" 0 "ns2 rx_expired_keypair"
	assert_eq "$(wg_stat ns1 wg0 tx_staged_overflow)" 0 "ns1 tx_staged_overflow"
	assert_eq "$(drop_stats ns2)" "" "ns2 drop counters"
	tping ns1 10.10.0.2 >/dev/null
	tping ns2 10.10.0.1 >/dev/null
}

# --- decrypt ring overflow ------------------------------------------------

# replay_flood MODULE KIND: ns2 replays one captured data message of
# 1,264 bytes to ns1 (each replay is decrypted before the replay check
# drops it) faster than ns1 decrypts: one sender per CPU, each SCHED_FIFO,
# so that the kernel's workers (decryption) get only what RT throttling
# leaves them.  With our module, rounds repeat (at most
# wgtest.rxrounds, 5) until rx_queue_full moves: how far the workers fall
# behind in one round depends on the scheduler and the host.  Prints
# "<datagrams ns1's UDP received> <ns1 wg0 rx_dropped> <rx_errors>
# <rounds>" deltas over all rounds.
replay_flood()
{
	local module=$1 kind=$2 d0 e0 u0 q0 rounds=0 max=1
	use_module "$module"
	pair_setup "$kind" 4
	wait_for 30 tping ns2 10.10.0.1
	capture_start ns1 v1 /tmp/rq-data.bin --dport 10001 --type 4 \
		--min-len 1000 --direction in --timeout 10
	nsx ns2 "$PING" -c 1 -W 3 -s 1200 10.10.0.1 >/dev/null
	capture_wait >/dev/null
	u0=$(udp_in ns1) d0=$(dev_stat ns1 wg0 rx_dropped) e0=$(dev_stat ns1 wg0 rx_errors)
	if [ "$module" = "$WG_MODULE" ]; then
		q0=$(wg_stat ns1 wg0 rx_queue_full)
		echo "$q0 $(wg_stat ns1 wg0 rx_replay)" \
			"$(wg_stat ns1 wg0 rx_keepalives)" >/tmp/rq-base
		max=$(wgtest_arg rxrounds 5)
	fi
	while [ "$rounds" -lt "$max" ]; do
		rounds=$((rounds + 1))
		replay_round
		wait_for 20 rx_settled ns1
		[ "$module" != "$WG_MODULE" ] ||
			[ "$(wg_stat ns1 wg0 rx_queue_full)" = "$q0" ] || break
	done
	echo "$(($(udp_in ns1) - u0)) $(($(dev_stat ns1 wg0 rx_dropped) - d0)) $(($(dev_stat ns1 wg0 rx_errors) - e0)) $rounds"
}

# replay_round: each CPU's sender replays /tmp/rq-data.bin
# wgtest.rxflood (2,000) times.
replay_round()
{
	local count cpu pids=() p
	count=$(wgtest_arg rxflood 2000)
	for cpu in $(seq 0 $(($(nproc) - 1))); do
		nsx ns2 taskset $((1 << cpu)) "$WGPKT" send --fifo \
			--to 192.0.2.1:10001 --file /tmp/rq-data.bin --count "$count" \
			>"/tmp/rq-send-$cpu.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || { cat /tmp/rq-send-*.log >&2; return 1; }
	done
	cat /tmp/rq-send-*.log >&2
}

# rx_settled NS: rx_dropped did not move for half a second.
rx_settled()
{
	local a
	a=$(dev_stat "$1" wg0 rx_dropped)
	sleep 0.5
	[ "$(dev_stat "$1" wg0 rx_dropped)" = "$a" ]
}

t_rx_queue_full()
{
	local q r k q0 r0 k0 n drop err rounds out
	need_wgpkt
	need_stats
	need_iputils_ping
	# Not in $(...): set -e must hold inside, and the namespaces stay.
	replay_flood "$WG_MODULE" "$WG_KIND" >/tmp/rq-line
	read -r n drop err rounds </tmp/rq-line
	read -r q0 r0 k0 </tmp/rq-base
	q=$(($(wg_stat ns1 wg0 rx_queue_full) - q0))
	r=$(($(wg_stat ns1 wg0 rx_replay) - r0))
	k=$(($(wg_stat ns1 wg0 rx_keepalives) - k0))
	echo "$rounds round(s): ns1's UDP received $n datagrams: rx_queue_full $q, rx_replay $r, rx_keepalives $k;" \
		"wg0 rx_dropped +$drop, rx_errors +$err"
	echo "ns1: $(wg_stats ns1 wg0)"
	[ "$q" -gt 0 ] || { echo "the decrypt ring never overflowed in $rounds rounds"; return 1; }
	# Every replay is accounted for: dropped as a replay or for a full
	# ring, and counted in rx_dropped (a keepalive of ns2 may come in
	# the meantime).
	assert_eq $((q + r + k)) "$n" "rx_queue_full + rx_replay + rx_keepalives"
	assert_eq "$drop" $((q + r)) "wg0 rx_dropped"
	assert_eq "$err" 0 "wg0 rx_errors"
	assert_eq "$(wg_stat ns1 wg0 rx_auth_fail)" 0 rx_auth_fail
	# The device recovers: a flood ping both ways, every reply back.
	out=$(nsx ns2 "$PING" -f -c 200 -w 30 10.10.0.1 2>&1 || true)
	assert_eq "$(ping_received "$out")" 200 "echo replies to ns2 after the flood"
	out=$(nsx ns1 "$PING" -f -c 200 -w 30 10.10.0.2 2>&1 || true)
	assert_eq "$(ping_received "$out")" 200 "echo replies to ns1 after the flood"
	assert_eq "$(($(wg_stat ns1 wg0 rx_queue_full) - q0))" "$q" "rx_queue_full after the flood"
}

t_rx_queue_full_intree()
{
	local n drop err out
	need_intree
	need_wgpkt
	need_iputils_ping
	replay_flood "$WG_REF_MODULE" wireguard >/tmp/rq-line
	read -r n drop err _ </tmp/rq-line
	echo "in-tree: ns1's UDP received $n replays; wg0 rx_dropped +$drop, rx_errors +$err"
	out=$(nsx ns2 "$PING" -f -c 200 -w 30 10.10.0.1 2>&1 || true)
	assert_eq "$(ping_received "$out")" 200 "echo replies to ns2 after the flood"
	out=$(nsx ns1 "$PING" -f -c 200 -w 30 10.10.0.2 2>&1 || true)
	assert_eq "$(ping_received "$out")" 200 "echo replies to ns1 after the flood"
}

ktap_plan 8
run_case "cookie replies under a handshake flood, initiator completes with MAC2" t_cookie_ours
run_case "in-tree driver under the same flood: cookie reply, then a response to MAC2" t_cookie_intree
run_case "iperf3 over an IPv6 outer endpoint: intact, every drop counted; batching IPv4 only" t_bulk_v6
run_case "iperf3 over an IPv6 outer endpoint with the in-tree driver" t_bulk_v6_intree
run_case "REKEY_AFTER_MESSAGES: a new handshake, nothing lost (rekey_after_messages=$LIMIT)" t_rekey_messages
run_case "REJECT_AFTER_MESSAGES: key retired, traffic resumes under a new one (reject_after_messages=$LIMIT)" t_reject_messages
run_case "decrypt ring overflowed by replayed data (rx_queue_full), device recovers" t_rx_queue_full
run_case "replayed data flood with the in-tree driver, device recovers" t_rx_queue_full_intree
ktap_finished
