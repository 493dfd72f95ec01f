// SPDX-License-Identifier: GPL-2.0
/*
 * The receive path: classify what the UDP socket hands us, work handshakes
 * off a bounded queue, decrypt data on every CPU, and deliver each peer's
 * packets in order through its NAPI context after checking what is inside.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "ring.h"
#include "rx.h"
#include "tx.h"
#include "tunnel.h"
#include "peer.h"
#include "timers.h"
#include "exchange.h"
#include "keypair.h"
#include "limits.h"
#include "../tables/ratelimiter.h"
#include "outer.h"

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/ip_tunnels.h>
#include <crypto/chacha20poly1305.h>

/*
 * A message from @peer was accepted.  The peer's transfer counter and the
 * device's rx counters (ip -s link) both count the WireGuard message, its
 * UDP payload, handshakes and keepalives included, as the in-tree driver
 * does; the transmit side gets the same from iptunnel_xmit().  Called with
 * BHs off (the per-CPU counters are shared with NAPI).
 */
static void rx_bytes(struct wg_peer *peer, unsigned int len)
{
	atomic64_add(len, &peer->rx_bytes);
	wg_stat_inc(peer->device, WG_LINK_RX_PACKETS);
	wg_stat_add(peer->device, WG_LINK_RX_BYTES, len);
}

static size_t message_len(__le32 type)
{
	switch (type) {
	case cpu_to_le32(WG_MSG_INITIATION):
		return sizeof(struct wg_msg_initiation);
	case cpu_to_le32(WG_MSG_RESPONSE):
		return sizeof(struct wg_msg_response);
	case cpu_to_le32(WG_MSG_COOKIE):
		return sizeof(struct wg_msg_cookie);
	case cpu_to_le32(WG_MSG_DATA):
		return WG_DATA_MIN_LEN;
	default:
		return 0;
	}
}

#define SKB_TYPE_LE32(skb) (((struct wg_msg_header *)(skb)->data)->type)

/*
 * Strip the UDP header and check the message type and size.  Returns the
 * counter to bump on failure, or __WG_STAT_MAX when the packet is fine.
 */
static enum wg_stat prepare_skb_header(struct sk_buff *skb)
{
	size_t data_offset, data_len, len;
	struct udphdr *udp;

	if (unlikely(!wg_inner_protocol(skb) ||
		     skb_transport_header(skb) < skb->head ||
		     skb_transport_header(skb) + sizeof(struct udphdr) >
			     skb_tail_pointer(skb)))
		return WG_STAT_RX_BAD_SIZE;

	udp = udp_hdr(skb);
	data_offset = (u8 *)udp - skb->data;
	if (unlikely(data_offset > U16_MAX ||
		     data_offset + sizeof(struct udphdr) > skb->len))
		return WG_STAT_RX_BAD_SIZE;
	data_len = ntohs(udp->len);
	if (unlikely(data_len < sizeof(struct udphdr) ||
		     data_len > skb->len - data_offset))
		return WG_STAT_RX_BAD_SIZE;
	data_len -= sizeof(struct udphdr);
	data_offset = (u8 *)udp + sizeof(struct udphdr) - skb->data;
	if (unlikely(data_len < sizeof(struct wg_msg_header) ||
		     !pskb_may_pull(skb, data_offset +
				    sizeof(struct wg_msg_header)) ||
		     pskb_trim(skb, data_len + data_offset) < 0))
		return WG_STAT_RX_BAD_SIZE;
	skb_pull(skb, data_offset);
	if (unlikely(skb->len != data_len))
		return WG_STAT_RX_BAD_SIZE;

	len = message_len(SKB_TYPE_LE32(skb));
	if (unlikely(!len))
		return WG_STAT_RX_BAD_TYPE;
	/* Handshake messages have one size; data has a minimum. */
	if (SKB_TYPE_LE32(skb) == cpu_to_le32(WG_MSG_DATA) ?
	    skb->len < len : skb->len != len)
		return WG_STAT_RX_BAD_SIZE;
	if (unlikely(!pskb_may_pull(skb, len)))
		return WG_STAT_RX_BAD_SIZE;
	return __WG_STAT_MAX;
}

