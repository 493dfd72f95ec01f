#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build wg.ko for every guest kernel, boot each kernel under QEMU (TCG) with
# an initramfs holding the module, the tools and the test scripts, and count
# the KTAP results the guest prints on its serial console.
#
#   bash selftests/run.sh check        host checks, tests/*.sh, interop/*.sh:
#                                      every kernel Debian users run (make check)
#   bash selftests/run.sh check-debug  the debug-kernel (sanitizer) lane only
#   bash selftests/run.sh check-all    both, and the full suite on every lane
#   bash selftests/run.sh demo         walkthrough on the first kernel
#   bash selftests/run.sh bench        in-tree vs wg vs wireguard-go (selftests/bench.sh)
#                                      on the first kernel (WG_KERNELS='*': all)
#
# make check keeps within 40 minutes on a bare 2-core machine: the full
# suite at light sizes on bookworm's 6.1 (debug build) and on trixie's
# 6.12 (release build, and the interop VMs), a smoke set on
# bookworm-security's 6.12 (the same upstream release as trixie's, built
# with gcc-12; WG_SMOKE_LANE), sid's build.  make check-all adds the full
# sizes and interop on 6.1, the whole suite on the smoke lane and the
# sanitizer lane.  The sanitizer lane needs its own kernel (5-15 minutes to build
# the first time) and runs 5-10 times slower: make check-debug.
#
# The kernels are the ones selftests/setup-host.sh resolves from the archive
# each day ($WG_CACHE/kernels): bookworm's newest 6.1, the newest
# 6.12.x+deb12, and trixie's kernel, whose module (and DKMS build) is built
# inside a trixie chroot with trixie's gcc (selftests/chroot.sh); sid's
# kernel is built only, in a sid chroot, with W=1 and no warning allowed.
#
# Environment knobs:
#   WG_KERNELS="6.1*"      only kernels whose release matches one of these globs
#   WG_ONLY="00"           only guest test scripts matching this glob (or glob*)
#   WG_INTEROP=0           skip the two-VM interop run (1, the default: the
#                          release-build lane, and the first kernel in
#                          check-all or with WG_KERNELS; all: every kernel)
#   WG_DKMS=0              skip the DKMS build check
#   WG_SRC=DIR             build the module from DIR instead of this tree
#   WG_RESULTS=DIR         logs (default /tmp/wg-results)
#   WG_VM_TIMEOUT=SECONDS  host-side limit per VM (default 2700)
#   WG_TEST_TIMEOUT=SECONDS guest-side limit per test script (default 1200)
#   WG_APPEND="..."        extra kernel command line
#   WG_BENCH_REPS=3, WG_BENCH_TIME=4, WG_BENCH_PINGS=200,
#   WG_BENCH_INITIATORS=200, WG_BENCH_PEERS=1000, WG_BENCH_PREFIXES=100000
#                          bench sizes (see selftests/bench.sh);
#   WG_BENCH_PROFILE=1     profile one TCP flow (in-tree, wg) with perf instead
#                          of the table; =2: TCP 1 flow rates only (quick A/B);
#                          =3: the ping row only (in-tree, wireguard-go, wg);
#                          =4: handshakes, memory and prefixes set (in-tree, wg)
#                          =5: profile wg setconf of the prefixes (in-tree, wg)
#   WG_BENCH_TIMEOUT=3600  guest-side limit of the bench, seconds
#   WG_DEBUG_LANE=0|1      the debug-kernel lane (default: 0 for check, 1 for
#                          check-debug and check-all): selftests/debug-kernel.sh
#                          builds (once, cached) a 6.1 kernel with KASAN,
#                          kmemleak, lockdep, UBSAN, debug objects and fault
#                          injection
#   WG_DEBUG_ONLY="..."    test scripts of the debug lane (comma-separated
#                          globs; default: load, netlink, tunnel,
#                          robustness, wireguard-go, the fuzzers, fault
#                          injection and teardown)
#   WG_DEBUG_INTEROP=0     no interop VMs on the debug kernel (default 1)
#   WG_SMOKE_LANE="*+deb12-*"  kernels that run only WG_SMOKE_ONLY in make
#                          check (check-all runs everything there); "" for none
#   WG_SMOKE_ONLY="00,31"  those scripts
#   WG_LOCK=0              do not wait for another run.sh (shares the CPUs)
#   WG_DEBUG_SMP4="63"     scripts run once more on 4 vCPUs in the debug lane
#   WG_DEBUG_SMP4_APPEND   their sizes there (added to WG_DEBUG_APPEND)
#   WG_DEBUG_APPEND="..."  kernel command line of the debug lane (test sizes)
#   WG_LIGHT_APPEND="..."  the same, light sizes (make check; check-all after
#                          its first kernel)
#   WG_RELEASE_LANE="*+deb13-*"  kernels whose suite runs the release build
#                          (WG_DEBUG=0) instead of the debug build; "" for none
# Every guest must print one result per script it runs plus two; a skip
# not allowed by selftests/expected-skips fails the run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
WG_CACHE=${WG_CACHE:-/var/cache/wg-selftests}
WG_SRC=${WG_SRC:-$TOP}
WG_RESULTS=${WG_RESULTS:-/tmp/wg-results}
WG_KERNELS_GIVEN=${WG_KERNELS:+1}
WG_KERNELS=${WG_KERNELS:-*}
WG_ONLY=${WG_ONLY:-*}
WG_INTEROP=${WG_INTEROP:-1}
WG_DKMS=${WG_DKMS:-1}
WG_VM_TIMEOUT=${WG_VM_TIMEOUT:-2700}
WG_TEST_TIMEOUT=${WG_TEST_TIMEOUT:-1200}
WG_APPEND=${WG_APPEND:-}
cmd=${1:-check}
SUITE=$cmd
case $cmd in
check|demo|bench) ;;
check-all|check-debug) cmd=check ;;
*) echo "usage: $0 check|check-debug|check-all|demo|bench" >&2; exit 2 ;;
esac
if [ "$SUITE" = check ]; then
	WG_DEBUG_LANE=${WG_DEBUG_LANE:-0}
	WG_SMOKE_LANE=${WG_SMOKE_LANE-*+deb12-*}
else
	WG_DEBUG_LANE=${WG_DEBUG_LANE:-1}
	WG_SMOKE_LANE=${WG_SMOKE_LANE-}
fi
WG_SMOKE_ONLY=${WG_SMOKE_ONLY:-00,31}
# WIDE=1: full test sizes and the interop VMs on the first kernel too
# (check-all and check-debug, or kernels chosen with WG_KERNELS); plain
# make check keeps to light sizes and interop on the release-build lane.
WIDE=1
if [ "$SUITE" = check ] && [ -z "$WG_KERNELS_GIVEN" ]; then
	WIDE=0
