/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences, each behind one small named helper.  Which side
 * of a difference a kernel is on is probed from its headers by Kbuild
 * (WG_HAVE_* flags), not guessed from its version: distributions backport.
 */
#ifndef _WG_COMPAT_H
#define _WG_COMPAT_H

#include <linux/netdevice.h>
#include <net/genetlink.h>

/* skb_gso_segment() moved to its own header (upstream 6.4). */
#ifdef WG_HAVE_NET_GSO_H
#include <net/gso.h>
#endif

/* The lockless-xmit flag moved from features to a bitfield (6.11). */
static inline void wg_compat_set_lltx(struct net_device *dev)
{
#ifdef WG_HAVE_DEV_LLTX
	dev->lltx = true;
#else
	dev->features |= NETIF_F_LLTX;
#endif
}

/* A dump request's attributes moved into an embedded genl_info (6.2). */
static inline struct nlattr **
wg_compat_genl_dump_attrs(struct netlink_callback *cb)
{
#ifdef WG_HAVE_GENL_DUMPIT_INFO_INFO
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/*
 * The device's per-CPU rx/tx counters (dev->tstats).  Since 6.7 the core
 * allocates and frees them for a device that declares their type, and
 * iptunnel_xmit() counts into them only for such a device (newer stable
 * kernels warn for one that declares nothing).  The core then frees them
 * in netdev_run_todo(), before the destructor: everything that counts
 * must have stopped by ndo_uninit.  Before 6.7 the driver owns them.
 */
static inline int wg_compat_tstats_alloc(struct net_device *dev)
{
#ifdef WG_HAVE_PCPU_STAT_TYPE
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS;
	return 0;
#else
	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	return dev->tstats ? 0 : -ENOMEM;
#endif
}

static inline void wg_compat_tstats_free(struct net_device *dev)
{
#ifndef WG_HAVE_PCPU_STAT_TYPE
	free_percpu(dev->tstats);
#endif
}

#endif /* _WG_COMPAT_H */
