// SPDX-License-Identifier: GPL-2.0
/*
 * Crypt rings and per-peer in-order queues.
 *
 * Every packet travels on two queues at once: the device-wide ring that
 * any CPU's crypt worker drains, and its peer's queue that keeps the order
 * in which packets were handed in.  Workers finish packets out of order and
 * only set their state; the peer's consumer (transmit work or NAPI) takes
 * packets off the head of the peer queue once the head is done, so a peer's
 * packets leave and arrive in order.  A short packet sent alone, or any
 * short message received, skips the ring: it is crypted where it arrives,
 * in its place in the peer queue (WG_CRYPT_INLINE_MAX); a lone one sent
 * that reaches the head of its queue also leaves from there (send.c).
 */
#include "keypair.h"
#include "limits.h"
#include "peer.h"
#include "ring.h"

#include <linux/cpumask.h>
#include <linux/skb_array.h>

int wg_ring_init(struct wg_crypt_ring *ring, unsigned int slots,
		 work_func_t fn, struct workqueue_struct *wq)
{
	int cpu, err;

	ring->wq = wq;
	ring->next_cpu = 0;
	err = ptr_ring_init(&ring->ring, slots, GFP_KERNEL);
	if (err)
		return err;
	ring->workers = alloc_percpu(struct wg_ring_worker);
	if (unlikely(!ring->workers)) {
		ptr_ring_cleanup(&ring->ring, NULL);
		return -ENOMEM;
	}
	/* Possible, not online: a CPU that comes up later finds its worker. */
	for_each_possible_cpu(cpu) {
		struct wg_ring_worker *w = per_cpu_ptr(ring->workers, cpu);

		w->ring = ring;
		INIT_WORK(&w->work, fn);
	}
	return 0;
}

void wg_ring_free(struct wg_crypt_ring *ring, bool purge)
{
	free_percpu(ring->workers);
	ring->workers = NULL;
	/* Packets hold peer references: only a dead device may drop them. */
	WARN_ON(!purge && !__ptr_ring_empty(&ring->ring));
	ptr_ring_cleanup(&ring->ring, purge ? __skb_array_destroy_skb : NULL);
}

void wg_ring_kick(struct wg_crypt_ring *ring)
{
	int cpu = wg_cpu_round_robin(&ring->next_cpu);

	queue_work_on(cpu, ring->wq, &per_cpu_ptr(ring->workers, cpu)->work);
}

void wg_peer_queue_init(struct wg_peer_queue *queue)
{
	skb_queue_head_init(&queue->list);
}

/* Frees @first and the rest of its bundle. */
static void free_bundle(struct sk_buff *first)
{
	struct sk_buff *next;

	while (first) {
		next = WG_SKB_CB(first)->bundle;
		kfree_skb(first);
		first = next;
	}
}

void wg_peer_queue_purge(struct wg_peer_queue *queue)
{
	struct wg_keypair *keypair;
	struct sk_buff *first;

	for (;;) {
		first = skb_dequeue(&queue->list);
		if (!first)
			break;
		keypair = WG_SKB_CB(first)->keypair;
		free_bundle(first);
		/* The references the first packet of a bundle holds. */
		wg_peer_unref(keypair->peer);
		wg_keypair_put(keypair, false);
	}
}

int wg_cpu_round_robin(int *cursor)
{
	int cpu = cpumask_next(READ_ONCE(*cursor), cpu_online_mask);

	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	WRITE_ONCE(*cursor, cpu);
	return cpu;
}

