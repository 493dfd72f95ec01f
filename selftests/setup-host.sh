#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the build, the tests and the demo need on a bare Debian
# bookworm machine, and unpack the guest kernels into a cache directory.
# Idempotent: a second run only checks (and refreshes apt's lists once a
# day, so the kernels follow Debian's).  Writes the kernel list it resolved
# to $WG_CACHE/kernels, one line per kernel:
#   <release> <vmlinuz> <modules dir> <build dir> <chroot>
# <chroot> is "-" for a kernel whose headers are installed on this host;
# otherwise the module is built inside that chroot (selftests/chroot.sh
# makes it; <build dir> is a path inside it).  A build-only kernel has
# "-" as <vmlinuz> and <modules dir>.
#
# The kernels are the ones Debian users get today:
#   - bookworm's linux-image-amd64, the newest of bookworm and
#     bookworm-security (6.1);
#   - the newest 6.12.x+deb12 image by package name (bookworm-security's
#     6.12 line);
#   - trixie's linux-image-amd64, the newest of trixie, trixie-updates and
#     trixie-security, built with trixie's compiler in a trixie chroot;
#   - sid's linux-image-amd64: built only (W=1), in a sid chroot.
# The trixie and sid lists are added to apt with Pin-Priority 1, so this
# host never installs from them; their packages are only downloaded.
set -euo pipefail

WG_CACHE=${WG_CACHE:-/var/cache/wg-selftests}
mkdir -p "$WG_CACHE"
export DEBIAN_FRONTEND=noninteractive

log() { echo "setup: $*" >&2; }

. "$(dirname "${BASH_SOURCE[0]}")/host-lib.sh"

APT_SRC=/etc/apt/sources.list.d/wg-selftests.sources
APT_PIN=/etc/apt/preferences.d/wg-selftests

PIN="Explanation: selftests/setup-host.sh: kernels are downloaded from these, never installed
Package: *
Pin: release n=trixie
Pin-Priority: 1

Package: *
Pin: release n=trixie-updates
Pin-Priority: 1

Package: *
Pin: release n=trixie-security
Pin-Priority: 1

Package: *
Pin: release n=sid
Pin-Priority: 1"

# trixie and sid, from the archive addresses this machine already uses,
# pinned so that nothing is ever installed from them on this host.
add_sources()
{
	local main sec want
	main=$(archive_uri bookworm)
	sec=$(archive_uri bookworm-security optional)
	want=$(
		printf 'Types: deb\nURIs: %s\nSuites: trixie trixie-updates sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$main"
		# A machine without the security archive gets trixie without it.
		[ -z "$sec" ] ||
			printf '\nTypes: deb\nURIs: %s\nSuites: trixie-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
				"$sec"
	)
	if [ "$(cat "$APT_PIN" 2>/dev/null)" != "$PIN" ]; then
		printf '%s\n' "$PIN" >"$APT_PIN"
	fi
	if [ "$(cat "$APT_SRC" 2>/dev/null)" != "$want" ]; then
		printf '%s\n' "$want" >"$APT_SRC"
		rm -f "$WG_CACHE/.apt-updated"
	fi
	# Earlier versions of this script added bookworm-backports (6.12.95).
	if [ -f /etc/apt/sources.list.d/wg-backports.sources ]; then
		rm -f /etc/apt/sources.list.d/wg-backports.sources "$WG_CACHE/.apt-updated"
	fi
}

# apt_update [force]: at most once a day unless forced.
apt_update()
{
	if [ "${1:-}" != force ] &&
		[ -n "$(find "$WG_CACHE/.apt-updated" -mmin -1440 2>/dev/null)" ]; then
		return 0
	fi
	apt-get update -q >&2
	touch "$WG_CACHE/.apt-updated"
}

# newest_image SUITE...: the image package that the newest
# linux-image-amd64 of these suites depends on (what a user of that
# release gets after an upgrade).  Reads $MADISON and $SHOW (apt-cache
# is slow here: one call each).
newest_image()
{
	local re ver
	re=" ($(IFS='|'; echo "$*"))/"
	ver=$(awk -F' *[|] *' -v re="$re" '$3 ~ re { print $2 }' <<<"$MADISON" |
		sort -V | tail -n 1)
	[ -n "$ver" ] || return 0
	awk -F'[ ,(]+' -v ver="$ver" '
		/^Version:/ { v = $2 }
		/^Depends:/ && v == ver {
			for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-/) { print $i; exit }
		}' <<<"$SHOW"
}

# newest_612_deb12: the newest 6.12.x+deb12 image by package name
# (bookworm-security's 6.12 line; not -rt, -cloud or -dbg).
newest_612_deb12()
{
	apt-cache pkgnames linux-image-6.12. |
		grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' |
		sort -V | tail -n 1 | sed 's/-unsigned$//'
}

# The debug kernel's source and build tools (linux-source-6.1, bc, flex,
# bison) come with selftests/debug-kernel.sh, when a lane needs them.
HOST_PKGS="qemu-system-x86 busybox-static iproute2 wireguard-tools wireguard-go
	iperf3 ncat iptables dkms sparse kmod cpio xz-utils gcc make
	libelf-dev python3 python3-cryptography tcpdump rsync coreutils util-linux
	ethtool iputils-ping libc6-dev libssl-dev debootstrap"

