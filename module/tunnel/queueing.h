/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rings feeding the per-CPU crypto workers, the per-peer in-order queues and
 * the entry points of the send and receive paths.
 */
#ifndef _WG_QUEUEING_H
#define _WG_QUEUEING_H

#include <linux/types.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/ptr_ring.h>
#include <linux/workqueue.h>

struct wg_device;
struct wg_peer;
struct wg_keypair;

struct wg_multicore_worker {
	void *ptr;
	struct work_struct work;
};

struct wg_crypt_queue {
	struct ptr_ring ring;
	struct wg_multicore_worker __percpu *worker;
	int last_cpu;
};

/*
 * Packets of one peer in the order they must leave (tx) or be delivered
 * (rx).  Entries are added in order under the queue's lock; crypto workers
 * flip each entry's state; the consumer takes entries off the head only
 * while the head is no longer WG_PACKET_UNCRYPTED.
 */
struct wg_peer_queue {
	struct sk_buff_head list;
};

enum wg_packet_state {
	WG_PACKET_UNCRYPTED,
	WG_PACKET_CRYPTED,
	WG_PACKET_DEAD
};

/*
 * On the transmit path the segments staged together travel as one bundle:
 * only the first is in the peer queue and the device ring, holds the keypair
 * and peer references, and its state says when the whole bundle is done;
 * @bundle links the rest.  Received packets travel alone (@bundle is NULL).
 */
struct wg_packet_cb {
	u64 nonce;
	struct wg_keypair *keypair;
	struct sk_buff *bundle;
	atomic_t state;
	u32 mtu;
	u8 ds;
};

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

#define PACKET_CB(skb) ((struct wg_packet_cb *)((skb)->cb))
#define PACKET_PEER(skb) (PACKET_CB(skb)->keypair->peer)

/* queueing.c */
int wg_packet_queue_init(struct wg_crypt_queue *queue, work_func_t function,
			 unsigned int len);
void wg_packet_queue_free(struct wg_crypt_queue *queue, bool purge);
struct wg_multicore_worker __percpu *
wg_packet_percpu_multicore_worker_alloc(work_func_t function, void *ptr);
void wg_peer_queue_init(struct wg_peer_queue *queue);
/*
 * Frees every entry and the rest of its bundle, dropping the keypair and peer
 * reference each entry holds.
 */
void wg_peer_queue_purge(struct wg_peer_queue *queue);
static inline unsigned int wg_peer_queue_len(struct wg_peer_queue *queue)
{
	return skb_queue_len_lockless(&queue->list);
}

/*
 * Adds @skb to @peer_queue and to the device ring; on a full ring the packet
 * stays in the peer queue marked dead, and -ENOSPC is returned.
 */
int wg_queue_enqueue_per_device_and_peer(struct wg_crypt_queue *device_queue,
					 struct wg_peer_queue *peer_queue,
					 struct sk_buff *skb,
					 struct workqueue_struct *wq);
/*
 * Adds @skb to @peer_queue alone, for the caller to crypt now, if its
 * plaintext is at most WG_CRYPT_INLINE_MAX bytes and the peer queue is
 * shorter than the ring (the bound the ring would otherwise set).
 */
bool wg_peer_queue_add_inline(struct wg_peer_queue *peer_queue,
			      struct sk_buff *skb, unsigned int plain_len);
/*
 * Marks @skb (the first of its bundle: all others must already have their
 * state) done and wakes the peer's in-order consumer.
 */
void wg_queue_enqueue_per_peer_tx(struct sk_buff *skb,
				  enum wg_packet_state state);
/* Takes the head if it is done; NULL if empty or still being worked on. */
struct sk_buff *wg_peer_queue_dequeue_done(struct wg_peer_queue *queue);
/*
 * True if the head is there and done (crypted or dead).  Looks at an empty
 * queue without the lock: the caller orders that read (a full barrier
 * after the store that a racing completer must see).
 */
bool wg_peer_queue_head_done(struct wg_peer_queue *queue);
/* Queues @peer's transmit work on the peer's serial CPU. */
void wg_peer_kick_tx(struct wg_peer *peer);
int wg_cpumask_next_online(int *last_cpu);
/*
 * The CPU of a peer's serial work: the same one every time while it stays
 * online, so that a peer's outer packets mostly enter the network stack on
 * one CPU; peers are spread over the CPUs by @id.  Order itself is kept by
 * send.c: a sender on another CPU waits until the peer's earlier packets
 * have left the backlog of the CPU of the last send (tx_in_order_from()).
 */
int wg_cpumask_choose_online(int *stored_cpu, u64 id);
/* Returns the inner protocol of @skb from its IP version, or 0. */
__be16 wg_examine_packet_protocol(struct sk_buff *skb);
void wg_reset_packet(struct sk_buff *skb, bool encapsulating);

/* receive.c */
void wg_packet_receive(struct wg_device *wg, struct sk_buff *skb);
void wg_packet_handshake_receive_worker(struct work_struct *work);
void wg_packet_decrypt_worker(struct work_struct *work);
int wg_packet_rx_poll(struct napi_struct *napi, int budget);

/* send.c */
void wg_packet_send_queued_handshake_initiation(struct wg_peer *peer,
						bool is_retry);
void wg_packet_send_handshake_response(struct wg_peer *peer);
void wg_packet_send_handshake_cookie(struct wg_device *wg,
				     struct sk_buff *initiating_skb,
				     __le32 sender_index);
void wg_packet_send_keepalive(struct wg_peer *peer);
void wg_packet_purge_staged_packets(struct wg_peer *peer);
void wg_packet_send_staged_packets(struct wg_peer *peer);
void wg_packet_handshake_send_worker(struct work_struct *work);
void wg_packet_tx_worker(struct work_struct *work);
void wg_packet_encrypt_worker(struct work_struct *work);

#endif /* _WG_QUEUEING_H */
