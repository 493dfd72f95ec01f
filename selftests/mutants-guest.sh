#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the mutation check (selftests/mutants.sh), run by /init for
# wgtest.mode=mutants once the kernel log reader is up.  The host packs
#   /selftests/mutants/list      NAME<tab>TESTS<tab>CASES per line
#   /selftests/mutants/NAME.ko   that mutant's wg.ko
# and passes wgtest.mutfrom=N (first line to run, from 1) and
# wgtest.timeout=SECONDS (limit per test script).  For each mutant: its
# wg.ko replaces the installed one, its test scripts (TESTS: numbers, e.g.
# 30,33) run with WG_CASES=CASES (an ERE on case names; empty: all), then
# everything is torn down and the kernel log written meanwhile is checked
# for splats and for objects created but not destroyed.  Console lines the
# host reads:
#   WG-MUTANT-BEGIN N NAME
#   WG-MUTANT-TESTED N NAME VERDICT    (before the teardown, which may hang)
#   WG-MUTANT-RESULT N NAME VERDICT    VERDICT: "killed by ..." or "survived ..."
#   WG-MUTANT-REBOOT                   the kernel is no longer clean (a splat,
#                                      a leak, a module that will not unload):
#                                      the host boots again for the rest
#   WG-MUTANTS-END

rel=$(uname -r)
ko=/lib/modules/$rel/extra/wg.ko
dir=/selftests/mutants
IP=/usr/sbin/ip

# As guest-init.sh's "kernel log clean".
splat='BUG:|WARNING:|KASAN|UBSAN|kmemleak|Oops|general protection|lockdep|INFO: (rcu|task .* blocked|possible)|rcu_.*(stall|detected)|Call Trace|Kernel panic|refcount_t:|list_(add|del) corruption|stack-protector|double fault|unreferenced object'

arg()
{
	local a v=
	for a in $(cat /proc/cmdline); do
		case $a in "wgtest.$1="*) v=${a#*=} ;; esac
	done
	echo "${v:-$2}"
}

from=$(arg mutfrom 1)
timeout=$(arg timeout 300)

# Processes that are not a test's: /init, its helpers, this shell.
declare -A keep=()
for p in /proc/[0-9]*; do
	keep[${p#/proc/}]=1
done

# kill_strays: every user process a test left behind (daemons, captures).
kill_strays()
{
	local p pid
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ -z "${keep[$pid]:-}" ] && [ "$pid" != $$ ] || continue
		# Kernel threads have no command line.
		[ -s "$p/cmdline" ] || continue
		kill -9 "$pid" 2>/dev/null
	done
}

# del_wg_links: the wg devices of the root namespace.
del_wg_links()
{
	local d
	for d in /sys/class/net/*; do
		d=${d##*/}
		if ethtool -i "$d" 2>/dev/null | grep -qx 'driver: wg'; then
			$IP link del "$d" 2>/dev/null
		fi
	done
}

# teardown: namespaces, wg devices, both WireGuard modules.
teardown()
{
	$IP -all netns delete 2>/dev/null
	del_wg_links
	modprobe -r wireguard 2>/dev/null
	modprobe -r wg 2>/dev/null
	return 0
}

# objects FILE: "created destroyed" lines of the debug build in FILE.
objects()
{
	awk '/(interface|peer [0-9]+|keypair [0-9]+( for peer [0-9]+)?) created/ { c++ }
	     /(interface|peer [0-9]+|keypair [0-9]+( for peer [0-9]+)?) destroyed/ { d++ }
	     END { printf "%d %d\n", c, d }' "$1"
}

# kline: kernel log lines without their level and time stamp.
kline()
{
	sed -E 's/^<[0-9]+>//; s/^\[[^]]*\] *//'
}

# window START: the kernel log since line START of /tmp/kmsg-all.
window()
{
	tail -n +"$(($1 + 1))" /tmp/kmsg-all >/tmp/mut-kmsg
}

