// SPDX-License-Identifier: GPL-2.0
/*
 * The transmit path: handshake messages, staging packets until a session
 * exists, nonce assignment, encryption by the per-CPU workers, and in-order
 * transmission per peer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "ring.h"
#include "rx.h"
#include "tx.h"
#include "timers.h"
#include "tunnel.h"
#include "peer.h"
#include "outer.h"
#include "exchange.h"
#include "keypair.h"
#include "limits.h"

#include <crypto/chacha20poly1305.h>
#include <linux/inetdevice.h>
#include <net/ip_tunnels.h>
#include <net/sock.h>
#include <net/udp.h>

static void send_initiation(struct wg_peer *peer)
{
	struct wg_msg_initiation packet;

	/* Never more than one initiation per WG_REKEY_TIMEOUT_SECS. */
	if (!wg_birthdate_has_expired(atomic64_read(&peer->last_sent_handshake),
				      WG_REKEY_TIMEOUT_SECS))
		return;
	atomic64_set(&peer->last_sent_handshake, ktime_get_coarse_boottime_ns());

	net_dbg_ratelimited("%s: peer %llu: sending handshake initiation\n",
			    peer->device->dev->name, peer->internal_id);
	if (!wg_exchange_create_initiation(peer, &packet))
		return;

	wg_timers_on_traffic(peer);
	wg_timers_on_sent(peer);
	atomic64_set(&peer->last_sent_handshake, ktime_get_coarse_boottime_ns());
	wg_outer_send_msg(peer, &packet, sizeof(packet), WG_HANDSHAKE_TOS);
	wg_timers_on_initiation_sent(peer);
}

void wg_tx_initiation_worker(struct work_struct *work)
{
	struct wg_peer *peer = container_of(work, struct wg_peer,
					    initiation_work);

	send_initiation(peer);
	/* Taken by wg_tx_initiation(). */
	wg_peer_unref(peer);
}

void wg_tx_initiation(struct wg_peer *peer, bool is_retry)
{
	if (!is_retry)
		peer->timers.tries = 0;

	rcu_read_lock_bh();
	/* Checked here too, so the work is not queued just to do nothing. */
	if (!wg_birthdate_has_expired(atomic64_read(&peer->last_sent_handshake),
				      WG_REKEY_TIMEOUT_SECS) ||
	    unlikely(READ_ONCE(peer->is_dead)))
		goto out;

	wg_peer_ref(peer);
	if (!queue_work(peer->device->handshake_send_wq,
			&peer->initiation_work))
		wg_peer_unref(peer);
out:
	rcu_read_unlock_bh();
}

void wg_tx_response(struct wg_peer *peer)
{
	struct wg_msg_response packet;

	atomic64_set(&peer->last_sent_handshake, ktime_get_coarse_boottime_ns());
	net_dbg_ratelimited("%s: peer %llu: sending handshake response\n",
			    peer->device->dev->name, peer->internal_id);

	if (!wg_exchange_create_response(peer, &packet))
		return;
	if (!wg_keypair_begin(peer))
		return;

	wg_timers_on_new_session(peer);
	wg_timers_on_traffic(peer);
	wg_timers_on_sent(peer);
	atomic64_set(&peer->last_sent_handshake, ktime_get_coarse_boottime_ns());
	wg_outer_send_msg(peer, &packet, sizeof(packet), WG_HANDSHAKE_TOS);
}

void wg_tx_cookie(struct wg_device *wg, struct sk_buff *initiating_skb,
		  __le32 sender_index)
{
	/* Initiations and responses both end in mac1, mac2. */
	size_t len = ((struct wg_msg_header *)initiating_skb->data)->type ==
		     cpu_to_le32(WG_MSG_INITIATION) ?
		     sizeof(struct wg_msg_initiation) :
		     sizeof(struct wg_msg_response);
	const u8 *mac1 = initiating_skb->data + len - 2 * WG_MAC_LEN;
	struct wg_msg_cookie packet;
	u8 source[18];
	size_t source_len;

	net_dbg_ratelimited("%s: under load, answering a handshake with a cookie\n",
			    wg->dev->name);
	source_len = wg_exchange_source(initiating_skb, source);
	wg_cookie_guard_reply(&wg->cookie_guard, &packet, sender_index, mac1,
			      source, source_len,
			      ktime_get_coarse_boottime_ns());
	if (!wg_outer_reply(wg, initiating_skb, &packet, sizeof(packet)))
		wg_stat_inc(wg, WG_STAT_RX_COOKIE_REPLIES_SENT);
}

