#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The module loads, makes a wg device with the expected link properties,
# and unloads.
. /selftests/lib.sh

ktap_plan 8

t_modprobe()
{
	modprobe "$WG_MODULE"
	test -d "/sys/module/$WG_MODULE"
}

# A debug build runs its self-tests at load and says so for each (a
# failure fails the load); a release build has none to run.
t_selftests()
{
	local log t
	log=$(dmesg)
	if [ -e "/sys/module/$WG_MODULE/parameters/time_divisor" ]; then
		for t in core lookup allowedips ratelimiter; do
			assert_match "$log" "$t self-tests: pass" "$t self-tests"
		done
	else
		expect_fail grep -q 'self-tests' <<<"$log"
	fi
}

t_link_add()
{
	$IP link add wg0 type "$WG_KIND"
	test -d /sys/class/net/wg0
}

t_link_props()
{
	local info
	info=$($IP -d link show dev wg0)
	echo "$info"
	assert_match "$info" 'link/none' "link type"
	assert_match "$info" '<[^>]*POINTOPOINT' "flags"
	assert_match "$info" '<[^>]*NOARP' "flags"
	assert_eq "$(cat /sys/class/net/wg0/mtu)" 1420 "mtu"
	assert_eq "$(cat /sys/class/net/wg0/type)" 65534 "ARPHRD type"
}

t_link_del()
{
	$IP link del wg0
	expect_fail test -e /sys/class/net/wg0
}

t_link_in_netns()
{
	ns_add wgns0
	wg_dev_add wgns0 wg1
	$IP -n wgns0 link set wg1 up
	$IP netns del wgns0
	_case_netns=
	# The namespace is torn down asynchronously; wg1 must not come back
	# to the root namespace.
	wait_for 10 no_wg1
	expect_fail $IP link show dev wg1
}

no_wg1()
{
	! $IP -o link show | grep -q ' wg1[:@]'
}

# A debug build's knobs are checked as they are parsed: a divisor of 0 or
# a key limit of 0 or beyond the protocol's REJECT_AFTER_MESSAGES
# (2^64 - 2^13 - 1) fails the load; the limits themselves load.
t_bad_params()
{
	# (bash arithmetic is signed 64-bit: the numbers stay strings)
	local p max=18446744073709543423
	modinfo -p "$WG_MODULE" | grep -q '^time_divisor:' ||
		skip "not a debug build (no time_divisor)"
	for p in time_divisor=0 reject_after_messages=0 \
		 reject_after_messages=18446744073709543424; do
		expect_fail modprobe "$WG_MODULE" "$p"
		expect_fail test -e "/sys/module/$WG_MODULE"
	done
	modprobe "$WG_MODULE" time_divisor=1 reject_after_messages=$max
	assert_eq "$(cat /sys/module/$WG_MODULE/parameters/reject_after_messages)" "$max" \
		"reject_after_messages"
	modprobe -r "$WG_MODULE"
}

t_rmmod()
{
	modprobe -r "$WG_MODULE"
	expect_fail test -e "/sys/module/$WG_MODULE"
}

run_case "modprobe $WG_MODULE" t_modprobe
run_case "self-tests passed at load (debug builds)" t_selftests
run_case "ip link add type $WG_KIND" t_link_add
run_case "link is none/POINTOPOINT/NOARP, mtu 1420" t_link_props
run_case "ip link del" t_link_del
run_case "device in a namespace goes away with it" t_link_in_netns
run_case "rmmod $WG_MODULE" t_rmmod
run_case "debug parameters out of range refuse the load" t_bad_params
ktap_finished
