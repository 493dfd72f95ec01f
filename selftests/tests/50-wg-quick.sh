#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What most users run: wg-quick, and the requests systemd-networkd and
# NetworkManager send (link kind "wireguard", generic netlink family
# "wireguard"), answered by our module.  The tunnel cases use
#
#   client ------------ server ------------ internet
#   eth0 192.0.2.2      eth0 192.0.2.1      eth0 198.51.100.2
#        2001:db8:1::2       2001:db8:1::1       2001:db8:2::2
#   wg0  10.8.0.2       eth1 198.51.100.1   lo   1.1.1.1
#        fd08::2             2001:db8:2::1       2606:4700:4700::1111
#   (wg-quick, full     wg0  10.8.0.1       (busybox httpd on :80)
#    tunnel)                 fd08::1
#                       (forwarding, MASQUERADE out of eth1; forwarding
#                        from eth0 refused, so the internet is reachable
#                        only through the tunnel)
#
# and for roaming a NAT router between client and server:
#
#   client eth0 192.0.2.2 -- 192.0.2.1 nat 203.0.113.2 (.3) -- 203.0.113.1 server
. /selftests/lib.sh
. /selftests/tunnel-lib.sh

ktap_plan 13

PAGE="wg-quick selftest page"

# --- helpers ------------------------------------------------------------

# Our module loaded, the in-tree one not (an earlier script may use it).
only_our_module()
{
	if [ -d /sys/module/wireguard ]; then modprobe -r wireguard; fi
	load_wg
}

# driver_of NS DEV: the driver ethtool reports (wg for ours, wireguard
# for the in-tree module); NS "-" is the root namespace.
driver_of()
{
	if [ "$1" = - ]; then
		ethtool -i "$2"
	else
		nsx "$1" ethtool -i "$2"
	fi | awk '$1 == "driver:" { print $2 }'
}

# kernel log lines since line N (the debug build's self-test lines aside).
klog_since()
{
	dmesg | tail -n +"$(($1 + 1))" | grep -v 'self-tests: pass' || true
}

klog_lines()
{
	dmesg | wc -l
}

# ns_nodad NS...: namespaces whose new interfaces skip IPv6 DAD.
ns_nodad()
{
	local ns
	ns_add "$@"
	for ns in "$@"; do
		nsx "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
		nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0
	done
}

port_open()
{
	nsx "$1" ss -Htln "sport = :$2" | grep -q .
}

# topo [nat]: the namespaces above; sets SERVER_ADDR (the client's view of
# the server) and WORK (a private directory for configs and logs).
topo()
{
	WORK=$(mktemp -d /tmp/wgq.XXXXXX)
	at_case_exit "rm -rf $WORK"
	mkdir -m 0700 "$WORK/client" "$WORK/server" "$WORK/www"
	echo "$PAGE" >"$WORK/www/index.html"

	ns_nodad client server internet
	if [ "${1:-}" = nat ]; then
		ns_nodad nat
		veth_pair client eth0 nat eth0
		veth_pair nat eth1 server eth0
		$IP -n nat addr add 192.0.2.1/24 dev eth0
		$IP -n nat addr add 203.0.113.2/24 dev eth1
		$IP -n nat addr add 203.0.113.3/24 dev eth1
		$IP -n server addr add 203.0.113.1/24 dev eth0
		nsx nat sysctl -qw net.ipv4.ip_forward=1
		nsx nat iptables -t nat -A POSTROUTING -o eth1 -j SNAT --to-source 203.0.113.2
		SERVER_ADDR=203.0.113.1
	else
		veth_pair client eth0 server eth0
		$IP -n server addr add 192.0.2.1/24 dev eth0
		$IP -n server addr add 2001:db8:1::1/64 dev eth0
		$IP -n client addr add 2001:db8:1::2/64 dev eth0
		$IP -n client -6 route add default via 2001:db8:1::1
		SERVER_ADDR=192.0.2.1
	fi
	$IP -n client addr add 192.0.2.2/24 dev eth0
	$IP -n client route add default via 192.0.2.1

	veth_pair server eth1 internet eth0
	$IP -n server addr add 198.51.100.1/24 dev eth1
	$IP -n server addr add 2001:db8:2::1/64 dev eth1
	$IP -n internet addr add 198.51.100.2/24 dev eth0
	$IP -n internet addr add 2001:db8:2::2/64 dev eth0
	$IP -n internet addr add 1.1.1.1/32 dev lo
	$IP -n internet addr add 2606:4700:4700::1111/128 dev lo
	$IP -n server route add 1.1.1.1/32 via 198.51.100.2
	$IP -n server route add 2606:4700:4700::1111/128 via 2001:db8:2::2
	nsx server sysctl -qw net.ipv4.ip_forward=1
	nsx server sysctl -qw net.ipv6.conf.all.forwarding=1
	nsx server iptables -A FORWARD -i eth0 -j DROP
	nsx server ip6tables -A FORWARD -i eth0 -j DROP

	bg_nsx "$WORK/httpd.log" internet httpd -f -p 80 -h "$WORK/www"
	wait_for 10 port_open internet 80

	wg_keypair CLIENT_PRIV CLIENT_PUB
	wg_keypair SERVER_PRIV SERVER_PUB
}

