/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel version differences, each behind one small named helper.  Nothing
 * outside this file tests LINUX_VERSION_CODE.
 */
#ifndef _WG_COMPAT_H
#define _WG_COMPAT_H

#include <linux/version.h>
#include <linux/netdevice.h>
#include <linux/timer.h>

/* skb_gso_segment() moved to its own header in 6.4. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#include <net/gso.h>
#endif
#include <net/genetlink.h>

/* 6.12 moved the lockless-xmit flag from features into a bitfield. */
static inline void wg_compat_set_lltx(struct net_device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	dev->lltx = true;
#else
	dev->features |= NETIF_F_LLTX;
#endif
}

/* del_timer_sync() was renamed; the new name appeared in 6.2. */
static inline int wg_compat_timer_delete_sync(struct timer_list *timer)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return timer_delete_sync(timer);
#else
	return del_timer_sync(timer);
#endif
}

static inline int wg_compat_timer_delete(struct timer_list *timer)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return timer_delete(timer);
#else
	return del_timer(timer);
#endif
}

/* 6.2 moved a dump request's parsed attributes into an embedded genl_info. */
static inline struct nlattr **wg_compat_genl_dump_attrs(struct netlink_callback *cb)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

#endif /* _WG_COMPAT_H */
