// SPDX-License-Identifier: GPL-2.0
/*
 * A peer's life, in four stages:
 *
 *  listed:  wg_peer_new() built it and published it in the device's
 *           list and tables; the list holds the first reference.
 *  hidden:  hide() set is_dead and took it out of every table, so no new
 *           lookup finds it; a lookup already under way may still take a
 *           reference (it checked nothing but the refcount).
 *  stilled: after an RCU grace period no such lookup is left; still()
 *           stops what may run for it (timers, handshake and crypt work,
 *           NAPI), drops what it still queues, and drops the list's
 *           reference.
 *  freed:   the last reference dropped (a packet finishing, a work item,
 *           a netlink dump); a grace period later, for readers that saw
 *           its slots, its memory is wiped and freed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "peer.h"
#include "timers.h"
#include "tunnel.h"
#include "exchange.h"
#include "limits.h"
#include "ring.h"
#include "rx.h"
#include "tx.h"
#include "outer.h"

#include <linux/lockdep.h>
#include <linux/rcupdate.h>

static struct kmem_cache *peers_slab;
/* Numbers peers for the debug log; never reused. */
static atomic64_t peers_made = ATOMIC64_INIT(0);

/* Everything a new peer needs before anyone can see it. */
static int prepare(struct wg_peer *peer, struct wg_device *wg,
		   const u8 public_key[WG_PUBLIC_LEN],
		   const u8 preshared_key[WG_SYMKEY_LEN])
{
	int ret;

	ret = dst_cache_init(&peer->route_cache, GFP_KERNEL);
	if (ret)
		return ret;
	peer->device = wg;
	peer->internal_id = atomic64_inc_return(&peers_made);
	kref_init(&peer->refcount);
	INIT_LIST_HEAD(&peer->device_link);
	wg_aip_owner_init(&peer->aip);
	rwlock_init(&peer->endpoint_rwlock);
	wg_exchange_peer_init(peer, public_key, preshared_key);
	wg_exchange_allow_initiation(peer);
	wg_timers_setup(peer);

	/* The data path: queues, the CPUs it last used, its work. */
	skb_queue_head_init(&peer->staged);
	wg_peer_queue_init(&peer->tx_queue);
	wg_peer_queue_init(&peer->rx_queue);
	peer->serial_cpu = nr_cpumask_bits;
	peer->tx_cpu = nr_cpu_ids;
	INIT_WORK(&peer->tx_work, wg_tx_worker);
	INIT_WORK(&peer->initiation_work,
		  wg_tx_initiation_worker);
	/* Received packets reach the stack from this peer's own poll. */
	set_bit(NAPI_STATE_NO_BUSY_POLL, &peer->napi.state);
	netif_napi_add(wg->dev, &peer->napi, wg_rx_poll);
	napi_enable(&peer->napi);
	return 0;
}

struct wg_peer *wg_peer_new(struct wg_device *wg,
			    const u8 public_key[WG_PUBLIC_LEN],
			    const u8 preshared_key[WG_SYMKEY_LEN])
{
	struct wg_peer *peer;
	int ret;

	lockdep_assert_held(&wg->config_lock);
	if (wg->num_peers >= WG_MAX_PEERS)
		return ERR_PTR(-ENOSPC);
	peer = kmem_cache_zalloc(peers_slab, GFP_KERNEL);
	if (!peer)
		return ERR_PTR(-ENOMEM);
	ret = prepare(peer, wg, public_key, preshared_key);
	if (ret) {
		kmem_cache_free(peers_slab, peer);
		return ERR_PTR(ret);
	}
	/* Published: lookups may find it from here on. */
	list_add_tail(&peer->device_link, &wg->peers);
	wg_key_add(wg->peer_keys, &peer->key_slot,
		   peer->handshake.remote_static);
	wg->num_peers++;
	wg_dbg_obj("%s: peer %llu created\n", wg->dev->name, peer->internal_id);
	return peer;
}

struct wg_peer *wg_peer_try_get(struct wg_peer *peer)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_bh_held(),
			 "peer reference taken outside an RCU-bh read section");
	if (!peer)
		return NULL;
	/* Zero means the last reference is gone: the peer is on its way. */
	return kref_get_unless_zero(&peer->refcount) ? peer : NULL;
}

struct wg_peer *wg_peer_by_key(struct wg_device *wg,
			       const u8 key[WG_PUBLIC_LEN])
{
	struct wg_key_slot *slot;
	struct wg_peer *peer;

	rcu_read_lock_bh();
	slot = wg_key_find(wg->peer_keys, key);
	peer = slot ? container_of(slot, struct wg_peer, key_slot) : NULL;
	peer = wg_peer_try_get(peer);
	rcu_read_unlock_bh();
	return peer;
}

