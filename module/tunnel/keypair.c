// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions as the data path holds them.  Who holds a reference: the
 * peer's slots (one, dropped when the core lets the session fall out) and
 * every packet encrypted or decrypted under it (one each, dropped when the
 * packet is done).  The index entry goes when the session leaves the
 * slots, so no new packet finds it; the memory goes after a grace period,
 * since index lookups and slot readers run under RCU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "keypair.h"
#include "../core/handshake.h"
#include "tunnel.h"
#include "peer.h"

#include <linux/slab.h>
#include <linux/timekeeping.h>

static atomic64_t keypair_counter = ATOMIC64_INIT(0);

struct wg_keypair *wg_keypair_get(struct wg_keypair *kp)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_bh_held(),
			 "taking keypair reference without holding the RCU BH read lock");
	if (unlikely(!kp || !kref_get_unless_zero(&kp->refcount)))
		return NULL;
	return kp;
}

static void free_rcu(struct rcu_head *rcu)
{
	kfree_sensitive(container_of(rcu, struct wg_keypair, rcu));
}

static void release(struct kref *ref)
{
	struct wg_keypair *kp = container_of(ref, struct wg_keypair, refcount);

	/* The peer may be gone already: packets drop it first. */
	wg_dbg_obj("keypair %llu destroyed\n", kp->internal_id);
	call_rcu(&kp->rcu, free_rcu);
}

void wg_keypair_put(struct wg_keypair *kp, bool unhash)
{
	if (unlikely(!kp))
		return;
	if (unhash)
		wg_index_release(kp->peer->device->indexes, &kp->slot);
	kref_put(&kp->refcount, release);
}

static void put_gone(struct wg_session **gone, unsigned int n)
{
	while (n--)
		wg_keypair_put(wg_keypair_of(gone[n]), true);
}

bool wg_keypair_begin(struct wg_peer *peer)
{
	struct wg_session *gone[WG_SESSION_GONE_MAX];
	struct wg_device *wg = peer->device;
	struct wg_keypair *kp;
	unsigned int n = 0;
	bool ok = false;

	kp = kzalloc(sizeof(*kp), GFP_KERNEL);
	if (unlikely(!kp))
		return false;
	kref_init(&kp->refcount);
	kp->internal_id = atomic64_inc_return(&keypair_counter);
	kp->peer = peer;
	wg_index_slot_init(&kp->slot, WG_INDEX_SESSION);

	down_write(&peer->handshake_lock);
	if (!wg_handshake_derive(&peer->handshake, &kp->s,
				 ktime_get_coarse_boottime_ns()))
		goto out;
	/* The session takes over the index the handshake was known by. */
	if (!wg_index_hand_over(wg->indexes, &peer->handshake_slot, &kp->slot))
		goto out;
	/*
	 * peer_make_dead() clears the slots after setting is_dead; a session
	 * installed past that check is cleared by its second pass.
	 */
	rcu_read_lock_bh();
	if (likely(!READ_ONCE(peer->is_dead))) {
		n = wg_session_slots_install(&peer->sessions, &kp->s, gone);
		ok = true;
	}
	rcu_read_unlock_bh();
	if (!ok)
		wg_index_release(wg->indexes, &kp->slot);
out:
	up_write(&peer->handshake_lock);
	if (!ok) {
		kfree_sensitive(kp);
		return false;
	}
	wg_dbg_obj("%s: keypair %llu for peer %llu created\n", wg->dev->name,
		   kp->internal_id, peer->internal_id);
	put_gone(gone, n);
	return true;
}

bool wg_keypair_confirm(struct wg_peer *peer, struct wg_keypair *kp)
{
	struct wg_session *gone;

	if (!wg_session_slots_confirm(&peer->sessions, &kp->s, &gone))
		return false;
	wg_keypair_put(wg_keypair_of(gone), true);
	return true;
}

void wg_keypairs_clear(struct wg_peer *peer)
{
	struct wg_session *gone[WG_SESSION_GONE_MAX];

	put_gone(gone, wg_session_slots_clear(&peer->sessions, gone));
}