fi
WG_DEBUG_INTEROP=${WG_DEBUG_INTEROP:-1}
WG_LOCK=${WG_LOCK:-1}
WG_RELEASE_LANE=${WG_RELEASE_LANE-*+deb13-*}
# The debug lane runs what attacks the module (bad netlink input, the two
# fuzzers, fault injection, teardown under traffic) and the data path
# (tunnel, timers, cookies, IPv6 outer, wireguard-go and, with
# WG_DEBUG_INTEROP, the in-tree driver in a second VM).  Under KASAN,
# lockdep and kmemleak without KVM everything is 5-10 times slower
# (21-config took 9 min there); the configuration, scale and wg-quick
# scripts run on the Debian kernels only, and so does 31-parity: its
# exact byte counts must be read within the 10 s before a passive
# keepalive, which the KASAN kernel does not manage (1460 for 1428).
WG_DEBUG_ONLY=${WG_DEBUG_ONLY:-00,20,30,33,40,60,61,62,63}
WG_DEBUG_SMP4=${WG_DEBUG_SMP4:-63}
# Sizes there (make check's time budget): 60 sends 10,000 requests
# (72 s for 20,000), 62 runs 20 rounds (266 s for 40); 63's teardown
# rounds (about 150 s each: 7 changes, one of each kind, each followed by
# a ping through the tunnel) are split: the sockets' namespace deleted on
# 2 vCPUs, the device and the peer's device on 4 (the Debian kernels run
# all three on 2 vCPUs); 20 and 10 create/configure/delete cycles
# (kmemleak and the created/destroyed accounting find a single leaked
# object, so a few cycles do).  63's and 61's iperf3 run at 1 Mbit/s each
# way (tdrate): saturated, the tunnel's queues held pings back for more
# than a minute on 4 vCPUs, and 61's fuzzer got about 40 datagrams out a
# second.
WG_DEBUG_APPEND=${WG_DEBUG_APPEND:-wgtest.nlcount=10000 wgtest.pktcount=3000 wgtest.faultrounds=20 wgtest.cycles=20 wgtest.rounds=7 wgtest.tdrate=1M wgtest.teardowns=1 wgtest.paritycookies=0 wgtest.underload=16 wgtest.timedivisor=10}
WG_DEBUG_SMP4_APPEND=${WG_DEBUG_SMP4_APPEND:-wgtest.cycles=10 wgtest.rounds=7 wgtest.teardowns=2,3}
# Light test sizes (make check, and the Debian kernels after the first in
# check-all): the fuzzers', the scale test's and the teardown test's full
# sizes run once per check-all, on 6.1.
WG_LIGHT_APPEND=${WG_LIGHT_APPEND-wgtest.nlcount=25000 wgtest.pktcount=10000 wgtest.cycles=300 wgtest.rounds=10 wgtest.scalepeers=100 wgtest.paritycookies=0}
VM_SMP=2
JOBS=$(nproc)

PASS=0 FAIL=0 SKIP=0
FAILED_NAMES=()
SUMMARIES=()
START=$(date +%s)

say() { printf '==> %s\n' "$*"; }

# --- host-side results ----------------------------------------------------

# result ok|fail|skip NAME [DETAIL]
result()
{
	case $1 in
	ok) PASS=$((PASS + 1)); echo "ok - $2" ;;
	skip) SKIP=$((SKIP + 1)); echo "ok - $2 # SKIP ${3:-}" ;;
	*) FAIL=$((FAIL + 1)); FAILED_NAMES+=("$2"); echo "not ok - $2${3:+ # $3}" ;;
	esac
}

# --- module build -------------------------------------------------------

# chroot_run ROOT CMD...: CMD on this host (ROOT "-") or inside the chroot
# ROOT (selftests/chroot.sh), with /proc mounted there only meanwhile.
CHROOT_PROC=
chroot_run()
{
	local root=$1 rc=0
	shift
	if [ "$root" = - ]; then
		"$@"
		return
	fi
	mount -t proc proc "$root/proc"
	CHROOT_PROC=$root/proc
	LC_ALL=C.UTF-8 chroot "$root" "$@" || rc=$?
	chroot_umount
	return $rc
}

chroot_umount()
{
	if [ -n "$CHROOT_PROC" ]; then
		umount "$CHROOT_PROC" 2>/dev/null || umount -l "$CHROOT_PROC" 2>/dev/null || true
		CHROOT_PROC=
	fi
}

# build_module REL KDIR OUTDIR [DEBUG [CHROOT [MAKE ARGS...]]]: wg.ko in
# OUTDIR on success.  With a CHROOT other than "-", the build runs inside
# it (KDIR is a path there) on a copy of the source under CHROOT/build.
build_module()
{
	local rel=$1 kdir=$2 out=$3 debug=${4:-1} root=${5:--} src tree=build
	shift $(($# < 5 ? $# : 5))
	# The bench builds without WG_DEBUG, in a tree of its own.
	[ "$debug" = 1 ] || tree=build-nodebug
	src=$WG_CACHE/$tree/$rel
	[ "$root" = - ] || src=$root/build/$tree/$rel

	mkdir -p "$src"
	# Content-compared copy, new mtime on change: kbuild rebuilds exactly
	# what changed, whichever tree (WG_SRC) the last build came from.
	rsync -rlpD --checksum --delete --exclude '*.o' --exclude '*.ko' --exclude '.*.cmd' \
		--exclude '*.mod*' --exclude 'Module.symvers' --exclude 'modules.order' \
		"$WG_SRC/Kbuild" "$WG_SRC/module" "$WG_SRC/include" "$src/" >/dev/null
	# Kbuild keeps objects of removed sources around; drop stale ones.
	rm -f "$src/wg.ko"
	if chroot_run "$root" make -C "$kdir" M="${src#"$root"}" WG_DEBUG="$debug" \
		-j"$JOBS" "$@" modules >"$out/build.log" 2>&1 && [ -f "$src/wg.ko" ]; then
		cp "$src/wg.ko" "$out/wg.ko"
		return 0
	fi
	return 1
}

# dkms_check REL OUTDIR [CHROOT]: add/build/remove through DKMS in a
# private tree, so an installed wg DKMS package is never touched; inside
# CHROOT (its dkms, its compiler) unless that is "-".
dkms_check()
{
	local rel=$1 out=$2 root=${3:--} t i ver ko tmp=/tmp
	[ "$root" = - ] || tmp=$root/tmp
	t=$(mktemp -d "$tmp/wg-dkms.XXXXXX")
	i=${t#"$root"}	# the same directory, as the build sees it
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$WG_SRC/dkms.conf")
	mkdir -p "$t/src" "$t/tree" "$t/install"
	for f in Kbuild dkms.conf Makefile module include; do
		if [ -e "$WG_SRC/$f" ]; then cp -r "$WG_SRC/$f" "$t/src/"; fi
	done
	find "$t/src" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \) -delete
	local d="--dkmstree $i/tree --sourcetree $i/srctree --installtree $i/install"
	mkdir -p "$t/srctree"
	# shellcheck disable=SC2086
	{
		chroot_run "$root" dkms add $d "$i/src" &&
		chroot_run "$root" dkms build $d -m wg -v "$ver" -k "$rel" -j "$JOBS" \
			--kernelsourcedir "/lib/modules/$rel/build"
	} >"$out/dkms.log" 2>&1 || true
	ko=$(find "$t/tree/wg/$ver/$rel" -name 'wg.ko*' 2>/dev/null | head -n 1)
	if [ -f "$t/tree/wg/$ver/build/make.log" ]; then
		cp "$t/tree/wg/$ver/build/make.log" "$out/dkms-make.log"
	fi
	# shellcheck disable=SC2086
	chroot_run "$root" dkms remove $d -m wg -v "$ver" --all >>"$out/dkms.log" 2>&1 || true
	rm -rf "$t"
	[ -n "$ko" ]
}

# modinfo_check KO: prints problems, fails if any.
modinfo_check()
{
	local ko=$1 ver bad=0 v
	ver=$(sed -n 's/^WG_VERSION := //p' "$WG_SRC/Kbuild")
	v=$(modinfo -F license "$ko")
	case $v in GPL|"GPL v2"|"Dual MIT/GPL"|"Dual BSD/GPL") ;;
	*) echo "# license is '$v'"; bad=1 ;; esac
	v=$(modinfo -F description "$ko")
	[ -n "$v" ] || { echo "# no description"; bad=1; }
	v=$(modinfo -F version "$ko")
	[ "$v" = "$ver" ] || { echo "# version is '$v', Kbuild says '$ver'"; bad=1; }
	modinfo -F alias "$ko" | grep -qx 'rtnl-link-wg' ||
		{ echo "# no alias rtnl-link-wg"; bad=1; }
	return $bad
}

