#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The tools later tests rely on run inside the guest (catches missing
# libraries or kernel modules in the initramfs rather than in a real test).
. /selftests/lib.sh

ktap_plan 7

t_wg_tool()
{
	local k p
	wg_keypair k p
	assert_match "$p" '^[A-Za-z0-9+/]{43}=$' "public key"
	wg --version
}

t_iptables()
{
	iptables -t nat -A POSTROUTING -o lo -j MASQUERADE
	iptables -t nat -S POSTROUTING | grep -q MASQUERADE
	iptables -t nat -F POSTROUTING
}

t_iptables_legacy()
{
	command -v iptables-legacy >/dev/null || skip "iptables-legacy missing"
	iptables-legacy -A INPUT -i lo -j ACCEPT
	iptables-legacy -F INPUT
}

t_iperf3_ncat()
{
	iperf3 --version | head -n 1
	ncat --version 2>&1 | head -n 1
	ncat -l 127.0.0.1 7777 >/tmp/ncat.out &
	wait_for 10 tcp_listening 7777
	echo hello | ncat 127.0.0.1 7777
	wait_for 10 grep -q hello /tmp/ncat.out
}

t_tcpdump()
{
	tcpdump --version 2>&1 | head -n 1
	timeout 5 tcpdump -ni lo -c 1 -w /tmp/lo.pcap 2>/dev/null &
	wait_for 10 ping -c 1 -W 1 127.0.0.1
	wait
}

t_modules()
{
	local m
	for m in veth dummy tun udp_tunnel ip6_udp_tunnel "$WG_REF_MODULE"; do
		modprobe "$m"
	done
	modprobe -r "$WG_REF_MODULE"
}

t_wireguard_go()
{
	command -v wireguard-go >/dev/null || skip "wireguard-go missing"
	wireguard-go --version
}

run_case "wg tool" t_wg_tool
run_case "iptables (nft) nat" t_iptables
run_case "iptables-legacy" t_iptables_legacy
run_case "iperf3 and ncat" t_iperf3_ncat
run_case "tcpdump" t_tcpdump
run_case "kernel modules for later tests" t_modules
run_case "wireguard-go" t_wireguard_go
ktap_finished
