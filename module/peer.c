// SPDX-License-Identifier: GPL-2.0
/*
 * Peer lifetime.
 *
 * References to a peer are held by: the device's peer list (dropped by
 * wg_peer_remove), each packet in flight in the crypt rings (dropped when the
 * in-order consumer is done with it), lookups from the trie, the index and
 * pubkey tables (dropped by their callers), and queued work items.  Removal
 * is two-phase: unlink and mark dead so that no new reference can be found,
 * synchronize_net() so lookups in progress finish, then flush the work that
 * may still hold one, and drop the list's reference.  The memory itself goes
 * through call_rcu, since RCU readers may still be looking at it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "peer.h"
#include "device.h"
#include "queueing.h"
#include "tunnel/timers.h"
#include "exchange.h"
#include "limits.h"
#include "socket.h"

#include <linux/kref.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/list.h>

static struct kmem_cache *peer_cache;
static atomic64_t peer_counter = ATOMIC64_INIT(0);

struct wg_peer *wg_peer_create(struct wg_device *wg,
			       const u8 public_key[WG_PUBLIC_LEN],
			       const u8 preshared_key[WG_SYMKEY_LEN])
{
	struct wg_peer *peer;
	int ret = -ENOMEM;

	lockdep_assert_held(&wg->device_update_lock);

	if (wg->num_peers >= WG_MAX_PEERS)
		return ERR_PTR(-ENOSPC);

	peer = kmem_cache_zalloc(peer_cache, GFP_KERNEL);
	if (unlikely(!peer))
		return ERR_PTR(ret);
	if (unlikely(dst_cache_init(&peer->endpoint_cache, GFP_KERNEL)))
		goto err_free_peer;

	peer->device = wg;
	wg_exchange_peer_init(peer, public_key, preshared_key);
	peer->internal_id = atomic64_inc_return(&peer_counter);
	peer->serial_work_cpu = nr_cpumask_bits;
	peer->tx_cpu = nr_cpu_ids;
	wg_timers_setup(peer);
	INIT_WORK(&peer->transmit_handshake_work,
		  wg_packet_handshake_send_worker);
	INIT_WORK(&peer->transmit_packet_work, wg_packet_tx_worker);
	wg_peer_queue_init(&peer->tx_queue);
	wg_peer_queue_init(&peer->rx_queue);
	rwlock_init(&peer->endpoint_lock);
	kref_init(&peer->refcount);
	skb_queue_head_init(&peer->staged_packet_queue);
	wg_exchange_allow_initiation(peer);
	set_bit(NAPI_STATE_NO_BUSY_POLL, &peer->napi.state);
	netif_napi_add(wg->dev, &peer->napi, wg_packet_rx_poll);
	napi_enable(&peer->napi);
	list_add_tail(&peer->peer_list, &wg->peer_list);
	wg_aip_owner_init(&peer->aip);
	wg_key_add(wg->peer_keys, &peer->key_slot,
		   peer->handshake.remote_static);
	++wg->num_peers;
	wg_dbg_obj("%s: peer %llu created\n", wg->dev->name, peer->internal_id);
	return peer;

err_free_peer:
	kmem_cache_free(peer_cache, peer);
	return ERR_PTR(ret);
}

struct wg_peer *wg_peer_get_maybe_zero(struct wg_peer *peer)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_bh_held(),
			 "taking peer reference without holding the RCU read lock");
	if (unlikely(!peer || !kref_get_unless_zero(&peer->refcount)))
		return NULL;
	return peer;
}

struct wg_peer *wg_peer_by_key(struct wg_device *wg,
			       const u8 key[WG_PUBLIC_LEN])
{
	struct wg_key_slot *slot;
	struct wg_peer *peer = NULL;

	rcu_read_lock_bh();
	slot = wg_key_find(wg->peer_keys, key);
	if (slot)
		peer = wg_peer_get_maybe_zero(container_of(slot, struct wg_peer,
							   key_slot));
	rcu_read_unlock_bh();
	return peer;
}

/* The peer behind an index slot; under rcu_read_lock_bh(), no reference. */
static struct wg_peer *index_owner(struct wg_index_slot *slot)
{
	if (slot->kind == WG_INDEX_HANDSHAKE)
		return container_of(slot, struct wg_peer, handshake_slot);
	return container_of(slot, struct wg_keypair, slot)->peer;
}

struct wg_peer *wg_peer_by_index(struct wg_device *wg, __le32 id,
				 unsigned int kinds)
{
	struct wg_index_slot *slot;
	struct wg_peer *peer = NULL;

	rcu_read_lock_bh();
	slot = wg_index_find(wg->indexes, id, kinds);
	if (slot)
		peer = wg_peer_get_maybe_zero(index_owner(slot));
	rcu_read_unlock_bh();
	return peer;
}

struct wg_peer *wg_peer_owning(struct wg_device *wg, sa_family_t family,
			       const void *addr)
{
	struct wg_aip_owner *owner;

	owner = wg_allowedips_find(&wg->peer_allowedips, family, addr);
	return owner ? container_of(owner, struct wg_peer, aip) : NULL;
}

