#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hostile configuration requests: wgnl fuzz (selftests/tools/wgnl.c) sends
# generated `wireguard` family messages (valid structure with random
# attributes, wrong types and lengths, nests thousands deep, peer and
# allowed-IP lists as large as a nest holds, every flag combination, dumps
# interleaved with the sets on more sockets).  It keeps a model of the
# configuration (an accepted request applies completely, a refused one
# changes nothing) and compares it with dumps.  An unprivileged user fuzzes
# at the same time and must be refused every time.  The model is also kept
# on an up device whose tunnel carries a flood ping and iperf3 meanwhile
# (wgnl fuzz --keep).
#
# Reproduce a failure: WG_APPEND="wgtest.nlseed=S" (the seed printed), or on
# any machine with the module loaded:
#	ip link add wg0 type wg; wgnl fuzz --seed S --count N wg0
. /selftests/lib.sh
if [ -f /selftests/tunnel-lib.sh ]; then
	. /selftests/tunnel-lib.sh
fi

SEED=${WG_NL_FUZZ_SEED:-$(wgtest_arg nlseed $(( $(date +%s) % 100000 )))}
COUNT=${WG_NL_FUZZ_COUNT:-$(wgtest_arg nlcount 100000)}
WGNL=/selftests/tools/wgnl

ktap_plan 4

need_wgnl()
{
	[ -x "$WGNL" ] || skip "wgnl missing"
	[ -d "/sys/module/$WG_MODULE" ] || load_wg
}

t_model()
{
	local rc=0 upid
	need_wgnl
	ns_add fz
	wg_dev_add fz wg0
	echo "seed $SEED, $COUNT requests (+ $((COUNT / 4)) unprivileged)"
	# The unprivileged user works on the same device at the same time.
	nsx fz "$WGNL" --as-user 65534 fuzz --expect-eperm \
		--seed $((SEED + 1)) --count $((COUNT / 4)) wg0 >/tmp/fz-unpriv.log 2>&1 &
	upid=$!
	nsx fz "$WGNL" fuzz --seed "$SEED" --count "$COUNT" wg0 || rc=$?
	wait "$upid" || { cat /tmp/fz-unpriv.log; echo "unprivileged fuzz failed"; rc=1; }
	grep -E '^fuzz: (seed|errno)' /tmp/fz-unpriv.log | sed 's/^/unprivileged /'
	return $rc
}

# Someone without privilege in the init namespace, root in its own user
# and network namespace, fuzzing a device it created there.
t_userns()
{
	need_wgnl
	command -v unshare >/dev/null || skip "no unshare"
	"$WGNL" --as-user 65534 exec unshare -U -r -n true 2>/dev/null ||
		skip "unprivileged user namespaces are off"
	"$WGNL" --as-user 65534 exec unshare -U -r -n /bin/bash -c "
		$IP link set lo up
		$IP link add wgu0 type $WG_KIND
		$WGNL fuzz --seed $((SEED + 2)) --count $((COUNT / 10)) wgu0"
}

# No model: the device is up (listen ports really bind and collide), two
# writers race, readers dump; the device must stay sane.
t_chaos()
{
	local p1 p2 rc=0 n=$((COUNT / 10))
	need_wgnl
	ns_add fz
	wg_dev_add fz wg0
	$IP -n fz link set wg0 up
	nsx fz "$WGNL" fuzz --no-model --seed $((SEED + 3)) --count "$n" wg0 >/tmp/fz-a.log 2>&1 &
	p1=$!
	nsx fz "$WGNL" fuzz --no-model --seed $((SEED + 4)) --count "$n" wg0 >/tmp/fz-b.log 2>&1 &
	p2=$!
	while kill -0 "$p1" 2>/dev/null || kill -0 "$p2" 2>/dev/null; do
		nsx fz "$WG" show wg0 >/dev/null 2>&1 || true
		nsx fz "$WG" showconf wg0 >/dev/null 2>&1 || true
	done
	wait "$p1" || rc=1
	wait "$p2" || rc=1
	grep -h '^fuzz: seed' /tmp/fz-a.log /tmp/fz-b.log
	[ $rc = 0 ] || { tail -n 5 /tmp/fz-a.log /tmp/fz-b.log; return 1; }
	nsx fz "$WG" showconf wg0 >/dev/null
	$IP -n fz link del wg0
}

# splats_since MARK: kernel messages after the line MARK that report a
# problem (the patterns guest-init.sh looks for after the suite).
splats_since()
{
	dmesg | sed -n "/$1/,\$p" | grep -E 'BUG:|WARNING:|KASAN|UBSAN|Oops|general protection|lockdep|INFO: (rcu|task .* blocked|possible)|rcu_.*(stall|detected)|Call Trace|refcount_t:|list_(add|del) corruption' || true
}

