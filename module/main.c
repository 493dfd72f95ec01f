// SPDX-License-Identifier: GPL-2.0
/*
 * Module init and exit: self-tests first (debug builds), then registration,
 * unwound in reverse on failure and at exit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "core/core.h"
#include "device.h"
#include "tunnel/peer.h"
#include "netlink.h"
#include "tables/ratelimiter.h"
#include "tables/tables.h"

#include <uapi/linux/wg.h>

#include <linux/init.h>
#include <linux/module.h>
#include <net/genetlink.h>
#include <net/rtnetlink.h>

static bool wg_run_selftests(void)
{
	return wg_core_selftest() && wg_lookup_selftest() &&
	       wg_allowedips_selftest() && wg_ratelimiter_selftest();
}

static int __init wg_mod_init(void)
{
	int ret;

	ret = wg_ratelimiter_slab_init();
	if (ret < 0)
		return ret;

	wg_core_init();
	if (IS_ENABLED(CONFIG_WG_DEBUG) && !wg_run_selftests()) {
		ret = -ENOTRECOVERABLE;
		goto err_uninit_ratelimiter;
	}

	ret = wg_allowedips_slab_init();
	if (ret < 0)
		goto err_uninit_ratelimiter;

	ret = wg_peer_cache_init();
	if (ret < 0)
		goto err_uninit_allowedips;

	/*
	 * The family first: when the in-tree module holds it, the load fails
	 * with that one message and nothing else registered or printed.
	 */
	ret = wg_genetlink_init();
	if (ret < 0)
		goto err_uninit_peer;

	ret = wg_device_init();
	if (ret < 0)
		goto err_uninit_genetlink;

	pr_info("WireGuard %s loaded\n", WG_VERSION);
	return 0;

err_uninit_genetlink:
	wg_genetlink_uninit();
err_uninit_peer:
	wg_peer_cache_exit();
err_uninit_allowedips:
	wg_allowedips_slab_uninit();
err_uninit_ratelimiter:
	wg_ratelimiter_slab_uninit();
	return ret;
}

static void __exit wg_mod_exit(void)
{
	wg_device_uninit();
	wg_genetlink_uninit();
	wg_peer_cache_exit();
	wg_allowedips_slab_uninit();
	wg_ratelimiter_slab_uninit();
}

module_init(wg_mod_init);
module_exit(wg_mod_exit);
MODULE_LICENSE("GPL v2");
MODULE_DESCRIPTION("WireGuard secure network tunnel (out-of-tree wg)");
MODULE_AUTHOR("wg developers");
MODULE_VERSION(WG_VERSION);
/*
 * No alias for the "wireguard" family or kind: the in-tree module has them,
 * and two modules answering one alias get loaded both.  Users opt in with
 * module/wg-modprobe.conf (see README).
 */
MODULE_ALIAS_RTNL_LINK("wg");
