#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test VMs (packed by selftests/run.sh).  What to do comes from
# the kernel command line:
#   wgtest.mode=check      run /selftests/tests/*.sh (default)
#   wgtest.mode=demo       run /selftests/demo.sh
#   wgtest.mode=bench      run /selftests/bench.sh
#   wgtest.mode=interop-a  bring up the link, run /selftests/interop/[0-9]*.sh
#   wgtest.mode=interop-b  bring up the link, run /selftests/interop/peer.sh
#   wgtest.mode=mutants    selftests/mutants.sh: /selftests/mutants-guest.sh
#   wgtest.only=GLOB[,GLOB] only test scripts whose name matches GLOB or GLOB*
#   wgtest.timeout=SECONDS limit per test script (default 600)
# Output is KTAP between the WG-TESTS-BEGIN and WG-TESTS-END markers; the
# last test is always "kernel log clean".

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# kmemleak (debug kernel) scans once, after the suite (below): its periodic
# scans of the whole heap cost minutes of CPU under TCG mid-test.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan=off >/sys/kernel/debug/kmemleak
fi
mkdir -p /run/netns /run/wireguard /root
ln -sf /proc/self/fd /dev/fd 2>/dev/null
ln -sf /proc/self/fd/0 /dev/stdin 2>/dev/null
ln -sf /proc/self/fd/1 /dev/stdout 2>/dev/null
ln -sf /proc/self/fd/2 /dev/stderr 2>/dev/null
hostname wgtest
/usr/sbin/ip link set lo up

mode=check only='*' timeout=600
for arg in $(cat /proc/cmdline); do
	case $arg in
	wgtest.mode=*) mode=${arg#*=} ;;
	wgtest.only=*) only=${arg#*=} ;;
	wgtest.timeout=*) timeout=${arg#*=} ;;
	esac
done

tests=()
case $mode in
check) IFS=, read -ra globs <<<"$only"
	for t in /selftests/tests/*.sh; do
		# Quoted: an unquoted "*" would expand to the names in /.
		for g in "${globs[@]}"; do
			# shellcheck disable=SC2053
			if [[ ${t##*/} == $g || ${t##*/} == $g* ]]; then
				tests+=("$t")
				break
			fi
		done
	done ;;
demo) tests=(/selftests/demo.sh) ;;
bench) tests=(/selftests/bench.sh) ;;
interop-a)
	for t in /selftests/interop/[0-9]*.sh; do
		[ -e "$t" ] && tests+=("$t")
	done ;;
interop-b) tests=(/selftests/interop/peer.sh) ;;
esac

# Under TCG a vCPU can run stale code while the kernel patches a static
# branch: seen as "Oops: int3" in netif_rx_internal() and
# dev_queue_xmit_nit(), at the netstamp_needed_key branch, which every
# ping that starts or exits flips.  One socket that keeps receive
# timestamps on for the whole run (iputils ping sets SO_TIMESTAMP) stops
# those flips.
if /usr/bin/ping -V 2>&1 | grep -q iputils; then
	/usr/bin/ping -q -i 3600 127.0.0.1 >/dev/null 2>&1 &
fi

# Kernel messages after this point are the tests'.  The tests may log
# more than the ring buffer holds (created/destroyed lines of fuzzers), so
# a reader keeps everything from the marker on.
dmesg -c >/tmp/boot-dmesg
cat /proc/kmsg >/tmp/kmsg-all 2>/dev/null &
kmsg_pid=$!
if [ "$mode" = mutants ]; then
	# Its own markers and verdicts, one kernel for many mutants.
	bash /selftests/mutants-guest.sh
	sync
	poweroff -f
fi
echo "wgtest: tests begin" >/dev/kmsg
echo "WG-TESTS-BEGIN $mode $(uname -r)"
echo "KTAP version 1"
echo "1..$((${#tests[@]} + 2))"

if [ "$mode" = interop-a ] || [ "$mode" = interop-b ]; then
	. /selftests/lib.sh
	if [ $mode = interop-a ]; then addr=$INTEROP_A_ADDR; else addr=$INTEROP_B_ADDR; fi
	interop_link_up "$addr" 2>&1 | sed 's/^/# /'
fi

