#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM B of the interop run: loads the in-tree wireguard module and serves the
# control channel on 192.168.241.2:4000 until VM A (our module, running
# interop/[0-9]*.sh) calls peer_finish.
#
# Control protocol (see peer_run in lib.sh): the client sends a bash script
# followed by a line "__WG_CTL_END__"; B runs it as root in its root
# namespace and answers with the script's output and a final line
# "__WG_CTL_RC__ <exit status>".  One connection per script; state lives in
# the kernel (interfaces, wg config), not in shell variables.

if [ "${1:-}" = --serve-one ]; then
	f=$(mktemp /tmp/ctl.XXXXXX)
	while IFS= read -r line; do
		[ "$line" = __WG_CTL_END__ ] && break
		printf '%s\n' "$line" >>"$f"
	done
	(cd /tmp && . /selftests/lib.sh && . "$f") </dev/null 2>&1
	echo "__WG_CTL_RC__ $?"
	rm -f "$f"
	exit 0
fi

. /selftests/lib.sh

ktap_plan 4

t_ref_module()
{
	modprobe "$WG_REF_MODULE"
	test -d "/sys/module/$WG_REF_MODULE"
}

# VM A's iperf3 runs reach this server.  Started here, not through the
# control channel: a daemon started by a control script inherits the
# connection and holds it open until the client gives up (300 s).
t_iperf_server()
{
	iperf3 -s -D --logfile /tmp/iperf-b.log </dev/null >/dev/null 2>&1
	wait_for 10 tcp_listening 5201
}

t_serve()
{
	ncat -l -k "$INTEROP_B_ADDR" "$INTEROP_CTL_PORT" \
		--sh-exec "/usr/bin/bash /selftests/interop/peer.sh --serve-one" \
		</dev/null >/tmp/ctl.log 2>&1 &
	echo "control channel on $INTEROP_B_ADDR:$INTEROP_CTL_PORT (ncat pid $!)"
	echo $! >/tmp/ctl.pid
	wait_for 10 tcp_listening "$INTEROP_CTL_PORT"
}

t_wait_done()
{
	wait_for "${WG_PEER_TIMEOUT:-3000}" test -e "$INTEROP_DONE"
	kill "$(cat /tmp/ctl.pid)"
}

run_case "in-tree $WG_REF_MODULE loads" t_ref_module
run_case "iperf3 server listens" t_iperf_server
run_case "control channel up" t_serve
run_case "test VM finished" t_wait_done
ktap_finished