# The model on an up device with a tunnel that carries traffic all along:
# ns1's wg0 (the fuzzed device) and ns2's wg0, a flood ping and iperf3
# from ns1 to ns2.  wgnl fuzz --keep starts its model from wg0's
# configuration and never touches the private key or the tunnel's peer;
# its listen port moves within 40000-40063 (ns2 follows it: every
# message from ns1 is authenticated).  The dumps must equal the model,
# the traffic must keep flowing and the kernel must report nothing.
t_model_up()
{
	local n=$((COUNT / 20)) k1 p1 k2 p2 r0 r1 t0 t1 out rc=0 fping iperf
	local rate mark
	need_wgnl
	declare -F bg_nsx >/dev/null || skip "/selftests/tunnel-lib.sh not packed"
	need_cmd iperf3
	need_iputils_ping
	rate=$(wgtest_arg tdrate 20M)
	[ "$rate" != 0 ] || rate=20M
	ns_add ns1 ns2
	veth_pair ns1 v1 ns2 v2
	$IP -n ns1 addr add 192.0.2.1/24 dev v1
	$IP -n ns2 addr add 192.0.2.2/24 dev v2
	wg_keypair k1 p1
	wg_keypair k2 p2
	wg_dev_add ns1 wg0
	wg_dev_add ns2 wg0
	wg_set_key ns1 wg0 "$k1"
	wg_set_key ns2 wg0 "$k2"
	nsx ns1 "$WG" set wg0 listen-port 10001 peer "$p2" \
		allowed-ips 10.10.0.2/32,fd10::2/128 endpoint 192.0.2.2:10002
	nsx ns2 "$WG" set wg0 listen-port 10002 peer "$p1" \
		allowed-ips 10.10.0.1/32,fd10::1/128 endpoint 192.0.2.1:10001
	$IP -n ns1 addr add 10.10.0.1/24 dev wg0
	$IP -n ns2 addr add 10.10.0.2/24 dev wg0
	$IP -n ns1 link set wg0 up
	$IP -n ns2 link set wg0 up
	wait_for 30 tping ns1 10.10.0.2
	bg_nsx /tmp/fz-up-server.log ns2 iperf3 -s -B 10.10.0.2
	wait_for 20 tcp_listening 5201 ns2
	bg_nsx /tmp/fz-up-iperf.log ns1 iperf3 -c 10.10.0.2 -t 3600 -b "$rate"
	iperf=$BG_PID
	bg_nsx /tmp/fz-up-ping.log ns1 "$PING" -f -c 100000000 10.10.0.2
	fping=$BG_PID
	mark="wgtest: model on an up device $SEED"
	echo "$mark" >/dev/kmsg
	r0=$(icmp_echo_replies ns1) t0=$(wg_rx ns2 wg0 "$p1")
	echo "seed $((SEED + 5)), $n requests with --keep; iperf3 at $rate and a flood ping through wg0"
	out=$(nsx ns1 "$WGNL" fuzz --keep --check-every 500 --seed $((SEED + 5)) \
		--count "$n" wg0) || rc=$?
	r1=$(icmp_echo_replies ns1) t1=$(wg_rx ns2 wg0 "$p1")
	bg_stop "$fping"
	bg_stop "$iperf"
	printf '%s\n' "$out" | grep -E '^fuzz: (seed|kept|model|MISMATCH|request|dump)'
	echo "meanwhile: $((r1 - r0)) echo replies, ns2 received $((t1 - t0)) bytes from ns1;" \
		"ns1's port now $(nsx ns1 "$WG" show wg0 listen-port), $(nsx ns1 "$WG" show wg0 peers | wc -l) peers"
	[ "$rc" = 0 ] || { echo "wgnl fuzz --keep failed (exit $rc)"; return 1; }
	assert_match "$out" '^fuzz: model: .*: dump matches$' "the model check"
	assert_match "$out" '^fuzz: kept: 1 peers, 2 allowed IPs, listen port 10001$' "the starting model"
	[ $((r1 - r0)) -ge 50 ] || { echo "the flood ping stalled"; return 1; }
	[ $((t1 - t0)) -ge 1000000 ] || { echo "iperf3 stalled"; return 1; }
	# The tunnel still works both ways, at whatever port ns1 is now.
	wait_for 10 tping ns1 10.10.0.2
	tping ns2 10.10.0.1
	assert_eq "$(wg_endpoint ns1 wg0 "$p2")" 192.0.2.2:10002 "ns1's endpoint for ns2"
	out=$(splats_since "$mark")
	[ -z "$out" ] || { echo "$out"; return 1; }
}

run_case "netlink fuzz, privileged and unprivileged, dump equals the model" t_model
run_case "netlink fuzz inside an unprivileged user namespace" t_userns
run_case "netlink fuzz, two writers and readers on an up device" t_chaos
run_case "netlink fuzz on an up device carrying traffic, dump equals the model" t_model_up
ktap_finished