static bool handshake_under_load(struct wg_device *wg)
{
	bool under_load;

	/* Stay in cookie mode for a second after the pressure goes away. */
	under_load = atomic_read(&wg->handshake_queue_len) >=
		     WG_UNDER_LOAD_HANDSHAKES;
	if (under_load) {
		WRITE_ONCE(wg->last_under_load, ktime_get_coarse_boottime_ns());
	} else {
		u64 last = READ_ONCE(wg->last_under_load);

		under_load = last && !wg_birthdate_has_expired(last, 1);
	}
	return under_load;
}

/* Charges a handshake message to its outer source's token bucket. */
static bool source_allowed(struct wg_device *wg, struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		return wg_ratelimiter_allow(dev_net(wg->dev), AF_INET,
					    &ip_hdr(skb)->saddr);
	if (skb->protocol == htons(ETH_P_IPV6))
		return wg_ratelimiter_allow(dev_net(wg->dev), AF_INET6,
					    &ipv6_hdr(skb)->saddr);
	return false;
}

static void receive_handshake_packet(struct wg_device *wg, struct sk_buff *skb)
{
	enum wg_mac_verdict mac_state;
	struct wg_peer *peer = NULL;
	bool packet_needs_cookie;
	size_t source_len;
	u8 source[18];
	bool under_load, ratelimited;

	if (SKB_TYPE_LE32(skb) == cpu_to_le32(WG_MSG_COOKIE)) {
		wg_dbg_skb_ratelimited("%s: receiving cookie reply from %pISpfsc\n",
				       wg->dev->name, skb);
		if (!wg_exchange_take_cookie(wg, (struct wg_msg_cookie *)
					     skb->data))
			wg_stat_inc(wg, WG_STAT_RX_COOKIE_INVALID);
		return;
	}

	under_load = handshake_under_load(wg);
	source_len = wg_exchange_source(skb, source);
	mac_state = wg_cookie_guard_check(&wg->cookie_guard, skb->data,
					  skb->len, source, source_len,
					  under_load,
					  ktime_get_coarse_boottime_ns());
	/* Under load, even a sender that proved its address is rate limited. */
	ratelimited = under_load && mac_state == WG_MAC_OK_COOKIE &&
		      !source_allowed(wg, skb);
	if ((under_load && mac_state == WG_MAC_OK_COOKIE && !ratelimited) ||
	    (!under_load && mac_state == WG_MAC_OK)) {
		packet_needs_cookie = false;
	} else if (under_load && mac_state == WG_MAC_OK) {
		packet_needs_cookie = true;
	} else {
		wg_stat_inc(wg, ratelimited ?
				WG_STAT_RX_HANDSHAKE_RATELIMITED :
				WG_STAT_RX_HANDSHAKE_BAD_MAC);
		wg_dbg_skb_ratelimited("%s: invalid MAC or rate limited handshake from %pISpfsc\n",
				       wg->dev->name, skb);
		return;
	}

	switch (SKB_TYPE_LE32(skb)) {
	case cpu_to_le32(WG_MSG_INITIATION): {
		struct wg_msg_initiation *message =
			(void *)skb->data;

		if (packet_needs_cookie) {
			wg_tx_cookie(wg, skb, message->sender);
			return;
		}
		peer = wg_exchange_consume_initiation(wg, message);
		if (unlikely(!peer)) {
			wg_stat_inc(wg, WG_STAT_RX_HANDSHAKE_INVALID);
			wg_dbg_skb_ratelimited("%s: invalid handshake initiation from %pISpfsc\n",
					       wg->dev->name, skb);
			return;
		}
		wg_endpoint_learn_skb(peer, skb);
		net_dbg_ratelimited("%s: peer %llu: received handshake initiation\n",
				    wg->dev->name, peer->internal_id);
		wg_tx_response(peer);
		break;
	}
	case cpu_to_le32(WG_MSG_RESPONSE): {
		struct wg_msg_response *message =
			(void *)skb->data;

		if (packet_needs_cookie) {
			wg_tx_cookie(wg, skb, message->sender);
			return;
		}
		peer = wg_exchange_consume_response(wg, message);
		if (unlikely(!peer)) {
			wg_stat_inc(wg, WG_STAT_RX_HANDSHAKE_INVALID);
			wg_dbg_skb_ratelimited("%s: invalid handshake response from %pISpfsc\n",
					       wg->dev->name, skb);
			return;
		}
		wg_endpoint_learn_skb(peer, skb);
		net_dbg_ratelimited("%s: peer %llu: received handshake response\n",
				    wg->dev->name, peer->internal_id);
		if (wg_keypair_begin(peer)) {
			wg_timers_on_new_session(peer);
			wg_timers_on_handshake_done(peer);
			wg_stat_inc(wg, WG_STAT_HANDSHAKES_COMPLETED);
			/*
			 * Confirm the session right away: staged data if there
			 * is some, else a keepalive.
			 */
			wg_tx_keepalive(peer);
		}
		break;
	}
	}

	local_bh_disable();
	rx_bytes(peer, skb->len);
	local_bh_enable();
	wg_timers_on_received(peer);
	wg_timers_on_traffic(peer);
	wg_peer_unref(peer);
}

