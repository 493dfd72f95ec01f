// SPDX-License-Identifier: GPL-2.0
/*
 * Lookup tables: peers by public key, handshakes and keypairs by the local
 * index a remote peer addresses them with.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "peerlookup.h"
#include "peer.h"

#include <linux/slab.h>
#include <linux/random.h>
#include <crypto/algapi.h>

static struct hlist_head *pubkey_bucket(struct wg_pubkey_hashtable *table,
					const u8 pubkey[WG_PUBLIC_LEN])
{
	/*
	 * siphash keeps an attacker who picks public keys from filling one
	 * bucket; the table is small, so the low bits are enough.
	 */
	const u64 hash = siphash(pubkey, WG_PUBLIC_LEN, &table->key);

	return &table->hashtable[hash & (HASH_SIZE(table->hashtable) - 1)];
}

struct wg_pubkey_hashtable *wg_pubkey_hashtable_alloc(void)
{
	struct wg_pubkey_hashtable *table = kvmalloc(sizeof(*table), GFP_KERNEL);

	if (!table)
		return NULL;
	get_random_bytes(&table->key, sizeof(table->key));
	hash_init(table->hashtable);
	mutex_init(&table->lock);
	return table;
}

void wg_pubkey_hashtable_free(struct wg_pubkey_hashtable *table)
{
	kvfree(table);
}

void wg_pubkey_hashtable_add(struct wg_pubkey_hashtable *table,
			     struct wg_peer *peer)
{
	mutex_lock(&table->lock);
	hlist_add_head_rcu(&peer->pubkey_hash,
			   pubkey_bucket(table, peer->handshake.remote_static));
	mutex_unlock(&table->lock);
}

void wg_pubkey_hashtable_remove(struct wg_pubkey_hashtable *table,
				struct wg_peer *peer)
{
	mutex_lock(&table->lock);
	hlist_del_init_rcu(&peer->pubkey_hash);
	mutex_unlock(&table->lock);
}

struct wg_peer *
wg_pubkey_hashtable_lookup(struct wg_pubkey_hashtable *table,
			   const u8 pubkey[WG_PUBLIC_LEN])
{
	struct wg_peer *iter, *peer = NULL;

	rcu_read_lock_bh();
	hlist_for_each_entry_rcu_bh(iter, pubkey_bucket(table, pubkey),
				    pubkey_hash) {
		if (!crypto_memneq(pubkey, iter->handshake.remote_static,
				   WG_PUBLIC_LEN)) {
			peer = wg_peer_get_maybe_zero(iter);
			break;
		}
	}
	rcu_read_unlock_bh();
	return peer;
}

static struct hlist_head *index_bucket(struct wg_index_hashtable *table,
				       const __le32 index)
{
	/* Indices are random already; no need to hash them again. */
	return &table->hashtable[(__force u32)index &
				 (HASH_SIZE(table->hashtable) - 1)];
}

struct wg_index_hashtable *wg_index_hashtable_alloc(void)
{
	struct wg_index_hashtable *table = kvmalloc(sizeof(*table), GFP_KERNEL);

	if (!table)
		return NULL;
	hash_init(table->hashtable);
	spin_lock_init(&table->lock);
	return table;
}

void wg_index_hashtable_free(struct wg_index_hashtable *table)
{
	kvfree(table);
}

static bool index_in_use(struct wg_index_hashtable *table, __le32 index)
{
	struct wg_index_hashtable_entry *iter;

	hlist_for_each_entry_rcu_bh(iter, index_bucket(table, index),
				    index_hash) {
		if (iter->index == index)
			return true;
	}
	return false;
}

__le32 wg_index_hashtable_insert(struct wg_index_hashtable *table,
				 struct wg_index_hashtable_entry *entry)
{
	spin_lock_bh(&table->lock);
	hlist_del_init_rcu(&entry->index_hash);
	/*
	 * A collision among 2^32 values is rare, so pick, check and retry
	 * under the lock; holding it keeps two inserts from taking one index.
	 */
	rcu_read_lock_bh();
	do {
		entry->index = (__force __le32)get_random_u32();
	} while (index_in_use(table, entry->index));
	rcu_read_unlock_bh();
	hlist_add_head_rcu(&entry->index_hash,
			   index_bucket(table, entry->index));
	spin_unlock_bh(&table->lock);
	return entry->index;
}

bool wg_index_hashtable_replace(struct wg_index_hashtable *table,
				struct wg_index_hashtable_entry *old,
				struct wg_index_hashtable_entry *new)
{
	bool replaced = false;

	spin_lock_bh(&table->lock);
	if (!hlist_unhashed(&old->index_hash)) {
		new->index = old->index;
		hlist_replace_rcu(&old->index_hash, &new->index_hash);
		/*
		 * Readers may still be on old; keep its next pointer valid but
		 * make it look unhashed to later removals.
		 */
		INIT_HLIST_NODE(&old->index_hash);
		replaced = true;
	}
	spin_unlock_bh(&table->lock);
	return replaced;
}

void wg_index_hashtable_remove(struct wg_index_hashtable *table,
			       struct wg_index_hashtable_entry *entry)
{
	spin_lock_bh(&table->lock);
	hlist_del_init_rcu(&entry->index_hash);
	spin_unlock_bh(&table->lock);
}

struct wg_index_hashtable_entry *
wg_index_hashtable_lookup(struct wg_index_hashtable *table,
			  const enum wg_index_hashtable_type type_mask,
			  const __le32 index, struct wg_peer **peer)
{
	struct wg_index_hashtable_entry *iter, *entry = NULL;

	rcu_read_lock_bh();
	hlist_for_each_entry_rcu_bh(iter, index_bucket(table, index),
				    index_hash) {
		if (iter->index == index) {
			if (iter->type & type_mask)
				entry = iter;
			break;
		}
	}
	if (entry) {
		/* A dying peer's entries are about to go: treat as absent. */
		*peer = wg_peer_get_maybe_zero(entry->peer);
		if (unlikely(!*peer))
			entry = NULL;
	}
	rcu_read_unlock_bh();
	return entry;
}
