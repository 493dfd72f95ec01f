#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: a walkthrough in network namespaces inside the VM (the VM has
# no network card: nothing here leaves it).
#
#   Part 1  two namespaces, each with a wg interface made with `ip link add
#           ... type wg` and configured with `wg set`, ping each other.
#   Part 2  a VPN the way people run one:
#
#     client -------------- server -------------- internet
#     wg-quick full         wg-quick, forwarding,  1.1.1.1
#     tunnel (wg0.conf)     MASQUERADE             2606:4700:4700::1111
#     192.0.2.2             192.0.2.1              (a small web page)
#     2001:db8:1::2         2001:db8:1::1
#                           198.51.100.1           198.51.100.2
#                           2001:db8:2::1          2001:db8:2::2
#
#           The client's wg-quick asks for link kind "wireguard", which our
#           module answers.
#
# It exits non-zero if the tunnel does not carry what it should.
. /selftests/lib.sh
# The serial console is a terminal: no colour codes in the log.
export WG_COLOR_MODE=never

failed=0
step() { printf '\n### %s\n' "$*"; }
say() { printf '%s\n' "$*" | fold -s -w 76 | sed 's/^/# /'; }
show() { printf '$ %s\n' "$*"; "$@"; }
# on NS CMD...: show and run CMD inside namespace NS.
on() { local ns=$1; shift; printf '%s$ %s\n' "$ns" "$*"; ip netns exec "$ns" "$@"; }
check() { if "$@"; then echo "=> OK"; else echo "=> FAILED"; failed=1; fi; }
hide_keys() { sed 's/^\(PrivateKey = \).*/\1(hidden)/'; }

step "Load the module"
show modprobe "$WG_MODULE"
show modinfo -F version "$WG_MODULE" || true
say "It registers two link kinds: 'wg', and 'wireguard' (the name wg-quick, systemd-networkd and NetworkManager ask for) while the in-tree module does not hold it."

# --- Part 1 ------------------------------------------------------------------

step "Part 1: two namespaces, 'left' and 'right', joined by a veth pair (the 'wire')"
show ip netns add left
show ip netns add right
show ip -n left link set lo up
show ip -n right link set lo up
show ip link add veth-l netns left type veth peer name veth-r netns right
show ip -n left addr add 203.0.113.1/24 dev veth-l
show ip -n right addr add 203.0.113.2/24 dev veth-r
show ip -n left link set veth-l up
show ip -n right link set veth-r up

step "A WireGuard interface in each namespace"
show ip -n left link add wg0 type wg
show ip -n right link add wg0 type wg
show ip -n left addr add 10.99.0.1/24 dev wg0
show ip -n right addr add 10.99.0.2/24 dev wg0

step "Keys, made with the stock wg tool"
umask 077
wg genkey >/tmp/left.key
wg genkey >/tmp/right.key
wg pubkey </tmp/left.key >/tmp/left.pub
wg pubkey </tmp/right.key >/tmp/right.pub
echo "left  public key: $(cat /tmp/left.pub)"
echo "right public key: $(cat /tmp/right.pub)"

step "Configure both ends with 'wg set'"
show ip netns exec left wg set wg0 private-key /tmp/left.key listen-port 51820 \
	peer "$(cat /tmp/right.pub)" endpoint 203.0.113.2:51820 allowed-ips 10.99.0.2/32
show ip netns exec right wg set wg0 private-key /tmp/right.key listen-port 51820 \
	peer "$(cat /tmp/left.pub)" endpoint 203.0.113.1:51820 allowed-ips 10.99.0.1/32
show ip -n left link set wg0 up
show ip -n right link set wg0 up

step "What wg sees (no handshake yet: nothing has been sent)"
show ip netns exec left wg show wg0
show ip netns exec right wg show wg0

step "Ping right's tunnel address from left"
check show ip netns exec left ping -c 3 -W 2 10.99.0.2

step "After the ping (note the handshake and transfer counters)"
show ip netns exec left wg show wg0
show ip netns exec right wg show wg0

step "Clean up part 1"
show ip netns del left
show ip netns del right

# --- Part 2 ------------------------------------------------------------------

step "Part 2: a full-tunnel VPN with wg-quick"
say "Three namespaces: 'client' (a laptop), 'server' (the VPN server) and 'internet' (a web server at 1.1.1.1 and 2606:4700:4700::1111). These addresses exist only inside this VM."
for ns in client server internet; do
	ip netns add $ns
	ip -n $ns link set lo up
	ip netns exec $ns sysctl -qw net.ipv6.conf.default.accept_dad=0
done
show ip link add eth0 netns client type veth peer name eth0 netns server
show ip link add eth1 netns server type veth peer name eth0 netns internet
for ns in client server internet; do ip -n $ns link set eth0 up; done
ip -n server link set eth1 up