# run_script SCRIPT CASES: runs one test script of the mutant (its output
# to the console); writes the verdict to /tmp/mut-verdict if the script
# killed the mutant, and adds its passed cases to $ran.
run_script()
{
	local t=$1 cases=$2 tname rc line first= all=
	tname=${t##*/}
	tname=${tname%.sh}
	: >/tmp/mut-verdict
	echo "# running $tname"
	WG_CASES=$cases KTAP_INDENT="    " timeout -k 10 "$timeout" bash "$t" </dev/null 2>&1 |
		tee /tmp/mut-out
	rc=${PIPESTATUS[0]}
	# As /init after every script; and a device a skipped case would
	# have deleted goes too (the baseline runs several scripts).
	$IP -all netns delete 2>/dev/null
	del_wg_links
	while IFS= read -r line; do
		if [[ $line =~ ^\ +ok\ [0-9]+\  ]] && [[ $line != *'# SKIP'* ]]; then
			ran=$((ran + 1))
		elif [[ $line =~ ^\ +not\ ok\ [0-9]+\ (.*)$ ]]; then
			line=${BASH_REMATCH[1]}
			first=${first:-${line%% # *}}
			all=${all:+$all, }${line%% # *}
		fi
	done </tmp/mut-out
	if [ -n "$first" ] && [[ $name == baseline* ]]; then
		echo "killed by $tname: $all" >/tmp/mut-verdict
	elif [ -n "$first" ]; then
		echo "killed by $tname: $first" >/tmp/mut-verdict
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "killed by $tname: timed out after ${timeout}s" >/tmp/mut-verdict
	elif [ "$rc" != 0 ]; then
		echo "killed by $tname: exit status $rc" >/tmp/mut-verdict
	fi
}

mapfile -t list <"$dir/list"
echo "WG-MUTANTS-BEGIN $rel"
for ((i = from; i <= ${#list[@]}; i++)); do
	IFS=$'\t' read -r name tests cases <<<"${list[i - 1]}"
	echo "WG-MUTANT-BEGIN $i $name"
	echo "wgtest: mutant $name begins" >/dev/kmsg
	sleep 1
	start=$(wc -l </tmp/kmsg-all)
	cp "$dir/$name.ko" "$ko"
	verdict='' ran=0 dirty=''
	if ! out=$(modprobe wg 2>&1); then
		window "$start"
		verdict="killed by modprobe wg: $(printf '%s\n' "$out" | tail -n 1); $(grep -E 'wg: ' /tmp/mut-kmsg | grep -v taint | tail -n 1 | kline)"
	else
		for n in ${tests//,/ }; do
			t=$(ls /selftests/tests/"$n"-*.sh 2>/dev/null | head -n 1)
			if [ -z "$t" ]; then
				verdict="not run: no test script $n"
				break
			fi
			run_script "$t" "$cases"
			# The baseline runs everything and names every failure.
			if [[ $name == baseline* ]]; then
				v=$(cat /tmp/mut-verdict)
				[ -z "$v" ] || verdict=${verdict:+$verdict; }$v
				continue
			fi
			verdict=$(cat /tmp/mut-verdict)
			[ -z "$verdict" ] || break
		done
	fi
	echo "WG-MUTANT-TESTED $i $name ${verdict:-passed}"

	# Tear down in the background: a broken module can hang it.
	kill_strays
	teardown &
	td=$!
	for _ in $(seq 600); do
		kill -0 "$td" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$td" 2>/dev/null; then
		dirty=1
		verdict=${verdict:-"killed by teardown: ip link del or modprobe -r hung"}
	elif [ -d /sys/module/wg ]; then
		dirty=1
		verdict=${verdict:-"killed by teardown: wg.ko does not unload"}
	fi
	# Every object the debug build announced created is destroyed.
	for _ in $(seq 300); do
		window "$start"
		read -r c d < <(objects /tmp/mut-kmsg)
		[ "$c" != "$d" ] || break
		sleep 0.1
	done
	sleep 1
	window "$start"
	read -r c d < <(objects /tmp/mut-kmsg)
	if [ "$c" != "$d" ]; then
		dirty=1
		verdict=${verdict:-"killed by the object count: $c created, $d destroyed"}
	fi
	if line=$(grep -E -m 1 "$splat" /tmp/mut-kmsg); then
		dirty=1
		grep -E -B 5 -A 30 "$splat" /tmp/mut-kmsg | head -n 80 | sed 's/^/# /'
		line=$(printf '%s\n' "$line" | kline)
		verdict=${verdict:-"killed by the kernel log: $line"}
	fi
	[ -n "$verdict" ] || verdict="survived ($ran cases passed)"
	echo "WG-MUTANT-RESULT $i $name $verdict"
	if [ -n "$dirty" ]; then
		echo "WG-MUTANT-REBOOT"
		exit 0
	fi
done
echo "WG-MUTANTS-END"