# --- initramfs ------------------------------------------------------------

# Tools copied into the guest: "name[:alias,alias...]"; missing ones are
# left out (the tests that need them skip).
GUEST_TOOLS="bash ip ss bridge tc ping wg wg-quick wireguard-go iperf3 ncat tcpdump
	timeout nft ethtool conntrack perf mawk sort
	kmod:modprobe,insmod,rmmod,lsmod,depmod,modinfo
	xtables-nft-multi:iptables,iptables-nft,ip6tables,ip6tables-nft,iptables-save,iptables-restore,ip6tables-save,ip6tables-restore,iptables-nft-save,iptables-nft-restore
	xtables-legacy-multi:iptables-legacy,ip6tables-legacy,iptables-legacy-save,iptables-legacy-restore,ip6tables-legacy-save,ip6tables-legacy-restore"

# Kernel modules for the guest (with their dependencies); missing or
# built-in ones are fine.
GUEST_MODULES="veth dummy tun virtio_pci virtio_net udp_tunnel ip6_udp_tunnel
	libcurve25519 libcurve25519-generic curve25519-x86_64 curve25519-generic
	libchacha20poly1305 chacha20poly1305 chacha-x86_64 poly1305-x86_64
	libblake2s blake2s-x86_64 ipv6 wireguard sch_netem sch_fq_codel
	nf_tables nft_chain_nat nft_nat nft_masq nft_ct nft_compat nft_reject_inet
	nf_conntrack nf_nat nf_conntrack_netlink ip_tables ip6_tables iptable_filter
	iptable_nat ip6table_filter ip6table_nat xt_MASQUERADE xt_conntrack
	xt_addrtype xt_mark xt_comment xt_tcpudp xt_nat nft_fib_inet xt_connmark
	inet_diag tcp_diag"

guest_root_etc()
{
	local root=$1
	printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/bin/false\ntcpdump:x:101:101:tcpdump:/:/bin/false\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\ntcpdump:x:101:\n' >"$root/etc/group"
	printf '127.0.0.1 localhost\n::1 localhost\n192.168.241.1 wg-a\n192.168.241.2 wg-b\n' >"$root/etc/hosts"
	printf 'passwd: files\ngroup: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
	local f
	for f in /etc/protocols /etc/services /etc/ethertypes; do
		if [ -f "$f" ]; then cp "$f" "$root/etc/"; fi
	done
	return 0
}

