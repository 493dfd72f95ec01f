/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Static public keys to their owners: the device finds the peer a
 * handshake initiation claims to come from, and the configuration finds
 * the peer it names.  The caller embeds a struct wg_key_slot in its object
 * and recovers the object with container_of().
 *
 * Locking: adding and removing serialise on the table's mutex (process
 * context only).  wg_key_find() takes no lock: call it under
 * rcu_read_lock_bh(), take the caller's reference before leaving that
 * section, and free a removed slot's object only after an RCU-bh grace
 * period.
 */
#ifndef _WG_TABLES_KEYS_H
#define _WG_TABLES_KEYS_H

#include "../core/wire.h"

#include <linux/list.h>

struct wg_key_slot {
	struct hlist_node link;
	u8 key[WG_PUBLIC_LEN];
};

struct wg_key_table;

struct wg_key_table *wg_key_table_new(void);
/* Every slot must have been removed. */
void wg_key_table_destroy(struct wg_key_table *table);
/* Lists @slot under @key (copied); the caller made sure it is not listed. */
void wg_key_add(struct wg_key_table *table, struct wg_key_slot *slot,
		const u8 key[WG_PUBLIC_LEN]);
void wg_key_remove(struct wg_key_table *table, struct wg_key_slot *slot);
struct wg_key_slot *wg_key_find(struct wg_key_table *table,
				const u8 key[WG_PUBLIC_LEN]);

#endif /* _WG_TABLES_KEYS_H */