/* Start the next handshake a little before the session gets too old. */
static void keep_key_fresh(struct wg_peer *peer)
{
	struct wg_keypair *keypair;
	bool send;

	rcu_read_lock_bh();
	keypair = wg_peer_current_keypair(peer);
	send = keypair && READ_ONCE(keypair->s.send.valid) &&
	       (atomic64_read(&keypair->s.send_counter) > wg_rekey_after_messages ||
		(keypair->s.initiator &&
		 wg_birthdate_has_expired(keypair->s.send.born,
					  WG_REKEY_AFTER_SECS)));
	rcu_read_unlock_bh();

	if (unlikely(send))
		wg_tx_initiation(peer, false);
}

static unsigned int padding_len(struct sk_buff *skb)
{
	unsigned int padded, last_unit = skb->len;
	u32 mtu = WG_SKB_CB(skb)->mtu;

	if (unlikely(!mtu))
		return ALIGN(last_unit, WG_PADDING) - last_unit;

	/* Segments longer than the MTU (GSO leftovers) pad their tail. */
	if (unlikely(last_unit > mtu))
		last_unit %= mtu;

	padded = min(mtu, ALIGN(last_unit, WG_PADDING));
	return padded - last_unit;
}

static bool encrypt_packet(struct sk_buff *skb, struct wg_keypair *keypair)
{
	unsigned int padding, plaintext_len, trailer_len;
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	struct wg_msg_data *header;
	struct sk_buff *trailer;
	int num_frags;

	/* RFC 6040: copy ECN out, never DSCP (it would leak inner data). */
	WG_SKB_CB(skb)->ds = ip_tunnel_ecn_encap(0, ip_hdr(skb), skb);

	padding = padding_len(skb);
	trailer_len = padding + WG_SEALED(0);
	plaintext_len = skb->len + padding;

	num_frags = skb_cow_data(skb, trailer_len, &trailer);
	if (unlikely(num_frags < 0 || num_frags > ARRAY_SIZE(sg)))
		return false;
	memset(skb_tail_pointer(trailer), 0, padding);

	if (unlikely(skb_cow_head(skb, WG_DATA_HEADROOM) < 0))
		return false;
	/* Checksums must be final before the payload is encrypted. */
	if (unlikely(skb->ip_summed == CHECKSUM_PARTIAL &&
		     skb_checksum_help(skb)))
		return false;

	skb_set_inner_network_header(skb, 0);
	header = skb_push(skb, sizeof(*header));
	header->type = cpu_to_le32(WG_MSG_DATA);
	header->receiver = keypair->s.remote_index;
	header->counter = cpu_to_le64(WG_SKB_CB(skb)->nonce);
	pskb_put(skb, trailer, trailer_len);

	sg_init_table(sg, num_frags);
	if (skb_to_sgvec(skb, sg, sizeof(*header),
			 WG_SEALED(plaintext_len)) <= 0)
		return false;
	return chacha20poly1305_encrypt_sg_inplace(sg, plaintext_len, NULL, 0,
						   WG_SKB_CB(skb)->nonce,
						   keypair->s.send.key);
}

void wg_tx_keepalive(struct wg_peer *peer)
{
	struct sk_buff *skb;

	/* Queued data already tells the peer we are alive. */
	if (skb_queue_empty_lockless(&peer->staged)) {
		skb = alloc_skb(WG_DATA_HEADROOM + WG_DATA_MIN_LEN,
				GFP_ATOMIC);
		if (unlikely(!skb))
			return;
		skb_reserve(skb, WG_DATA_HEADROOM);
		skb->dev = peer->device->dev;
		WG_SKB_CB(skb)->mtu = skb->dev->mtu;
		skb_queue_tail(&peer->staged, skb);
		net_dbg_ratelimited("%s: peer %llu: sending keepalive\n",
				    peer->device->dev->name, peer->internal_id);
	}
	wg_tx_staged(peer);
}

/*
 * Outer batching.  Consecutive messages of a bundle that have the same
 * length (the last may be shorter) and DSCP/ECN byte leave as one skb: the
 * first in the head, the others on its frag_list, marked as UDP GSO of the
 * list kind (the form UDP GRO gives forwarded datagrams).  The outer IP
 * layer, netfilter, the neighbour code and a veth then run once per batch;
 * where a device or the receiving socket needs single datagrams,
 * skb_segment_list() unlinks them again without copying.  Each message
 * carries its own UDP/IPv4 header (socket.c writes them), so the wire sees
 * exactly the datagrams it would have seen one by one.  IPv4 only: IPv6
 * endpoints get one datagram per message.
 */
