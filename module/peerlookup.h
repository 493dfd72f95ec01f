/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hash tables that find a peer by its public key (configuration, handshake
 * initiations) and a handshake or keypair by the 32-bit index a remote peer
 * puts in its messages (responses, cookies, data).
 */
#ifndef _WG_PEERLOOKUP_H
#define _WG_PEERLOOKUP_H

#include "core/wire.h"

#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/siphash.h>

struct wg_peer;

struct wg_pubkey_hashtable {
	/* Writers hold this; readers walk under RCU. */
	struct mutex lock;
	siphash_key_t key;
	DECLARE_HASHTABLE(hashtable, 11);
};

struct wg_pubkey_hashtable *wg_pubkey_hashtable_alloc(void);
void wg_pubkey_hashtable_free(struct wg_pubkey_hashtable *table);
void wg_pubkey_hashtable_add(struct wg_pubkey_hashtable *table,
			     struct wg_peer *peer);
void wg_pubkey_hashtable_remove(struct wg_pubkey_hashtable *table,
				struct wg_peer *peer);
/* Returns a reference, or NULL. */
struct wg_peer *
wg_pubkey_hashtable_lookup(struct wg_pubkey_hashtable *table,
			   const u8 pubkey[WG_PUBLIC_LEN]);

enum wg_index_hashtable_type {
	INDEX_HASHTABLE_HANDSHAKE = 1U << 0,
	INDEX_HASHTABLE_KEYPAIR = 1U << 1
};

struct wg_index_hashtable_entry {
	struct wg_peer *peer;
	struct hlist_node index_hash;
	enum wg_index_hashtable_type type;
	__le32 index;
};

struct wg_index_hashtable {
	/* Serialises inserts, replaces and removes. */
	spinlock_t lock;
	DECLARE_HASHTABLE(hashtable, 13);
};

struct wg_index_hashtable *wg_index_hashtable_alloc(void);
void wg_index_hashtable_free(struct wg_index_hashtable *table);
/* Picks a fresh random index for @entry and returns it. */
__le32 wg_index_hashtable_insert(struct wg_index_hashtable *table,
				 struct wg_index_hashtable_entry *entry);
bool wg_index_hashtable_replace(struct wg_index_hashtable *table,
				struct wg_index_hashtable_entry *old,
				struct wg_index_hashtable_entry *new);
void wg_index_hashtable_remove(struct wg_index_hashtable *table,
			       struct wg_index_hashtable_entry *entry);
/*
 * Finds the entry of one of the @type_mask types; on success *peer holds a
 * reference to its peer.  Call under rcu_read_lock_bh().
 */
struct wg_index_hashtable_entry *
wg_index_hashtable_lookup(struct wg_index_hashtable *table,
			  const enum wg_index_hashtable_type type_mask,
			  const __le32 index, struct wg_peer **peer);

#endif /* _WG_PEERLOOKUP_H */