# server_conf [EXTRA-PEER-LINE]: the server's wg-quick file (NAT set up
# by its hooks).
server_conf()
{
	cat >"$WORK/server/wg0.conf" <<-EOF
	[Interface]
	PrivateKey = $SERVER_PRIV
	ListenPort = 51820
	Address = 10.8.0.1/24, fd08::1/64
	PostUp = iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE; ip6tables -t nat -A POSTROUTING -o eth1 -j MASQUERADE
	PostDown = iptables -t nat -D POSTROUTING -o eth1 -j MASQUERADE; ip6tables -t nat -D POSTROUTING -o eth1 -j MASQUERADE

	[Peer]
	PublicKey = $CLIENT_PUB
	AllowedIPs = 10.8.0.2/32, fd08::2/128
	${1:-}
	EOF
	chmod 0600 "$WORK/server/wg0.conf"
}

# client_conf ENDPOINT [EXTRA-PEER-LINES]: a full-tunnel client.
client_conf()
{
	cat >"$WORK/client/wg0.conf" <<-EOF
	[Interface]
	PrivateKey = $CLIENT_PRIV
	Address = 10.8.0.2/32, fd08::2/128

	[Peer]
	PublicKey = $SERVER_PUB
	Endpoint = $1
	AllowedIPs = 0.0.0.0/0, ::/0
	${2:-}
	EOF
	chmod 0600 "$WORK/client/wg0.conf"
}