#define WG_TX_BATCH_BYTES \
	(U16_MAX - sizeof(struct iphdr) - sizeof(struct udphdr))

/* An skb wg alone owns, with no frag_list of its own. */
static bool batch_may_link(const struct sk_buff *skb)
{
	return !skb_has_frag_list(skb) && !skb_shared(skb) && !skb_cloned(skb);
}

static bool batch_fits(const struct sk_buff *head, const struct sk_buff *skb,
		       unsigned int seg_len)
{
	return atomic_read(&WG_SKB_CB(skb)->state) == WG_CRYPT_DONE &&
	       WG_SKB_CB(skb)->ds == WG_SKB_CB(head)->ds &&
	       skb->len <= seg_len && head->len + skb->len <= WG_TX_BATCH_BYTES &&
	       batch_may_link(skb);
}

/*
 * Chains the packets that follow @head in its bundle onto @head's frag_list
 * while they fit; returns the first one left (or NULL).  *@segs counts the
 * messages in the batch; *@data is set if one of them is not a keepalive.
 */
static struct sk_buff *batch_collect(struct sk_buff *head, unsigned int *segs,
				     bool *data)
{
	struct sk_buff *skb = WG_SKB_CB(head)->bundle, *tail = NULL, *next;
	unsigned int seg_len = head->len;

	if (!batch_may_link(head))
		return skb;
	for (; skb && batch_fits(head, skb, seg_len); skb = next) {
		next = WG_SKB_CB(skb)->bundle;
		/*
		 * Datagrams on a frag_list own no socket memory, and the
		 * head's truesize grows by theirs: neither may be charged.
		 */
		skb_orphan(skb);
		skb->next = NULL;
		if (tail) {
			tail->next = skb;
		} else {
			skb_orphan(head);
			skb_shinfo(head)->frag_list = skb;
		}
		tail = skb;
		head->len += skb->len;
		head->data_len += skb->len;
		head->truesize += skb->truesize;
		*data |= skb->len != wg_wire_data_len(0);
		++*segs;
		if (skb->len < seg_len) {
			skb = next;
			break;
		}
	}
	if (*segs > 1) {
		skb_shinfo(head)->gso_type = SKB_GSO_UDP_L4 | SKB_GSO_FRAGLIST;
		skb_shinfo(head)->gso_size = seg_len;
		skb_shinfo(head)->gso_segs = *segs;
	}
	return skb;
}

/*
 * Sends or drops each packet of the bundle @first and drops the references
 * it held; true if data was sent.  The caller holds WG_PEER_TX_SENDING.
 */
static bool send_bundle(struct wg_peer *peer, struct sk_buff *first)
{
	bool batching = READ_ONCE(peer->endpoint.addr.sa_family) == AF_INET;
	struct wg_keypair *keypair = WG_SKB_CB(first)->keypair;
	struct wg_device *wg = peer->device;
	struct sk_buff *skb, *next;
	bool data_sent = false;

	for (skb = first; skb; skb = next) {
		bool data = skb->len != wg_wire_data_len(0);
		unsigned int segs = 1;

		if (unlikely(atomic_read_acquire(&WG_SKB_CB(skb)->state) !=
			     WG_CRYPT_DONE)) {
			next = WG_SKB_CB(skb)->bundle;
			wg_stat_inc(wg, WG_LINK_TX_DROPPED);
			kfree_skb(skb);
			continue;
		}
		next = batching ? batch_collect(skb, &segs, &data) :
				  WG_SKB_CB(skb)->bundle;
		/* The device's tx counters: iptunnel_xmit() adds one. */
		if (likely(!wg_outer_send_skb(peer, skb, WG_SKB_CB(skb)->ds))) {
			if (segs > 1)
				wg_stat_add(wg, WG_LINK_TX_PACKETS, segs - 1);
			wg_timers_on_traffic(peer);
			wg_timers_on_sent(peer);
			data_sent |= data;
		} else {
			wg_stat_add(wg, WG_LINK_TX_ERRORS, segs);
		}
	}
	wg_keypair_put(keypair, false);
	/* Never the last: see the callers. */
	wg_peer_unref(peer);
	return data_sent;
}

