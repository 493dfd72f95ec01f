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

#endif /* _WG_COMPAT_H */
