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
# at the same time and must be refused every time.
#
# Reproduce a failure: WG_APPEND="wgtest.nlseed=S" (the seed printed), or on
# any machine with the module loaded:
#	ip link add wg0 type wg; wgnl fuzz --seed S --count N wg0
. /selftests/lib.sh

SEED=${WG_NL_FUZZ_SEED:-$(wgtest_arg nlseed $(( $(date +%s) % 100000 )))}
COUNT=${WG_NL_FUZZ_COUNT:-$(wgtest_arg nlcount 100000)}
WGNL=/selftests/tools/wgnl

ktap_plan 3

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

run_case "netlink fuzz, privileged and unprivileged, dump equals the model" t_model
run_case "netlink fuzz inside an unprivileged user namespace" t_userns
run_case "netlink fuzz, two writers and readers on an up device" t_chaos
ktap_finished