void wg_rx_handshake_worker(struct work_struct *work)
{
	struct wg_crypt_ring *queue = wg_ring_of(work);
	struct wg_device *wg = container_of(queue, struct wg_device,
					    handshake_queue);
	struct sk_buff *skb;

	while ((skb = ptr_ring_consume_bh(&queue->ring)) != NULL) {
		receive_handshake_packet(wg, skb);
		dev_kfree_skb(skb);
		atomic_dec(&wg->handshake_queue_len);
		if (need_resched())
			cond_resched();
	}
}

/* Start a handshake before the receiving key expires, once per session. */
static void keep_key_fresh(struct wg_peer *peer)
{
	struct wg_keypair *keypair;
	bool send;

	if (peer->timers.lastminute_sent)
		return;

	rcu_read_lock_bh();
	keypair = wg_peer_current_keypair(peer);
	send = keypair && READ_ONCE(keypair->s.send.valid) &&
	       keypair->s.initiator &&
	       wg_birthdate_has_expired(keypair->s.recv.born,
					WG_REJECT_AFTER_SECS - WG_KEEPALIVE_SECS -
					WG_REKEY_TIMEOUT_SECS);
	rcu_read_unlock_bh();

	if (unlikely(send)) {
		peer->timers.lastminute_sent = true;
		wg_tx_initiation(peer, false);
	}
}

/* Returns __WG_STAT_MAX on success, else the reason to count. */
static enum wg_stat decrypt_packet(struct sk_buff *skb,
				   struct wg_keypair *keypair)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	struct sk_buff *trailer;
	unsigned int offset;
	int num_frags;

	if (unlikely(!READ_ONCE(keypair->s.recv.valid) ||
		     wg_birthdate_has_expired(keypair->s.recv.born,
					      WG_REJECT_AFTER_SECS) ||
		     READ_ONCE(keypair->s.replay.next) >=
			     wg_reject_after_messages)) {
		WRITE_ONCE(keypair->s.recv.valid, false);
		return WG_STAT_RX_EXPIRED_KEYPAIR;
	}

	WG_SKB_CB(skb)->nonce =
		le64_to_cpu(((struct wg_msg_data *)skb->data)->counter);

	/*
	 * The outer headers must survive unsharing: NAPI reads the endpoint
	 * from them.  Push them back in for skb_cow_data(), then step over
	 * them and the data header.
	 */
	offset = -skb_network_offset(skb);
	skb_push(skb, offset);
	num_frags = skb_cow_data(skb, 0, &trailer);
	offset += sizeof(struct wg_msg_data);
	skb_pull(skb, offset);
	if (unlikely(num_frags < 0 || num_frags > ARRAY_SIZE(sg)))
		return WG_STAT_RX_BAD_SIZE;

	sg_init_table(sg, num_frags);
	if (skb_to_sgvec(skb, sg, 0, skb->len) <= 0)
		return WG_STAT_RX_BAD_SIZE;

	if (!chacha20poly1305_decrypt_sg_inplace(sg, skb->len, NULL, 0,
						 WG_SKB_CB(skb)->nonce,
						 keypair->s.recv.key))
		return WG_STAT_RX_AUTH_FAIL;

	/* Drop the tag, keeping the outer headers in front again. */
	skb_push(skb, offset);
	if (pskb_trim(skb, skb->len - WG_SEALED(0)))
		return WG_STAT_RX_BAD_SIZE;
	skb_pull(skb, offset);
	return __WG_STAT_MAX;
}

