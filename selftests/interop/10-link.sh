#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The two interop VMs reach each other over the QEMU socket link, and the
# control channel to VM B works.  No WireGuard yet: this checks the plumbing
# the real interop tests build on.
. /selftests/lib.sh

ktap_plan 3

t_ping_peer()
{
	wait_for 30 ping -c 1 -W 1 "$INTEROP_B_ADDR"
	ping -c 3 -W 2 "$INTEROP_B_ADDR"
}

t_control()
{
	peer_wait_ready 60
	local out
	out=$(peer_run 'echo "peer kernel $(uname -r)"; lsmod | grep -w "^$WG_REF_MODULE"')
	echo "$out"
	assert_match "$out" "^$WG_REF_MODULE " "peer module"
	expect_fail peer_run 'exit 3'
}

t_ping_back()
{
	peer_run "ping -c 3 -W 2 $INTEROP_A_ADDR"
}

run_case "ping $INTEROP_B_ADDR over the link" t_ping_peer
run_case "control channel to the peer" t_control
run_case "peer pings $INTEROP_A_ADDR" t_ping_back
ktap_finished
