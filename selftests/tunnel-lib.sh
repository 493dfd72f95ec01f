# SPDX-License-Identifier: GPL-2.0
#
# Helpers for tests that push traffic through wg tunnels.  Source it after
# lib.sh:
#
#	. /selftests/lib.sh
#	. /selftests/tunnel-lib.sh
#
# It adds: the module's drop counters (ethtool -S), iputils ping detection,
# the wgpkt packet tool, background processes and captures that end with
# the case, and small readers for `wg show`.

# --- tools --------------------------------------------------------------

# wgpkt (selftests/tools/wgpkt.c), built static by the harness.
if [ -z "${WGPKT:-}" ]; then
	WGPKT=
	for _p in /selftests/tools/wgpkt /usr/bin/wgpkt \
		"$(dirname "${BASH_SOURCE[0]}")/tools/wgpkt"; do
		if [ -x "$_p" ]; then WGPKT=$_p; break; fi
	done
fi

# PING: iputils ping when there is one (it has -f and -M), else busybox's.
PING=
PING_IPUTILS=0
for _p in /usr/bin/ping /bin/ping /usr/sbin/ping /sbin/ping; do
	if [ -x "$_p" ] && "$_p" -V 2>&1 | grep -q iputils; then
		PING=$_p PING_IPUTILS=1
		break
	fi
done
[ -n "$PING" ] || PING=ping
unset _p

need_cmd()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c missing in the guest"
	done
}

need_wgpkt()
{
	[ -n "$WGPKT" ] || skip "wgpkt missing (selftests/tools/wgpkt.c)"
}

need_iputils_ping()
{
	[ "$PING_IPUTILS" = 1 ] || skip "needs iputils ping"
}

# need_stats: the module's ethtool counters are readable.
need_stats()
{
	need_cmd ethtool
}

# --- drop counters --------------------------------------------------------

# wg_stat NS DEV NAME: the value of one `ethtool -S` counter.
wg_stat()
{
	local v
	v=$(nsx "$1" ethtool -S "$2" |
		awk -v n="$3:" '$1 == n { print $2; f = 1 } END { exit !f }') || {
		echo "no counter $3 on $2 in $1" >&2
		return 1
	}
	echo "$v"
}

# wg_stats NS DEV: all non-zero counters, on one line (for diagnostics).
wg_stats()
{
	nsx "$1" ethtool -S "$2" |
		awk 'NF == 2 && $1 ~ /:$/ && $2 != 0 { printf "%s%s=%s", s, $1, $2; s = " " } END { print "" }' |
		sed 's/:=/=/g'
}

# tunnel_diag [NS...]: what wg0 in each NS (ns1 and ns2 by default)
# knows of its peers, for a failed case.
tunnel_diag()
{
	local ns
	[ $# -gt 0 ] || set -- ns1 ns2
	for ns in "$@"; do
		echo "$ns: $(nsx "$ns" "$WG" show wg0 dump | tr '\t' ' ')"
		echo "$ns: $(wg_stats "$ns" wg0)"
	done
}

# stat_ge NS DEV NAME MIN: the counter has reached MIN.
stat_ge()
{
	local v
	v=$(wg_stat "$1" "$2" "$3") || return 1
	[ "$v" -ge "$4" ]
}

# wait_stat TIMEOUT NS DEV NAME MIN
wait_stat()
{
	local t=$1
	shift
	wait_for "$t" stat_ge "$@" || {
		echo "$3 on $1/$2 is $(wg_stat "$1" "$2" "$3"), wanted >= $4"
		return 1
	}
}

# --- wg show --------------------------------------------------------------

# wg_field NS DEV WHAT PUBKEY: column 2.. of `wg show DEV WHAT` for a peer.
wg_field()
{
	nsx "$1" "$WG" show "$2" "$3" |
		awk -v k="$4" '$1 == k { $1 = ""; sub(/^ /, ""); print }'
}

wg_endpoint() { wg_field "$1" "$2" endpoints "$3"; }
wg_latest() { wg_field "$1" "$2" latest-handshakes "$3"; }
# wg_rx NS DEV PUB / wg_tx NS DEV PUB: bytes received from / sent to a peer.
wg_rx() { wg_field "$1" "$2" transfer "$3" | awk '{ print $1 }'; }
wg_tx() { wg_field "$1" "$2" transfer "$3" | awk '{ print $2 }'; }

# --- ping -----------------------------------------------------------------

# tping NS ADDR [ARGS...]: one echo request, one second to answer.
tping()
{
	local ns=$1 addr=$2
	shift 2
	nsx "$ns" "$PING" -c 1 -W 1 "$@" "$addr"
}

# ping_received OUTPUT: the "N received" of a ping summary.
ping_received()
{
	printf '%s\n' "$1" |
		sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' |
		tail -n 1
}

# snmp_sum NS PROTO FIELD...: the sum of PROTO's FIELDs in NS's
# /proc/net/snmp (PROTO as it is written there: Icmp, Udp, ...), or with
# PROTO "snmp6" of the FIELDs of /proc/net/snmp6 (Ip6InReceives, ...).
snmp_sum()
{
	local ns=$1 proto=$2
	shift 2
	if [ "$proto" = snmp6 ]; then
		nsx "$ns" awk -v fields=" $* " 'index(fields, " " $1 " ") { s += $2 }
			END { print s + 0 }' /proc/net/snmp6
		return
	fi
	nsx "$ns" awk -v proto="$proto:" -v fields=" $* " '$1 == proto {
		if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1; next }
		for (i = 2; i <= NF; i++) if (index(fields, " " n[i] " ")) s += $i
		print s + 0
		exit
	}' /proc/net/snmp
}