# wgq NS up|down|save|strip: wg-quick on NS's wg0.conf; fails if wg-quick
# fell back to wireguard-go or the device is not ours.
wgq()
{
	local out rc=0
	out=$(nsx "$1" wg-quick "$2" "$WORK/$1/wg0.conf" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed "s/^/$1: /"
	[ $rc -eq 0 ] || return $rc
	assert_eq "$(printf '%s\n' "$out" | grep -c 'userspace implementation' || true)" 0 \
		"wg-quick fell back to wireguard-go"
	if [ "$2" = up ]; then
		assert_eq "$(driver_of "$1" wg0)" wg "driver of $1's wg0"
	fi
}

both_up()
{
	wgq server up
	wgq client up
}

# fetch NS URL [TIMEOUT]: the page, through whatever route NS has.
fetch()
{
	nsx "$1" timeout "${3:-10}" wget -q -O - "$2"
}

# page_ok NS URL [TIMEOUT]
page_ok()
{
	[ "$(fetch "$@")" = "$PAGE" ]
}

# net_state NS: routing rules, every table, wg-quick's firewall rules.
net_state()
{
	local f
	for f in -4 -6; do
		echo "== ip $f rule"
		nsx "$1" $IP $f rule show
		echo "== ip $f route show table all"
		nsx "$1" $IP $f route show table all
	done
	echo "== iptables/ip6tables rules"
	nsx "$1" iptables-save | grep '^-A' || true
	nsx "$1" ip6tables-save | grep '^-A' || true
	if command -v nft >/dev/null; then
		echo "== nft tables"
		nsx "$1" nft list tables
	fi
}

# --- cases ----------------------------------------------------------------

t_kind_wireguard_is_ours()
{
	only_our_module
	$IP link add wgq0 type wireguard
	link_add_cleanup wgq0
	$IP -d link show dev wgq0
	assert_match "$($IP -d link show dev wgq0)" 'wireguard' "ip -d link kind"
	assert_eq "$(driver_of - wgq0)" wg "driver"
	expect_fail test -d /sys/module/wireguard
	$WG set wgq0 listen-port 51820
	assert_eq "$($WG show wgq0 listen-port)" 51820 "listen port"
	$IP link del wgq0
}

# wg show / wg show all / wg show interfaces (and wg-quick down, which
# checks `wg show interfaces`) find devices by their rtnl kind.
t_wg_lists_both_kinds()
{
	only_our_module
	ns_add lst
	wg_dev_add lst wga wireguard
	wg_dev_add lst wgb wg
	nsx lst $WG show interfaces
	nsx lst $IP -d -o link show | grep -o '^[0-9]*: wg[ab]:.*' | grep -o ' \(wg\|wireguard\) ' || true
	assert_eq "$(nsx lst $WG show interfaces | tr ' ' '\n' | sort | tr '\n' ' ')" \
		"wga wgb " "wg show interfaces"
}

link_add_cleanup()
{
	_case_links="$_case_links $1"
}

t_unload()
{
	if [ -d /sys/module/wireguard ]; then modprobe -r wireguard; fi
	unload_wg
	expect_fail test -d "/sys/module/$WG_MODULE"
}

t_intree_conflict()
{
	local n log rc=0 bad=0
	unload_wg
	modprobe wireguard
	at_case_exit "modprobe -r wireguard 2>/dev/null"
	n=$(klog_lines)
	modprobe "$WG_MODULE" || rc=$?
	log=$(klog_since "$n")
	echo "modprobe $WG_MODULE: exit status $rc; kernel log:"
	printf '%s\n' "$log"
	if [ -d "/sys/module/$WG_MODULE" ]; then
		echo "$WG_MODULE loaded next to the in-tree module"
		return 1
	fi
	if [ "$rc" -eq 0 ]; then
		# kmod takes EEXIST from init_module for "already loaded".
		echo "modprobe reported success for a refused load; insmod says:"
		insmod "/lib/modules/$(uname -r)/extra/$WG_MODULE.ko" 2>&1 || true
		bad=1
	fi
	assert_eq "$(printf '%s\n' "$log" | grep -c .)" 1 "kernel log lines" || bad=1
	assert_match "$log" 'wireguard' "log names the conflict" || bad=1
	assert_match "$log" 'rmmod wireguard' "log names the remedy" || bad=1

	# Meanwhile kind "wireguard" belongs to the in-tree module.
	$IP link add wgq0 type wireguard
	assert_eq "$(driver_of - wgq0)" wireguard "driver"
	$IP link del wgq0

	modprobe -r wireguard
	n=$(klog_lines)
	load_wg
	log=$(klog_since "$n")
	echo "kernel log of the load after rmmod wireguard:"
	printf '%s\n' "$log"
	if printf '%s\n' "$log" | grep -Eq 'taken|already registered'; then
		echo "a clean load reports a conflict"
		return 1
	fi
	$IP link add wgq0 type wireguard
	assert_eq "$(driver_of - wgq0)" wg "driver"
	$IP link del wgq0
	[ $bad = 0 ]
}

# module/wg-modprobe.conf (make install-modprobe-conf): both the genl
# family and the link kind autoload wg; without it they load the in-tree
# module again.
t_modprobe_conf()
{
	unload_wg
	if [ -d /sys/module/wireguard ]; then modprobe -r wireguard; fi
	mkdir -p /etc/modprobe.d
	cp /selftests/wg-modprobe.conf /etc/modprobe.d/wg.conf
	at_case_exit "rm -f /etc/modprobe.d/wg.conf"

	# wg asks for the genl family only when it names a device.
	expect_fail $WG show wgq0
	test -d "/sys/module/$WG_MODULE"
	expect_fail test -d /sys/module/wireguard
	modprobe -r "$WG_MODULE"

	$IP link add wgq0 type wireguard
	assert_eq "$(driver_of - wgq0)" wg "driver"
	expect_fail test -d /sys/module/wireguard
	$IP link del wgq0
	modprobe -r "$WG_MODULE"

	# Going back: the in-tree module answers again.
	rm /etc/modprobe.d/wg.conf
	echo "without wg.conf the genl family would load:"
	modprobe --show-depends net-pf-16-proto-16-family-wireguard || true
	$IP link add wgq0 type wireguard
	assert_eq "$(driver_of - wgq0)" wireguard "driver"
	$IP link del wgq0
	modprobe -r wireguard
	load_wg
}

# What systemd-networkd (.netdev Kind=wireguard) and NetworkManager send:
# RTM_NEWLINK kind "wireguard" with IFLA_MTU, then one WG_CMD_SET_DEVICE
# with REPLACE_PEERS and per-peer REPLACE_ALLOWEDIPS; NetworkManager
# names the device by WGDEVICE_A_IFINDEX (here through wgnl).
t_networkd_nm_requests()
{
	local k1 p1 k2 p2 idx f
	need_cmd wgnl
	only_our_module
	ns_nodad a b
	veth_pair a eth0 b eth0
	$IP -n a addr add 192.0.2.1/24 dev eth0
	$IP -n b addr add 192.0.2.2/24 dev eth0
	wg_keypair k1 p1
	wg_keypair k2 p2

	# networkd: link with MTU, then the whole configuration by name.
	$IP -n a link add wg0 mtu 1400 type wireguard
	assert_eq "$(driver_of a wg0)" wg "driver"
	assert_eq "$(nsx a cat /sys/class/net/wg0/mtu)" 1400 "mtu"
	f=$(mktemp /tmp/wgq-conf.XXXXXX)
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nFwMark = 0x42\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.8.0.2/32\nEndpoint = 192.0.2.2:51820\nPersistentKeepalive = 5\n' \
		"$k1" "$p2" >"$f"
	nsx a $WG setconf wg0 "$f"
	rm -f "$f"
	$IP -n a addr add 10.8.0.1/24 dev wg0
	$IP -n a link set wg0 up

	# NetworkManager: by ifindex, replace-peers + replace-allowed-ips.
	$IP -n b link add wg0 type wireguard
	idx=$(nsx b cat /sys/class/net/wg0/ifindex)
	nsx b wgnl set --ifindex "$idx" private-key "$k2" listen-port 51820 replace-peers \
		peer "$p1" replace-allowed-ips endpoint 192.0.2.1:51820 \
		allowedip 10.8.0.1/32
	$IP -n b addr add 10.8.0.2/24 dev wg0
	$IP -n b link set wg0 up

	assert_eq "$(nsx a $WG show wg0 fwmark)" 0x42 "fwmark"
	assert_eq "$(nsx b $WG show wg0 allowed-ips)" "$p1	10.8.0.1/32" "allowed ips by ifindex"
	wait_for 20 tping b 10.8.0.1
	wait_for 10 wg_handshake_done a wg0
	nsx a $WG show wg0

	# A second full request replaces, as both daemons expect on reload.
	nsx b wgnl set --ifindex "$idx" replace-peers peer "$p1" replace-allowed-ips \
		endpoint 192.0.2.1:51820 allowedip 10.8.0.0/24
	assert_eq "$(nsx b $WG show wg0 allowed-ips)" "$p1	10.8.0.0/24" "allowed ips replaced"
	tping b 10.8.0.1
}

t_full_tunnel()
{
	local endpoint=$1 route
	only_our_module
	topo
	server_conf
	client_conf "$endpoint"

	echo "before wg-quick up: $(nsx client $IP route get 1.1.1.1)"
	expect_fail page_ok client http://1.1.1.1/ 3

	both_up
	route=$(nsx client $IP route get 1.1.1.1)
	echo "$route"
	assert_match "$route" 'dev wg0 table 51820' "route to 1.1.1.1"
	route=$(nsx client $IP -6 route get 2606:4700:4700::1111)
	echo "$route"
	assert_match "$route" 'dev wg0 table 51820' "route to 2606:4700:4700::1111"
	nsx client $IP rule show
	nsx client $IP -6 rule show

	wait_for 20 page_ok client http://1.1.1.1/
	wait_for 20 page_ok client 'http://[2606:4700:4700::1111]/'
	wait_for 10 wg_handshake_done client wg0
	wait_for 10 wg_handshake_done server wg0
	nsx server $WG show
	assert_match "$(wg_endpoint server wg0 "$CLIENT_PUB")" "^\[?(192.0.2.2|2001:db8:1::2)\]?:[0-9]+$" \
		"client endpoint seen by the server"
	# The server's view of the fetch: masqueraded, so from 198.51.100.1.
	[ "$(wg_rx server wg0 "$CLIENT_PUB")" -gt 0 ]

	wgq client down
	wgq server down
	expect_fail nsx client test -e /sys/class/net/wg0
	assert_match "$(nsx client $IP route get 1.1.1.1)" 'via 192.0.2.1 dev eth0' "route after down"
	expect_fail page_ok client http://1.1.1.1/ 3
}

# wg-quick down leaves the routing rules, every table and the firewall as
# they were before up, both families.
t_down_restores()
{
	local before during after
	only_our_module
	topo
	server_conf
	client_conf "$SERVER_ADDR:51820"
	# A rule and a table of the client's own, which must survive.
	nsx client $IP rule add from 192.0.2.2 table 100 priority 1000
	nsx client $IP route add 203.0.113.0/24 via 192.0.2.1 table 100
	nsx client $IP -6 rule add from 2001:db8:1::2 table 100 priority 1000
	before=$(net_state client)

	both_up
	during=$(net_state client)
	assert_match "$during" 'not from all fwmark 0xca6c lookup 51820' "IPv4 fwmark rule"
	assert_match "$during" 'from all lookup main suppress_prefixlength 0' "suppress rule"
	[ "$(printf '%s\n' "$during" | grep -c 'lookup 51820')" -eq 2 ]
	[ "$(printf '%s\n' "$during" | grep -c 'suppress_prefixlength 0')" -eq 2 ]
	assert_match "$during" 'default dev wg0 table 51820' "table 51820"
	wait_for 20 page_ok client http://1.1.1.1/

	wgq client down
	after=$(net_state client)
	if [ "$before" != "$after" ]; then
		echo "state changed by wg-quick up + down:"
		diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") || true
		return 1
	fi
	printf '%s\n' "$after"
	wgq server down
}

t_hooks()
{
	local log before
	only_our_module
	WORK=$(mktemp -d /tmp/wgq.XXXXXX)
	at_case_exit "rm -rf $WORK"
	mkdir -m 0700 "$WORK/client"
	log=$WORK/hooks.log
	ns_nodad client
	wg_keypair CLIENT_PRIV CLIENT_PUB
	wg_keypair SERVER_PRIV SERVER_PUB
	cat >"$WORK/client/wg0.conf" <<-EOF
	[Interface]
	PrivateKey = $CLIENT_PRIV
	Address = 10.8.0.2/24
	PreUp = echo "pre-up %i \$(ip link show %i >/dev/null 2>&1 && echo present || echo absent)" >>$log
	PostUp = echo "post-up %i \$(ip -br addr show dev %i | awk '{ print \$2, \$3 }') \$(wg show %i peers | wc -l)" >>$log
	PostUp = echo "second post-up" >>$log
	PreDown = echo "pre-down %i \$(ip link show %i >/dev/null 2>&1 && echo present || echo absent)" >>$log
	PostDown = echo "post-down %i \$(ip link show %i >/dev/null 2>&1 && echo present || echo absent)" >>$log

	[Peer]
	PublicKey = $SERVER_PUB
	AllowedIPs = 10.8.0.0/24
	EOF
	chmod 0600 "$WORK/client/wg0.conf"
	wgq client up
	wgq client down
	cat "$log"
	assert_eq "$(cat "$log")" "pre-up wg0 absent
post-up wg0 UNKNOWN 10.8.0.2/24 1
second post-up
pre-down wg0 present
post-down wg0 absent" "hook order and state"

	# A failing PostUp takes everything down again.
	before=$(net_state client)
	sed -i 's/^PostUp = echo "second post-up".*/PostUp = false/' "$WORK/client/wg0.conf"
	expect_fail nsx client wg-quick up "$WORK/client/wg0.conf"
	expect_fail nsx client test -e /sys/class/net/wg0
	assert_eq "$(net_state client)" "$before" "state after a failed up"
}

t_save_strip()
{
	local conf k3 p3 showconf
	only_our_module
	WORK=$(mktemp -d /tmp/wgq.XXXXXX)
	at_case_exit "rm -rf $WORK"
	mkdir -m 0700 "$WORK/client"
	conf=$WORK/client/wg0.conf
	ns_nodad client
	wg_keypair CLIENT_PRIV CLIENT_PUB
	wg_keypair SERVER_PRIV SERVER_PUB
	wg_keypair k3 p3
	cat >"$conf" <<-EOF
	[Interface]
	PrivateKey = $CLIENT_PRIV
	ListenPort = 51820
	Address = 10.8.0.2/24
	MTU = 1380
	PostUp = true %i

	[Peer]
	PublicKey = $SERVER_PUB
	AllowedIPs = 10.8.0.0/24
	Endpoint = 192.0.2.1:51820
	EOF
	chmod 0600 "$conf"
	wgq client up
	assert_eq "$(nsx client cat /sys/class/net/wg0/mtu)" 1380 "MTU"

	# strip: exactly what wg setconf takes; our device reads back the same.
	nsx client wg-quick strip "$conf" >"$WORK/stripped"
	expect_fail grep -Eq '^(Address|MTU|PostUp)' "$WORK/stripped"
	assert_eq "$(nsx client $WG showconf wg0 | grep -v '^$' | sort)" \
		"$(grep -v '^$' "$WORK/stripped" | sort)" "showconf vs strip"

	# save: runtime changes written back, wg-quick's own keys kept.
	nsx client $WG set wg0 listen-port 51999 peer "$p3" allowed-ips 10.9.0.0/24,fd09::/64 \
		persistent-keepalive 25
	showconf=$(nsx client $WG showconf wg0)
	wgq client save
	cat "$conf"
	grep -qx 'Address = 10.8.0.2/24' "$conf"
	grep -qx 'MTU = 1380' "$conf"
	grep -qx 'PostUp = true %i' "$conf"
	grep -qx 'ListenPort = 51999' "$conf"
	grep -qx "PublicKey = $p3" "$conf"
	grep -qx 'PersistentKeepalive = 25' "$conf"
	assert_eq "$(stat -c %a "$conf")" 600 "mode of the saved file"

	# The saved file brings the same device back.
	wgq client down
	wgq client up
	assert_eq "$(nsx client $WG showconf wg0)" "$showconf" "showconf after down/up"

	# SaveConfig = true: down saves by itself.
	{ echo '[Interface]'; echo 'SaveConfig = true'; sed 1d "$conf"; } >"$WORK/new"
	cat "$WORK/new" >"$conf"
	wgq client down
	wgq client up
	nsx client $WG set wg0 peer "$p3" remove
	wgq client down
	expect_fail grep -q "$p3" "$conf"
	grep -qx 'SaveConfig = true' "$conf"
}

# wg syncconf wg0 <(wg-quick strip wg0) on both ends while a TCP stream
# runs through the tunnel: new peers appear, changed settings apply, the
# existing session is never torn down (its counters keep growing).
t_syncconf_live()
{
	local k3 p3 k4 p4 rx0 rx1 tx
	need_cmd iperf3
	only_our_module
	topo
	server_conf
	client_conf "$SERVER_ADDR:51820"
	both_up
	wait_for 20 page_ok client http://1.1.1.1/

	bg_nsx "$WORK/iperf-s.log" server iperf3 -s -1 -B 10.8.0.1
	wait_for 10 port_open server 5201
	bg_nsx "$WORK/iperf-c.log" client iperf3 -c 10.8.0.1 -t 15
	local iperf=$BG_PID
	rx0=$(wg_rx server wg0 "$CLIENT_PUB")
	wait_for 10 rx_above server "$CLIENT_PUB" $((rx0 + 100000))

	# Server: one more client, and the existing peer gains a keepalive.
	wg_keypair k3 p3
	server_conf "PersistentKeepalive = 15"
	cat >>"$WORK/server/wg0.conf" <<-EOF

	[Peer]
	PublicKey = $p3
	AllowedIPs = 10.8.0.3/32
	EOF
	rx0=$(wg_rx server wg0 "$CLIENT_PUB")
	nsx server bash -c "wg syncconf wg0 <(wg-quick strip $WORK/server/wg0.conf)"
	# Client: another peer for one prefix.
	wg_keypair k4 p4
	printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.99.0.0/24\n' "$p4" >>"$WORK/client/wg0.conf"
	nsx client bash -c "wg syncconf wg0 <(wg-quick strip $WORK/client/wg0.conf)"

	nsx server $WG show wg0
	nsx client $WG show wg0
	nsx server $WG show wg0 peers | grep -qxF "$p3"
	assert_eq "$(wg_field server wg0 persistent-keepalive "$CLIENT_PUB")" 15 "keepalive"
	assert_eq "$(wg_field client wg0 allowed-ips "$p4")" 10.99.0.0/24 "client's new peer"
	assert_match "$(wg_field client wg0 allowed-ips "$SERVER_PUB")" '0.0.0.0/0' "full tunnel kept"
	# Same peer, same session: the counter did not restart.
	rx1=$(wg_rx server wg0 "$CLIENT_PUB")
	[ "$rx1" -ge "$rx0" ] || { echo "rx went from $rx0 to $rx1: peer re-created"; return 1; }
	wait_for 10 rx_above server "$CLIENT_PUB" $((rx1 + 100000))
	wait "$iperf" || { cat "$WORK/iperf-c.log"; return 1; }
	tail -n 4 "$WORK/iperf-c.log"
	page_ok client http://1.1.1.1/
}

rx_above()
{
	[ "$(wg_rx "$1" wg0 "$2")" -gt "$3" ]
}

# A full-tunnel client behind a NAT router whose mapping changes (new
# public address, as after a CGNAT timeout or a router reboot): a TCP
# connection through the tunnel survives, the server follows the client.
t_roaming_nat()
{
	local ep
	only_our_module
	topo nat
	server_conf
	client_conf "$SERVER_ADDR:51820"
	# Mappings of idle flows expire after a second.
	nsx nat sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1
	nsx nat sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=1
	both_up
	wait_for 20 page_ok client http://1.1.1.1/
	ep=$(wg_endpoint server wg0 "$CLIENT_PUB")
	echo "client seen at $ep"
	assert_match "$ep" '^203\.0\.113\.2:' "endpoint behind the NAT"

	# One TCP connection through the tunnel to an echo service.
	bg_nsx "$WORK/echo.log" internet ncat -l 7000 -e /bin/cat
	wait_for 10 port_open internet 7000
	mkfifo "$WORK/in"
	exec 3<>"$WORK/in"
	# (A background job's stdin would be /dev/null: ncat opens the fifo.)
	bg_nsx "$WORK/out" client bash -c "exec ncat 1.1.1.1 7000 <$WORK/in"
	local nc=$BG_PID
	echo one >&3
	wait_for 20 grep -qx one "$WORK/out"

	# The NAT now maps the client to 203.0.113.3.
	nsx nat iptables -t nat -R POSTROUTING 1 -o eth1 -j SNAT --to-source 203.0.113.3
	wait_for 30 old_mapping_gone
	echo two >&3
	wait_for 30 grep -qx two "$WORK/out"
	kill -0 "$nc"
	ep=$(wg_endpoint server wg0 "$CLIENT_PUB")
	echo "client now seen at $ep"
	assert_match "$ep" '^203\.0\.113\.3:' "endpoint after the mapping changed"
	page_ok client http://1.1.1.1/
	exec 3>&-
}

old_mapping_gone()
{
	! nsx nat grep -q 'dst=203.0.113.2 ' /proc/net/nf_conntrack
}

run_case "kind wireguard creates our device" t_kind_wireguard_is_ours
run_case "wg show interfaces lists kinds wg and wireguard" t_wg_lists_both_kinds
run_case "in-tree wireguard loaded: wg refuses with one log line" t_intree_conflict
run_case "wg-modprobe.conf makes wg answer, removing it goes back" t_modprobe_conf
run_case "networkd/NetworkManager requests (kind wireguard, genl)" t_networkd_nm_requests
run_case "wg-quick full tunnel, IPv4 endpoint, IPv4+IPv6 inside" t_full_tunnel 192.0.2.1:51820
run_case "wg-quick full tunnel, IPv6 endpoint, IPv4+IPv6 inside" t_full_tunnel '[2001:db8:1::1]:51820'
run_case "wg-quick down restores rules and tables" t_down_restores
run_case "wg-quick PreUp/PostUp/PreDown/PostDown" t_hooks
run_case "wg-quick save, strip, SaveConfig" t_save_strip
run_case "wg syncconf from wg-quick strip while traffic flows" t_syncconf_live
run_case "full-tunnel client behind a NAT whose mapping changes" t_roaming_nat
run_case "our module unloads" t_unload
ktap_finished