struct wg_peer *wg_peer_by_index(struct wg_device *wg, __le32 id,
				 unsigned int kinds)
{
	struct wg_index_slot *slot;
	struct wg_peer *peer = NULL;

	rcu_read_lock_bh();
	slot = wg_index_find(wg->indexes, id, kinds);
	/* A handshake's slot is in its peer; a session's in its keypair. */
	if (slot && slot->kind == WG_INDEX_HANDSHAKE)
		peer = container_of(slot, struct wg_peer, handshake_slot);
	else if (slot)
		peer = container_of(slot, struct wg_keypair, slot)->peer;
	peer = wg_peer_try_get(peer);
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
	const void *dst;
	sa_family_t af;

	switch (skb->protocol) {
	case htons(ETH_P_IP):
		af = AF_INET;
		dst = &ip_hdr(skb)->daddr;
		break;
	case htons(ETH_P_IPV6):
		af = AF_INET6;
		dst = &ipv6_hdr(skb)->daddr;
		break;
	default:
		return NULL;
	}
	return wg_peer_try_get(wg_peer_owning(wg, af, dst));
}

/*
 * Stage two.  The receive path drops a packet whose peer is dead rather
 * than count it as sent from outside the allowed IPs, so is_dead is set
 * before the prefixes go.
 */
static void hide(struct wg_peer *peer)
{
	struct wg_device *wg = peer->device;

	WRITE_ONCE(peer->is_dead, true);
	wg_allowedips_remove_owner(&wg->peer_allowedips, &peer->aip,
				   &wg->config_lock);
	wg_key_remove(wg->peer_keys, &peer->key_slot);
	/* No received message may name its handshake or sessions again. */
	wg_exchange_reset(peer);
	wg_keypairs_clear(peer);
}

/* Stage three, a grace period after hide(). */
static void still(struct wg_peer *peer)
{
	struct wg_device *wg = peer->device;

	/* A handshake that began before is_dead may have added a session. */
	wg_keypairs_clear(peer);
	wg_timers_stop(peer);
	/*
	 * Crypt workers may hold its packets: a first flush lets them finish,
	 * a second finishes the transmit work those packets queued.
	 */
	flush_workqueue(wg->packet_crypt_wq);
	flush_workqueue(wg->packet_crypt_wq);
	napi_disable(&peer->napi);
	/* The peer's memory outlives a grace period anyway (free_peer()). */
	__netif_napi_del(&peer->napi);
	/* Packets NAPI never delivered hold references; drop them. */
	wg_peer_queue_purge(&peer->rx_queue);
	wg_peer_queue_purge(&peer->tx_queue);
	flush_workqueue(wg->handshake_send_wq);
	wg_tx_purge_staged(peer);
	wg->num_peers--;
	wg_peer_unref(peer);
}

void wg_peer_retire(struct wg_peer *peer)
{
	if (!peer)
		return;
	lockdep_assert_held(&peer->device->config_lock);
	list_del_init(&peer->device_link);
	hide(peer);
	synchronize_net();
	still(peer);
}

void wg_peer_retire_all(struct wg_device *wg)
{
	struct wg_peer *peer, *next;
	LIST_HEAD(doomed);

	lockdep_assert_held(&wg->config_lock);
	list_splice_init(&wg->peers, &doomed);
	if (list_empty(&doomed))
		return;
	list_for_each_entry(peer, &doomed, device_link)
		hide(peer);
	/* One grace period for all of them. */
	synchronize_net();
	list_for_each_entry_safe(peer, next, &doomed, device_link) {
		list_del_init(&peer->device_link);
		still(peer);
	}
}

static void free_peer(struct rcu_head *head)
{
	struct wg_peer *peer = container_of(head, struct wg_peer, rcu);

	WARN_ON(wg_peer_queue_len(&peer->rx_queue) ||
		wg_peer_queue_len(&peer->tx_queue));
	dst_cache_destroy(&peer->route_cache);
	/* Its handshake state holds secrets: nothing of it may linger. */
	memzero_explicit(peer, sizeof(*peer));
	kmem_cache_free(peers_slab, peer);
}

static void last_reference(struct kref *ref)
{
	struct wg_peer *peer = container_of(ref, struct wg_peer, refcount);

	wg_dbg_obj("%s: peer %llu destroyed\n", peer->device->dev->name,
		   peer->internal_id);
	/* A handshake sent after hide() may have listed its slot again. */
	wg_index_release(peer->device->indexes, &peer->handshake_slot);
	wg_tx_purge_staged(peer);
	call_rcu(&peer->rcu, free_peer);
}

void wg_peer_unref(struct wg_peer *peer)
{
	if (peer)
		kref_put(&peer->refcount, last_reference);
}

int __init wg_peer_cache_init(void)
{
	peers_slab = KMEM_CACHE(wg_peer, 0);
	return peers_slab ? 0 : -ENOMEM;
}

void wg_peer_cache_exit(void)
{
	/* free_peer() callbacks still in flight use the slab. */
	rcu_barrier();
	kmem_cache_destroy(peers_slab);
}
