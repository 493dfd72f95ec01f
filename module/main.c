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
#include "tunnel/timers.h"

#include <uapi/linux/wg.h>

#include <linux/init.h>
#include <linux/module.h>
#include <net/genetlink.h>
#include <net/rtnetlink.h>

#ifdef CONFIG_WG_DEBUG
unsigned int wg_time_divisor = 1;
module_param_named(time_divisor, wg_time_divisor, uint, 0444);
MODULE_PARM_DESC(time_divisor,
		 "debug builds only: divide every protocol time by this (default 1)");
u64 wg_rekey_after_messages = WG_REKEY_AFTER_MSGS;
module_param_named(rekey_after_messages, wg_rekey_after_messages, ullong, 0444);
MODULE_PARM_DESC(rekey_after_messages,
		 "debug builds only: start a new handshake after sending this many messages with a key (default 2^60)");
u64 wg_reject_after_messages = WG_REJECT_AFTER_MSGS;
module_param_named(reject_after_messages, wg_reject_after_messages, ullong, 0444);
MODULE_PARM_DESC(reject_after_messages,
		 "debug builds only: use a key for at most this many messages (default 2^64 - 2^13 - 1)");
unsigned int wg_under_load_handshakes = WG_MAX_QUEUED_HANDSHAKES / 8;
module_param_named(under_load_handshakes, wg_under_load_handshakes, uint, 0644);
MODULE_PARM_DESC(under_load_handshakes,
		 "debug builds only: queued handshakes that make the device demand cookies (default 512)");
#endif

static bool wg_run_selftests(void)
{
	return wg_core_selftest() && wg_lookup_selftest() &&
	       wg_allowedips_selftest() && wg_ratelimiter_selftest();
}

static int __init wg_mod_init(void)
{
	int ret;

	if (!wg_time_divisor)
		return -EINVAL;
#ifdef CONFIG_WG_DEBUG
	if (!wg_reject_after_messages ||
	    wg_reject_after_messages > WG_REJECT_AFTER_MSGS)
		return -EINVAL;
#endif

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
