#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Authenticated packet fuzzer: wgauth (selftests/tools/wgauth.c), a
# WireGuard initiator of its own, completes a real handshake with our wg0
# and sends correctly encrypted transport messages whose inner packets are
# hostile.  Each kind must land in its own drop counter, nothing else may
# change, nothing may reach the stack, and the session must stay usable:
#
#   t: vt 192.0.2.2/24 2001:db8::2/64   wgauth (its own key, a preshared key)
#   a: va 192.0.2.1/24 2001:db8::1/64   wg0's UDP sockets, port 51820
#   w: wg0 10.20.0.1/24 fd20::1/64      wg0, made in a and moved here, so
#                                       that w's IP counters (InReceives)
#                                       count only what wg0 delivers
#   wg0's one peer: wgauth, allowed-ips 10.20.0.2/32, fd20::2/128
#
# Every wgauth run is a new handshake (handshakes_completed + 1) and ends
# with a ping on the same session (--check): its reply proves the session
# still works, and, since a peer's packets are delivered in order, that
# every message sent before it has been counted.
#
# Stricter than a plain implementation, deliberately: an IPv4 header with
# ihl < 5 or longer than tot_len is dropped and counted by wg0 (as
# rx_bad_inner_packet) instead of being handed to the stack, which would
# drop it too, but as its own header error (InHdrErrors) after InReceives.
#
# Needs in the guest: ethtool and the wgauth tool.
. /selftests/lib.sh
. /selftests/tunnel-lib.sh

WGAUTH=
for _p in /selftests/tools/wgauth /usr/bin/wgauth; do
	if [ -x "$_p" ]; then WGAUTH=$_p; break; fi
done
unset _p

N=$(wgtest_arg authfuzz_n 64)
PORT=51820
KW="" PW="" KT="" PT=""
AUTH_KEY=/tmp/wgauth.key
AUTH_PSK=/tmp/wgauth.psk

auth_setup()
{
	[ -n "$WGAUTH" ] || skip "wgauth missing (selftests/tools/wgauth.c)"
	need_stats
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
	umask 077
	ns_add t a w
	veth_pair t vt a va
	$IP -n t addr add 192.0.2.2/24 dev vt
	$IP -n a addr add 192.0.2.1/24 dev va
	$IP -n t addr add 2001:db8::2/64 dev vt nodad
	$IP -n a addr add 2001:db8::1/64 dev va nodad
	wg_keypair KW PW
	wg_keypair KT PT
	printf '%s\n' "$KT" >"$AUTH_KEY"
	"$WG" genpsk >"$AUTH_PSK"
	wg_dev_add a wg0
	wg_set_key a wg0 "$KW"
	nsx a "$WG" set wg0 listen-port "$PORT" peer "$PT" \
		preshared-key "$AUTH_PSK" allowed-ips 10.20.0.2/32,fd20::2/128
	$IP -n a link set wg0 netns w
	$IP -n w addr add 10.20.0.1/24 dev wg0
	$IP -n w addr add fd20::1/64 dev wg0 nodad
	$IP -n w link set wg0 up
}

# wgauth_run [OPTIONS] send KIND ...: wgauth in t, as wg0's peer.
wgauth_run()
{
	nsx t "$WGAUTH" --key "$AUTH_KEY" --peer-pub "$PW" --psk "$AUTH_PSK" \
		--to "${AUTH_TO:-192.0.2.1:$PORT}" --src 10.20.0.2 --dst 10.20.0.1 \
		--src fd20::2 --dst fd20::1 "$@"
}

# delivered: inner packets w's stack has received (IPv4 + IPv6).
delivered()
{
	echo $(($(snmp_sum w Ip InReceives) + $(snmp_sum w snmp6 Ip6InReceives)))
}

# counters: "name value" of wg0's ethtool counters, but tx_direct and
# tx_order_waits (how packets went, not what happened to them).
counters()
{
	nsx w ethtool -S wg0 | awk 'NF == 2 && $1 ~ /:$/ {
		sub(/:$/, "", $1)
		if ($1 != "tx_direct" && $1 != "tx_order_waits") print $1, $2
	}'
}

