/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Receiver indexes: the 32-bit numbers we hand to a remote peer so that its
 * responses, cookie replies and data messages name what they are for.  The
 * table knows only the slots its caller embeds in its own objects (a
 * handshake in progress, an established session); the caller gets its
 * object back with container_of() and manages its lifetime.
 *
 * Locking: claim, hand over and release serialise on the table's own
 * spinlock (taken with BHs off: the receive path releases from softirq).
 * wg_index_find() takes no lock; call it under rcu_read_lock_bh() and keep
 * that section until the caller has taken its reference, and free an
 * object holding a slot only after an RCU-bh grace period following its
 * release.
 */
#ifndef _WG_TABLES_INDEX_H
#define _WG_TABLES_INDEX_H

#include <linux/types.h>
#include <linux/list.h>

/* What a slot stands for; wg_index_find() filters on a mask of these. */
enum wg_index_kind {
	WG_INDEX_HANDSHAKE = 1U << 0,
	WG_INDEX_SESSION = 1U << 1,
};

struct wg_index_slot {
	struct hlist_node link;
	__le32 id;
	u8 kind;
};

struct wg_index_table;

struct wg_index_table *wg_index_table_new(void);
/* Every slot must have been released. */
void wg_index_table_destroy(struct wg_index_table *table);

void wg_index_slot_init(struct wg_index_slot *slot, enum wg_index_kind kind);
/*
 * Lists @slot under a fresh random id, unguessable and unique in the
 * table, and returns it; a slot already listed gives up its old id.
 */
__le32 wg_index_claim(struct wg_index_table *table,
		      struct wg_index_slot *slot);
/*
 * Moves @from's id to @to in one step (readers see one or the other), so
 * a session takes over the id its handshake was known by.  False if @from
 * was not listed (it was released meanwhile).
 */
bool wg_index_hand_over(struct wg_index_table *table,
			struct wg_index_slot *from, struct wg_index_slot *to);
/* Unlists @slot; a slot that is not listed is left alone. */
void wg_index_release(struct wg_index_table *table,
		      struct wg_index_slot *slot);
/* The slot listed under @id if its kind is in @kinds, or NULL. */
struct wg_index_slot *wg_index_find(struct wg_index_table *table, __le32 id,
				    unsigned int kinds);

#ifdef CONFIG_WG_DEBUG
/* Self-tests only: draw ids from @draw (NULL: randomly again). */
void wg_index_set_draw(u32 (*draw)(void));
#endif

#endif /* _WG_TABLES_INDEX_H */
