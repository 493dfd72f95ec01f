// SPDX-License-Identifier: GPL-2.0
/*
 * The replay window.  Bit (n mod WG_REPLAY_RING_BITS) of the ring records
 * counter n.  When a counter beyond the highest arrives, the words between
 * the old highest's word and the new one held counters a whole ring ago
 * and are cleared; counters more than WG_REPLAY_WINDOW behind the highest
 * may share a word with newer ones, so they are refused outright.
 */
#include "replay.h"
#include "wire.h"

#include <linux/bitops.h>
#include <linux/string.h>

#define RING_WORDS (WG_REPLAY_RING_BITS / BITS_PER_LONG)

void wg_replay_init(struct wg_replay *r)
{
	spin_lock_init(&r->lock);
	r->next = 0;
	memset(r->ring, 0, sizeof(r->ring));
}

static void advance(struct wg_replay *r, u64 counter)
{
	u64 word = counter / BITS_PER_LONG, from, gap, i;

	if (r->next) {
		/* The highest accepted so far lives in word from - 1. */
		from = (r->next - 1) / BITS_PER_LONG + 1;
		/* counter >= next, so word >= from - 1. */
		gap = word + 1 - from;
		if (gap > RING_WORDS)
			gap = RING_WORDS;
		for (i = 0; i < gap; i++)
			r->ring[(from + i) % RING_WORDS] = 0;
	}
	WRITE_ONCE(r->next, counter + 1);
}

bool wg_replay_check(struct wg_replay *r, u64 counter)
{
	unsigned long bit = counter % WG_REPLAY_RING_BITS;
	bool fresh = false;

	spin_lock_bh(&r->lock);
	if (counter >= WG_REJECT_AFTER_MSGS)
		goto out;
	if (counter >= r->next)
		advance(r, counter);
	else if (counter + WG_REPLAY_WINDOW < r->next)
		goto out;
	fresh = !__test_and_set_bit(bit, r->ring);
out:
	spin_unlock_bh(&r->lock);
	return fresh;
}
