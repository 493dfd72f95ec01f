#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: two network namespaces joined by a veth pair, each with a wg
# interface, configured with the stock wg tool, pinging through the tunnel.
. /selftests/lib.sh

step() { printf '\n### %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Load the module"
show modprobe "$WG_MODULE"
show modinfo -F version "$WG_MODULE" || true

step "Two namespaces, 'left' and 'right', joined by a veth pair (the 'wire')"
show ip netns add left
show ip netns add right
show ip -n left link set lo up
show ip -n right link set lo up
show ip link add veth-l netns left type veth peer name veth-r netns right
show ip -n left addr add 192.168.99.1/24 dev veth-l
show ip -n right addr add 192.168.99.2/24 dev veth-r
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
	peer "$(cat /tmp/right.pub)" endpoint 192.168.99.2:51820 allowed-ips 10.99.0.2/32
show ip netns exec right wg set wg0 private-key /tmp/right.key listen-port 51820 \
	peer "$(cat /tmp/left.pub)" endpoint 192.168.99.1:51820 allowed-ips 10.99.0.1/32
show ip -n left link set wg0 up
show ip -n right link set wg0 up

step "What wg sees"
show ip netns exec left wg show
show ip netns exec right wg show

step "Ping right's tunnel address from left"
if show ip netns exec left ping -c 3 -W 2 10.99.0.2; then
	echo "=> the tunnel carries traffic"
else
	echo "=> no reply through the tunnel (expected until the data path is implemented)"
fi

step "After the ping (note the handshake and transfer counters)"
show ip netns exec left wg show
show ip netns exec right wg show

step "Clean up"
show ip netns del left
show ip netns del right
show modprobe -r "$WG_MODULE"
echo "demo finished"
