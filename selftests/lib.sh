# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest-side test scripts (selftests/tests/*.sh,
# selftests/interop/*.sh, selftests/demo.sh).  Source it, never run it:
#
#	. /selftests/lib.sh
#	ktap_plan 2
#	t_load() { modprobe wg; test -d /sys/module/wg; }
#	run_case "module loads" t_load
#	run_case "something else" t_other
#	ktap_finished
#
# Each script is one KTAP suite; the guest /init nests it (KTAP_INDENT) under
# its own top-level plan.  A case is a shell function that run_case runs in
# a subshell with `set -eE -o pipefail`: the first failing command fails the
# case.  Its output becomes "# " diagnostic lines.  Namespaces and links made
# with the helpers below are removed when the case ends.
#
# Remember that set -e does not apply inside `if`, `!`, `&&` or `||`: use
# expect_fail / assert_* instead of `! cmd`.
#
# Never wait with a bare sleep: poll with wait_for.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# Full paths for the tools whose busybox applets behave differently.
IP=/usr/sbin/ip
WG=/usr/bin/wg

WG_MODULE=${WG_MODULE:-wg}		# our module
WG_KIND=${WG_KIND:-wg}			# link kind used by default
WG_REF_MODULE=wireguard			# the in-tree module, for interop

KTAP_INDENT=${KTAP_INDENT-}
_ktap_n=0
_ktap_failed=0
_ktap_plan=
_ktap_tmp=$(mktemp -d /tmp/ktap.XXXXXX)

# --- KTAP output --------------------------------------------------------

ktap_plan()
{
	_ktap_plan=$1
	printf '%sKTAP version 1\n%s1..%s\n' "$KTAP_INDENT" "$KTAP_INDENT" "$1"
}

ktap_diag()
{
	printf '%s# %s\n' "$KTAP_INDENT" "$*"
}

ktap_ok()
{
	_ktap_n=$((_ktap_n + 1))
	printf '%sok %d %s\n' "$KTAP_INDENT" "$_ktap_n" "$*"
}

ktap_fail()
{
	_ktap_n=$((_ktap_n + 1))
	_ktap_failed=$((_ktap_failed + 1))
	printf '%snot ok %d %s\n' "$KTAP_INDENT" "$_ktap_n" "$*"
}

# ktap_skip NAME REASON...
ktap_skip()
{
	local name=$1
	shift
	_ktap_n=$((_ktap_n + 1))
	printf '%sok %d %s # SKIP %s\n' "$KTAP_INDENT" "$_ktap_n" "$name" "$*"
}

# Call at the end of a script: checks the plan and sets the exit status.
ktap_finished()
{
	if [ -n "$_ktap_plan" ] && [ "$_ktap_n" -ne "$_ktap_plan" ]; then
		ktap_diag "planned $_ktap_plan tests but ran $_ktap_n"
		_ktap_failed=$((_ktap_failed + 1))
	fi
	rm -rf "$_ktap_tmp"
	[ "$_ktap_failed" -eq 0 ]
	exit
}

_ktap_prefix()
{
	local line
	while IFS= read -r line; do
		printf '%s# %s\n' "$KTAP_INDENT" "$line"
	done
}

# Inside a case: stop it and report it skipped.
skip()
{
	echo "$*" >"$_ktap_tmp/skip"
	exit 4
}

