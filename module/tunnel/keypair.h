/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A peer's sessions as objects the data path holds: the core's session,
 * the index table entry a remote peer addresses it by, and a reference
 * count (each packet in flight holds one).
 */
#ifndef _WG_KEYPAIR_H
#define _WG_KEYPAIR_H

#include "../core/session.h"
#include "../tables/index.h"

#include <linux/kref.h>
#include <linux/rcupdate.h>

struct wg_peer;

struct wg_keypair {
	struct wg_session s;
	/* How the remote peer addresses this session; listed while in slots. */
	struct wg_index_slot slot;
	/* Not counted: a packet holding the keypair holds the peer too. */
	struct wg_peer *peer;
	struct kref refcount;
	struct rcu_head rcu;
	u64 internal_id;
};

static inline struct wg_keypair *wg_keypair_of(struct wg_session *s)
{
	return s ? container_of(s, struct wg_keypair, s) : NULL;
}

/* Returns a reference, or NULL if @kp is NULL or being freed. */
struct wg_keypair *wg_keypair_get(struct wg_keypair *kp);
/*
 * Drops a reference.  @unhash also takes @kp out of the index table at
 * once, for a session leaving the peer's slots.
 */
void wg_keypair_put(struct wg_keypair *kp, bool unhash);

/* Derives a session from @peer's finished handshake and installs it. */
bool wg_keypair_begin(struct wg_peer *peer);
/* A packet arrived under @kp: true if that confirmed a waiting session. */
bool wg_keypair_confirm(struct wg_peer *peer, struct wg_keypair *kp);
/* Releases every session of @peer. */
void wg_keypairs_clear(struct wg_peer *peer);

#endif /* _WG_KEYPAIR_H */
