/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The receive side's replay window over transport counters: a ring of
 * bits in the manner of RFC 6479, so that moving the window forward clears
 * whole words instead of shifting.
 */
#ifndef _WG_CORE_REPLAY_H
#define _WG_CORE_REPLAY_H

#include <linux/types.h>
#include <linux/spinlock.h>

enum {
	WG_REPLAY_RING_BITS = 8192,
	/* The newest word may be partly ahead, so it does not count. */
	WG_REPLAY_WINDOW = WG_REPLAY_RING_BITS - BITS_PER_LONG,
};

struct wg_replay {
	/* One past the highest counter accepted; read locklessly. */
	u64 next;
	/* Protects next (writers) and ring. */
	spinlock_t lock;
	unsigned long ring[WG_REPLAY_RING_BITS / BITS_PER_LONG];
};

void wg_replay_init(struct wg_replay *r);
/* Accepts @counter once, if it is inside the window; true if fresh. */
bool wg_replay_check(struct wg_replay *r, u64 counter);

#endif /* _WG_CORE_REPLAY_H */
