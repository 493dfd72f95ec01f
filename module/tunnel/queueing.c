// SPDX-License-Identifier: GPL-2.0
/*
 * Crypt rings and per-peer in-order queues.
 *
 * Every packet travels on two queues at once: the device-wide ring that
 * any CPU's crypto worker drains, and its peer's queue that keeps the order
 * in which packets were handed in.  Workers finish packets out of order and
 * only flip their state; the peer's consumer (transmit work or NAPI) takes
 * packets off the head of the peer queue once the head is done, so a peer's
 * packets leave and arrive in order.  A short packet sent alone, or any
 * short message received, skips the ring: it is crypted where it arrives,
 * in its place in the peer queue (WG_CRYPT_INLINE_MAX); a lone one sent
 * that reaches the head of its queue also leaves from there (send.c).
 */
#include "queueing.h"
#include "keypair.h"
#include "peer.h"

#include <linux/cpumask.h>
#include <linux/skb_array.h>
#include <net/ip_tunnels.h>

struct wg_multicore_worker __percpu *
wg_packet_percpu_multicore_worker_alloc(work_func_t function, void *ptr)
{
	struct wg_multicore_worker __percpu *worker;
	int cpu;

	worker = alloc_percpu(struct wg_multicore_worker);
	if (!worker)
		return NULL;
	for_each_possible_cpu(cpu) {
		per_cpu_ptr(worker, cpu)->ptr = ptr;
		INIT_WORK(&per_cpu_ptr(worker, cpu)->work, function);
	}
	return worker;
}

int wg_packet_queue_init(struct wg_crypt_queue *queue, work_func_t function,
			 unsigned int len)
{
	int ret;

	memset(queue, 0, sizeof(*queue));
	ret = ptr_ring_init(&queue->ring, len, GFP_KERNEL);
	if (ret)
		return ret;
	queue->worker = wg_packet_percpu_multicore_worker_alloc(function, queue);
	if (!queue->worker) {
		ptr_ring_cleanup(&queue->ring, NULL);
		return -ENOMEM;
	}
	return 0;
}

void wg_packet_queue_free(struct wg_crypt_queue *queue, bool purge)
{
	free_percpu(queue->worker);
	WARN_ON(!purge && !__ptr_ring_empty(&queue->ring));
	ptr_ring_cleanup(&queue->ring, purge ? __skb_array_destroy_skb : NULL);
}

void wg_peer_queue_init(struct wg_peer_queue *queue)
{
	skb_queue_head_init(&queue->list);
}

void wg_peer_queue_purge(struct wg_peer_queue *queue)
{
	struct sk_buff *skb;

	while ((skb = skb_dequeue(&queue->list)) != NULL) {
		struct wg_keypair *keypair = PACKET_CB(skb)->keypair;
		struct sk_buff *next;

		wg_peer_unref(keypair->peer);
		wg_keypair_put(keypair, false);
		for (; skb; skb = next) {
			next = PACKET_CB(skb)->bundle;
			kfree_skb(skb);
		}
	}
}

int wg_cpumask_next_online(int *last_cpu)
{
	int cpu = cpumask_next(READ_ONCE(*last_cpu), cpu_online_mask);

	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	WRITE_ONCE(*last_cpu, cpu);
	return cpu;
}

int wg_cpumask_choose_online(int *stored_cpu, u64 id)
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

int wg_queue_enqueue_per_device_and_peer(struct wg_crypt_queue *device_queue,
					 struct wg_peer_queue *peer_queue,
					 struct sk_buff *skb,
					 struct workqueue_struct *wq)
{
	int cpu;

	atomic_set_release(&PACKET_CB(skb)->state, WG_PACKET_UNCRYPTED);
	/*
	 * The peer queue keeps the packet even if the ring is full: it then
	 * is dead, and the consumer frees it in order.
	 */
	skb_queue_tail(&peer_queue->list, skb);
	if (unlikely(ptr_ring_produce_bh(&device_queue->ring, skb))) {
		atomic_set_release(&PACKET_CB(skb)->state, WG_PACKET_DEAD);
		return -ENOSPC;
	}
	/* Spread the work: the next online CPU gets the next packet. */
	cpu = wg_cpumask_next_online(&device_queue->last_cpu);
	queue_work_on(cpu, wq, &per_cpu_ptr(device_queue->worker, cpu)->work);
	return 0;
}

