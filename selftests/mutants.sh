#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make mutants: does the test suite notice a broken module?  Each
# selftests/mutants/NN-name.patch is one deliberate bug, a few lines against
# module/, with header lines that patch(1) ignores:
#
#	# breaks: what the bug breaks, one line
#	# tests: 30,33             test scripts (numbers) that should kill it
#	# cases: ERE               optional: only the cases whose name matches
#	# note: ...                optional, free text
#
# The module is built once (WG_DEBUG=1, as make check builds it) for the
# first kernel of $WG_CACHE/kernels (bookworm's 6.1); each mutant is that
# build tree patched, so only the patched file recompiles.  All mutants'
# wg.ko go into one initramfs; the guest (wgtest.mode=mutants,
# selftests/mutants-guest.sh) loads each in turn, runs its cases, tears
# everything down and checks the kernel log (splats, objects created but
# not destroyed).  A mutant that crashes or hangs the VM is killed by that;
# the next VM goes on with the rest.  First of all the unmutated module runs
# every selected case (the baseline): a kill only counts if the case passes
# without the bug.
#
#   bash selftests/mutants.sh            build and run (make mutants)
#   bash selftests/mutants.sh build      apply and build every mutant, no VM
#   bash selftests/mutants.sh refresh    re-diff the patches against module/
#                                        after module/ changed (headers kept)
#
# Knobs: WG_MUTANTS="04*,19*" only those mutants (globs on the name);
# WG_MUTANT_TIMEOUT=300 limit per test script in the guest;
# WG_MUTANT_BASELINE=0 no baseline; WG_RESULTS (default
# /tmp/wg-results/mutants); WG_LOCK=0, WG_APPEND, WG_LIGHT_APPEND as for
# run.sh.  Exit status 0 only if every mutant applied, built and was killed
# and the baseline passed.
set -euo pipefail

# One compound command: bash reads it whole before running it, so editing
# this file while a run waits for the lock does not change that run.
{
MHERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WG_RESULTS=${WG_RESULTS:-/tmp/wg-results/mutants}
WG_MUTANTS=${WG_MUTANTS:-*}
WG_MUTANT_TIMEOUT=${WG_MUTANT_TIMEOUT:-300}
WG_MUTANT_BASELINE=${WG_MUTANT_BASELINE:-1}
MODE=${1:-run}
case $MODE in
run|build|refresh) ;;
*) echo "usage: $0 [run|build|refresh]" >&2; exit 2 ;;
esac
# run.sh's functions (build_module, make_initrd, boot_vm, ...) and knobs.
# shellcheck source-path=SCRIPTDIR source=run.sh
. "$MHERE/run.sh" check
MDIR=$WG_CACHE/mutants

# header PATCH FIELD: the value of "# FIELD: ..." lines (joined by spaces).
header()
{
	sed -n '/^--- /q; s/^# '"$2"': *//p' "$1" | paste -sd ' '
}

# --- refresh --------------------------------------------------------------

refresh()
{
	local p t f rc=0 files
	t=$(mktemp -d /tmp/wg-mutants-refresh.XXXXXX)
	for p in "$HERE"/mutants/*.patch; do
		rm -rf "$t/a" "$t/b"
		mkdir -p "$t/a" "$t/b"
		cp -r "$WG_SRC/module" "$t/a/"
		cp -r "$WG_SRC/module" "$t/b/"
		if ! patch -p1 -d "$t/b" --batch --no-backup-if-mismatch -s <"$p" >"$t/log" 2>&1; then
			echo "${p##*/}: does not apply; fix by hand:"
			sed 's/^/  /' "$t/log"
			rc=1
			continue
		fi
		files=$(sed -n 's|^+++ b/\([^\t ]*\).*|\1|p' "$p")
		{
			sed -n '/^--- /q; p' "$p"
			for f in $files; do
				(cd "$t" && diff -u --label "a/$f" --label "b/$f" "a/$f" "b/$f") || true
			done
		} >"$t/new"
		if cmp -s "$t/new" "$p"; then
			echo "${p##*/}: up to date"
		else
			cp "$t/new" "$p"
			echo "${p##*/}: refreshed"
		fi
	done
	rm -rf "$t"
	return $rc
}

if [ "$MODE" = refresh ]; then
	refresh
	exit
fi

# --- which mutants --------------------------------------------------------