# copy_elf ROOT FILE: FILE and its shared libraries, at their host paths.
copy_elf()
{
	local root=$1 f=$2 lib
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

pack_base()
{
	local rel=$1 kmods=$2 root=$3 spec name aliases path a m f d
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,tmp,run,root,var,selftests}
	ln -s ../run "$root/var/run"

	for spec in $GUEST_TOOLS; do
		name=${spec%%:*}
		aliases=$name
		[ "$spec" = "$name" ] || aliases=${spec#*:}
		path=$(command -v "$name" 2>/dev/null) || continue
		path=$(readlink -f "$path")
		if [ "$(head -c 4 "$path" | tail -c 3)" = ELF ]; then
			copy_elf "$root" "$path"
		else
			mkdir -p "$root$(dirname "$path")"
			cp -L "$path" "$root$path"
		fi
		for a in ${aliases//,/ }; do
			for d in bin sbin usr/bin usr/sbin; do
				[ "$root/$d/$a" -ef "$root$path" ] ||
					ln -sf "$path" "$root/$d/$a"
			done
		done
	done
	# iptables loads its extensions with dlopen.
	for d in /usr/lib/x86_64-linux-gnu/xtables /lib/x86_64-linux-gnu/xtables; do
		[ -d "$d" ] || continue
		for f in "$d"/*.so; do
			copy_elf "$root" "$(readlink -f "$f")"
			[ -e "$root$f" ] || { mkdir -p "$root$d"; ln -sf "$(readlink -f "$f")" "$root$f"; }
		done
		break
	done
	# ncat's OpenSSL wants its legacy provider and configuration.
	for f in /usr/lib/x86_64-linux-gnu/ossl-modules/*.so; do
		if [ -f "$f" ]; then copy_elf "$root" "$f"; fi
	done
	if [ -d /usr/lib/ssl ]; then
		mkdir -p "$root/usr/lib/ssl"
		cp -L /usr/lib/ssl/openssl.cnf "$root/usr/lib/ssl/" 2>/dev/null || true
	fi
	# busybox fills every other name (ping, sed, awk, mount, ...).
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		name=${a##*/}
		[ -e "$root/usr/bin/$name" ] || [ -L "$root/usr/bin/$name" ] && continue
		[ -e "$root/$a" ] || [ -L "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done
	guest_root_etc "$root"

	# Kernel modules, decompressed, with modules.dep for the guest's modprobe.
	local dst=$root/lib/modules/$rel kroot
	kroot=${kmods%/lib/modules/*}
	mkdir -p "$dst"
	for m in $GUEST_MODULES; do
		modprobe -S "$rel" -d "$kroot" --show-depends "$m" 2>/dev/null |
			awk '$1 == "insmod" { print $2 }'
	done | sort -u | while read -r f; do
		a=${f#"$kmods"/}
		mkdir -p "$dst/$(dirname "$a")"
		case $f in
		*.ko.xz) xz -dc "$f" >"$dst/${a%.xz}" ;;
		*.ko.zst) zstd -qdc "$f" >"$dst/${a%.zst}" ;;
		*.ko.gz) gzip -dc "$f" >"$dst/${a%.gz}" ;;
		*) cp "$f" "$dst/$a" ;;
		esac
	done
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		if [ -f "$kmods/$f" ]; then
			sed 's/\.ko\.\(xz\|zst\|gz\)$/.ko/' "$kmods/$f" >"$dst/$f"
		fi
	done
	depmod -b "$root" "$rel"
}

# base_initramfs REL MODDIR: cached cpio of everything but our files.
base_initramfs()
{
	local rel=$1 kmods=$2 dir fp spec p
	dir=$WG_CACHE/initramfs/$rel
	mkdir -p "$dir"
	fp=$( {
		declare -f pack_base copy_elf guest_root_etc
		echo "$GUEST_TOOLS $GUEST_MODULES"
		for spec in $GUEST_TOOLS; do
			p=$(command -v "${spec%%:*}" 2>/dev/null) && ls -lL "$p"
		done
		ls -l --time-style=+%s "$kmods/modules.order" /bin/busybox
	} | sha256sum | cut -c1-16)
	if [ "$(cat "$dir/fingerprint" 2>/dev/null)" != "$fp" ] || [ ! -f "$dir/base.cpio" ]; then
		say "packing base initramfs for $rel" >&2
		pack_base "$rel" "$kmods" "$dir/root"
		(cd "$dir/root" && find . | LC_ALL=C sort |
			cpio -o -H newc -R 0:0 --quiet) >"$dir/base.cpio.tmp"
		mv "$dir/base.cpio.tmp" "$dir/base.cpio"
		echo "$fp" >"$dir/fingerprint"
	fi
	echo "$dir"
}

# make_initrd REL MODDIR KO OUT [DEBUG_KO]: base + overlay (init, tests,
# wg.ko; DEBUG_KO, the bench's debug build, as selftests/wg-debug.ko).
make_initrd()
{
	local rel=$1 kmods=$2 ko=$3 out=$4 debug_ko=${5:-} base ov md
	base=$(base_initramfs "$rel" "$kmods")
	ov=$(mktemp -d /tmp/wg-overlay.XXXXXX)
	# The archive's "." becomes the guest's "/": mktemp made it 0700.
	chmod 0755 "$ov"
	mkdir -p "$ov/selftests" "$ov/lib/modules/$rel/extra"
	install -m 0755 "$HERE/guest-init.sh" "$ov/init"
	# Guest-side libraries (lib.sh, tunnel-lib.sh, ...), demo.sh, bench.sh.
	for f in "$HERE"/*.sh; do
		case ${f##*/} in
		run.sh|setup-host.sh|guest-init.sh|host-lib.sh|chroot.sh|debug-kernel.sh|mutants.sh) ;;
		*) cp "$f" "$ov/selftests/" ;;
		esac
	done
	# Static helpers from selftests/tools, built once per run.
	if [ -n "$TOOLS_BIN" ]; then
		mkdir -p "$ov/selftests/tools" "$ov/usr/bin"
		cp "$TOOLS_BIN"/* "$ov/selftests/tools/"
		cp "$TOOLS_BIN"/* "$ov/usr/bin/"
	fi
	# Not installed in /etc/modprobe.d: tests that want it copy it there.
	if [ -f "$WG_SRC/module/wg-modprobe.conf" ]; then
		cp "$WG_SRC/module/wg-modprobe.conf" "$ov/selftests/"
	fi
	for d in tests interop; do
		if [ -d "$HERE/$d" ]; then cp -r "$HERE/$d" "$ov/selftests/"; fi
	done
	if [ -n "$ko" ]; then
		# modules.dep must list wg.ko: depmod over a hard-linked copy.
		md=$(mktemp -d /tmp/wg-depmod.XXXXXX)
		mkdir -p "$md/lib/modules"
		cp -al "$base/root/lib/modules/$rel" "$md/lib/modules/"
		rm -f "$md/lib/modules/$rel"/modules.*.bin "$md/lib/modules/$rel"/modules.{dep,alias,symbols,softdep,devname}
		cp "$ko" "$md/lib/modules/$rel/extra/wg.ko" 2>/dev/null ||
			{ mkdir -p "$md/lib/modules/$rel/extra"; cp "$ko" "$md/lib/modules/$rel/extra/wg.ko"; }
		depmod -b "$md" "$rel"
		cp "$ko" "$ov/lib/modules/$rel/extra/wg.ko"
		cp "$md/lib/modules/$rel"/modules.* "$ov/lib/modules/$rel/"
		rm -rf "$md"
	fi
	# The bench's debug build, loaded by path (insmod), never by modprobe.
	if [ -n "$debug_ko" ]; then
		cp "$debug_ko" "$ov/selftests/wg-debug.ko"
	fi
	{
		cat "$base/base.cpio"
		(cd "$ov" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
	} >"$out"
	rm -rf "$ov"
}

# build_tools: selftests/tools/Makefile's programs, built in a copy so the
# source tree stays clean; sets TOOLS_BIN (empty if there are none).
TOOLS_BIN=
build_tools()
{
	local t f
	[ -f "$HERE/tools/Makefile" ] || return 0
	t=$WG_RESULTS/tools
	rm -rf "$t" && mkdir -p "$t/src" "$t/bin"
	cp -r "$HERE/tools/." "$t/src/"
	if ! make -C "$t/src" >"$t/build.log" 2>&1; then
		tail -n 20 "$t/build.log" | sed 's/^/# /'
		result fail "build selftests/tools" "see $t/build.log"
		return 0
	fi
	for f in "$t/src"/*; do
		if [ -f "$f" ] && [ -x "$f" ] && [ "$(head -c 4 "$f" | tail -c 3)" = ELF ]; then
			cp "$f" "$t/bin/"
		fi
	done
	compgen -G "$t/bin/*" >/dev/null && TOOLS_BIN=$t/bin
	result ok "build selftests/tools"
}

# --- VMs --------------------------------------------------------------

# boot_vm VMLINUZ INITRD APPEND LOG PREFIX [QEMU ARGS...]
# Echoes the console (prefixed) and writes it, without CRs, to LOG.
boot_vm()
{
	local vmlinuz=$1 initrd=$2 append=$3 log=$4 prefix=$5
	shift 5
	VM_SEQ=$((VM_SEQ + 1))
	timeout -k 10 "$WG_VM_TIMEOUT" qemu-system-x86_64 \
		-pidfile "${VM_PIDFILE:-$PIDDIR/vm.$BASHPID.$VM_SEQ}" \
		-machine pc -accel tcg -cpu max -smp "$VM_SMP" -m 1G \
		-nodefaults -no-user-config -display none -vga none \
		-serial stdio -monitor none -no-reboot \
		-kernel "$vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 log_buf_len=4M $append $WG_APPEND" \
		"$@" </dev/null 2>&1 |
		stdbuf -oL tr -d '\r' | tee "$log" | sed -u "s/^/$prefix/" &
	# In the background so that a signal to run.sh runs its trap now.
	wait $! || true
}

# tally LOG LABEL: count the KTAP results of one VM.  Returns 3 if the VM
# never reached WG-TESTS-BEGIN.
tally()
{
	local log=$1 label=$2 want=${3:-} counts p f s top n why
	grep -q '^WG-TESTS-BEGIN' "$log" || return 3
	counts=$(awk -v label="$label" '
		function leaf(line, indented,   name, st, why) {
			st = (line ~ /^[ \t]*not ok /) ? "fail" : "pass"
			if (line ~ /# SKIP/) st = "skip"
			name = line
			sub(/^[ \t]*(not )?ok [0-9]+ /, "", name)
			why = name
			sub(/ # .*/, "", name)
			sub(/^[^#]*# SKIP ?/, "", why)
			if (indented && running != "") name = running ": " name
			if (st == "fail") { fail++; names = names label ": " name "\n" }
			else if (st == "skip") { skip++; skips = skips "SKIP\t" name "\t" why "\n" }
			else pass++
		}
		/^WG-TESTS-BEGIN/ { begun = 1; next }
		/^WG-TESTS-END/ { ended = 1; next }
		!begun || ended { next }
		/^# running / { running = $3; subs = 0; subfail = 0; next }
		/^[ \t]+(not )?ok [0-9]+/ { leaf($0, 1); subs++; if ($0 ~ /^[ \t]*not ok/) subfail++; next }
		/^(not )?ok [0-9]+/ {
			top++
			if (subs == 0) leaf($0, 0)
			else if ($0 ~ /^not ok/ && subfail == 0) {
				fail++
				r = $0; sub(/^not ok [0-9]+ /, "", r)
				names = names label ": " r "\n"
			}
			running = ""; subs = 0; subfail = 0
			next
		}
		END {
			if (!ended) {
				fail++
				names = names label ": VM stopped during " (running != "" ? running : "the tests") "\n"
			}
			printf "%d %d %d %d\n%s%s", pass, fail, skip, top, names, skips
		}' "$log")
	read -r p f s top <<<"$(head -n 1 <<<"$counts")"
	PASS=$((PASS + p)) FAIL=$((FAIL + f)) SKIP=$((SKIP + s))
	while IFS= read -r n; do
		case $n in
		'') ;;
		SKIP$'\t'*)
			IFS=$'\t' read -r _ n why <<<"$n"
			if ! skip_expected "$label" "$n"; then
				echo "not ok - $label: $n: unexpected skip ($why; see selftests/expected-skips)"
				FAIL=$((FAIL + 1))
				FAILED_NAMES+=("$label: $n: unexpected skip ($why)")
			fi ;;
		*) FAILED_NAMES+=("$n") ;;
		esac
	done < <(tail -n +2 <<<"$counts")
	if ! grep -q '^WG-TESTS-END' "$log"; then
		echo "# $label: VM stopped before WG-TESTS-END (see $log)"
	elif [ -n "$want" ] && [ "$top" != "$want" ]; then
		echo "not ok - $label: $top results, $want expected (a script or a result went missing)"
		FAIL=$((FAIL + 1))
		FAILED_NAMES+=("$label: $top results, $want expected")
	fi
	return 0
}