int wg_cpu_sticky(int *stored_cpu, u64 id)
{
	int cpu = READ_ONCE(*stored_cpu);
	unsigned int online;

	if (likely(cpu < nr_cpu_ids && cpu_online(cpu)))
		return cpu;
	online = num_online_cpus();
	cpu = cpumask_nth(online ? do_div(id, online) : 0, cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	WRITE_ONCE(*stored_cpu, cpu);
	return cpu;
}

int wg_ring_push(struct wg_crypt_ring *ring, struct wg_peer_queue *queue,
		 struct sk_buff *skb)
{
	atomic_set_release(&WG_SKB_CB(skb)->state, WG_CRYPT_PENDING);
	/*
	 * Into the peer queue first, and for good: should the ring be full,
	 * the packet fails there and its consumer frees it in order.
	 */
	skb_queue_tail(&queue->list, skb);
	if (unlikely(ptr_ring_produce_bh(&ring->ring, skb))) {
		atomic_set_release(&WG_SKB_CB(skb)->state, WG_CRYPT_FAILED);
		return -ENOSPC;
	}
	/* Spread the work: the next online CPU gets the next packet. */
	wg_ring_kick(ring);
	return 0;
}

bool wg_peer_queue_add_inline(struct wg_peer_queue *queue,
			      struct sk_buff *skb, unsigned int plain_len)
{
	if (plain_len > WG_CRYPT_INLINE_MAX ||
	    skb_queue_len_lockless(&queue->list) >= WG_MAX_QUEUED_PACKETS)
		return false;
	atomic_set(&WG_SKB_CB(skb)->state, WG_CRYPT_PENDING);
	skb_queue_tail(&queue->list, skb);
	return true;
}

/* The head if it is done, else NULL; called with the list's lock held. */
static struct sk_buff *head_if_done(struct wg_peer_queue *queue)
{
	struct sk_buff *skb = skb_peek(&queue->list);

	if (!skb ||
	    atomic_read_acquire(&WG_SKB_CB(skb)->state) == WG_CRYPT_PENDING)
		return NULL;
	return skb;
}

struct sk_buff *wg_peer_queue_dequeue_done(struct wg_peer_queue *queue)
{
	struct sk_buff *skb;
	unsigned long flags;

	spin_lock_irqsave(&queue->list.lock, flags);
	skb = head_if_done(queue);
	if (skb)
		__skb_unlink(skb, &queue->list);
	spin_unlock_irqrestore(&queue->list.lock, flags);
	return skb;
}

bool wg_peer_queue_head_done(struct wg_peer_queue *queue)
{
	unsigned long flags;
	bool done;

	/* Entries are queued before they can be done: empty is not done. */
	if (skb_queue_empty_lockless(&queue->list))
		return false;
	spin_lock_irqsave(&queue->list.lock, flags);
	done = head_if_done(queue);
	spin_unlock_irqrestore(&queue->list.lock, flags);
	return done;
}

void wg_peer_kick_tx(struct wg_peer *peer)
{
	int cpu = wg_cpu_sticky(&peer->serial_cpu, peer->internal_id);

	queue_work_on(cpu, peer->device->packet_crypt_wq, &peer->tx_work);
}

void wg_tx_crypted(struct sk_buff *skb, enum wg_crypt_state state)
{
	/*
	 * The packet holds a peer reference until the transmit work frees
	 * it, so the peer is still there after the state is published.
	 */
	struct wg_peer *peer = WG_SKB_PEER(skb);

	atomic_set_release(&WG_SKB_CB(skb)->state, state);
	wg_peer_kick_tx(peer);
}

__be16 wg_inner_protocol(const struct sk_buff *skb)
{
	const u8 *ip = skb_network_header(skb);
	const u8 *end = skb_tail_pointer(skb);

	/* The version nibble, where a whole header of that version fits. */
	if (ip < skb->head || ip >= end)
		return 0;
	if ((*ip >> 4) == 4 && end - ip >= (int)sizeof(struct iphdr))
		return htons(ETH_P_IP);
	if ((*ip >> 4) == 6 && end - ip >= (int)sizeof(struct ipv6hdr))
		return htons(ETH_P_IPV6);
	return 0;
}

void wg_skb_scrub(struct sk_buff *skb, bool keep_hash)
{
	/* Saved across the scrub: the memory reserve flag, and the hash. */
	const bool reserve = skb->pfmemalloc, sw = skb->sw_hash,
		   l4 = skb->l4_hash;
	const u32 hash = skb->hash;

	skb_scrub_packet(skb, true);
	memset(&skb->headers, 0, sizeof(skb->headers));
	skb->pfmemalloc = reserve;
	/* As if just allocated: no device, queue, or clone bookkeeping. */
	skb->dev = NULL;
	skb->queue_mapping = 0;
	skb->nohdr = 0;
	skb->peeked = 0;
	/* Every header, the inner ones too, starts at the data. */
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);
	skb_reset_mac_len(skb);
	skb->hdr_len = skb_headroom(skb);
	/* GSO and the flow dissector find the transport header set. */
	skb_reset_transport_header(skb);
	skb_probe_transport_header(skb);
	skb_reset_inner_headers(skb);
	if (keep_hash)
		__skb_set_hash(skb, hash, sw, l4);
}