n=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	name=${t##*/}
	name=${name%.sh}
	echo "# running $name"
	t0=$(date +%s)
	KTAP_INDENT="    " timeout -k 10 "$timeout" bash "$t" </dev/null 2>&1
	rc=$?
	echo "# $name took $(($(date +%s) - t0)) s"
	if [ $rc -eq 0 ]; then
		echo "ok $n $name"
	elif [ $rc -eq 124 ]; then
		echo "not ok $n $name # timed out after ${timeout}s"
	else
		echo "not ok $n $name # exit status $rc"
	fi
	# Namespaces left behind must not leak into the next script.
	/usr/sbin/ip -all netns delete 2>/dev/null
done

if [ "$mode" = interop-a ]; then
	peer_finish
fi

# Nothing leaked: with no wg device left, every interface, peer and
# keypair the debug build announced as created is announced destroyed.
wg_objects()
{
	awk '/(interface|peer [0-9]+|keypair [0-9]+( for peer [0-9]+)?) created/ { c++ }
	     /(interface|peer [0-9]+|keypair [0-9]+( for peer [0-9]+)?) destroyed/ { d++ }
	     END { printf "%d %d\n", c, d }' /tmp/kmsg-all
}
objects_balanced()
{
	local c d
	read -r c d < <(wg_objects)
	[ "$c" = "$d" ]
}
n=$((n + 1))
if [ -d /sys/module/wg ]; then
	for d in /sys/class/net/*; do
		d=${d##*/}
		if ethtool -i "$d" 2>/dev/null | grep -qx 'driver: wg'; then
			/usr/sbin/ip link del "$d" 2>/dev/null
		fi
	done
	modprobe -r wg 2>/dev/null
fi
for i in $(seq 1 300); do
	objects_balanced && break
	sleep 0.1
done
read -r created destroyed < <(wg_objects)
if [ "$created" = "$destroyed" ]; then
	echo "ok $n objects created = destroyed ($created)"
elif grep -q 'messages dropped\|suppressed' /tmp/kmsg-all; then
	echo "ok $n objects created = destroyed # SKIP kernel log lost lines ($created created, $destroyed destroyed)"
else
	echo "# created $created, destroyed $destroyed; last object lines:"
	grep -E '(interface|peer [0-9]+|keypair [0-9]+).* (created|destroyed)' /tmp/kmsg-all | tail -n 20 | sed 's/^/# /'
	echo "not ok $n objects created = destroyed"
fi

# Anything the kernel complained about while the tests ran?
n=$((n + 1))
splat='BUG:|WARNING:|KASAN|UBSAN|kmemleak|Oops|general protection|lockdep|INFO: (rcu|task .* blocked|possible)|rcu_.*(stall|detected)|Call Trace|Kernel panic|refcount_t:|list_(add|del) corruption|stack-protector|double fault|unreferenced object'
# kmemleak (debug kernel): scan after the suite; a report that names one
# of our module's functions or objects fails the run.
leaks=
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	awk '/^unreferenced object/ { if (r ~ /\[wg\]|wg_/) printf "%s", r; r = "" }
		{ r = r $0 "\n" } END { if (r ~ /\[wg\]|wg_/) printf "%s", r }' \
		/sys/kernel/debug/kmemleak >/tmp/kmemleak-wg
	if [ -s /tmp/kmemleak-wg ]; then
		leaks=1
		echo "# kmemleak reports naming the module:"
		sed 's/^/# /' /tmp/kmemleak-wg | head -n 200
	else
		echo "# kmemleak: $(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak) unreferenced objects, none of the module's"
	fi
fi
sleep 1
kill "$kmsg_pid" 2>/dev/null
if [ -s /tmp/kmsg-all ]; then
	sed -n '/wgtest: tests begin/,$p' /tmp/kmsg-all >/tmp/test-dmesg
	dmesg >>/tmp/test-dmesg
else
	dmesg >/tmp/test-dmesg
fi
# Our own scan's summary line is judged above, by what it found.
sed -i '/kmemleak: [0-9]* new suspected memory leaks/d' /tmp/test-dmesg
# While 62-fault-injection makes allocations fail, the kernel prints the
# failures with a stack trace (warn_alloc) and kmemleak may fail to track
# one: expected there, so those lines (the trace header and its frames)
# go; every real splat marker (BUG, WARNING, KASAN, ...) in that window
# still counts.
awk '/wgtest: fault injection on/ { f = 1 } /wgtest: fault injection off/ { f = 0 }
     f && /Call Trace|kmemleak: Cannot allocate/ { next }
     f && /\] +(\? )?[A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+/ { next }
     { print }' \
	/tmp/test-dmesg >/tmp/test-dmesg.judged
mv /tmp/test-dmesg.judged /tmp/test-dmesg
if [ -n "$leaks" ]; then
	echo "not ok $n kernel log clean"
elif grep -Eq "$splat" /tmp/test-dmesg; then
	echo "# kernel log after WG-TESTS-BEGIN:"
	grep -E -B 5 -A 40 "$splat" /tmp/test-dmesg | sed 's/^/# /' | head -n 400
	echo "not ok $n kernel log clean"
else
	echo "ok $n kernel log clean"
fi
echo "WG-TESTS-END"
sync
poweroff -f