bool wg_peer_queue_add_inline(struct wg_peer_queue *peer_queue,
			      struct sk_buff *skb, unsigned int plain_len)
{
	if (plain_len > WG_CRYPT_INLINE_MAX ||
	    skb_queue_len_lockless(&peer_queue->list) >= WG_MAX_QUEUED_PACKETS)
		return false;
	atomic_set(&PACKET_CB(skb)->state, WG_PACKET_UNCRYPTED);
	skb_queue_tail(&peer_queue->list, skb);
	return true;
}

/* The head if it is done, else NULL; called with the queue's lock held. */
static struct sk_buff *peek_done(struct wg_peer_queue *queue)
{
	struct sk_buff *skb = skb_peek(&queue->list);

	if (skb && atomic_read_acquire(&PACKET_CB(skb)->state) !=
			   WG_PACKET_UNCRYPTED)
		return skb;
	return NULL;
}

struct sk_buff *wg_peer_queue_dequeue_done(struct wg_peer_queue *queue)
{
	struct sk_buff *skb;
	unsigned long flags;

	spin_lock_irqsave(&queue->list.lock, flags);
	skb = peek_done(queue);
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
	done = !!peek_done(queue);
	spin_unlock_irqrestore(&queue->list.lock, flags);
	return done;
}

void wg_peer_kick_tx(struct wg_peer *peer)
{
	queue_work_on(wg_cpumask_choose_online(&peer->serial_cpu,
					       peer->internal_id),
		      peer->device->packet_crypt_wq,
		      &peer->tx_work);
}

void wg_queue_enqueue_per_peer_tx(struct sk_buff *skb,
				  enum wg_packet_state state)
{
	struct wg_peer *peer = PACKET_PEER(skb);

	/*
	 * The packet holds a peer reference until the transmit work frees it,
	 * so the peer stays valid here even after the state flips.
	 */
	atomic_set_release(&PACKET_CB(skb)->state, state);
	wg_peer_kick_tx(peer);
}

__be16 wg_examine_packet_protocol(struct sk_buff *skb)
{
	if (skb_network_header(skb) >= skb->head &&
	    (skb_network_header(skb) + sizeof(struct iphdr)) <=
		    skb_tail_pointer(skb) &&
	    ip_hdr(skb)->version == 4)
		return htons(ETH_P_IP);
	if (skb_network_header(skb) >= skb->head &&
	    (skb_network_header(skb) + sizeof(struct ipv6hdr)) <=
		    skb_tail_pointer(skb) &&
	    ipv6_hdr(skb)->version == 6)
		return htons(ETH_P_IPV6);
	return 0;
}

void wg_reset_packet(struct sk_buff *skb, bool encapsulating)
{
	const int pfmemalloc = skb->pfmemalloc;
	u32 hash = skb->hash;
	u8 l4_hash = skb->l4_hash;
	u8 sw_hash = skb->sw_hash;

	skb_scrub_packet(skb, true);
	memset(&skb->headers, 0, sizeof(skb->headers));
	if (encapsulating) {
		/* Keep the flow hash so the outer packet spreads like the inner. */
		skb->l4_hash = l4_hash;
		skb->sw_hash = sw_hash;
		skb->hash = hash;
	}
	skb->queue_mapping = 0;
	skb->nohdr = 0;
	skb->peeked = 0;
	skb->mac_len = 0;
	skb->dev = NULL;
	skb->hdr_len = skb_headroom(skb);
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);
	skb_reset_transport_header(skb);
	skb_probe_transport_header(skb);
	skb_reset_inner_headers(skb);
	skb->pfmemalloc = pfmemalloc;
}
