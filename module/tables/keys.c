// SPDX-License-Identifier: GPL-2.0
/*
 * Public keys to owners (see keys.h).  A remote peer chooses the keys it
 * claims, so the bucket comes from a keyed hash with a secret drawn per
 * table: nobody outside can aim many keys at one bucket.
 */
#include "keys.h"

#include <crypto/algapi.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/siphash.h>
#include <linux/slab.h>

#define WG_KEY_BUCKET_BITS 11

struct wg_key_table {
	/* Held to change any bucket; finding takes RCU-bh only. */
	struct mutex lock;
	siphash_key_t secret;
	struct hlist_head buckets[1U << WG_KEY_BUCKET_BITS];
};

static struct hlist_head *bucket_of(struct wg_key_table *table,
				    const u8 key[WG_PUBLIC_LEN])
{
	u64 h = siphash(key, WG_PUBLIC_LEN, &table->secret);

	return &table->buckets[h & ((1U << WG_KEY_BUCKET_BITS) - 1)];
}

struct wg_key_table *wg_key_table_new(void)
{
	struct wg_key_table *table;
	unsigned int i;

	table = kvmalloc(sizeof(*table), GFP_KERNEL);
	if (!table)
		return NULL;
	mutex_init(&table->lock);
	get_random_bytes(&table->secret, sizeof(table->secret));
	for (i = 0; i < ARRAY_SIZE(table->buckets); i++)
		INIT_HLIST_HEAD(&table->buckets[i]);
	return table;
}

void wg_key_table_destroy(struct wg_key_table *table)
{
	if (table)
		mutex_destroy(&table->lock);
	kvfree(table);
}

void wg_key_add(struct wg_key_table *table, struct wg_key_slot *slot,
		const u8 key[WG_PUBLIC_LEN])
{
	memcpy(slot->key, key, WG_PUBLIC_LEN);
	mutex_lock(&table->lock);
	hlist_add_head_rcu(&slot->link, bucket_of(table, slot->key));
	mutex_unlock(&table->lock);
}

void wg_key_remove(struct wg_key_table *table, struct wg_key_slot *slot)
{
	mutex_lock(&table->lock);
	hlist_del_init_rcu(&slot->link);
	mutex_unlock(&table->lock);
}

struct wg_key_slot *wg_key_find(struct wg_key_table *table,
				const u8 key[WG_PUBLIC_LEN])
{
	struct wg_key_slot *s;

	RCU_LOCKDEP_WARN(!rcu_read_lock_bh_held(),
			 "key lookup outside an RCU-bh read section");
	hlist_for_each_entry_rcu_bh(s, bucket_of(table, key), link)
		/* Constant time, as every comparison of key material. */
		if (!crypto_memneq(s->key, key, WG_PUBLIC_LEN))
			return s;
	return NULL;
}
