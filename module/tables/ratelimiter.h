/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-source token bucket for handshake messages: IPv4 sources are keyed by
 * /32, IPv6 by /64, and by network namespace.
 */
#ifndef _WG_TABLES_RATELIMITER_H
#define _WG_TABLES_RATELIMITER_H

#include <linux/socket.h>

struct net;

/* Module load and unload. */
int wg_ratelimiter_slab_init(void);
void wg_ratelimiter_slab_uninit(void);
/* Reference counted: one init/uninit pair per device. */
int wg_ratelimiter_init(void);
void wg_ratelimiter_uninit(void);
/*
 * Charges one handshake message to the source @addr (an in_addr or
 * in6_addr by @family) in @net; false if its bucket is empty or the table
 * is full.  Any context.
 */
bool wg_ratelimiter_allow(const struct net *net, sa_family_t family,
			  const void *addr);
/* Debug builds only: run at module load; false fails the load. */
#ifdef CONFIG_WG_DEBUG
bool wg_ratelimiter_selftest(void);
#else
static inline bool wg_ratelimiter_selftest(void)
{
	return true;
}
#endif

#endif /* _WG_TABLES_RATELIMITER_H */
