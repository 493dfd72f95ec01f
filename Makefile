# SPDX-License-Identifier: GPL-2.0
#
# make                 build wg.ko for the running kernel (or KDIR=...)
# make install         modules_install + depmod (+ modprobe.d, see README)
# make dkms-install    register, build and install through DKMS
# make demo            boot a VM and show two namespaces talking over wg
# make check           the tests on every kernel Debian users run (< 40 min)
# make check-debug     the sanitizer lane (KASAN, lockdep, kmemleak, ...)
# make check-all       both, and the full suite on every lane
# make bench           measure throughput (see README)
# make mutants         the mutation check: does the suite kill deliberate bugs?

KERNELRELEASE_RUNNING := $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE_RUNNING)/build
# The release modules_install installs for: the <version> of a KDIR
# /lib/modules/<version>/build (Debian's headers say 6.1.192 in
# kernel.release but install to 6.1.0-N-amd64), else kernel.release.
KVER = $(if $(filter /lib/modules/%/build,$(KDIR)),$(patsubst /lib/modules/%/build,%,$(KDIR)),$(shell cat $(KDIR)/include/config/kernel.release))
WG_VERSION := $(shell sed -n 's/^WG_VERSION := //p' $(CURDIR)/Kbuild)
WG_DEBUG ?= 0
PREFIX ?= /usr
DESTDIR ?=

export WG_DEBUG

all: module

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	depmod -a $(KVER)
	@echo "To make wg the provider of the 'wireguard' netlink family and link kind:"
	@echo "  make install-modprobe-conf"

install-modprobe-conf:
	install -D -m 0644 module/wg-modprobe.conf $(DESTDIR)/etc/modprobe.d/wg.conf

uninstall-modprobe-conf:
	rm -f $(DESTDIR)/etc/modprobe.d/wg.conf

dkms-install:
	dkms add $(CURDIR) || true
	dkms build wg/$(WG_VERSION)
	dkms install wg/$(WG_VERSION)

check:
	bash selftests/run.sh check

check-debug:
	bash selftests/run.sh check-debug

check-all:
	bash selftests/run.sh check-all

demo:
	bash selftests/run.sh demo

bench:
	bash selftests/run.sh bench

mutants:
	bash selftests/mutants.sh

.PHONY: all module clean install install-modprobe-conf uninstall-modprobe-conf \
	dkms-install check check-debug check-all demo bench mutants
