// SPDX-License-Identifier: GPL-2.0
/*
 * Receiver indexes (see index.h).  The ids are random, so their low bits
 * spread the slots over the buckets with no further hashing; a remote
 * peer cannot pick them.
 */
#include "index.h"

#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#define WG_INDEX_BUCKET_BITS 13

struct wg_index_table {
	/* Held (BH off) to change any bucket; finding takes RCU-bh only. */
	spinlock_t lock;
	struct hlist_head buckets[1U << WG_INDEX_BUCKET_BITS];
};

#ifdef CONFIG_WG_DEBUG
/* The self-test swaps in a drawing that collides; module load only. */
static u32 (*draw_id)(void) = get_random_u32;

void wg_index_set_draw(u32 (*draw)(void))
{
	draw_id = draw ? draw : get_random_u32;
}
#else
#define draw_id get_random_u32
#endif

static struct hlist_head *bucket_of(struct wg_index_table *table, __le32 id)
{
	u32 n = (__force u32)id;

	return &table->buckets[n & ((1U << WG_INDEX_BUCKET_BITS) - 1)];
}

struct wg_index_table *wg_index_table_new(void)
{
	struct wg_index_table *table;
	unsigned int i;

	table = kvmalloc(sizeof(*table), GFP_KERNEL);
	if (!table)
		return NULL;
	spin_lock_init(&table->lock);
	for (i = 0; i < ARRAY_SIZE(table->buckets); i++)
		INIT_HLIST_HEAD(&table->buckets[i]);
	return table;
}

void wg_index_table_destroy(struct wg_index_table *table)
{
	kvfree(table);
}

void wg_index_slot_init(struct wg_index_slot *slot, enum wg_index_kind kind)
{
	INIT_HLIST_NODE(&slot->link);
	slot->id = 0;
	slot->kind = kind;
}

/* Whether @id names a listed slot; the table's lock is held. */
static bool id_taken(struct wg_index_table *table, __le32 id)
{
	struct wg_index_slot *s;

	hlist_for_each_entry(s, bucket_of(table, id), link)
		if (s->id == id)
			return true;
	return false;
}

__le32 wg_index_claim(struct wg_index_table *table,
		      struct wg_index_slot *slot)
{
	__le32 id;

	spin_lock_bh(&table->lock);
	hlist_del_init_rcu(&slot->link);
	/* Two ids in 2^32 rarely meet: draw again until one is free. */
	do
		id = (__force __le32)draw_id();
	while (id_taken(table, id));
	WRITE_ONCE(slot->id, id);
	hlist_add_head_rcu(&slot->link, bucket_of(table, id));
	spin_unlock_bh(&table->lock);
	return id;
}

bool wg_index_hand_over(struct wg_index_table *table,
			struct wg_index_slot *from, struct wg_index_slot *to)
{
	bool listed;

	spin_lock_bh(&table->lock);
	listed = !hlist_unhashed(&from->link);
	if (listed) {
		WRITE_ONCE(to->id, from->id);
		hlist_replace_rcu(&from->link, &to->link);
		/*
		 * A reader standing on @from still follows its next pointer;
		 * only its pprev is reset, so a later release is a no-op.
		 */
		WRITE_ONCE(from->link.pprev, NULL);
	}
	spin_unlock_bh(&table->lock);
	return listed;
}

void wg_index_release(struct wg_index_table *table,
		      struct wg_index_slot *slot)
{
	spin_lock_bh(&table->lock);
	hlist_del_init_rcu(&slot->link);
	spin_unlock_bh(&table->lock);
}

struct wg_index_slot *wg_index_find(struct wg_index_table *table, __le32 id,
				    unsigned int kinds)
{
	struct wg_index_slot *s;

	RCU_LOCKDEP_WARN(!rcu_read_lock_bh_held(),
			 "index lookup outside an RCU-bh read section");
	hlist_for_each_entry_rcu_bh(s, bucket_of(table, id), link) {
		if (READ_ONCE(s->id) != id)
			continue;
		return (s->kind & kinds) ? s : NULL;
	}
	return NULL;
}