struct wg_peer *wg_peer_for_dst(struct wg_device *wg, struct sk_buff *skb)
{
	struct wg_peer *peer;

	if (skb->protocol == htons(ETH_P_IP))
		peer = wg_peer_owning(wg, AF_INET, &ip_hdr(skb)->daddr);
	else if (skb->protocol == htons(ETH_P_IPV6))
		peer = wg_peer_owning(wg, AF_INET6, &ipv6_hdr(skb)->daddr);
	else
		peer = NULL;
	/* A peer whose last reference is gone counts as no match. */
	return wg_peer_get_maybe_zero(peer);
}

/* Phase one: make the peer unreachable for new lookups and new work. */
static void peer_make_dead(struct wg_peer *peer)
{
	struct wg_device *wg = peer->device;

	/*
	 * Senders, timers and new sessions check is_dead under RCU; set
	 * before the allowed IPs go, as deliver() relies on.
	 */
	WRITE_ONCE(peer->is_dead, true);
	wg_allowedips_remove_owner(&wg->peer_allowedips, &peer->aip,
				   &wg->device_update_lock);
	list_del_init(&peer->peer_list);
	wg_key_remove(wg->peer_keys, &peer->key_slot);
	/*
	 * Unhash the handshake and the keypairs, so that no received packet
	 * can find the peer once the grace period below has passed.
	 */
	wg_exchange_reset(peer);
	wg_keypairs_clear(peer);
}

/* Phase two, after synchronize_net(): stop whatever still runs for it. */
static void peer_remove_after_dead(struct wg_peer *peer)
{
	struct wg_device *wg = peer->device;

	/*
	 * A handshake that checked is_dead before we set it may have
	 * installed a keypair after the first clear; it is done by now.
	 */
	wg_keypairs_clear(peer);
	wg_timers_stop(peer);

	/*
	 * Crypto workers may still hold packets of this peer; the first flush
	 * finishes them, the second the transmit work they queued.
	 */
	flush_workqueue(wg->packet_crypt_wq);
	flush_workqueue(wg->packet_crypt_wq);
	napi_disable(&peer->napi);
	/*
	 * Not netif_napi_del(): its grace period is not needed, as the
	 * peer (and its napi) is freed through call_rcu.
	 */
	__netif_napi_del(&peer->napi);
	/* Whatever NAPI did not deliver holds references: drop them. */
	wg_peer_queue_purge(&peer->rx_queue);
	wg_peer_queue_purge(&peer->tx_queue);
	flush_workqueue(wg->handshake_send_wq);
	wg_packet_purge_staged_packets(peer);

	--wg->num_peers;
	/* The device's list held this reference. */
	wg_peer_put(peer);
}

void wg_peer_remove(struct wg_peer *peer)
{
	if (unlikely(!peer))
		return;
	lockdep_assert_held(&peer->device->device_update_lock);

	peer_make_dead(peer);
	synchronize_net();
	peer_remove_after_dead(peer);
}

void wg_peer_remove_all(struct wg_device *wg)
{
	struct wg_peer *peer, *temp;
	LIST_HEAD(dead_peers);

	lockdep_assert_held(&wg->device_update_lock);

	if (list_empty(&wg->peer_list))
		return;
	/* Batch the grace period: one synchronize_net() for all peers. */
	list_for_each_entry_safe(peer, temp, &wg->peer_list, peer_list) {
		peer_make_dead(peer);
		list_add_tail(&peer->peer_list, &dead_peers);
	}
	synchronize_net();
	list_for_each_entry_safe(peer, temp, &dead_peers, peer_list) {
		list_del_init(&peer->peer_list);
		peer_remove_after_dead(peer);
	}
}

static void rcu_release(struct rcu_head *rcu)
{
	struct wg_peer *peer = container_of(rcu, struct wg_peer, rcu);

	dst_cache_destroy(&peer->endpoint_cache);
	WARN_ON(wg_peer_queue_len(&peer->tx_queue) ||
		wg_peer_queue_len(&peer->rx_queue));
	/* Wipe the handshake secrets and keys before the memory is reused. */
	memzero_explicit(peer, sizeof(*peer));
	kmem_cache_free(peer_cache, peer);
}

static void kref_release(struct kref *refcount)
{
	struct wg_peer *peer = container_of(refcount, struct wg_peer, refcount);

	wg_dbg_obj("%s: peer %llu destroyed\n", peer->device->dev->name,
		   peer->internal_id);
	/*
	 * The handshake's index entry is the last thing another CPU may find
	 * the peer through; remove it before the grace period.
	 */
	wg_index_release(peer->device->indexes, &peer->handshake_slot);
	wg_packet_purge_staged_packets(peer);
	call_rcu(&peer->rcu, rcu_release);
}

void wg_peer_put(struct wg_peer *peer)
{
	if (unlikely(!peer))
		return;
	kref_put(&peer->refcount, kref_release);
}

int __init wg_peer_init(void)
{
	peer_cache = KMEM_CACHE(wg_peer, 0);
	return peer_cache ? 0 : -ENOMEM;
}

void wg_peer_uninit(void)
{
	/* Pending rcu_release callbacks still use the cache. */
	rcu_barrier();
	kmem_cache_destroy(peer_cache);
}
