/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-source token bucket for handshake messages: IPv4 sources are keyed by
 * /32, IPv6 by /64, and by network namespace.
 */
#ifndef _WG_RATELIMITER_H
#define _WG_RATELIMITER_H

#include <linux/skbuff.h>

/* Module load and unload. */
int wg_ratelimiter_slab_init(void);
void wg_ratelimiter_slab_uninit(void);
/* Reference counted: one init/uninit pair per device. */
int wg_ratelimiter_init(void);
void wg_ratelimiter_uninit(void);
bool wg_ratelimiter_allow(struct sk_buff *skb, struct net *net);
/* Debug builds only: run at module load; false fails the load. */
#ifdef CONFIG_WG_DEBUG
bool wg_ratelimiter_selftest(void);
#else
static inline bool wg_ratelimiter_selftest(void)
{
	return true;
}
#endif

#endif /* _WG_RATELIMITER_H */