# icmp_echo_replies NS: IPv4 echo replies NS has received so far.
icmp_echo_replies()
{
	snmp_sum "$1" Icmp InEchoReps
}

# replies_ge NS MIN
replies_ge()
{
	[ "$(icmp_echo_replies "$1")" -ge "$2" ]
}

# --- background processes -------------------------------------------------
# Killed when the case ends, before its namespaces go away; commands given
# to at_case_exit run after that.

_tl_pids=
_tl_exit_cmds=()
_tl_owner=

_tl_case_exit()
{
	local c
	# Only the case's own shell cleans up, never a child that inherited
	# the trap.
	[ "$BASHPID" = "$_tl_owner" ] || return 0
	trap - EXIT ERR
	# No `wait`, and quiet: bash 5.2 complains about its job table here
	# ("wait_for: No record of process").  The killed processes are
	# reaped once this shell is gone.
	{
		for c in $_tl_pids; do
			kill "$c" || true
		done
	} 2>/dev/null
	_case_cleanup
	for c in "${_tl_exit_cmds[@]}"; do
		eval "$c" || true
	done
}

_tl_trap()
{
	_tl_owner=$BASHPID
	trap _tl_case_exit EXIT
}

# at_case_exit CMD: run CMD (eval) when the case ends, after its cleanup.
at_case_exit()
{
	_tl_exit_cmds+=("$*")
	_tl_trap
}

# lower_under_load: with wgtest.underload=N (the debug lane, whose KASAN
# kernel cannot flood a device fast enough) a debug build's device is
# under load from N queued handshakes on (module parameter
# under_load_handshakes, default 512) until the case ends.
lower_under_load()
{
	local n p=/sys/module/$WG_MODULE/parameters/under_load_handshakes
	n=$(wgtest_arg underload 0)
	if [ "$n" = 0 ] || [ ! -w "$p" ]; then
		return 0
	fi
	at_case_exit "echo $(cat "$p") >$p"
	echo "$n" >"$p"
	echo "under load from $n queued handshakes (wgtest.underload)"
}

# bg_nsx OUT NS CMD...: run CMD in NS in the background, output to OUT;
# BG_PID is its pid.
bg_nsx()
{
	local out=$1 ns=$2
	shift 2
	_tl_trap
	# exec: BG_PID is the command itself, and the shell that would have
	# inherited the EXIT trap is gone.
	(exec "$IP" netns exec "$ns" "$@") >"$out" 2>&1 &
	BG_PID=$!
	_tl_pids="$_tl_pids $BG_PID"
}

# bg_stop PID: end one background process early.
bg_stop()
{
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	_tl_forget "$1"
}

# A reaped pid may be reused: never kill it at the end.
_tl_forget()
{
	_tl_pids=$(printf '%s\n' $_tl_pids | grep -vx "$1" | tr '\n' ' ' || true)
}

# --- captures -------------------------------------------------------------

# capture_start NS IFACE OUT [wgpkt capture options...]: capture in NS and
# return once the socket is bound.  The payload goes to OUT, the log to
# OUT.log; capture_wait collects the result.
capture_start()
{
	local ns=$1 ifc=$2 out=$3 rdy
	shift 3
	rdy=$(mktemp -u /tmp/wgpkt-ready.XXXXXX)
	rm -f "$out"
	bg_nsx "$out.log" "$ns" "$WGPKT" capture --iface "$ifc" --out "$out" \
		--ready "$rdy" "$@"
	CAPTURE_PID=$BG_PID CAPTURE_OUT=$out
	wait_for 20 _capture_ready "$rdy" "$CAPTURE_PID"
	if [ ! -e "$rdy" ]; then
		cat "$out.log"
		echo "wgpkt capture did not start"
		return 1
	fi
	rm -f "$rdy"
}

_capture_ready()
{
	[ -e "$1" ] || ! kill -0 "$2" 2>/dev/null
}

# capture_wait: exit status of the last capture_start; prints its log.
capture_wait()
{
	local rc=0
	wait "$CAPTURE_PID" || rc=$?
	_tl_forget "$CAPTURE_PID"
	cat "$CAPTURE_OUT.log"
	return $rc
}

# file_size FILE
file_size()
{
	wc -c <"$1" | tr -d ' '
}