NAMES=() PATCHES=()
declare -A TESTS=() CASES=() VERDICT=()
IFS=, read -ra mglobs <<<"$WG_MUTANTS"
for p in "$HERE"/mutants/[0-9]*.patch; do
	name=${p##*/}
	name=${name%.patch}
	for g in "${mglobs[@]}"; do
		# shellcheck disable=SC2053
		if [[ $name == $g ]]; then
			NAMES+=("$name")
			PATCHES+=("$p")
			TESTS[$name]=$(header "$p" tests | tr -d ' ')
			CASES[$name]=$(header "$p" cases)
			break
		fi
	done
done
[ ${#NAMES[@]} -gt 0 ] || { echo "no mutant matches WG_MUTANTS=$WG_MUTANTS" >&2; exit 2; }

mkdir -p "$WG_CACHE"
exec 9>"$WG_CACHE/run.lock"
if [ "$WG_LOCK" != 0 ] && ! flock -n 9; then
	say "another selftests/run.sh (or mutants.sh) holds $WG_CACHE/run.lock; waiting"
	flock 9
fi
START=$(date +%s)

[ -s "$WG_CACHE/kernels" ] || bash "$HERE/setup-host.sh" >/dev/null
read -r rel vmlinuz kmods kdir root <"$WG_CACHE/kernels"
if [ "${root:--}" != - ] || [ "$vmlinuz" = - ]; then
	echo "the first kernel of $WG_CACHE/kernels ($rel) is not one this host builds for and boots" >&2
	exit 2
fi
out=$WG_RESULTS/$rel
rm -rf "$out"
mkdir -p "$out/ko"

# --- build ----------------------------------------------------------------

build_tools >/dev/null
[ -n "$TOOLS_BIN" ] || { echo "selftests/tools did not build (see $WG_RESULTS/tools/build.log)" >&2; exit 1; }
say "$rel: building wg.ko (WG_DEBUG=1) in $MDIR/build/$rel"
if ! WG_CACHE=$MDIR build_module "$rel" "$kdir" "$out" 1; then
	tail -n 30 "$out/build.log"
	echo "the unmutated module does not build (see $out/build.log)" >&2
	exit 1
fi
tree=$MDIR/build/$rel
# What every mutant starts from: the built tree, objects included.
rsync -a --delete "$tree/" "$MDIR/pristine/"

say "building ${#NAMES[@]} mutants (only the patched files recompile)"
RUN=()
for i in "${!NAMES[@]}"; do
	name=${NAMES[$i]}
	log=$out/ko/$name.log
	if ! patch -p1 -d "$tree" --batch --no-backup-if-mismatch <"${PATCHES[$i]}" >"$log" 2>&1; then
		VERDICT[$name]="did not apply (see $log; bash selftests/mutants.sh refresh)"
	else
		rm -f "$tree/wg.ko"
		if make -C "$kdir" M="$tree" WG_DEBUG=1 -j"$JOBS" modules >>"$log" 2>&1 &&
			[ -f "$tree/wg.ko" ]; then
			cp "$tree/wg.ko" "$out/ko/$name.ko"
		else
			VERDICT[$name]="did not build (see $log)"
		fi
	fi
	rsync -a --delete "$MDIR/pristine/" "$tree/"
	if [ -z "${VERDICT[$name]:-}" ]; then
		for n in ${TESTS[$name]//,/ }; do
			compgen -G "$HERE/tests/$n-*.sh" >/dev/null ||
				VERDICT[$name]="not run: no test script $n (# tests: ${TESTS[$name]})"
		done
		[ -n "${TESTS[$name]}" ] || VERDICT[$name]="not run: no # tests: line"
	fi
	if [ -z "${VERDICT[$name]:-}" ]; then
		RUN+=("$name")
	fi
done

if [ "$MODE" = build ]; then
	for name in "${NAMES[@]}"; do
		printf '%-30s %s\n' "$name" "${VERDICT[$name]:-built: $out/ko/$name.ko}"
	done
	[ ${#RUN[@]} = ${#NAMES[@]} ]
	exit
fi

# --- initramfs: run.sh's, plus the mutants --------------------------------

# The baseline: the unmutated module runs what the mutants run, one entry
# per script (baseline-NN) with the cases of every mutant that lists it.
BASE=()
if [ "$WG_MUTANT_BASELINE" != 0 ] && [ ${#RUN[@]} -gt 0 ]; then
	declare -A bcases=() ball=()
	for name in "${RUN[@]}"; do
		for n in ${TESTS[$name]//,/ }; do
			if [ -z "${CASES[$name]}" ]; then
				ball[$n]=1
			else
				bcases[$n]="${bcases[$n]:+${bcases[$n]}|}(${CASES[$name]})"
			fi
		done
	done
	for n in $(printf '%s\n' "${!bcases[@]}" "${!ball[@]}" | sort -un); do
		TESTS[baseline-$n]=$n
		CASES[baseline-$n]=${bcases[$n]:-}
		[ -z "${ball[$n]:-}" ] || CASES[baseline-$n]=''
		cp "$out/wg.ko" "$out/ko/baseline-$n.ko"
		BASE+=("baseline-$n")
	done
	RUN=("${BASE[@]}" "${RUN[@]}")
fi

say "$rel: packing initramfs"
make_initrd "$rel" "$kmods" "$out/wg.ko" "$out/initrd.cpio"
ov=$(mktemp -d /tmp/wg-mutants.XXXXXX)
chmod 0755 "$ov"
mkdir -p "$ov/selftests/mutants"
for name in "${RUN[@]}"; do
	cp "$out/ko/$name.ko" "$ov/selftests/mutants/"
	printf '%s\t%s\t%s\n' "$name" "${TESTS[$name]}" "${CASES[$name]}"
done >"$out/list"
cp "$out/list" "$ov/selftests/mutants/list"
(cd "$ov" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >>"$out/initrd.cpio"
rm -rf "$ov"

# --- VMs ------------------------------------------------------------------

# show NAME VERDICT: the one line per mutant.
show()
{
	local v=$2
	case $v in survived*) v="SURVIVED ${v#survived }" ;; esac
	printf '%-30s %s\n' "$1" "$v"
}

# collect LOG: the verdicts of LOG's RESULT lines not seen yet (progress).
SHOWN=0
collect()
{
	local n=0 i name v
	while read -r _ i name v; do
		n=$((n + 1))
		[ "$n" -gt "$SHOWN" ] || continue
		SHOWN=$n
		VERDICT[$name]=$v
		echo "# [$i/${#RUN[@]}] $name: $v"
	done < <(grep '^WG-MUTANT-RESULT ' "$1" || true)
}

idle=$((WG_MUTANT_TIMEOUT + 150))
# shellcheck disable=SC2034 # boot_vm's limit
WG_VM_TIMEOUT=$(( (${#RUN[@]} + 1) * (WG_MUTANT_TIMEOUT + 150) ))
say "$rel: running ${#RUN[@]} entries (${#BASE[@]} baseline first) in as few VMs as they allow; console logs in $out"
next=1 boots=0 retried=
while [ ${#RUN[@]} -gt 0 ] && [ "$next" -le ${#RUN[@]} ]; do
	boots=$((boots + 1))
	log=$out/console.$boots.log
	: >"$log"
	SHOWN=0
	VM_PIDFILE=$PIDDIR/vm.mutants.$boots boot_vm "$vmlinuz" "$out/initrd.cpio" \
		"wgtest.mode=mutants wgtest.mutfrom=$next wgtest.timeout=$WG_MUTANT_TIMEOUT $WG_LIGHT_APPEND" \
		"$log" "" >/dev/null &
	bpid=$!
	# A guest that prints nothing for longer than a script may run hangs.
	stopped=0
	while kill -0 "$bpid" 2>/dev/null; do
		sleep 5
		collect "$log"
		if [ "$stopped" = 0 ] && [ $(($(date +%s) - $(stat -c %Y "$log"))) -gt "$idle" ]; then
			echo "# VM $boots: no output for ${idle}s; stopping it"
			kill_vm "$PIDDIR/vm.mutants.$boots"
			stopped=$(date +%s)
		elif [ "$stopped" != 0 ] && [ $(($(date +%s) - stopped)) -gt 60 ]; then
			echo "# VM $boots: its console pipe is still open; not waiting for it"
			break
		fi
	done
	[ "$stopped" != 0 ] || wait "$bpid" || true
	collect "$log"
	if grep -q '^WG-MUTANTS-END' "$log"; then
		break
	fi
	last=$(sed -n 's/^WG-MUTANT-BEGIN \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
	if [ -z "$last" ]; then
		if [ -n "$retried" ]; then
			echo "# VM $boots died before the first mutant again (see $log)"
			break
		fi
		echo "# VM $boots died before the first mutant; booting once more"
		retried=1
		continue
	fi
	retried=
	name=${RUN[$((last - 1))]}
	if ! grep -q "^WG-MUTANT-RESULT $last " "$log"; then
		# Crashed or hung the VM: killed by that, or by what its tests
		# had found before.
		v=$(sed -n "s/^WG-MUTANT-TESTED $last [^ ]* //p" "$log" | tail -n 1)
		where=$(grep -E '^# running |^ +# [^ ]' "$log" | tail -n 1 | sed 's/^ *# *//')
		case $v in
		killed*) ;;
		passed) v="killed by a crash or hang of the VM in the teardown (see $log)" ;;
		*) v="killed by a crash or hang of the VM (last: ${where:-?}; see $log)" ;;
		esac
		VERDICT[$name]=$v
		echo "# [$last/${#RUN[@]}] $name: $v"
	fi
	next=$((last + 1))
done

# --- summary --------------------------------------------------------------

echo
killed=0 survived=0 notrun=0 bad=0
for name in "${BASE[@]}"; do
	v=${VERDICT[$name]:-not run}
	case $v in
	survived*) echo "$name: the unmutated module passes these cases ${v#survived }" ;;
	*) echo "$name FAILED: $v: kills by these cases are not reliable"; bad=1 ;;
	esac
done
for name in "${NAMES[@]}"; do
	v=${VERDICT[$name]:-not run: the VMs stopped before it}
	case $v in
	killed*) killed=$((killed + 1)) ;;
	survived*) survived=$((survived + 1)) ;;
	*) notrun=$((notrun + 1)) ;;
	esac
	show "$name" "$v"
done
echo "($(( $(date +%s) - START ))s, $boots VM boots; logs in $out)"
echo "mutants: $killed killed, $survived survived, $notrun not run"
[ "$survived" = 0 ] && [ "$notrun" = 0 ] && [ "$bad" = 0 ]
exit
}