/* After sending: the data timer, and a new session if this one is old. */
static void sent_bundles(struct wg_peer *peer, bool data_sent)
{
	if (data_sent)
		wg_timers_on_data_sent(peer);
	keep_key_fresh(peer);
}

/*
 * Lets go of WG_PEER_TX_SENDING.  A bundle done meanwhile may have had its
 * transmit work find the bit taken and return (wg_tx_worker()), so
 * look at the head again once the bit is clear.
 */
static void tx_release(struct wg_peer *peer)
{
	clear_bit_unlock(WG_PEER_TX_SENDING, &peer->tx_flags);
	/* The clear bit before the head's state: pairs with the worker's. */
	smp_mb__after_atomic();
	if (wg_peer_queue_head_done(&peer->tx_queue))
		wg_peer_kick_tx(peer);
}

/*
 * veth and loopback hand a packet to the backlog of the CPU that sent it,
 * and each CPU works through its own backlog: a packet sent from here could
 * overtake one that this peer sent a moment earlier from another CPU.  So
 * the holder of WG_PEER_TX_SENDING may send from @cpu only if the peer's
 * last send was from @cpu too, or if that CPU has since processed its
 * backlog up to the tail it had right after that send (the test RFS makes
 * before it moves a flow).  The exception is a CPU going offline: the
 * stack moves its backlog on.  Called with BH off.
 */
static bool tx_in_order_from(const struct wg_peer *peer, int cpu)
{
	int last = peer->tx_cpu;

	if (last == cpu || last >= nr_cpu_ids || !cpu_online(last))
		return true;
#ifdef CONFIG_RPS
	return (int)(READ_ONCE(per_cpu(softnet_data, last).input_queue_head) -
		     peer->tx_qtail) >= 0;
#else
	return false;
#endif
}

/* The holder of WG_PEER_TX_SENDING has just sent from @cpu, BH still off. */
static void tx_sent_from(struct wg_peer *peer, int cpu)
{
	peer->tx_cpu = cpu;
#ifdef CONFIG_RPS
	peer->tx_qtail = READ_ONCE(per_cpu(softnet_data, cpu).input_queue_tail);
#endif
}

/*
 * Lets go of WG_PEER_TX_SENDING, which the caller took and could not use
 * here without overtaking (tx_in_order_from()): the transmit work goes on
 * from the CPU of the peer's last send.  Queueing the work is ordered
 * after the clear bit, so it finds the bit free.
 */
static void tx_move(struct wg_peer *peer)
{
	int cpu = peer->tx_cpu;

	wg_stat_inc(peer->device, WG_STAT_TX_ORDER_WAITS);
	clear_bit_unlock(WG_PEER_TX_SENDING, &peer->tx_flags);
	queue_work_on(cpu, peer->device->packet_crypt_wq,
		      &peer->tx_work);
}

/*
 * Sends the head bundle of the peer queue if it is done and may leave from
 * this CPU: the caller holds WG_PEER_TX_SENDING and has BH off.  Returns
 * the bundle sent, NULL if none was done, or an error pointer if the peer's
 * last send is still in another CPU's backlog.
 */
static struct sk_buff *tx_send_head(struct wg_peer *peer, bool *data_sent)
{
	int cpu = smp_processor_id();
	struct sk_buff *first;

	if (unlikely(!tx_in_order_from(peer, cpu)))
		return ERR_PTR(-EAGAIN);
	first = wg_peer_queue_dequeue_done(&peer->tx_queue);
	if (first) {
		*data_sent |= send_bundle(peer, first);
		tx_sent_from(peer, cpu);
	}
	return first;
}

void wg_tx_worker(struct work_struct *work)
{
	struct wg_peer *peer = container_of(work, struct wg_peer,
					    tx_work);
	bool data_sent = false;
	struct sk_buff *first;

	/*
	 * The state of the bundle this work was queued for before the bit:
	 * pairs with the barrier in tx_release().  If a lone sender holds
	 * the bit, it looks at the head after letting go.
	 */
	smp_mb();
	if (test_and_set_bit_lock(WG_PEER_TX_SENDING, &peer->tx_flags))
		return;
	/*
	 * The device's list holds the peer until this work is flushed, so
	 * the references the bundles drop below are never the last.
	 */
	do {
		local_bh_disable();
		first = tx_send_head(peer, &data_sent);
		local_bh_enable();
		if (need_resched())
			cond_resched();
	} while (!IS_ERR_OR_NULL(first));
	if (IS_ERR(first))
		tx_move(peer);
	else
		tx_release(peer);
	sent_bundles(peer, data_sent);
}

