// SPDX-License-Identifier: GPL-2.0
/*
 * Debug builds: the index and key tables checked at load.  The index
 * table's ids come from a drawing function the test replaces with one
 * that repeats itself, so that a collision really happens and must be
 * retried.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "index.h"
#include "keys.h"
#include "tables.h"

#include <linux/slab.h>

#ifdef CONFIG_WG_DEBUG

#define ST_SLOTS 64

struct st_owner {
	struct wg_index_slot hs, session;
	struct wg_key_slot key;
};

/* Draws 7, 7, 9, 9, 9, 11, 11, 11, 13, ...: most of them collide. */
static u32 st_draw_state;
static u32 st_repeating_draw(void)
{
	st_draw_state++;
	return 7 + 2 * (st_draw_state / 3);
}

static bool index_selftest(struct st_owner *o, unsigned int *test)
{
	struct wg_index_table *table = wg_index_table_new();
	__le32 ids[ST_SLOTS], id;
	bool ok = false;
	unsigned int i, j;

	if (!table)
		return false;
	for (i = 0; i < ST_SLOTS; i++) {
		wg_index_slot_init(&o[i].hs, WG_INDEX_HANDSHAKE);
		wg_index_slot_init(&o[i].session, WG_INDEX_SESSION);
	}
	wg_index_set_draw(st_repeating_draw);
	st_draw_state = 0;
	/* Every claim gets an id no other slot holds, draws repeating. */
	for (i = 0; i < ST_SLOTS; i++) {
		++*test;
		ids[i] = wg_index_claim(table, &o[i].hs);
		for (j = 0; j < i; j++)
			if (ids[j] == ids[i])
				goto out;
	}
	wg_index_set_draw(NULL);
	rcu_read_lock_bh();
	for (i = 0; i < ST_SLOTS; i++) {
		++*test;
		/* Found by its id and kind; not as another kind. */
		if (wg_index_find(table, ids[i], WG_INDEX_HANDSHAKE) !=
		    &o[i].hs ||
		    wg_index_find(table, ids[i], WG_INDEX_SESSION))
			goto out_unlock;
	}
	rcu_read_unlock_bh();

	/* A session takes over its handshake's id in one step. */
	++*test;
	if (!wg_index_hand_over(table, &o[0].hs, &o[0].session) ||
	    wg_index_hand_over(table, &o[0].hs, &o[0].session))
		goto out;
	rcu_read_lock_bh();
	++*test;
	if (wg_index_find(table, ids[0], WG_INDEX_SESSION |
			  WG_INDEX_HANDSHAKE) != &o[0].session)
		goto out_unlock;
	rcu_read_unlock_bh();

	/* Claiming again gives up the old id; releasing unlists. */
	++*test;
	id = wg_index_claim(table, &o[1].hs);
	wg_index_release(table, &o[2].hs);
	wg_index_release(table, &o[2].hs);
	rcu_read_lock_bh();
	if (id == ids[1] || wg_index_find(table, ids[1], ~0U) ||
	    wg_index_find(table, id, ~0U) != &o[1].hs ||
	    wg_index_find(table, ids[2], ~0U))
		goto out_unlock;
	rcu_read_unlock_bh();
	ok = true;
	goto out;

out_unlock:
	rcu_read_unlock_bh();
out:
	wg_index_set_draw(NULL);
	for (i = 0; i < ST_SLOTS; i++) {
		wg_index_release(table, &o[i].hs);
		wg_index_release(table, &o[i].session);
	}
	wg_index_table_destroy(table);
	return ok;
}

static bool keys_selftest(struct st_owner *o, unsigned int *test)
{
	struct wg_key_table *table = wg_key_table_new();
	u8 key[WG_PUBLIC_LEN] = { 0 };
	bool ok = false;
	unsigned int i;

	if (!table)
		return false;
	for (i = 0; i < ST_SLOTS; i++) {
		key[0] = i;
		key[WG_PUBLIC_LEN - 1] = i;
		wg_key_add(table, &o[i].key, key);
	}
	rcu_read_lock_bh();
	for (i = 0; i < ST_SLOTS; i++) {
		++*test;
		key[0] = i;
		key[WG_PUBLIC_LEN - 1] = i;
		if (wg_key_find(table, key) != &o[i].key)
			goto out_unlock;
		/* One bit off is another key. */
		key[WG_PUBLIC_LEN / 2] ^= 1;
		if (wg_key_find(table, key))
			goto out_unlock;
		key[WG_PUBLIC_LEN / 2] ^= 1;
	}
	rcu_read_unlock_bh();
	++*test;
	wg_key_remove(table, &o[3].key);
	key[0] = 3;
	key[WG_PUBLIC_LEN - 1] = 3;
	rcu_read_lock_bh();
	if (wg_key_find(table, key))
		goto out_unlock;
	ok = true;
out_unlock:
	rcu_read_unlock_bh();
	for (i = 0; i < ST_SLOTS; i++)
		if (i != 3)
			wg_key_remove(table, &o[i].key);
	wg_key_table_destroy(table);
	return ok;
}

bool wg_lookup_selftest(void)
{
	struct st_owner *o = kcalloc(ST_SLOTS, sizeof(*o), GFP_KERNEL);
	unsigned int test = 0;
	bool ok;

	if (!o)
		return false;
	ok = index_selftest(o, &test) && keys_selftest(o, &test);
	/* The slots were unlisted: no reader can be on them any more. */
	synchronize_rcu();
	kfree(o);
	if (ok)
		pr_info("lookup self-tests: pass\n");
	else
		pr_err("lookup self-test %u: fail\n", test);
	return ok;
}

#endif /* CONFIG_WG_DEBUG */