# skip_expected LABEL NAME: selftests/expected-skips allows NAME to skip
# on the lane LABEL (lines "LANE-GLOB<tab>NAME-GLOB<tab>why").
skip_expected()
{
	local lane name why
	while IFS=$'\t' read -r lane name why; do
		case $lane in ''|'#'*) continue ;; esac
		# shellcheck disable=SC2053
		if [[ $1 == $lane && $2 == $name ]]; then
			return 0
		fi
	done <"$HERE/expected-skips"
	return 1
}

# expected_results MODE ONLY: the top-level results a guest of MODE prints:
# one per script it runs (guest-init.sh's choice, made again here), plus
# "objects created = destroyed" and "kernel log clean".
expected_results()
{
	local n=0 t g globs=()
	case $1 in
	check)
		IFS=, read -ra globs <<<"$2"
		for t in "$HERE"/tests/*.sh; do
			for g in "${globs[@]}"; do
				# shellcheck disable=SC2053
				if [[ ${t##*/} == $g || ${t##*/} == $g* ]]; then
					n=$((n + 1))
					break
				fi
			done
		done ;;
	interop-a)
		for t in "$HERE"/interop/[0-9]*.sh; do
			if [ -e "$t" ]; then n=$((n + 1)); fi
		done ;;
	*) n=1 ;;
	esac
	echo $((n + 2))
}

# run_vm LABEL VMLINUZ INITRD MODE LOG [APPEND]: boot, and boot once more
# if the guest died before the tests began.
run_vm()
{
	local label=$1 vmlinuz=$2 initrd=$3 mode=$4 log=$5 extra=${6:-} try want
	for try in 1 2; do
		say "$label: booting ($mode)"
		boot_vm "$vmlinuz" "$initrd" \
			"wgtest.mode=$mode wgtest.only=$WG_ONLY wgtest.timeout=$WG_TEST_TIMEOUT $extra" \
			"$log" ""
		want=
		[ "$mode" != check ] || want=$(expected_results check "$WG_ONLY")
		if tally "$log" "$label" "$want"; then
			return 0
		fi
		if [ $try = 1 ]; then
			echo "# $label: VM died before tests began; booting once more"
			cp "$log" "$log.1"
		fi
	done
	result fail "$label: VM died before tests began, twice (see $log)"
}

free_port()
{
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		[ -z "$(ss -Htln "sport = :$p")" ] && { echo $p; return; }
	done
}