/*
 * Sends the lone short packet @skb, just crypted into @state, from here if
 * nothing is ahead of it in the peer queue, nobody else is sending, and
 * leaving from this CPU keeps the peer's packets in order: a ping or an ACK
 * then leaves without waking the transmit work on the peer's serial CPU,
 * and a round trip can stay on one CPU.  Otherwise it leaves in its turn
 * from the transmit work.  Called inside the RCU-bh section that checked
 * the peer alive: removal's grace period keeps the device list's reference
 * in place until we are done.
 */
static void send_lone(struct wg_peer *peer, struct sk_buff *skb,
		      enum wg_crypt_state state)
{
	bool data_sent = false;
	struct sk_buff *first;

	atomic_set_release(&WG_SKB_CB(skb)->state, state);
	if (test_and_set_bit_lock(WG_PEER_TX_SENDING, &peer->tx_flags)) {
		wg_peer_kick_tx(peer);
		return;
	}
	/* The head: @skb, or a done bundle still ahead (then @skb is kicked). */
	first = tx_send_head(peer, &data_sent);
	if (IS_ERR(first)) {
		tx_move(peer);
		return;
	}
	if (first == skb && state == WG_CRYPT_DONE)
		wg_stat_inc(peer->device, WG_STAT_TX_DIRECT);
	tx_release(peer);
	if (first)
		sent_bundles(peer, data_sent);
}

static enum wg_crypt_state encrypt_one(struct sk_buff *skb,
				       struct wg_keypair *keypair)
{
	if (unlikely(!encrypt_packet(skb, keypair)))
		return WG_CRYPT_FAILED;
	wg_skb_scrub(skb, true);
	return WG_CRYPT_DONE;
}

void wg_tx_encrypt_worker(struct work_struct *work)
{
	struct wg_crypt_ring *queue = wg_ring_of(work);
	struct sk_buff *first, *skb;

	while ((first = ptr_ring_consume_bh(&queue->ring)) != NULL) {
		struct wg_keypair *keypair = WG_SKB_CB(first)->keypair;

		/* The first packet's state, set last, publishes the others. */
		for (skb = WG_SKB_CB(first)->bundle; skb;
		     skb = WG_SKB_CB(skb)->bundle)
			atomic_set(&WG_SKB_CB(skb)->state,
				   encrypt_one(skb, keypair));
		wg_tx_crypted(first, encrypt_one(first, keypair));
		if (need_resched())
			cond_resched();
	}
}

bool wg_tx_stage(struct wg_peer *peer, struct sk_buff *skb, u32 mtu)
{
	struct wg_device *wg = peer->device;
	struct sk_buff *seg, *rest;
	struct sk_buff_head segs;
	unsigned int dropped = 0;

	if (skb_is_gso(skb)) {
		struct sk_buff *cut = skb_gso_segment(skb, 0);

		if (IS_ERR_OR_NULL(cut))
			return false;
		consume_skb(skb);
		skb = cut;
	} else {
		skb_mark_not_on_list(skb);
	}

	__skb_queue_head_init(&segs);
	skb_list_walk_safe(skb, seg, rest) {
		skb_mark_not_on_list(seg);
		seg = skb_share_check(seg, GFP_ATOMIC);
		if (unlikely(!seg))
			continue;
		/* Inside the tunnel the inner packet's route means nothing. */
		skb_dst_drop(seg);
		WG_SKB_CB(seg)->mtu = mtu;
		__skb_queue_tail(&segs, seg);
	}

	spin_lock_bh(&peer->staged.lock);
	skb_queue_splice_tail(&segs, &peer->staged);
	/* Without a session the queue only grows: keep the newest packets. */
	for (; skb_queue_len(&peer->staged) > WG_MAX_STAGED_PACKETS; dropped++)
		kfree_skb(__skb_dequeue(&peer->staged));
	spin_unlock_bh(&peer->staged.lock);
	if (dropped) {
		wg_stat_add(wg, WG_STAT_TX_STAGED_OVERFLOW, dropped);
		wg_stat_add(wg, WG_LINK_TX_DROPPED, dropped);
	}
	wg_tx_staged(peer);
	return true;
}

void wg_tx_purge_staged(struct wg_peer *peer)
{
	spin_lock_bh(&peer->staged.lock);
	wg_stat_add(peer->device, WG_LINK_TX_DROPPED,
		    skb_queue_len(&peer->staged));
	__skb_queue_purge(&peer->staged);
	spin_unlock_bh(&peer->staged.lock);
}