/* Decrypts @skb and publishes the outcome to its peer's consumer. */
static void decrypt_and_mark(struct wg_device *wg, struct sk_buff *skb)
{
	enum wg_stat reason = decrypt_packet(skb, WG_SKB_CB(skb)->keypair);

	if (unlikely(reason != __WG_STAT_MAX))
		wg_stat_inc(wg, reason);
	atomic_set_release(&WG_SKB_CB(skb)->state,
			   likely(reason == __WG_STAT_MAX) ?
			   WG_CRYPT_DONE : WG_CRYPT_FAILED);
}

/*
 * Runs @peer's NAPI poll now, on this CPU: with bottom halves disabled the
 * softirq raised by napi_schedule() runs at local_bh_enable() instead of
 * waking ksoftirqd, a context switch per poll saved.
 */
static void deliver_now(struct wg_peer *peer)
{
	local_bh_disable();
	napi_schedule(&peer->napi);
	local_bh_enable();
}

void wg_rx_decrypt_worker(struct work_struct *work)
{
	struct wg_crypt_ring *queue = wg_ring_of(work);
	struct wg_device *wg = container_of(queue, struct wg_device,
					    decrypt_queue);
	struct wg_peer *pending = NULL;
	unsigned int batched = 0;
	struct sk_buff *skb;

	/*
	 * A peer's poll runs once per run of its packets (at most
	 * WG_RX_BATCH), so that it finds several done and GRO can merge
	 * them.  Peer removal flushes this work before it drops the
	 * device's reference, so @pending stays valid after its packets
	 * are handed over.
	 */
	while ((skb = ptr_ring_consume_bh(&queue->ring)) != NULL) {
		struct wg_peer *peer = WG_SKB_PEER(skb);

		decrypt_and_mark(wg, skb);
		if (pending != peer) {
			if (pending)
				deliver_now(pending);
			pending = peer;
			batched = 0;
		}
		if (++batched >= WG_RX_BATCH || need_resched()) {
			deliver_now(pending);
			pending = NULL;
			cond_resched();
		}
	}
	if (pending)
		deliver_now(pending);
}

static void consume_data(struct wg_device *wg, struct sk_buff *skb)
{
	__le32 idx = ((struct wg_msg_data *)skb->data)->receiver;
	struct wg_keypair *keypair = NULL;
	struct wg_index_slot *slot;
	struct wg_peer *peer = NULL;

	/* Softirq context: this whole function is an RCU-bh read section. */
	rcu_read_lock_bh();
	slot = wg_index_find(wg->indexes, idx, WG_INDEX_SESSION);
	if (slot) {
		keypair = container_of(slot, struct wg_keypair, slot);
		peer = wg_peer_try_get(keypair->peer);
		keypair = peer ? wg_keypair_get(keypair) : NULL;
	}
	if (unlikely(!keypair)) {
		wg_stat_inc(wg, WG_STAT_RX_NO_KEYPAIR);
		wg_dbg_skb_ratelimited("%s: data packet for unknown session from %pISpfsc\n",
				       wg->dev->name, skb);
		goto err;
	}
	if (unlikely(READ_ONCE(peer->is_dead))) {
		wg_keypair_put(keypair, false);
		goto err;
	}

	/* The keypair and peer references now belong to the packet. */
	WG_SKB_CB(skb)->keypair = keypair;
	WG_SKB_CB(skb)->bundle = NULL;
	if (wg_peer_queue_add_inline(&peer->rx_queue, skb,
				     skb->len - wg_wire_data_len(0))) {
		/*
		 * Decrypted in this softirq; the poll, scheduled on this
		 * CPU, runs when it is done.
		 */
		decrypt_and_mark(wg, skb);
		napi_schedule(&peer->napi);
	} else if (unlikely(wg_ring_push(&wg->decrypt_queue, &peer->rx_queue,
					 skb) < 0)) {
		wg_stat_inc(wg, WG_STAT_RX_QUEUE_FULL);
		napi_schedule(&peer->napi);
	}
	rcu_read_unlock_bh();
	return;

err:
	rcu_read_unlock_bh();
	wg_peer_unref(peer);
	wg_stat_inc(wg, WG_LINK_RX_DROPPED);
	dev_kfree_skb(skb);
}

