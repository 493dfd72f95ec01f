// SPDX-License-Identifier: GPL-2.0
/*
 * A device's tunnel state, made and unmade in one place: locks, tables,
 * counters, work queues, crypt rings, and the device's share of the
 * handshake rate limiter.  The face (device.c) calls wg_tunnel_init()
 * before it registers the net_device and wg_tunnel_uninit() from its
 * destructor (or when registering fails).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "../tables/ratelimiter.h"
#include "exchange.h"
#include "outer.h"
#include "peer.h"
#include "ring.h"
#include "rx.h"
#include "tunnel.h"
#include "tx.h"
#include "udp.h"

#include <linux/moduleparam.h>

#ifdef CONFIG_WG_DEBUG
/*
 * Debug builds: knobs that make the protocol's times and counts small
 * enough for the tests (timers.h, limits.h and WG_UNDER_LOAD_HANDSHAKES
 * read them).  Out-of-range values are refused as they are parsed, which
 * fails the module load.
 */
static int set_divisor(const char *val, const struct kernel_param *kp)
{
	unsigned int divisor;
	int err = kstrtouint(val, 0, &divisor);

	if (err)
		return err;
	if (!divisor)
		return -EINVAL;
	*(unsigned int *)kp->arg = divisor;
	return 0;
}

static const struct kernel_param_ops divisor_ops = {
	.set = set_divisor,
	.get = param_get_uint,
};

unsigned int wg_time_divisor = 1;
module_param_cb(time_divisor, &divisor_ops, &wg_time_divisor, 0444);
MODULE_PARM_DESC(time_divisor,
		 "debug builds only: divide every protocol time by this (default 1, not 0)");

static int set_reject_after(const char *val, const struct kernel_param *kp)
{
	u64 limit;
	int err = kstrtou64(val, 0, &limit);

	if (err)
		return err;
	/* The protocol's own limit is the most a key may ever send. */
	if (!limit || limit > WG_REJECT_AFTER_MSGS)
		return -EINVAL;
	*(u64 *)kp->arg = limit;
	return 0;
}

static const struct kernel_param_ops reject_after_ops = {
	.set = set_reject_after,
	.get = param_get_ullong,
};

u64 wg_reject_after_messages = WG_REJECT_AFTER_MSGS;
module_param_cb(reject_after_messages, &reject_after_ops,
		&wg_reject_after_messages, 0444);
MODULE_PARM_DESC(reject_after_messages,
		 "debug builds only: use a key for at most this many messages (1 to 2^64 - 2^13 - 1, the default)");

u64 wg_rekey_after_messages = WG_REKEY_AFTER_MSGS;
module_param_named(rekey_after_messages, wg_rekey_after_messages, ullong,
		   0444);
MODULE_PARM_DESC(rekey_after_messages,
		 "debug builds only: start a new handshake after sending this many messages with a key (default 2^60)");

unsigned int wg_under_load_handshakes = WG_MAX_QUEUED_HANDSHAKES / 8;
module_param_named(under_load_handshakes, wg_under_load_handshakes, uint,
		   0644);
MODULE_PARM_DESC(under_load_handshakes,
		 "debug builds only: queued handshakes that make the device demand cookies (default 512)");
#endif

/* The three work queues; NULL entries are skipped, so a partial set goes. */
static void drop_workqueues(struct wg_device *wg)
{
	struct workqueue_struct *all[] = {
		wg->handshake_receive_wq, wg->handshake_send_wq,
		wg->packet_crypt_wq,
	};
	unsigned int i;

	/* Each waits for its queued work to finish first. */
	for (i = 0; i < ARRAY_SIZE(all); i++)
		if (all[i])
			destroy_workqueue(all[i]);
	wg->handshake_receive_wq = NULL;
	wg->handshake_send_wq = NULL;
	wg->packet_crypt_wq = NULL;
}

static int make_workqueues(struct wg_device *wg)
{
	const char *name = wg->dev->name;

	/*
	 * Received handshakes cost two DH each and run on every CPU;
	 * initiations are few and may go anywhere; the crypt workers keep
	 * going under memory pressure, as they free what they hold.
	 */
	wg->handshake_receive_wq = alloc_workqueue("wg-kex-%s",
						   WQ_CPU_INTENSIVE |
						   WQ_FREEZABLE, 0, name);
	wg->handshake_send_wq = alloc_workqueue("wg-kex-%s",
						WQ_UNBOUND | WQ_FREEZABLE, 0,
						name);
	wg->packet_crypt_wq = alloc_workqueue("wg-crypt-%s",
					      WQ_CPU_INTENSIVE |
					      WQ_MEM_RECLAIM, 0, name);
	if (wg->handshake_receive_wq && wg->handshake_send_wq &&
	    wg->packet_crypt_wq)
		return 0;
	drop_workqueues(wg);
	return -ENOMEM;
}

static int make_rings(struct wg_device *wg)
{
	int err;

	err = wg_ring_init(&wg->encrypt_queue, WG_MAX_QUEUED_PACKETS,
			   wg_tx_encrypt_worker, wg->packet_crypt_wq);
	if (err)
		return err;
	err = wg_ring_init(&wg->decrypt_queue, WG_MAX_QUEUED_PACKETS,
			   wg_rx_decrypt_worker, wg->packet_crypt_wq);
	if (err)
		goto undo_encrypt;
	err = wg_ring_init(&wg->handshake_queue, WG_MAX_QUEUED_HANDSHAKES,
			   wg_rx_handshake_worker, wg->handshake_receive_wq);
	if (err)
		goto undo_decrypt;
	return 0;

undo_decrypt:
	wg_ring_free(&wg->decrypt_queue, false);
undo_encrypt:
	wg_ring_free(&wg->encrypt_queue, false);
	return err;
}

