#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) the kernel of the debug lane: Debian's linux-source-6.1,
# `make tinyconfig` plus selftests/debug-kernel.config (networking for the
# tests, KASAN, kmemleak, lockdep, UBSAN, debug objects, fault injection).
# The result is cached under $WG_CACHE/debug-<key>/, where key hashes the
# config fragment and the source package version, and is kept as a full
# build tree so that out-of-tree modules build against it (M=).
#
# Prints one line in the format of $WG_CACHE/kernels:
#   <release> <vmlinuz> <modules dir> <build dir>
# Everything else goes to stderr.  Takes 5-15 minutes on 2 cores the first
# time, nothing afterwards.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WG_CACHE=${WG_CACHE:-/var/cache/wg-selftests}
FRAGMENT=${WG_DEBUG_CONFIG:-$HERE/debug-kernel.config}
PKG=linux-source-6.1
TARBALL=/usr/src/$PKG.tar.xz
JOBS=$(nproc)

log() { echo "debug-kernel: $*" >&2; }

if [ ! -f "$TARBALL" ]; then
	log "installing $PKG"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"$PKG" bc flex bison libelf-dev >&2
fi
ver=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || true)
[ -n "$ver" ] || ver=$(stat -c %s-%Y "$TARBALL")
# RECIPE names what this script does to the source besides the fragment.
RECIPE="stacktrace-filter-x86_64"
key=$( { cat "$FRAGMENT"; echo "$PKG $ver $RECIPE"; } | sha256sum | cut -c1-12)
dir=$WG_CACHE/debug-$key

emit()
{
	local rel
	rel=$(cat "$dir/release")
	echo "$rel $dir/vmlinuz $dir/root/lib/modules/$rel $dir/src"
}

mkdir -p "$WG_CACHE"
exec 8>"$WG_CACHE/debug-kernel.lock"
flock 8
if [ -f "$dir/.done" ]; then
	emit
	exit 0
fi

# Keep one debug kernel: older keys are a gigabyte each.
for old in "$WG_CACHE"/debug-*/; do
	[ -d "$old" ] && [ "${old%/}" != "$dir" ] && rm -rf "$old"
done

start=$(date +%s)
rm -rf "$dir"
mkdir -p "$dir/src"
buildlog=$dir/build.log
log "building $PKG $ver with $(basename "$FRAGMENT") in $dir (log: $buildlog)"
tar -xf "$TARBALL" -C "$dir/src" --strip-components=1

fail()
{
	log "$*"
	tail -n 40 "$buildlog" | sed 's/^/debug-kernel: /' >&2
	exit 1
}

cd "$dir/src"
# The fault injection stack trace filter (require_start/require_end, which
# the fault injection test uses to fail only our module's allocations) says
# "depends on !X86_64" in 6.1; stack_trace_save() is reliable with the ORC
# unwinder, so lift that line.
sed -i '/^config FAULT_INJECTION_STACKTRACE_FILTER$/,/^config /{/depends on !X86_64/d}' \
	lib/Kconfig.debug
{
	make tinyconfig
	scripts/kconfig/merge_config.sh -m .config "$FRAGMENT"
	make olddefconfig
} >"$buildlog" 2>&1 || fail "configuration failed"

# Options the fragment asks for but Kconfig dropped (a missing dependency):
# report them, so the fragment gets fixed instead of silently ignored.
missing=$(grep -E '^(CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)$' "$FRAGMENT" |
	while IFS= read -r want; do
		grep -qxF -- "$want" .config || echo "$want"
	done)
if [ -n "$missing" ]; then
	log "options not taken by Kconfig (missing dependencies?):"
	printf '%s\n' "$missing" | sed 's/^/debug-kernel:   /' >&2
	[ "${WG_DEBUG_CONFIG_STRICT:-1}" = 0 ] || fail "fix $FRAGMENT"
fi

make -j"$JOBS" bzImage modules >>"$buildlog" 2>&1 || fail "kernel build failed"
rel=$(make -s kernelrelease)
make INSTALL_MOD_PATH="$dir/root" INSTALL_MOD_STRIP=1 modules_install \
	>>"$buildlog" 2>&1 || fail "modules_install failed"
cp arch/x86/boot/bzImage "$dir/vmlinuz"
echo "$rel" >"$dir/release"
touch "$dir/.done"
log "built $rel in $(( $(date +%s) - start ))s"
emit