/* Usable for sending: valid, not too old.  Returns a reference or NULL. */
static struct wg_keypair *sending_keypair(struct wg_peer *peer)
{
	struct wg_keypair *keypair;

	rcu_read_lock_bh();
	keypair = wg_peer_current_keypair(peer);
	keypair = wg_keypair_get(keypair);
	rcu_read_unlock_bh();
	if (unlikely(!keypair))
		return NULL;
	if (unlikely(!READ_ONCE(keypair->s.send.valid)))
		goto err_put;
	if (unlikely(wg_birthdate_has_expired(keypair->s.send.born,
					      WG_REJECT_AFTER_SECS))) {
		WRITE_ONCE(keypair->s.send.valid, false);
		goto err_put;
	}
	return keypair;

err_put:
	wg_keypair_put(keypair, false);
	return NULL;
}

/*
 * Takes up to WG_TX_BUNDLE_MAX staged packets into *@first, numbered from
 * @keypair's counter, linked through their control blocks; called with the
 * staged queue's lock held.  Returns how many; sets *@exhausted when the
 * counter ran out.
 */
static unsigned int take_bundle(struct wg_peer *peer,
				struct wg_keypair *keypair,
				struct sk_buff **first, bool *exhausted)
{
	struct sk_buff *last = NULL, *skb;
	unsigned int n = 0;

	*first = NULL;
	while (n < WG_TX_BUNDLE_MAX &&
	       (skb = __skb_dequeue(&peer->staged)) != NULL) {
		u64 nonce = atomic64_inc_return(&keypair->s.send_counter) - 1;

		if (unlikely(nonce >= wg_reject_after_messages)) {
			__skb_queue_head(&peer->staged, skb);
			WRITE_ONCE(keypair->s.send.valid, false);
			*exhausted = true;
			break;
		}
		WG_SKB_CB(skb)->nonce = nonce;
		WG_SKB_CB(skb)->keypair = keypair;
		WG_SKB_CB(skb)->bundle = NULL;
		atomic_set(&WG_SKB_CB(skb)->state, WG_CRYPT_PENDING);
		if (last)
			WG_SKB_CB(last)->bundle = skb;
		else
			*first = skb;
		last = skb;
		++n;
	}
	return n;
}

void wg_tx_staged(struct wg_peer *peer)
{
	struct wg_device *wg = peer->device;
	struct sk_buff *first, *lone = NULL;
	struct wg_keypair *keypair;
	bool exhausted = false;
	unsigned int n;

	if (skb_queue_empty_lockless(&peer->staged))
		return;

	keypair = sending_keypair(peer);
	if (unlikely(!keypair)) {
		/* The packets stay staged until the handshake completes. */
		wg_tx_initiation(peer, false);
		return;
	}

	/*
	 * Holding the staged queue's lock while numbering and queueing keeps
	 * the order of the peer queue equal to the order of the nonces.  The
	 * RCU section lets peer removal wait for us after marking it dead.
	 */
	rcu_read_lock_bh();
	spin_lock(&peer->staged.lock);
	while (!exhausted && !READ_ONCE(peer->is_dead) &&
	       (n = take_bundle(peer, keypair, &first, &exhausted))) {
		kref_get(&keypair->refcount);
		wg_peer_ref(peer);
		/*
		 * Not when this transmit is nested in another's send (onion
		 * routing: that send holds its peer's endpoint lock, and ours
		 * would take another one of the same class under it).
		 */
		if (n == 1 && dev_recursion_level() <= 1 &&
		    wg_peer_queue_add_inline(&peer->tx_queue, first,
					     first->len)) {
			/* Encrypted below, once the lock is released. */
			lone = first;
			break;
		}
		if (unlikely(wg_ring_push(&wg->encrypt_queue, &peer->tx_queue,
					  first) < 0)) {
			/* Left dead in the peer queue: transmit work frees it. */
			wg_stat_add(wg, WG_STAT_TX_QUEUE_FULL, n);
			wg_peer_kick_tx(peer);
		}
	}
	spin_unlock(&peer->staged.lock);
	if (lone)
		send_lone(peer, lone, encrypt_one(lone, keypair));
	rcu_read_unlock_bh();

	wg_keypair_put(keypair, false);
	if (unlikely(exhausted)) {
		wg_stat_inc(wg, WG_STAT_TX_KEY_EXHAUSTED);
		wg_tx_initiation(peer, false);
	}
}
