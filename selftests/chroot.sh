#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# chroot.sh SUITE RELEASE: make (once) a Debian SUITE chroot at
# $WG_CACHE/chroot-SUITE with debootstrap, from the archive address this
# machine's apt sources use, and install what building wg.ko against
# RELEASE takes there: SUITE's compiler, make, kmod, dkms and
# linux-headers-RELEASE.  run.sh builds the module for that kernel inside
# it (the kernels file's fifth field), so that trixie's kernel gets the
# module built with trixie's gcc, as a trixie user builds it.
#
# Cached: a second run with the same RELEASE only checks.  A new RELEASE
# (the suite's kernel moved) installs its headers in the existing chroot and
# removes the old ones.  Everything goes to stderr.
set -euo pipefail

SUITE=${1:?usage: chroot.sh SUITE RELEASE}
REL=${2:?usage: chroot.sh SUITE RELEASE}
WG_CACHE=${WG_CACHE:-/var/cache/wg-selftests}
DIR=$WG_CACHE/chroot-$SUITE
PKGS="make gcc libc6-dev kmod dkms linux-headers-$REL"
# sid's kernel is built only: no DKMS check there.
case $SUITE in
sid|unstable) PKGS="make gcc libc6-dev kmod linux-headers-$REL" ;;
esac

log() { echo "chroot-$SUITE: $*" >&2; }

. "$(dirname "${BASH_SOURCE[0]}")/host-lib.sh"

# /proc is mounted only while apt runs in the chroot.
umount_proc()
{
	if mountpoint -q "$DIR/proc" 2>/dev/null; then
		umount "$DIR/proc" || umount -l "$DIR/proc"
	fi
}
trap umount_proc EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_chroot()
{
	mountpoint -q "$DIR/proc" || mount -t proc proc "$DIR/proc"
	# INITRD=No: no initramfs for a kernel that is never booted from here.
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 INITRD=No chroot "$DIR" "$@"
}

# The host's apt settings on the archive's dates (an archive snapshot's
# Release files expire), so that apt in the chroot accepts what the host's
# apt and debootstrap accepted.
apt_conf()
{
	local f=$DIR/etc/apt/apt.conf.d/99wg-host want
	want=$(apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date) ' || true)
	if [ "$(cat "$f" 2>/dev/null)" != "$want" ]; then
		printf '%s\n' "$want" >"$f"
	fi
}

installed()
{
	local p
	for p in $PKGS; do
		in_chroot dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'ok installed' || return 1
	done
}

mkdir -p "$WG_CACHE"
exec 8>"$WG_CACHE/chroot-$SUITE.lock"
flock 8

start=$(date +%s)
if [ ! -f "$DIR/.done" ]; then
	umount_proc
	rm -rf --one-file-system "$DIR"
	main=$(archive_uri bookworm)
	sec=$(archive_uri bookworm-security optional)
	log "debootstrap $SUITE (minbase) from $main"
	debootstrap --variant=minbase --include=make,gcc,libc6-dev,kmod \
		"$SUITE" "$DIR" "$main" >&2
	rm -f "$DIR"/etc/apt/sources.list
	case $SUITE in
	sid|unstable)
		printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' \
			"$main" "$SUITE" ;;
	*)
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' \
			"$main" "$SUITE" "$SUITE"
		[ -z "$sec" ] ||
			printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' \
				"$sec" "$SUITE" ;;
	esac >"$DIR/etc/apt/sources.list.d/debian.sources"
	# No services start in a chroot.
	printf '#!/bin/sh\nexit 101\n' >"$DIR/usr/sbin/policy-rc.d"
	chmod 0755 "$DIR/usr/sbin/policy-rc.d"
	mkdir -p "$DIR/build"
	apt_conf
	in_chroot apt-get update -q >&2
	touch "$DIR/.done"
	log "debootstrap took $(( $(date +%s) - start ))s"
fi

apt_conf
if ! installed; then
	log "installing $PKGS"
	in_chroot apt-get install -y -q --no-install-recommends $PKGS >&2 || {
		in_chroot apt-get update -q >&2
		in_chroot apt-get install -y -q --no-install-recommends $PKGS >&2
	}
	# Headers of kernels the suite has moved past.
	old=$(in_chroot dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		'linux-headers-*' 'linux-image-*' 2>/dev/null |
		awk -v rel="$REL" '$1 == "ii" && $2 ~ /^linux-(headers|image)-[0-9].*-amd64(-unsigned)?$/ &&
			$2 != "linux-headers-" rel && $2 != "linux-image-" rel &&
			$2 != "linux-image-" rel "-unsigned" { print $2 }' || true)
	if [ -n "$old" ]; then
		log "removing $(echo $old)"
		# shellcheck disable=SC2086
		in_chroot apt-get purge -y -q $old >&2 || true
		in_chroot apt-get autoremove --purge -y -q >&2 || true
	fi
	in_chroot apt-get clean
	log "ready for $REL with gcc-$(in_chroot gcc -dumpversion) in $(( $(date +%s) - start ))s"
fi
[ -d "$DIR/lib/modules/$REL/build" ] || { log "no /lib/modules/$REL/build in $DIR"; exit 1; }