resolve()
{
	MADISON=$(apt-cache madison linux-image-amd64)
	SHOW=$(apt-cache show linux-image-amd64)
	k61=$(newest_image bookworm bookworm-security bookworm-updates)
	k612=$(newest_612_deb12)
	k13=$(newest_image trixie trixie-security trixie-updates)
	ksid=$(newest_image sid)
}

add_sources
apt_update
resolve
if [ -z "$k61" ] || [ -z "$k612" ] || [ -z "$k13" ] || [ -z "$ksid" ]; then
	apt_update force
	resolve
fi
[ -n "$k61" ] && [ -n "$k612" ] && [ -n "$k13" ] && [ -n "$ksid" ] ||
	{ log "cannot resolve kernel packages ($k61 $k612 $k13 $ksid)"; exit 1; }
rel61=${k61#linux-image-}
rel612=${k612#linux-image-}
rel13=${k13#linux-image-}
relsid=${ksid#linux-image-}

# The chroots take minutes on a bare machine (two debootstraps, gcc and
# headers in each): with WG_EARLY_CHROOTS=1 (run.sh's make check) start
# the missing ones now, beside the host's own installs.  run.sh's own
# chroot.sh then waits on their lock and finds them made (or makes them,
# if this one failed; its log is $WG_CACHE/chroot-SUITE.early.log).
kernel_wanted()
{
	local g globs
	# read -a: the globs are not expanded against this directory.
	read -ra globs <<<"${WG_KERNELS:-*}"
	for g in "${globs[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $g ]] && return 0
	done
	return 1
}
if [ "${WG_EARLY_CHROOTS:-0}" = 1 ]; then
	for s in "trixie $rel13" "sid $relsid"; do
		read -r suite rel <<<"$s"
		[ ! -f "$WG_CACHE/chroot-$suite/.done" ] && kernel_wanted "$rel" || continue
		command -v debootstrap >/dev/null ||
			apt-get install -y -q --no-install-recommends debootstrap >&2
		log "chroot-$suite: made in the background from now on"
		WG_CACHE=$WG_CACHE setsid bash "$(dirname "${BASH_SOURCE[0]}")/chroot.sh" \
			"$suite" "$rel" >"$WG_CACHE/chroot-$suite.early.log" 2>&1 </dev/null &
	done
fi

need=""
for p in $HOST_PKGS linux-headers-$rel61 linux-headers-$rel612; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		need="$need $p"
done
if [ -n "$need" ]; then
	log "installing:$need"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need >&2 || {
		apt_update force
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $need >&2
	}
fi

# Guest kernels: unpacked, not installed, so the host's boot is untouched.
# A trixie user's kernel comes from trixie (pinned: downloaded only).
: >"$WG_CACHE/kernels.new"
for rel in $rel61 $rel612 $rel13; do
	dir=$WG_CACHE/kernel-$rel
	if [ ! -f "$dir/.done" ]; then
		log "unpacking kernel $rel"
		rm -rf "$dir" && mkdir -p "$dir/deb"
		# _apt cannot write into root's cache; download as root quietly.
		(cd "$dir/deb" && apt-get download -q -o APT::Sandbox::User=root \
			"linux-image-$rel-unsigned" >&2)
		dpkg-deb -x "$dir"/deb/*.deb "$dir/root"
		rm -rf "$dir/deb"
		touch "$dir/.done"
	fi
	# trixie's packages put modules under /usr/lib/modules.
	base=$dir/root
	[ -d "$base/lib/modules/$rel" ] || base=$dir/root/usr
	# The package's postinst (never run here) would have made modules.dep;
	# run.sh resolves guest module dependencies with modprobe -d.
	if [ ! -f "$base/lib/modules/$rel/modules.dep" ]; then
		depmod -b "$base" "$rel"
	fi
	chroot=-
	if [ "$rel" = "$rel13" ]; then
		chroot=$WG_CACHE/chroot-trixie
	else
		[ -d "/lib/modules/$rel/build" ] ||
			{ log "missing /lib/modules/$rel/build"; exit 1; }
	fi
	echo "$rel $dir/root/boot/vmlinuz-$rel $base/lib/modules/$rel /lib/modules/$rel/build $chroot" \
		>>"$WG_CACHE/kernels.new"
done
# sid: built, not booted.
echo "$relsid - - /lib/modules/$relsid/build $WG_CACHE/chroot-sid" >>"$WG_CACHE/kernels.new"
mv "$WG_CACHE/kernels.new" "$WG_CACHE/kernels"
# Kernels Debian has moved past (half a gigabyte each).
for old in "$WG_CACHE"/kernel-*/; do
	[ -d "$old" ] || continue
	old=${old%/}
	case " $rel61 $rel612 $rel13 " in
	*" ${old##*/kernel-} "*) ;;
	*) log "removing ${old##*/} (no longer resolved)"; rm -rf "$old" ;;
	esac
done
cat "$WG_CACHE/kernels"