# run_interop LABEL VMLINUZ INITRD DIR [PEER_VMLINUZ PEER_INITRD]: VM B
# (in-tree wireguard, peer.sh; its own kernel if given) listens on a QEMU
# socket netdev, VM A (our module, interop/*.sh) connects.
run_interop()
{
	local label=$1 vmlinuz=$2 initrd=$3 dir=$4 try port bpid ok peerpid
	local pvmlinuz=${5:-$2} pinitrd=${6:-$3}
	for try in 1 2; do
		port=$(free_port)
		say "$label: booting interop peer (in-tree wireguard) and test VM, link on 127.0.0.1:$port"
		peerpid=$PIDDIR/vm.peer.$port
		VM_PIDFILE=$peerpid boot_vm "$pvmlinuz" "$pinitrd" "wgtest.mode=interop-b wgtest.timeout=$WG_VM_TIMEOUT" \
			"$dir/interop-b.log" "[peer] " \
			-netdev "socket,id=n0,listen=127.0.0.1:$port" \
			-device virtio-net-pci,netdev=n0,mac=52:54:00:00:f1:02 &
		bpid=$!
		for _ in $(seq 100); do
			[ -n "$(ss -Htln "sport = :$port")" ] && break
			sleep 0.1
		done
		boot_vm "$vmlinuz" "$initrd" \
			"wgtest.mode=interop-a wgtest.timeout=$WG_TEST_TIMEOUT" \
			"$dir/interop-a.log" "" \
			-netdev "socket,id=n0,connect=127.0.0.1:$port" \
			-device virtio-net-pci,netdev=n0,mac=52:54:00:00:f1:01
		# B powers off once A said it is done; do not wait forever.
		for _ in $(seq 600); do
			kill -0 "$bpid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$bpid" 2>/dev/null; then
			echo "# $label: peer VM still running; stopping it"
			kill_vm "$peerpid"
		fi
		wait "$bpid" || true
		ok=1
		grep -q '^WG-TESTS-BEGIN' "$dir/interop-a.log" || ok=0
		grep -q '^WG-TESTS-BEGIN' "$dir/interop-b.log" || ok=0
		if [ $ok = 1 ] || [ $try = 2 ]; then
			tally "$dir/interop-a.log" "$label" "$(expected_results interop-a)" ||
				result fail "$label: test VM died before tests began"
			tally "$dir/interop-b.log" "$label peer" "$(expected_results interop-b)" ||
				result fail "$label peer: VM died before tests began"
			return 0
		fi
		echo "# $label: VM died before tests began; booting once more"
	done
}

# VMs still running when run.sh ends (interrupted, killed) are stopped.
PIDDIR=$(mktemp -d /tmp/wg-vms.XXXXXX)
VM_SEQ=0
stop_vms()
{
	local f
	for f in "$PIDDIR"/vm.*; do
		kill_vm "$f"
	done
	rm -rf "$PIDDIR"
}