# run_case NAME [FUNCTION [ARGS...]]   (FUNCTION defaults to NAME)
run_case()
{
	local name=$1 rc t0=$SECONDS
	shift
	[ $# -gt 0 ] || set -- "$name"
	# selftests/mutants.sh runs only the cases that can kill a mutant.
	# By hand: wgtest.cases=ERE on the kernel command line (WG_APPEND).
	local only=${WG_CASES:-$(wgtest_arg cases '')}
	if [ -n "$only" ] && [[ ! $name =~ $only ]]; then
		ktap_skip "$name" "not selected (WG_CASES)"
		return 0
	fi
	rm -f "$_ktap_tmp/skip"
	(
		set -eE -o pipefail
		trap 'echo "FAILED (exit $?) at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
		trap _case_cleanup EXIT
		"$@"
	) 2>&1 | _ktap_prefix
	rc=${PIPESTATUS[0]}
	# Where the suite's time goes (make check has a time budget).
	printf '%s# %s took %d s\n' "$KTAP_INDENT" "$name" $((SECONDS - t0))
	if [ "$rc" -eq 0 ]; then
		ktap_ok "$name"
	elif [ "$rc" -eq 4 ] && [ -f "$_ktap_tmp/skip" ]; then
		ktap_skip "$name" "$(cat "$_ktap_tmp/skip")"
	else
		ktap_fail "$name"
	fi
	return 0
}

# --- assertions ---------------------------------------------------------

# expect_fail CMD...: succeeds when CMD fails.
expect_fail()
{
	if "$@"; then
		echo "expected failure but succeeded: $*"
		return 1
	fi
	return 0
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq()
{
	[ "$1" = "$2" ] && return 0
	echo "${3:-value}: got '$1', expected '$2'"
	return 1
}

# assert_match STRING EXTENDED-REGEX [WHAT]: some line of STRING matches,
# as with grep -E (the same regcomp), without a process: on the debug
# kernel each one costs about 0.1 s.
assert_match()
{
	local line
	while IFS= read -r line; do
		[[ $line =~ $2 ]] && return 0
	done <<<"$1"
	echo "${3:-value}: '$1' does not match /$2/"
	return 1
}

# wait_for TIMEOUT-SECONDS CMD...: poll CMD (every 0.1 s) until it succeeds.
wait_for()
{
	local timeout=$1 start now
	shift
	start=$(date +%s)
	while ! "$@" >/dev/null 2>&1; do
		now=$(date +%s)
		if [ $((now - start)) -ge "$timeout" ]; then
			echo "timed out after ${timeout}s waiting for: $*"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# wgtest_arg NAME DEFAULT: the value of the last wgtest.NAME=VALUE on the
# kernel command line (run.sh's sizes, WG_APPEND), else DEFAULT.
wgtest_arg()
{
	local arg v=
	for arg in $(cat /proc/cmdline); do
		case $arg in
		"wgtest.$1="*) v=${arg#*=} ;;
		esac
	done
	echo "${v:-$2}"
}

# --- modules ------------------------------------------------------------

load_wg()
{
	modprobe "$WG_MODULE"
}

unload_wg()
{
	if [ -d "/sys/module/$WG_MODULE" ]; then
		modprobe -r "$WG_MODULE"
	fi
}

# use_module MODULE: make MODULE ($WG_MODULE or the in-tree wireguard) the
# loaded WireGuard module: both provide the "wireguard" netlink family.
use_module()
{
	local other=$WG_REF_MODULE
	[ "$1" != "$WG_REF_MODULE" ] || other=$WG_MODULE
	if [ -d "/sys/module/$other" ]; then
		wait_for 60 modprobe -r "$other"
	fi
	modprobe "$1"
}

# --- namespaces and links -----------------------------------------------
# Everything made through these is removed when the current case ends.

_case_netns=
_case_links=

_case_cleanup()
{
	local ns l
	for l in $_case_links; do
		$IP link del "$l" 2>/dev/null || true
	done
	for ns in $_case_netns; do
		$IP netns del "$ns" 2>/dev/null || true
	done
	_case_links='' _case_netns=''
}

# ns_add NAME...: new namespaces with loopback up.
ns_add()
{
	local ns
	for ns in "$@"; do
		$IP netns add "$ns"
		_case_netns="$_case_netns $ns"
		$IP -n "$ns" link set lo up
	done
}

# tcp_listening PORT [NS]: a TCP socket listens on PORT (in namespace NS).
# (ss exits 0 with no match: test its output.)
tcp_listening()
{
	local in=()
	[ -z "${2:-}" ] || in=(nsx "$2")
	[ -n "$("${in[@]}" ss -Htln "sport = :$1")" ]
}

# nsx NS CMD...: run CMD inside namespace NS.
nsx()
{
	local ns=$1
	shift
	$IP netns exec "$ns" "$@"
}

# veth_pair NS1 IF1 NS2 IF2: a veth pair between two namespaces, both up.
veth_pair()
{
	$IP link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	$IP -n "$1" link set "$2" up
	$IP -n "$3" link set "$4" up
}

# link_add NAME ARGS...: ip link add in the root namespace, removed at the end.
link_add()
{
	local name=$1
	shift
	$IP link add "$name" "$@"
	_case_links="$_case_links $name"
}

# wg_dev_add NS NAME [KIND]: a wg device inside NS.
wg_dev_add()
{
	$IP -n "$1" link add "$2" type "${3:-$WG_KIND}"
}

# --- keys ---------------------------------------------------------------

# wg_keypair PRIVVAR PUBVAR: generate a key pair into two variables.
wg_keypair()
{
	local priv
	priv=$($WG genkey)
	printf -v "$1" '%s' "$priv"
	printf -v "$2" '%s' "$(printf '%s' "$priv" | $WG pubkey)"
}

# wg_set_key NS DEV PRIVKEY: wg wants the key from a file.
wg_set_key()
{
	local f
	f=$(mktemp /tmp/key.XXXXXX)
	printf '%s\n' "$3" >"$f"
	nsx "$1" $WG set "$2" private-key "$f"
	rm -f "$f"
}

# wg_handshake_done NS DEV: some peer of DEV has completed a handshake.
wg_handshake_done()
{
	nsx "$1" $WG show "$2" latest-handshakes | awk '$2 != 0 { ok = 1 } END { exit !ok }'
}

# --- interop (two VMs joined by a virtual link) -------------------------
# VM A (192.168.241.1) runs our module and selftests/interop/[0-9]*.sh.
# VM B (192.168.241.2) runs the in-tree wireguard module and
# selftests/interop/peer.sh, which serves a control channel: peer_run sends
# a bash script over TCP (ncat) to B, B runs it and returns output and
# exit status.  Fixed keys so both ends know each other without talking.

INTEROP_A_ADDR=192.168.241.1
INTEROP_B_ADDR=192.168.241.2
INTEROP_PREFIX=24
INTEROP_CTL_PORT=4000
INTEROP_WG_PORT=51820
INTEROP_A_TUN=10.241.0.1	# suggested tunnel addresses
INTEROP_B_TUN=10.241.0.2
INTEROP_A_PRIV=uDqUvNB9D3Hs0NBCN4wQyYIOw83Bcc2LAUsqaPFJpW8=
INTEROP_B_PRIV=GBXzCUqvU+V9GUQFTRsxxP9VMo+RWX1GU1noOo5S5H8=
INTEROP_PSK=XS9VL2M2Iu2IGZ8rYqHfxaLnv5FSWrEBogpKFmszzls=
INTEROP_A_PUB=$(printf '%s' "$INTEROP_A_PRIV" | $WG pubkey 2>/dev/null || true)
INTEROP_B_PUB=$(printf '%s' "$INTEROP_B_PRIV" | $WG pubkey 2>/dev/null || true)
INTEROP_DONE=/tmp/wg-interop-done

# interop_link_up ADDR: configure the VM's virtio-net link.
interop_link_up()
{
	local dev
	modprobe -q virtio_pci || true
	modprobe -q virtio_net
	wait_for 10 test -e /sys/class/net/eth0
	dev=eth0
	$IP addr add "$1/$INTEROP_PREFIX" dev "$dev"
	$IP link set "$dev" up
}

# peer_run SCRIPT: run SCRIPT with bash on VM B; prints its output and
# returns its exit status.  (--no-shutdown: ncat closes the whole
# connection, answer included, when the client half-closes.)
peer_run()
{
	local out rc
	out=$(printf '%s\n__WG_CTL_END__\n' "$1" |
		timeout 300 ncat --no-shutdown "$INTEROP_B_ADDR" "$INTEROP_CTL_PORT") || true
	rc=$(printf '%s\n' "$out" | sed -n 's/^__WG_CTL_RC__ //p' | tail -n 1)
	printf '%s\n' "$out" | grep -v '^__WG_CTL_RC__ ' || true
	[ -n "$rc" ] || { echo "peer_run: no answer from $INTEROP_B_ADDR"; return 1; }
	return "$rc"
}

# interop_a_wg0 ENDPOINT|-: our wg0 in VM A's root namespace, VM B's wg0
# as its peer (with the pair's preshared key) at ENDPOINT ("-": none, to be
# learnt); tunnel addresses $INTEROP_A_TUN/24 and fd41::1/64.
interop_a_wg0()
{
	local f
	$IP link del wg0 2>/dev/null || true
	$IP link add wg0 type wg
	f=$(mktemp)
	printf '%s\n' "$INTEROP_A_PRIV" >"$f"
	$WG set wg0 private-key "$f" listen-port "$INTEROP_WG_PORT"
	printf '%s\n' "$INTEROP_PSK" >"$f"
	$WG set wg0 peer "$INTEROP_B_PUB" preshared-key "$f" \
		allowed-ips "$INTEROP_B_TUN/32,fd41::2/128"
	rm -f "$f"
	if [ "$1" != - ]; then
		$WG set wg0 peer "$INTEROP_B_PUB" endpoint "$1"
	fi
	$IP addr add "$INTEROP_A_TUN/24" dev wg0
	$IP addr add fd41::1/64 dev wg0 nodad
	$IP link set wg0 up
}

# interop_b_wg0 ENDPOINT|-: the same on VM B with the in-tree driver (kind
# wireguard), peer VM A; VM B's wg1 (a second peer of ours) goes too.
interop_b_wg0()
{
	peer_run "
		ip link del wg0 2>/dev/null
		ip link del wg1 2>/dev/null
		set -e
		ip link add wg0 type wireguard
		f=\$(mktemp)
		echo $INTEROP_B_PRIV >\$f
		wg set wg0 private-key \$f listen-port $INTEROP_WG_PORT
		echo $INTEROP_PSK >\$f
		wg set wg0 peer $INTEROP_A_PUB preshared-key \$f \
			allowed-ips $INTEROP_A_TUN/32,fd41::1/128
		rm -f \$f
		[ '$1' = - ] || wg set wg0 peer $INTEROP_A_PUB endpoint '$1'
		ip addr add $INTEROP_B_TUN/24 dev wg0
		ip addr add fd41::2/64 dev wg0 nodad
		ip link set wg0 up
	"
}

# peer_wait_ready [TIMEOUT]: until VM B answers on the control channel.
peer_wait_ready()
{
	wait_for "${1:-60}" peer_run true
}

# peer_finish: tell VM B that the tests are over (it then powers off).
peer_finish()
{
	peer_run "touch $INTEROP_DONE" >/dev/null 2>&1 || true
}
