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
#   wgtest.only=GLOB       only test scripts whose name matches GLOB or GLOB*
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
check) for t in /selftests/tests/*.sh; do
		# shellcheck disable=SC2053
		[[ ${t##*/} == $only || ${t##*/} == $only* ]] && tests+=("$t")
	done ;;
demo) tests=(/selftests/demo.sh) ;;
bench) tests=(/selftests/bench.sh) ;;
interop-a)
	for t in /selftests/interop/[0-9]*.sh; do
		[ -e "$t" ] && tests+=("$t")
	done ;;
interop-b) tests=(/selftests/interop/peer.sh) ;;
esac

# Kernel messages after this point are the tests'.
dmesg -c >/tmp/boot-dmesg
echo "WG-TESTS-BEGIN $mode $(uname -r)"
echo "KTAP version 1"
echo "1..$((${#tests[@]} + 1))"

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
	KTAP_INDENT="    " timeout -k 10 "$timeout" bash "$t" </dev/null 2>&1
	rc=$?
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

# Anything the kernel complained about while the tests ran?
n=$((n + 1))
splat='BUG:|WARNING:|KASAN|UBSAN|kmemleak|Oops|general protection|lockdep|INFO: (rcu|task .* blocked|possible)|rcu_.*(stall|detected)|Call Trace|Kernel panic|refcount_t:|list_(add|del) corruption|stack-protector|double fault|unreferenced object'
dmesg >/tmp/test-dmesg
if grep -Eq "$splat" /tmp/test-dmesg; then
	echo "# kernel log after WG-TESTS-BEGIN:"
	sed 's/^/# /' /tmp/test-dmesg | head -n 300
	echo "not ok $n kernel log clean"
else
	echo "ok $n kernel log clean"
fi
echo "WG-TESTS-END"
sync
poweroff -f
