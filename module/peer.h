/* SPDX-License-Identifier: GPL-2.0 */
/* Peer lifetime: creation, references and two-phase removal. */
#ifndef _WG_PEER_H
#define _WG_PEER_H

#include "device.h"
#include "core/cookie.h"
#include "core/handshake.h"
#include "core/session.h"
#include "keypair.h"
#include "tables/index.h"
#include "tables/keys.h"
#include "tunnel/timers.h"
#include "socket.h"

#include <linux/types.h>
#include <linux/netfilter.h>
#include <linux/spinlock.h>
#include <linux/kref.h>
#include <net/dst_cache.h>

struct wg_device;

struct wg_endpoint {
	union {
		struct sockaddr addr;
		struct sockaddr_in addr4;
		struct sockaddr_in6 addr6;
	};
	/* Cached source address (and interface for v4) replies leave from. */
	union {
		struct {
			struct in_addr src4;
			int src_if4;
		};
		struct in6_addr src6;
	};
};

/* Rate-limited debug line naming the outer source address of @skb. */
#define wg_dbg_skb_ratelimited(fmt, devname, skb, ...)                     \
	do {                                                               \
		struct wg_endpoint __ep;                                   \
		if (!wg_socket_endpoint_from_skb(&__ep, skb))              \
			net_dbg_ratelimited(fmt, devname, &__ep.addr,      \
					    ##__VA_ARGS__);                \
	} while (0)

/* Bit of wg_peer.tx_flags: see there. */
#define WG_PEER_TX_SENDING 0

struct wg_peer {
	struct wg_device *device;
	/* In-order packet queues: crypto workers complete entries out of order. */
	struct wg_peer_queue tx_queue, rx_queue;
	/* Packets waiting for a session; bounded by WG_MAX_STAGED_PACKETS. */
	struct sk_buff_head staged_packet_queue;
	int serial_work_cpu;
	bool is_dead;
	struct wg_session_slots sessions;
	struct wg_endpoint endpoint;
	struct dst_cache endpoint_cache;
	/* Protects endpoint and endpoint_cache. */
	rwlock_t endpoint_lock;
	struct wg_handshake handshake;
	/* How a response to our message finds us; hashed while one may come. */
	struct wg_index_slot handshake_slot;
	/* Protects handshake; see exchange.h for the lock order. */
	struct rw_semaphore handshake_lock;
	atomic64_t last_sent_handshake;
	struct work_struct transmit_handshake_work, clear_peer_work;
	struct work_struct transmit_packet_work;
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
	struct wg_cookie_jar cookie_jar;
	/* Listed under our public key for this peer while it lives. */
	struct wg_key_slot key_slot;
	atomic64_t rx_bytes, tx_bytes;
	struct wg_peer_timers timers;
	/* Seconds; 0 is off.  Written by netlink, read by the timers. */
	u16 persistent_keepalive_interval;
	struct timespec64 walltime_last_handshake;
	struct kref refcount;
	struct rcu_head rcu;
	/* Entry in wg->peer_list, under wg->device_update_lock. */
	struct list_head peer_list;
	/* This peer's allowed IPs in wg->peer_allowedips. */
	struct wg_aip_owner aip;
	struct napi_struct napi;
	u64 internal_id;
};

/*
 * Returns the new peer, owned by the device's peer list (the caller gets no
 * extra reference), or an ERR_PTR.  Caller holds wg->device_update_lock.
 */
struct wg_peer *wg_peer_create(struct wg_device *wg,
			       const u8 public_key[WG_PUBLIC_LEN],
			       const u8 preshared_key[WG_SYMKEY_LEN]);

/* The session that sends now, under rcu_read_lock_bh(); may be NULL. */
static inline struct wg_keypair *wg_peer_current_keypair(struct wg_peer *peer)
{
	return wg_keypair_of(rcu_dereference_bh(peer->sessions.cur));
}

struct wg_peer *__must_check wg_peer_get_maybe_zero(struct wg_peer *peer);
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
static inline struct wg_peer *wg_peer_get(struct wg_peer *peer)
{
	kref_get(&peer->refcount);
	return peer;
}

void wg_peer_put(struct wg_peer *peer);
/* Both take wg->device_update_lock held by the caller. */
void wg_peer_remove(struct wg_peer *peer);
void wg_peer_remove_all(struct wg_device *wg);

int wg_peer_init(void);
void wg_peer_uninit(void);

#endif /* _WG_PEER_H */
