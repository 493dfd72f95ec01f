#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the build, the tests and the demo need on a bare Debian
# bookworm machine, and unpack the guest kernels into a cache directory.
# Idempotent: a second run only checks.  Prints the kernel list it resolved
# to $WG_CACHE/kernels (one "<release> <vmlinuz> <modules dir> <build dir>"
# line per kernel).
set -euo pipefail

WG_CACHE=${WG_CACHE:-/var/cache/wg-selftests}
mkdir -p "$WG_CACHE"
export DEBIAN_FRONTEND=noninteractive

log() { echo "setup: $*" >&2; }

# bookworm-backports, from the archive address this machine already uses.
add_backports()
{
	local src=/etc/apt/sources.list.d/wg-backports.sources uri

	[ -f "$src" ] && return 0
	uri=$(awk '/^URIs:/ { print $2; exit }' \
		/etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	if [ -z "$uri" ]; then
		uri=$(awk '$1 == "deb" && $3 ~ /^bookworm/ { print $2; exit }' \
			/etc/apt/sources.list 2>/dev/null || true)
	fi
	[ -n "$uri" ] || { log "no Debian archive address found"; exit 1; }
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$uri" >"$src"
	rm -f "$WG_CACHE/.apt-updated"
}

apt_update()
{
	[ -f "$WG_CACHE/.apt-updated" ] && return 0
	apt-get update -q >&2
	touch "$WG_CACHE/.apt-updated"
}

# The meta packages name the current ABI; resolve them to exact names.
meta_dep()
{
	apt-cache show "$1" 2>/dev/null | awk -F'[ ,(]+' '/^Depends:/ { print $2; exit }'
}

HOST_PKGS="qemu-system-x86 busybox-static iproute2 wireguard-tools wireguard-go
	iperf3 ncat iptables dkms sparse kmod cpio xz-utils gcc make bc flex
	bison libelf-dev python3 tcpdump rsync coreutils util-linux
	ethtool iputils-ping libc6-dev linux-source-6.1"

add_backports
apt_update
k61=$(meta_dep 'linux-image-amd64/bookworm')
k612=$(meta_dep 'linux-image-amd64/bookworm-backports')
[ -n "$k61" ] && [ -n "$k612" ] || { log "cannot resolve kernel packages"; exit 1; }
rel61=${k61#linux-image-}
rel612=${k612#linux-image-}

need=""
for p in $HOST_PKGS linux-headers-$rel61 linux-headers-$rel612; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		need="$need $p"
done
if [ -n "$need" ]; then
	log "installing:$need"
	apt-get install -y -q --no-install-recommends $need >&2 || {
		rm -f "$WG_CACHE/.apt-updated"; apt_update
		apt-get install -y -q --no-install-recommends $need >&2
	}
fi

# Guest kernels: unpacked, not installed, so the host's boot is untouched.
: >"$WG_CACHE/kernels.new"
for rel in $rel61 $rel612; do
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
	# The package's postinst (never run here) would have made modules.dep;
	# run.sh resolves guest module dependencies with modprobe -d.
	if [ ! -f "$dir/root/lib/modules/$rel/modules.dep" ]; then
		depmod -b "$dir/root" "$rel"
	fi
	[ -d "/lib/modules/$rel/build" ] ||
		{ log "missing /lib/modules/$rel/build"; exit 1; }
	echo "$rel $dir/root/boot/vmlinuz-$rel $dir/root/lib/modules/$rel /lib/modules/$rel/build" \
		>>"$WG_CACHE/kernels.new"
done
mv "$WG_CACHE/kernels.new" "$WG_CACHE/kernels"
cat "$WG_CACHE/kernels"
