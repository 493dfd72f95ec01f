/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Crypt rings (device-wide, drained by a worker on every CPU) and peer
 * queues (one peer's packets in the order they must leave or arrive), and
 * what every queued skb carries in its control block.
 */
#ifndef _WG_TUNNEL_RING_H
#define _WG_TUNNEL_RING_H

#include <linux/ptr_ring.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>

struct wg_keypair;
struct wg_peer;

/* One CPU's worker of a ring. */
struct wg_ring_worker {
	struct work_struct work;
	struct wg_crypt_ring *ring;
};

/*
 * A ring of skbs any CPU's worker may take.  @next_cpu: where the last
 * wake-up went (wg_ring_kick() goes round the online CPUs).
 */
struct wg_crypt_ring {
	struct ptr_ring ring;
	struct wg_ring_worker __percpu *workers;
	struct workqueue_struct *wq;
	int next_cpu;
};

/* The ring whose worker runs @work. */
static inline struct wg_crypt_ring *wg_ring_of(struct work_struct *work)
{
	return container_of(work, struct wg_ring_worker, work)->ring;
}

/* @slots entries; @fn runs on @wq for each wake-up. */
int wg_ring_init(struct wg_crypt_ring *ring, unsigned int slots,
		 work_func_t fn, struct workqueue_struct *wq);
/* @purge: free what is still in it (else it must be empty). */
void wg_ring_free(struct wg_crypt_ring *ring, bool purge);
/* Wake the worker of the next online CPU. */
void wg_ring_kick(struct wg_crypt_ring *ring);

/*
 * Packets of one peer in the order they must leave (tx) or be delivered
 * (rx).  Entries are added in order under the list's lock; crypt workers
 * set each entry's state; the consumer takes entries off the head only
 * while the head is no longer WG_CRYPT_PENDING.
 */
struct wg_peer_queue {
	struct sk_buff_head list;
};

enum wg_crypt_state {
	WG_CRYPT_PENDING,
	WG_CRYPT_DONE,
	WG_CRYPT_FAILED
};

/*
 * On the transmit path the segments staged together travel as one bundle:
 * only the first is in the peer queue and the ring, holds the keypair and
 * peer references, and its state says when the whole bundle is done;
 * @bundle links the rest.  Received packets travel alone (@bundle NULL).
 */
struct wg_skb_cb {
	u64 nonce;
	struct wg_keypair *keypair;
	struct sk_buff *bundle;
	atomic_t state;
	u32 mtu;
	u8 ds;
};

#define WG_SKB_CB(skb) ((struct wg_skb_cb *)((skb)->cb))
#define WG_SKB_PEER(skb) (WG_SKB_CB(skb)->keypair->peer)

/*
 * The most packets in one transmit bundle: a GSO super-packet of TCP at
 * these rates is 10-45 segments; a bound keeps one worker from holding a
 * whole staged queue while the other CPUs idle.
 */
#define WG_TX_BUNDLE_MAX 64

/* Decrypted packets a crypt worker marks done before it runs the poll. */
#define WG_RX_BATCH 16

/*
 * Plaintext bytes up to which a packet staged alone, or any data message
 * received (TCP ACKs, pings, keepalives), is encrypted or decrypted where
 * it arrives instead of by a crypt worker: for so few bytes the cipher
 * costs less than waking another CPU's worker.  Bulk data still spreads
 * over all CPUs.
 */
#define WG_CRYPT_INLINE_MAX 256

void wg_peer_queue_init(struct wg_peer_queue *queue);
/*
 * Frees every entry and the rest of its bundle, dropping the keypair and
 * peer reference each entry holds.
 */
void wg_peer_queue_purge(struct wg_peer_queue *queue);
static inline unsigned int wg_peer_queue_len(struct wg_peer_queue *queue)
{
	return skb_queue_len_lockless(&queue->list);
}

/*
 * Adds @skb to @queue and to @ring; on a full ring the packet stays in the
 * peer queue marked failed (its consumer frees it in order) and -ENOSPC
 * is returned.
 */
int wg_ring_push(struct wg_crypt_ring *ring, struct wg_peer_queue *queue,
		 struct sk_buff *skb);
/*
 * Adds @skb to @queue alone, for the caller to crypt now, if its plaintext
 * is at most WG_CRYPT_INLINE_MAX bytes and the peer queue is shorter than
 * a ring (the bound the ring would otherwise set).
 */
bool wg_peer_queue_add_inline(struct wg_peer_queue *queue,
			      struct sk_buff *skb, unsigned int plain_len);
/*
 * Sets the state of @skb (the first of its bundle: all others must
 * already have theirs) and wakes the peer's in-order sender.
 */
void wg_tx_crypted(struct sk_buff *skb, enum wg_crypt_state state);
/* Takes the head if it is done; NULL if empty or still being worked on. */
struct sk_buff *wg_peer_queue_dequeue_done(struct wg_peer_queue *queue);
/*
 * True if the head is there and done (crypted or failed).  Looks at an
 * empty queue without the lock: the caller orders that read (a full
 * barrier after the store that a racing completer must see).
 */
bool wg_peer_queue_head_done(struct wg_peer_queue *queue);
/* Queues @peer's transmit work on the peer's serial CPU. */
void wg_peer_kick_tx(struct wg_peer *peer);

/* The online CPU after *@cursor (wrapping), stored back in it. */
int wg_cpu_round_robin(int *cursor);
/*
 * The CPU of a peer's serial work: the same one every time while it stays
 * online, so that a peer's outer packets mostly enter the network stack on
 * one CPU; peers are spread over the CPUs by @id.  Order itself is kept by
 * send.c: a sender on another CPU waits until the peer's earlier packets
 * have left the backlog of the CPU of the last send (tx_in_order_from()).
 */
int wg_cpu_sticky(int *stored_cpu, u64 id);

/* ETH_P_IP or ETH_P_IPV6 by the version of the IP header of @skb, or 0. */
__be16 wg_inner_protocol(const struct sk_buff *skb);
/*
 * Make @skb a fresh packet for the next stack (outer after encryption,
 * inner after decryption): no socket, route, marks or offsets of the old
 * one.  @keep_hash: the outer packet spreads as its inner flow did.
 */
void wg_skb_scrub(struct sk_buff *skb, bool keep_hash);

#endif /* _WG_TUNNEL_RING_H */