# kill_vm PIDFILE: stop that QEMU, if it is still one.
kill_vm()
{
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	if [ -n "$pid" ] && grep -q '^qemu-system' "/proc/$pid/comm" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
	fi
	return 0
}
trap 'stop_vms; chroot_umount' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# debug_only LIST: the comma-separated globs of LIST that WG_ONLY also
# selects (WG_ONLY=60 runs only 60 on the debug lane too); empty if none.
debug_only()
{
	local g w o='' only
	IFS=, read -ra only <<<"$WG_ONLY"
	for g in ${1//,/ }; do
		for w in "${only[@]}"; do
			# shellcheck disable=SC2053
			if [ "$w" = '*' ] || [[ $g == $w || $g == $w* || $w == $g* ]]; then
				o=${o:+$o,}$g
				break
			fi
		done
	done
	echo "$o"
}

# --- bench ----------------------------------------------------------------

WG_BENCH_TIMEOUT=${WG_BENCH_TIMEOUT:-3600}

# bench_args: the WG_BENCH_* knobs as selftests/bench.sh's command line.
bench_args()
{
	local k v
	for k in REPS TIME PINGS INITIATORS PEERS PREFIXES PROFILE; do
		v=WG_BENCH_$k
		if [ -n "${!v:-}" ]; then printf 'wgbench.%s=%s ' "${k,,}" "${!v}"; fi
	done
}

# bench_report REL LOG LOADAVG: print the table the guest printed and write
# its JSON, with the host's CPU and load added, to $WG_RESULTS/bench-REL.json.
bench_report()
{
	local rel=$1 log=$2 json=$WG_RESULTS/bench-$1.json line
	line=$(sed -n 's/^.*# BENCH-JSON //p' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		result fail "$rel: bench results" "no BENCH-JSON line in $log"
		return 0
	fi
	if ! printf '%s\n' "$line" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
	    if l.startswith("model name")), "")
d["host"] = {"cpu": cpu, "cpus": os.cpu_count(), "accel": "tcg",
	     "qemu": sys.argv[1], "loadavg_start": sys.argv[2],
	     "loadavg_end": " ".join(open("/proc/loadavg").read().split()[:3])}
with open(sys.argv[3], "w") as f:
	json.dump(d, f, indent=1)
	f.write("\n")' "$(qemu-system-x86_64 --version | head -n 1)" "$3" "$json"; then
		result fail "$rel: bench results" "BENCH-JSON line is not JSON (see $log)"
		return 0
	fi
	echo
	say "$rel: bench (host: $(nproc) CPUs, load $3 at start)"
	awk '/# BENCH-TABLE-BEGIN/ { f = 1; next } /# BENCH-TABLE-END/ { f = 0 }
	     f { sub(/^[ \t]*# ?/, ""); print }' "$log"
	echo "(written to $json)"
	result ok "$rel: bench results"
}

# Sourced by selftests/mutants.sh: the functions above, no run.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	return 0
fi

# --- main -----------------------------------------------------------------

mkdir -p "$WG_CACHE"
exec 9>"$WG_CACHE/run.lock"
if [ "$WG_LOCK" != 0 ] && ! flock -n 9; then
	say "another selftests/run.sh holds $WG_CACHE/run.lock; waiting"
	flock 9
fi

say "setting up the host (selftests/setup-host.sh)"
early=0
if [ "$SUITE" = check ] || [ "$SUITE" = check-all ]; then
	early=1
fi
WG_EARLY_CHROOTS=$early WG_KERNELS=$WG_KERNELS bash "$HERE/setup-host.sh" >/dev/null

mapfile -t KERNELS <"$WG_CACHE/kernels"
selected=()
read -ra kglobs <<<"$WG_KERNELS"
for line in "${KERNELS[@]}"; do
	read -r rel vmlinuz _ <<<"$line"
	# A kernel without an image (sid's) is built by make check only.
	[ "$vmlinuz" != - ] || [ "$cmd" = check ] || continue
	# make check-debug: the debug kernel only.
	[ "$SUITE" != check-debug ] || continue
	for g in "${kglobs[@]}"; do
		# shellcheck disable=SC2053
		if [[ $rel == $g ]]; then selected+=("$line"); break; fi
	done
done
# The chroots that kernels of the list build in (trixie's, sid's), made
# or updated by selftests/chroot.sh in the background while the debug
# kernel and the lanes before theirs run; each lane waits for its own.
mkdir -p "$WG_RESULTS"
declare -A CHROOT_JOB=()
for line in "${selected[@]}"; do
	read -r rel _ _ _ root <<<"$line"
	[ -n "$root" ] && [ "$root" != - ] && [ -z "${CHROOT_JOB[$root]:-}" ] || continue
	say "${root##*/}: making or checking it in the background (log: $WG_RESULTS/${root##*/}.log)"
	WG_CACHE=$WG_CACHE bash "$HERE/chroot.sh" "${root##*/chroot-}" "$rel" \
		>"$WG_RESULTS/${root##*/}.log" 2>&1 &
	CHROOT_JOB[$root]=$!
done
# The debug lane's kernel, built once and cached (selftests/debug-kernel.sh).
DEBUG_REL=
if [ "$cmd" = check ] && [ "$WG_DEBUG_LANE" != 0 ]; then
	say "debug lane: kernel (selftests/debug-kernel.sh; the first build takes 5-10 min)"
	if line=$(bash "$HERE/debug-kernel.sh"); then
		read -r rel _ <<<"$line"
		for g in "${kglobs[@]}"; do
			# shellcheck disable=SC2053
			if [[ $rel == $g ]]; then selected+=("$line"); DEBUG_REL=$rel; break; fi
		done
	else
		result fail "debug lane: build the debug kernel" "see $WG_CACHE/debug-*/build.log"
	fi
fi
[ ${#selected[@]} -gt 0 ] || { echo "no kernel matches WG_KERNELS=$WG_KERNELS" >&2; exit 2; }
# demo, and bench unless WG_KERNELS names kernels: the first kernel.
[ "$cmd" = check ] || { [ "$cmd" = bench ] && [ -n "$WG_KERNELS_GIVEN" ]; } ||
	selected=("${selected[0]}")

mkdir -p "$WG_RESULTS"
build_tools
if [ "$cmd" = check ]; then
	# A check hidden in an && list cannot fail its case.
	if bash "$HERE/lint-asserts.sh" >"$WG_RESULTS/lint.log" 2>&1; then
		result ok "lint: every assertion can fail its case"
	else
		sed 's/^/# /' "$WG_RESULTS/lint.log"
		result fail "lint: every assertion can fail its case" "see $WG_RESULTS/lint.log"
	fi
	# The core's known-answer vectors, recomputed by the independent
	# implementation, must be the bytes the module's self-test checks.
	if /usr/bin/python3 "$HERE/tools/wg-kat.py" >"$WG_RESULTS/kat-vectors.h" 2>"$WG_RESULTS/kat.log" &&
		cmp -s "$WG_RESULTS/kat-vectors.h" "$WG_SRC/module/core/kat-vectors.h"; then
		result ok "core known-answer vectors match selftests/tools/wg-kat.py"
	else
		diff -u "$WG_SRC/module/core/kat-vectors.h" "$WG_RESULTS/kat-vectors.h" >>"$WG_RESULTS/kat.log" 2>&1 || true
		result fail "core known-answer vectors match selftests/tools/wg-kat.py" "see $WG_RESULTS/kat.log"
	fi
fi

first=1
for line in "${selected[@]}"; do
	read -r rel vmlinuz kmods kdir root <<<"$line"
	root=${root:--}
	out=$WG_RESULTS/$rel
	rm -rf "$out"
	mkdir -p "$out"
	p0=$PASS f0=$FAIL s0=$SKIP

	# A kernel built in a chroot: wait for selftests/chroot.sh, and name
	# the suite and its compiler in the results.
	lane=$rel
	chroot_ok=1
	if [ "$root" != - ]; then
		if [ -n "${CHROOT_JOB[$root]:-}" ]; then
			say "$rel: waiting for ${root##*/} (selftests/chroot.sh)"
			wait "${CHROOT_JOB[$root]}" || chroot_ok=0
			CHROOT_JOB[$root]=
		fi
		lane="$rel (${root##*/chroot-}, gcc-$(chroot "$root" gcc -dumpversion 2>/dev/null || echo '?'))"
		if [ $chroot_ok = 0 ]; then
			tail -n 20 "$WG_RESULTS/${root##*/}.log" | sed 's/^/# /'
			result fail "$lane: make ${root##*/}" "see $WG_RESULTS/${root##*/}.log"
		fi
	fi

	# Built only (sid's kernel): W=1, as users build it, no warning allowed.
	if [ "$vmlinuz" = - ]; then
		if [ $chroot_ok = 1 ]; then
			say "$lane: building wg.ko (W=1, build only)"
			if build_module "$rel" "$kdir" "$out" 0 "$root" W=1 &&
				! grep -q 'warning:' "$out/build.log"; then
				result ok "$lane: build (W=1, build only)"
			else
				grep -m 40 -e 'warning:' -e 'error:' "$out/build.log" | sed 's/^/# /'
				result fail "$lane: build (W=1, build only)" "see $out/build.log"
			fi
		fi
		SUMMARIES+=("$lane: built only (W=1): $((PASS - p0)) passed, $((FAIL - f0)) failed (log in $out)")
		continue
	fi

	debug=1
	[ "$cmd" != bench ] || debug=0	# measure the module users build
	# One lane tests the module users build: no self-tests, no object
	# accounting, no time_divisor (the cases that need it skip there).
	# shellcheck disable=SC2053
	if [ "$cmd" = check ] && [[ $rel == $WG_RELEASE_LANE ]] && [ "$rel" != "$DEBUG_REL" ]; then
		debug=0
		lane="$lane release build"
	fi
	# The smoke lane (make check): the same upstream release as a lane
	# that runs everything; the scripts that exercise the kernel's API.
	only=$WG_ONLY
	# shellcheck disable=SC2053
	if [ "$cmd" = check ] && [ -n "$WG_SMOKE_LANE" ] && [[ $rel == $WG_SMOKE_LANE ]] &&
		[ "$rel" != "$DEBUG_REL" ]; then
		only=$(debug_only "$WG_SMOKE_ONLY")
		lane="$lane (smoke: $WG_SMOKE_ONLY; the rest in make check-all)"
	fi
	say "$lane: building wg.ko (WG_DEBUG=$debug)"
	ko=
	# The bench's table row times the trie alone, through a debug
	# build's table_bench parameter: that build goes in as well.
	debug_ko=
	if [ "$cmd" = bench ] && [ $chroot_ok != 0 ] &&
	   build_module "$rel" "$kdir" "$out" 1 "$root"; then
		debug_ko=$out/wg-debug.ko
		mv "$out/wg.ko" "$debug_ko"
	fi
	if [ $chroot_ok = 0 ]; then
		:
	elif build_module "$rel" "$kdir" "$out" "$debug" "$root"; then
		ko=$out/wg.ko
		result ok "$lane: build wg.ko"
	else
		tail -n 40 "$out/build.log" | sed 's/^/# /'
		result fail "$lane: build wg.ko" "see $out/build.log"
	fi
	if [ "$cmd" = check ]; then
		if [ -n "$ko" ]; then
			if modinfo_check "$ko"; then
				result ok "$lane: modinfo"
			else
				result fail "$lane: modinfo"
			fi
		fi
		if [ "$rel" = "$DEBUG_REL" ]; then
			: # a build tree, not an installed kernel: no DKMS
		elif [ "$WG_DKMS" = 0 ]; then
			result skip "$lane: dkms build" "WG_DKMS=0"
		elif [ $chroot_ok = 1 ]; then
			say "$lane: dkms add/build/remove"
			if dkms_check "$rel" "$out" "$root"; then
				result ok "$lane: dkms build"
			else
				tail -n 40 "$out/dkms.log" | sed 's/^/# /'
				result fail "$lane: dkms build" "see $out/dkms.log"
			fi
		fi
	fi

	say "$rel: packing initramfs"
	make_initrd "$rel" "$kmods" "$ko" "$out/initrd.cpio" "$debug_ko"

	case $cmd in
	check)
		if [ -n "$ko" ] && [ "$rel" = "$DEBUG_REL" ] && [ -z "$(debug_only "$WG_DEBUG_ONLY")" ]; then
			echo "# $rel: WG_ONLY=$WG_ONLY selects none of the debug lane's scripts"
		elif [ -n "$ko" ] && [ "$rel" = "$DEBUG_REL" ]; then
			# Several times slower: longer limits, smaller sizes.
			WG_ONLY=$(debug_only "$WG_DEBUG_ONLY") WG_TEST_TIMEOUT=$((WG_TEST_TIMEOUT * 3)) \
				WG_VM_TIMEOUT=$((WG_VM_TIMEOUT * 6)) \
				run_vm "$rel" "$vmlinuz" "$out/initrd.cpio" check "$out/console.log" \
				"$WG_DEBUG_APPEND"
			if [ -n "$WG_DEBUG_SMP4" ] && [ -n "$(debug_only "$WG_DEBUG_SMP4")" ]; then
				VM_SMP=4 WG_ONLY=$(debug_only "$WG_DEBUG_SMP4") \
					WG_TEST_TIMEOUT=$((WG_TEST_TIMEOUT * 3)) \
					WG_VM_TIMEOUT=$((WG_VM_TIMEOUT * 3)) \
					run_vm "$rel 4 vCPUs" "$vmlinuz" "$out/initrd.cpio" check \
					"$out/console-smp4.log" "$WG_DEBUG_APPEND $WG_DEBUG_SMP4_APPEND"
			fi
		elif [ -n "$ko" ] && [ -z "$only" ]; then
			echo "# $rel: WG_ONLY=$WG_ONLY selects none of the smoke lane's scripts"
		elif [ -n "$ko" ]; then
			# The full sizes once per run (check-all, or the kernels
			# named in WG_KERNELS), on the first kernel; make check
			# runs every kernel at the light sizes (its 40 minutes).
			# The in-tree cookie comparison of 31-parity (16 s) runs
			# on the first kernel in both.
			light=$WG_LIGHT_APPEND
			if [ $first = 1 ] && [ "$WIDE" = 1 ]; then
				light=
			elif [ $first = 1 ]; then
				light=${light/wgtest.paritycookies=0/}
			fi
			WG_ONLY=$only run_vm "$rel" "$vmlinuz" "$out/initrd.cpio" check \
				"$out/console.log" "$light"
		else
			echo "# $rel: no wg.ko, guest tests not run"
		fi
		if ! compgen -G "$HERE/interop/[0-9]*.sh" >/dev/null || [ -z "$ko" ]; then
			:
		elif [ "$rel" = "$DEBUG_REL" ]; then
			# Our module under the sanitizers; the in-tree driver on
			# the release kernel of the same line (bookworm's 6.1,
			# the first of the list): on the KASAN kernel it consumes
			# no initiation at all (docs/testing.md).
			if [ "$WG_DEBUG_INTEROP" != 0 ] && [ "$WG_INTEROP" != 0 ]; then
				read -r prel pvmlinuz pkmods _ <<<"${KERNELS[0]}"
				say "$rel interop: packing the peer's initramfs ($prel)"
				make_initrd "$prel" "$pkmods" "" "$out/peer-initrd.cpio"
				WG_TEST_TIMEOUT=$((WG_TEST_TIMEOUT * 3)) \
					WG_VM_TIMEOUT=$((WG_VM_TIMEOUT * 3)) \
					run_interop "$rel interop (peer: in-tree on $prel)" "$vmlinuz" \
					"$out/initrd.cpio" "$out" "$pvmlinuz" "$out/peer-initrd.cpio"
			fi
		elif [ "$WG_INTEROP" = all ] || { [ "$WG_INTEROP" = 1 ] &&
			{ { [ $first = 1 ] && [ "$WIDE" = 1 ]; } || [ "$debug" = 0 ]; }; }; then
			run_interop "$rel interop" "$vmlinuz" "$out/initrd.cpio" "$out"
		fi ;;
	demo)
		[ -n "$ko" ] || { echo "wg.ko did not build; see $out/build.log"; exit 1; }
		run_vm "$rel demo" "$vmlinuz" "$out/initrd.cpio" demo "$out/console.log" ;;
	bench)
		[ -n "$ko" ] || { echo "wg.ko did not build; see $out/build.log"; exit 1; }
		load=$(cut -d ' ' -f 1-3 /proc/loadavg)
		WG_TEST_TIMEOUT=$WG_BENCH_TIMEOUT WG_VM_TIMEOUT=$((WG_BENCH_TIMEOUT + 300)) \
			run_vm "$rel bench" "$vmlinuz" "$out/initrd.cpio" bench "$out/console.log" \
			"$(bench_args)"
		if [ "${WG_BENCH_PROFILE:-0}" != 0 ] && [ "${WG_BENCH_PROFILE:-0}" != 4 ]; then
			echo "(profile or rates: in $out/console.log)"
		else
			bench_report "$rel" "$out/console.log" "$load"
		fi ;;
	esac
	[ "$rel" = "$DEBUG_REL" ] || first=0
	SUMMARIES+=("$lane: $((PASS - p0)) passed, $((FAIL - f0)) failed, $((SKIP - s0)) skipped (logs in $out)")
done

echo
say "summary ($SUITE, $(( $(date +%s) - START ))s)"
for s in "${SUMMARIES[@]}"; do
	echo "  $s"
done
if [ ${#FAILED_NAMES[@]} -gt 0 ]; then
	echo "failed:"
	for n in "${FAILED_NAMES[@]}"; do
		echo "  $n"
	done
fi
echo "$SKIP skipped (needs not met: see the per-kernel lines and logs)"
# The contract's last line.
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