void wg_rx_datagram(struct wg_device *wg, struct sk_buff *skb)
{
	enum wg_stat reason = prepare_skb_header(skb);
	int ret = -EBUSY;

	if (unlikely(reason != __WG_STAT_MAX)) {
		wg_stat_inc(wg, reason);
		net_dbg_ratelimited("%s: malformed packet dropped\n",
				    wg->dev->name);
		goto err;
	}

	switch (SKB_TYPE_LE32(skb)) {
	case cpu_to_le32(WG_MSG_INITIATION):
	case cpu_to_le32(WG_MSG_RESPONSE):
	case cpu_to_le32(WG_MSG_COOKIE):
		/*
		 * Past half the queue, only take what fits without waiting
		 * for the producer lock: a flood must not stall the softirq.
		 */
		if (atomic_read(&wg->handshake_queue_len) >
		    WG_MAX_QUEUED_HANDSHAKES / 2) {
			if (spin_trylock_bh(&wg->handshake_queue.ring.producer_lock)) {
				ret = __ptr_ring_produce(&wg->handshake_queue.ring,
							 skb);
				spin_unlock_bh(&wg->handshake_queue.ring.producer_lock);
			}
		} else {
			ret = ptr_ring_produce_bh(&wg->handshake_queue.ring, skb);
		}
		if (ret) {
			wg_stat_inc(wg, WG_STAT_RX_HANDSHAKE_QUEUE_FULL);
			wg_dbg_skb_ratelimited("%s: dropping handshake from %pISpfsc: queue full\n",
					       wg->dev->name, skb);
			goto err;
		}
		atomic_inc(&wg->handshake_queue_len);
		wg_ring_kick(&wg->handshake_queue);
		break;
	case cpu_to_le32(WG_MSG_DATA):
		WG_SKB_CB(skb)->ds = ip_tunnel_get_dsfield(ip_hdr(skb), skb);
		consume_data(wg, skb);
		break;
	}
	return;

err:
	wg_stat_inc(wg, WG_LINK_RX_ERRORS);
	dev_kfree_skb(skb);
}

/*
 * Deliver one decrypted packet: roam, rotate keys, run timers, then check
 * the inner packet (IP header, length, source allowed for this peer).
 */
static void deliver(struct wg_peer *peer, struct sk_buff *skb,
		    const struct wg_endpoint *endpoint)
{
	struct net_device *dev = peer->device->dev;
	struct wg_device *wg = peer->device;
	unsigned int len, len_before_trim;
	struct wg_peer *routed_peer;

	wg_endpoint_learn(peer, endpoint);

	if (unlikely(wg_keypair_confirm(peer, WG_SKB_CB(skb)->keypair))) {
		wg_timers_on_handshake_done(peer);
		wg_stat_inc(wg, WG_STAT_HANDSHAKES_COMPLETED);
		wg_tx_staged(peer);
	}
	keep_key_fresh(peer);
	wg_timers_on_received(peer);
	wg_timers_on_traffic(peer);

	if (unlikely(!skb->len)) {
		rx_bytes(peer, wg_wire_data_len(0));
		wg_stat_inc(wg, WG_STAT_RX_KEEPALIVES);
		net_dbg_ratelimited("%s: peer %llu: received keepalive\n",
				    dev->name, peer->internal_id);
		goto drop_quietly;
	}
	wg_timers_on_data_received(peer);

	if (unlikely(skb_network_header(skb) < skb->head))
		goto bad_inner;
	if (unlikely(!(pskb_network_may_pull(skb, sizeof(struct iphdr)) &&
		       (ip_hdr(skb)->version == 4 ||
			(ip_hdr(skb)->version == 6 &&
			 pskb_network_may_pull(skb, sizeof(struct ipv6hdr)))))))
		goto bad_inner;

	skb->dev = dev;
	/*
	 * Poly1305 authenticated every byte: no checksum at any layer of
	 * the inner packet needs to be verified again.
	 */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb->csum_level = ~0;
	skb->protocol = ip_tunnel_parse_protocol(skb);
	if (skb->protocol == htons(ETH_P_IP)) {
		len = ntohs(ip_hdr(skb)->tot_len);
		/*
		 * A header shorter than 20 bytes or longer than the packet is
		 * counted here, not handed to the stack to drop.
		 */
		if (unlikely(len < sizeof(struct iphdr) ||
			     ip_hdr(skb)->ihl < 5 || len < ip_hdr(skb)->ihl * 4))
			goto bad_inner;
		if (unlikely(INET_ECN_decapsulate(skb, WG_SKB_CB(skb)->ds,
						  ip_hdr(skb)->tos) > 1))
			goto bad_inner;
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		len = ntohs(ipv6_hdr(skb)->payload_len) +
		      sizeof(struct ipv6hdr);
		if (unlikely(INET_ECN_decapsulate(skb, WG_SKB_CB(skb)->ds,
						  ipv6_get_dsfield(ipv6_hdr(skb))) > 1))
			goto bad_inner;
	} else {
		goto bad_inner;
	}

	if (unlikely(len > skb->len))
		goto bad_inner;
	len_before_trim = skb->len;
	if (unlikely(pskb_trim(skb, len)))
		goto bad_inner;

	if (skb->protocol == htons(ETH_P_IP))
		routed_peer = wg_peer_owning(wg, AF_INET, &ip_hdr(skb)->saddr);
	else
		routed_peer = wg_peer_owning(wg, AF_INET6,
					     &ipv6_hdr(skb)->saddr);
	if (unlikely(routed_peer != peer)) {
		/*
		 * A peer being removed loses its allowed IPs after is_dead is
		 * set (peer_make_dead()): what it still had in flight is
		 * dropped, not counted as a spoofed source.
		 */
		smp_rmb();
		if (READ_ONCE(peer->is_dead)) {
			wg_stat_inc(wg, WG_LINK_RX_DROPPED);
			goto drop_quietly;
		}
		wg_stat_inc(wg, WG_STAT_RX_SRC_NOT_ALLOWED);
		if (skb->protocol == htons(ETH_P_IP))
			net_dbg_ratelimited("%s: peer %llu: source %pI4 not allowed\n",
					    dev->name, peer->internal_id,
					    &ip_hdr(skb)->saddr);
		else
			net_dbg_ratelimited("%s: peer %llu: source %pI6 not allowed\n",
					    dev->name, peer->internal_id,
					    &ipv6_hdr(skb)->saddr);
		wg_stat_inc(wg, WG_LINK_RX_ERRORS);
		wg_stat_inc(wg, WG_LINK_RX_FRAME_ERRORS);
		goto drop_quietly;
	}

	napi_gro_receive(&peer->napi, skb);
	rx_bytes(peer, wg_wire_data_len(len_before_trim));
	return;

bad_inner:
	wg_stat_inc(wg, WG_STAT_RX_BAD_INNER);
	net_dbg_ratelimited("%s: peer %llu: invalid inner packet\n",
			    dev->name, peer->internal_id);
	wg_stat_inc(wg, WG_LINK_RX_ERRORS);
	wg_stat_inc(wg, WG_LINK_RX_LENGTH_ERRORS);
drop_quietly:
	dev_kfree_skb(skb);
}

