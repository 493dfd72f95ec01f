/* SPDX-License-Identifier: GPL-2.0 */
/* Peer lifetime: creation, references and two-phase removal. */
#ifndef _WG_TUNNEL_PEER_H
#define _WG_TUNNEL_PEER_H

#include <linux/kref.h>
#include <linux/spinlock.h>
#include <net/dst_cache.h>

#include "../core/cookie.h"
#include "../core/handshake.h"
#include "../core/session.h"
#include "../tables/index.h"
#include "../tables/keys.h"
#include "keypair.h"
#include "outer.h"
#include "timers.h"
#include "tunnel.h"

/* Bit of wg_peer.tx_flags: see there. */
#define WG_PEER_TX_SENDING 0

/*
 * A remote peer of one device.
 *
 * Who holds a reference: the device's peer list (from wg_peer_new()
 * to removal), every packet of the peer in a queue or ring, each work item
 * queued for it (handshake send, key forgetting), and whoever found it
 * through a table (wg_peer_by_*()) until they put it.  The memory stays
 * an RCU-bh grace period past the last put, for readers of its slots.
 */
struct wg_peer {
	struct wg_device *device;
	struct kref refcount;
	/* Set once, when removal begins; read under RCU-bh. */
	bool is_dead;
	u64 internal_id;

	/* Who it is, and the handshake with it. */
	struct wg_handshake handshake;
	/*
	 * Protects handshake (and the psk in it); see exchange.h for the
	 * order with the device's identity lock.
	 */
	struct rw_semaphore handshake_lock;
	/* Listed while a response or cookie reply to our message may come. */
	struct wg_index_slot handshake_slot;
	/* Listed under its public key from creation to removal. */
	struct wg_key_slot key_slot;
	struct wg_cookie_jar cookie_jar;
	atomic64_t last_sent_handshake;
	struct timespec64 walltime_last_handshake;
	struct wg_session_slots sessions;

	/* Where it is. */
	struct wg_endpoint endpoint;
	struct dst_cache route_cache;
	/* Protects endpoint and route_cache. */
	rwlock_t endpoint_rwlock;
	/* Its prefixes in wg->peer_allowedips, under config_lock. */
	struct wg_aip_owner aip;

	/* Its packets. */
	/* Packets waiting for a session; bounded by WG_MAX_STAGED_PACKETS. */
	struct sk_buff_head staged;
	/* In-order queues: crypt workers finish entries out of order. */
	struct wg_peer_queue tx_queue, rx_queue;
	int serial_cpu;
	struct work_struct initiation_work, tx_work;
	/*
	 * WG_PEER_TX_SENDING is held by whoever hands this peer's done
	 * bundles to the socket (the transmit work, or a sender with a lone
	 * short packet), so that they reach it in queue order.
	 */
	unsigned long tx_flags;
	/*
	 * The CPU that last handed this peer's packets to the stack, and the
	 * tail of that CPU's backlog just after (send.c).  Written with
	 * WG_PEER_TX_SENDING held.
	 */
	int tx_cpu;
	unsigned int tx_qtail;
	/* Received packets reach the stack from this context's poll. */
	struct napi_struct napi;
	atomic64_t rx_bytes, tx_bytes;

	/* Its clock. */
	struct wg_peer_timers timers;
	/* Seconds; 0 is off.  Written by netlink, read by the timers. */
	u16 persistent_keepalive_interval;

	/* In wg->peers, under config_lock. */
	struct list_head device_link;
	struct rcu_head rcu;
};

/* The slab peers come from: module init and exit. */
int wg_peer_cache_init(void);
void wg_peer_cache_exit(void);

/*
 * Life and death; the caller holds wg->config_lock.  wg_peer_new() returns
 * the peer, its one reference owned by the device's list, or an ERR_PTR.
 * Retiring waits for a grace period (once for all, in retire_all) and
 * leaves the peer to its last reference.
 */
struct wg_peer *wg_peer_new(struct wg_device *wg,
			    const u8 public_key[WG_PUBLIC_LEN],
			    const u8 preshared_key[WG_SYMKEY_LEN]);
void wg_peer_retire(struct wg_peer *peer);
void wg_peer_retire_all(struct wg_device *wg);

/* References.  try_get: under rcu_read_lock_bh(), NULL if it is dying. */
struct wg_peer *__must_check wg_peer_try_get(struct wg_peer *peer);
static inline struct wg_peer *wg_peer_ref(struct wg_peer *peer)
{
	kref_get(&peer->refcount);
	return peer;
}

void wg_peer_unref(struct wg_peer *peer);

/* Finding peers through the tables. */
/* The live peer with that public key, with a reference, or NULL. */
struct wg_peer *wg_peer_by_key(struct wg_device *wg,
			       const u8 key[WG_PUBLIC_LEN]);
/*
 * The live peer owning the handshake or session (by @kinds) that the
 * remote side addresses as @id, with a reference, or NULL.
 */
struct wg_peer *wg_peer_by_index(struct wg_device *wg, __le32 id,
				 unsigned int kinds);
/*
 * The live peer whose allowed IPs hold @skb's destination, with a
 * reference, or NULL.  Under rcu_read_lock_bh().
 */
struct wg_peer *wg_peer_for_dst(struct wg_device *wg, struct sk_buff *skb);
/*
 * The peer whose allowed IPs hold @addr (an in_addr or in6_addr by
 * @family), without a reference: only for comparing identities, under
 * rcu_read_lock_bh().
 */
struct wg_peer *wg_peer_owning(struct wg_device *wg, sa_family_t family,
			       const void *addr);

/* The session that sends now, under rcu_read_lock_bh(); may be NULL. */
static inline struct wg_keypair *wg_peer_current_keypair(struct wg_peer *peer)
{
	return wg_keypair_of(rcu_dereference_bh(peer->sessions.cur));
}

#endif /* _WG_TUNNEL_PEER_H */