/* The lookups and the counters; a partial set is freed by drop_tables(). */
static void drop_tables(struct wg_device *wg)
{
	free_percpu(wg->stats);
	wg->stats = NULL;
	wg_index_table_destroy(wg->indexes);
	wg->indexes = NULL;
	wg_key_table_destroy(wg->peer_keys);
	wg->peer_keys = NULL;
}

int wg_tunnel_init(struct wg_device *wg, struct net *net)
{
	int err = -ENOMEM;

	rcu_assign_pointer(wg->creating_net, net);
	mutex_init(&wg->config_lock);
	mutex_init(&wg->udp_lock);
	init_rwsem(&wg->identity_lock);
	INIT_LIST_HEAD(&wg->peers);
	wg->device_update_gen = 1;
	wg_allowedips_init(&wg->peer_allowedips);
	wg_cookie_guard_init(&wg->cookie_guard);

	wg->stats = __alloc_percpu(sizeof(u64) * __WG_COUNTERS,
				   __alignof__(u64));
	wg->peer_keys = wg_key_table_new();
	wg->indexes = wg_index_table_new();
	if (!wg->stats || !wg->peer_keys || !wg->indexes)
		goto undo_tables;
	err = make_workqueues(wg);
	if (err)
		goto undo_tables;
	err = make_rings(wg);
	if (err)
		goto undo_workqueues;
	err = wg_ratelimiter_init();
	if (err)
		goto undo_rings;
	return 0;

undo_rings:
	wg_ring_free(&wg->handshake_queue, false);
	wg_ring_free(&wg->decrypt_queue, false);
	wg_ring_free(&wg->encrypt_queue, false);
undo_workqueues:
	drop_workqueues(wg);
undo_tables:
	drop_tables(wg);
	return err;
}

void wg_tunnel_quiesce(struct wg_device *wg)
{
	mutex_lock(&wg->config_lock);
	wg_udp_close(wg);
	wg_peer_retire_all(wg);
	mutex_unlock(&wg->config_lock);
	flush_workqueue(wg->handshake_receive_wq);
	flush_workqueue(wg->handshake_send_wq);
	flush_workqueue(wg->packet_crypt_wq);
}

void wg_tunnel_uninit(struct wg_device *wg)
{
	mutex_lock(&wg->config_lock);
	rcu_assign_pointer(wg->creating_net, NULL);
	wg->listen_port = 0;
	/*
	 * wg_tunnel_quiesce() did these two if the device was registered;
	 * again for a peer a racing netlink request may have added since.
	 */
	wg_udp_close(wg);
	wg_peer_retire_all(wg);
	wg_allowedips_free(&wg->peer_allowedips, &wg->config_lock);
	mutex_unlock(&wg->config_lock);

	/* Nothing queues new work any more; let what is queued finish. */
	drop_workqueues(wg);
	/* Handshakes may still sit in their ring; no data packet can. */
	wg_ring_free(&wg->handshake_queue, true);
	wg_ring_free(&wg->decrypt_queue, false);
	wg_ring_free(&wg->encrypt_queue, false);
	/*
	 * No rcu_barrier(): the RCU callbacks still pending for this device's
	 * peers, keypairs and trie nodes free only their own object; module
	 * exit waits for them before the caches go.
	 */
	wg_ratelimiter_uninit();
	memzero_explicit(&wg->identity, sizeof(wg->identity));
	drop_tables(wg);
}

int wg_tunnel_up(struct wg_device *wg)
{
	struct wg_peer *peer;
	int err;

	mutex_lock(&wg->config_lock);
	err = wg_udp_open(wg, wg->listen_port);
	if (!err) {
		/* What was staged while down leaves; keepalives start. */
		list_for_each_entry(peer, &wg->peers, device_link) {
			wg_tx_staged(peer);
			if (peer->persistent_keepalive_interval)
				wg_tx_keepalive(peer);
		}
	}
	mutex_unlock(&wg->config_lock);
	return err;
}

void wg_tunnel_down(struct wg_device *wg)
{
	struct wg_peer *peer;

	mutex_lock(&wg->config_lock);
	list_for_each_entry(peer, &wg->peers, device_link) {
		/* Up again, every session starts afresh. */
		wg_tx_purge_staged(peer);
		wg_timers_stop(peer);
		wg_exchange_reset(peer);
		wg_keypairs_clear(peer);
		wg_exchange_allow_initiation(peer);
	}
	mutex_unlock(&wg->config_lock);
	wg_udp_close(wg);
}

void wg_stats_sum(struct wg_device *wg, enum wg_stat first, unsigned int n,
		  u64 *out)
{
	unsigned int i;
	int cpu;

	memset(out, 0, n * sizeof(*out));
	/* Plain words, bumped only by their CPU: a read may lag, not tear. */
	for_each_possible_cpu(cpu) {
		const u64 *counts = per_cpu_ptr(wg->stats, cpu) + first;

		for (i = 0; i < n; i++)
			out[i] += READ_ONCE(counts[i]);
	}
}

void wg_tunnel_orphan(struct wg_device *wg)
{
	struct wg_peer *peer;

	mutex_lock(&wg->config_lock);
	/* wg_udp_open() fails from now on: there is no namespace to bind in. */
	rcu_assign_pointer(wg->creating_net, NULL);
	wg_udp_close(wg);
	list_for_each_entry(peer, &wg->peers, device_link)
		wg_endpoint_forget_src(peer);
	mutex_unlock(&wg->config_lock);
}