step "The internet: a host at 1.1.1.1 and 2606:4700:4700::1111 serving a page"
on internet ip addr add 198.51.100.2/24 dev eth0
on internet ip addr add 2001:db8:2::2/64 dev eth0
on internet ip addr add 1.1.1.1/32 dev lo
on internet ip addr add 2606:4700:4700::1111/128 dev lo
mkdir -p /tmp/www
echo "Hello from 1.1.1.1, reached through WireGuard." >/tmp/www/index.html
echo "internet$ httpd -f -p 80 -h /tmp/www &     # busybox httpd"
ip netns exec internet httpd -f -p 80 -h /tmp/www </dev/null >/dev/null 2>&1 &
httpd_pid=$!

step "The server: forwarding between its two links"
on server ip addr add 192.0.2.1/24 dev eth0
on server ip addr add 2001:db8:1::1/64 dev eth0
on server ip addr add 198.51.100.1/24 dev eth1
on server ip addr add 2001:db8:2::1/64 dev eth1
on server ip route add 1.1.1.1/32 via 198.51.100.2
on server ip route add 2606:4700:4700::1111/128 via 2001:db8:2::2
on server sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
say "So that the page can only come through the tunnel, the server refuses to forward anything that arrives on its client-side link unencrypted:"
on server iptables -A FORWARD -i eth0 -j DROP
on server ip6tables -A FORWARD -i eth0 -j DROP

step "The client: a laptop on the server's network, default route via 192.0.2.1"
on client ip addr add 192.0.2.2/24 dev eth0
on client ip addr add 2001:db8:1::2/64 dev eth0
on client ip route add default via 192.0.2.1
on client ip -6 route add default via 2001:db8:1::1
on client ip route get 1.1.1.1
say "Without the VPN the page does not load (the server drops it):"
if on client timeout 3 wget -q -O - http://1.1.1.1/; then
	echo "=> unexpected: fetched without the tunnel"
	failed=1
else
	echo "=> no page, as expected"
fi

step "Keys for both ends"
wg genkey >/tmp/server.key
wg genkey >/tmp/client.key
server_pub=$(wg pubkey </tmp/server.key)
client_pub=$(wg pubkey </tmp/client.key)
echo "server public key: $server_pub"
echo "client public key: $client_pub"

step "The server's wg-quick configuration (its PostUp/PostDown add the NAT)"
mkdir -p -m 0700 /tmp/server
cat >/tmp/server/wg0.conf <<EOF
[Interface]
PrivateKey = $(cat /tmp/server.key)
ListenPort = 51820
Address = 10.8.0.1/24, fd08::1/64
PostUp = iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE; ip6tables -t nat -A POSTROUTING -o eth1 -j MASQUERADE
PostDown = iptables -t nat -D POSTROUTING -o eth1 -j MASQUERADE; ip6tables -t nat -D POSTROUTING -o eth1 -j MASQUERADE

[Peer]
# the client
PublicKey = $client_pub
AllowedIPs = 10.8.0.2/32, fd08::2/128
EOF
hide_keys </tmp/server/wg0.conf
on server wg-quick up /tmp/server/wg0.conf

step "The client's /etc/wireguard/wg0.conf: everything (0.0.0.0/0, ::/0) through the server"
mkdir -p -m 0700 /etc/wireguard
cat >/etc/wireguard/wg0.conf <<EOF
[Interface]
PrivateKey = $(cat /tmp/client.key)
Address = 10.8.0.2/32, fd08::2/128

[Peer]
# the server
PublicKey = $server_pub
Endpoint = 192.0.2.1:51820
AllowedIPs = 0.0.0.0/0, ::/0
EOF
chmod 0600 /etc/wireguard/wg0.conf
hide_keys </etc/wireguard/wg0.conf

step "wg-quick up wg0 on the client"
say "Each '[#]' line is a command wg-quick runs. The first asks for link kind 'wireguard': our module answers it (without the module, wg-quick would have fallen back to wireguard-go)."
on client wg-quick up wg0
on client ethtool -i wg0
on client ip -d link show dev wg0

step "How the client routes now"
say "wg-quick marks the tunnel's own UDP packets with fwmark 51820. Everything else is looked up in table 51820, whose default route is wg0; 'suppress_prefixlength 0' lets the main table's specific routes win but not its default route."
on client ip rule show
on client ip route show table 51820
on client ip route get 1.1.1.1
on client ip -6 route get 2606:4700:4700::1111
say "The server's endpoint itself still goes out of eth0 (that is what the mark is for):"
on client ip route get 192.0.2.1 mark 51820

step "Fetch the page through the tunnel, over IPv4 and IPv6"
check on client timeout 10 wget -q -O - http://1.1.1.1/
check on client timeout 10 wget -q -O - 'http://[2606:4700:4700::1111]/'
say "The internet host saw the server's address, not the client's (MASQUERADE):"
on server iptables -t nat -L POSTROUTING -v -n

step "wg show on both ends: handshake and transfer counters"
on client wg show
on server wg show

step "wg-quick down restores the client's routing"
on client wg-quick down wg0
on client ip rule show
on client ip route get 1.1.1.1
on server wg-quick down /tmp/server/wg0.conf

step "Clean up"
kill $httpd_pid
show ip -all netns delete
show modprobe -r "$WG_MODULE"
if [ $failed = 0 ]; then
	echo "demo finished: every step worked"
else
	echo "demo finished: some steps FAILED (see above)"
fi
exit $failed