# changed BEFORE AFTER: "name=delta ..." of the counters that changed.
changed()
{
	awk 'NR == FNR { v[$1] = $2; next }
		$2 != v[$1] { printf "%s%s=%d", s, $1, $2 - v[$1]; s = " " }
		END { print "" }' <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

# --- the tool against the module ------------------------------------------

# Handshake and ping, IPv4 and IPv6 inside, IPv4 and IPv6 outside; the
# transport messages are padded as a real peer pads them.  A wrong
# preshared key: the response does not verify, wgauth gives up.
t_handshake()
{
	local before after out d0
	auth_setup
	before=$(counters)
	d0=$(delivered)
	out=$(wgauth_run send ping --count 3)
	echo "$out"
	assert_match "$out" '^handshake ok local=0x[0-9a-f]{8} remote=0x[0-9a-f]{8}$' wgauth
	assert_match "$out" '^reply 10\.20\.0\.1 > 10\.20\.0\.2 echo-reply id=[0-9]+ seq=3 ' "third reply"
	assert_eq "$(grep -c '^reply ' <<<"$out")" 3 "echo replies"
	wait_for 10 wg_handshake_done w wg0
	assert_match "$(wg_endpoint w wg0 "$PT")" '^192\.0\.2\.2:[0-9]+$' "endpoint learned"
	out=$(AUTH_TO="[2001:db8::1]:$PORT" wgauth_run send ping -6 --count 2)
	echo "$out"
	assert_match "$out" '^reply fd20::1 > fd20::2 echo-reply id=[0-9]+ seq=2 ' "IPv6 reply"
	assert_match "$(wg_endpoint w wg0 "$PT")" '^\[2001:db8::2\]:[0-9]+$' "IPv6 endpoint learned"
	after=$(counters)
	assert_eq "$(changed "$before" "$after")" "handshakes_completed=2" "counters changed"
	assert_eq $(($(delivered) - d0)) 5 "echo requests delivered"

	"$WG" genpsk >/tmp/wgauth.wrong
	out=$(nsx t "$WGAUTH" --key "$AUTH_KEY" --peer-pub "$PW" --psk /tmp/wgauth.wrong \
		--to 192.0.2.1:$PORT --timeout 3 --src 10.20.0.2 --dst 10.20.0.1 \
		send ping 2>&1) && { echo "$out"; echo "a wrong preshared key completed a handshake"; return 1; }
	echo "$out" | tail -n 2
	assert_match "$out" '^handshake failed' "wgauth with a wrong preshared key"
}

# t_hostile KIND COUNTER [WGAUTH ARGS...]: N messages of KIND move COUNTER
# by N and nothing else; the stack receives only the check ping (and, for
# replay and old-counter, the first ping that sets the counter).
t_hostile()
{
	local kind=$1 stat=$2 before after out d0 d1 extra=0
	shift 2
	case $kind in
	replay|old-counter) extra=1 ;;
	esac
	auth_setup
	before=$(counters)
	d0=$(delivered)
	out=$(wgauth_run send "$kind" --count "$N" --check "$@") ||
		{ echo "$out"; tunnel_diag w; return 1; }
	d1=$(delivered)
	after=$(counters)
	echo "$out" | grep -v '^reply' || true
	assert_match "$out" "^sent $kind $N\$" wgauth
	assert_match "$out" '^check ok$' "ping on the same session afterwards"
	assert_eq "$(changed "$before" "$after")" "$stat=$N handshakes_completed=1" \
		"counters changed"
	assert_eq $((d1 - d0)) $((1 + extra)) "inner packets delivered to w's stack"
}

# Seeded random inner packets (empty, random bytes, IPv4 and IPv6 headers
# with random fields and lengths): each is delivered or dropped by exactly
# one counter, and only the inner-packet counters move.  The kernel log
# is checked after all scripts (guest-init).
t_random()
{
	local seed before after out d0 d1 ch k v sum total=0
	auth_setup
	for seed in 1 2 3; do
		before=$(counters)
		d0=$(delivered)
		out=$(wgauth_run send random --seed "$seed" --count $((N * 6)) --check) ||
			{ echo "$out"; tunnel_diag w; return 1; }
		d1=$(delivered)
		after=$(counters)
		assert_match "$out" '^check ok$' "seed $seed: ping on the same session afterwards"
		ch=$(changed "$before" "$after")
		echo "seed $seed: $((N * 6)) sent, $((d1 - d0 - 1)) delivered, $ch"
		sum=0
		for k in $ch; do
			v=${k#*=}
			case ${k%%=*} in
			rx_bad_inner_packet|rx_src_not_allowed|rx_keepalives)
				sum=$((sum + v)) ;;
			handshakes_completed)
				assert_eq "$v" 1 "seed $seed: handshakes" ;;
			*)
				echo "seed $seed: unexpected counter ${k%%=*} moved by $v"
				return 1 ;;
			esac
		done
		assert_eq $((d1 - d0 - 1 + sum)) $((N * 6)) "seed $seed: delivered + dropped"
		total=$((total + d1 - d0 - 1))
	done
	# Some made it through, so the allowed-source path was exercised.
	[ "$total" -gt 0 ] || { echo "no random packet was delivered"; return 1; }
}

ktap_plan 14
run_case "wgauth: handshake, ping both ways (IPv4, IPv6; wrong psk fails)" t_handshake
run_case "keepalives: rx_keepalives" t_hostile keepalive rx_keepalives
run_case "version nibble 5/0/7/15: rx_bad_inner_packet" t_hostile bad-version rx_bad_inner_packet
run_case "IPv4 shorter than 20 bytes: rx_bad_inner_packet" t_hostile short-ipv4 rx_bad_inner_packet
run_case "IPv4 tot_len beyond the packet: rx_bad_inner_packet" t_hostile ipv4-totlen-long rx_bad_inner_packet
run_case "IPv4 tot_len below ihl*4: rx_bad_inner_packet" t_hostile ipv4-totlen-short rx_bad_inner_packet
run_case "IPv4 ihl below 5: rx_bad_inner_packet" t_hostile ipv4-bad-ihl rx_bad_inner_packet
run_case "IPv6 payload_len beyond the packet: rx_bad_inner_packet" t_hostile ipv6-plen-long rx_bad_inner_packet
run_case "IPv6 shorter than 40 bytes: rx_bad_inner_packet" t_hostile short-ipv6 rx_bad_inner_packet
run_case "IPv4 source outside allowed-ips: rx_src_not_allowed" t_hostile src-not-allowed rx_src_not_allowed
run_case "IPv6 source outside allowed-ips: rx_src_not_allowed" t_hostile src-not-allowed rx_src_not_allowed -6
run_case "same counter again: rx_replay" t_hostile replay rx_replay
run_case "counters behind the replay window: rx_replay" t_hostile old-counter rx_replay
run_case "seeded random inner packets: delivered + dropped = sent" t_random
ktap_finished