int wg_rx_poll(struct napi_struct *napi, int budget)
{
	struct wg_peer *peer = container_of(napi, struct wg_peer, napi);
	struct wg_keypair *keypair;
	struct wg_endpoint endpoint;
	enum wg_crypt_state state;
	struct sk_buff *skb;
	int work_done = 0;

	if (unlikely(budget <= 0))
		return 0;

	/*
	 * NAPI is disabled before the device's list drops its reference, so
	 * the packets' references put below are never the last.
	 */
	while (work_done < budget &&
	       (skb = wg_peer_queue_dequeue_done(&peer->rx_queue)) != NULL) {
		keypair = WG_SKB_CB(skb)->keypair;
		state = atomic_read_acquire(&WG_SKB_CB(skb)->state);

		if (unlikely(state != WG_CRYPT_DONE)) {
			wg_stat_inc(peer->device, WG_LINK_RX_DROPPED);
			dev_kfree_skb(skb);
		} else if (unlikely(!wg_replay_check(&keypair->s.replay,
							       WG_SKB_CB(skb)->nonce))) {
			wg_stat_inc(peer->device, WG_STAT_RX_REPLAY);
			net_dbg_ratelimited("%s: peer %llu: replayed counter %llu\n",
					    peer->device->dev->name,
					    peer->internal_id,
					    WG_SKB_CB(skb)->nonce);
			wg_stat_inc(peer->device, WG_LINK_RX_DROPPED);
			dev_kfree_skb(skb);
		} else if (unlikely(wg_endpoint_of_skb(&endpoint, skb))) {
			dev_kfree_skb(skb);
		} else {
			wg_skb_scrub(skb, false);
			deliver(peer, skb, &endpoint);
		}

		wg_keypair_put(keypair, false);
		wg_peer_unref(peer);
		++work_done;
	}

	if (work_done < budget)
		napi_complete_done(napi, work_done);
	return work_done;
}
