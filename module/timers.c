// SPDX-License-Identifier: GPL-2.0
/*
 * Protocol timers of one peer.  Events on the packet paths arm or cancel
 * them; when they fire they retransmit handshakes, send keepalives, start
 * new handshakes and finally forget old key material.
 *
 * Timers are armed only while the device is up and the peer alive; callers
 * of wg_timers_stop() make sure nothing re-arms them afterwards.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "timers.h"
#include "compat.h"
#include "device.h"
#include "exchange.h"
#include "peer.h"
#include "queueing.h"
#include "socket.h"

static void arm(struct wg_peer *peer, struct timer_list *timer,
		unsigned long expires)
{
	struct net_device *dev = peer->device->dev;

	rcu_read_lock_bh();
	if (likely(netif_running(dev) && !READ_ONCE(peer->is_dead)))
		mod_timer(timer, expires);
	rcu_read_unlock_bh();
}

static unsigned long jitter(void)
{
	return get_random_u32() % WG_REKEY_JITTER_JIFFIES;
}

static void expired_retransmit_handshake(struct timer_list *timer)
{
	struct wg_peer *peer = wg_timer_owner(peer, timer,
					  timer_retransmit_handshake);

	if (peer->timer_handshake_attempts > WG_MAX_HANDSHAKE_TRIES) {
		net_dbg_ratelimited("%s: peer %llu: no handshake after %d attempts, giving up\n",
				    peer->device->dev->name, peer->internal_id,
				    WG_MAX_HANDSHAKE_TRIES + 2);
		timer_delete(&peer->timer_send_keepalive);
		/* Nothing will carry the staged packets any more. */
		wg_packet_purge_staged_packets(peer);
		if (!timer_pending(&peer->timer_zero_key_material))
			arm(peer, &peer->timer_zero_key_material,
			    jiffies + wg_secs(WG_REJECT_AFTER_SECS * 3));
		return;
	}
	++peer->timer_handshake_attempts;
	net_dbg_ratelimited("%s: peer %llu: handshake not answered after %d s, retrying (try %d)\n",
			    peer->device->dev->name, peer->internal_id,
			    WG_REKEY_TIMEOUT_SECS, peer->timer_handshake_attempts + 1);
	/* The answer may have been lost on its way to a stale source. */
	wg_socket_clear_peer_endpoint_src(peer);
	wg_packet_send_queued_handshake_initiation(peer, true);
}

static void expired_send_keepalive(struct timer_list *timer)
{
	struct wg_peer *peer = wg_timer_owner(peer, timer, timer_send_keepalive);

	wg_packet_send_keepalive(peer);
	if (peer->timer_need_another_keepalive) {
		peer->timer_need_another_keepalive = false;
		arm(peer, &peer->timer_send_keepalive,
		    jiffies + wg_secs(WG_KEEPALIVE_SECS));
	}
}

static void expired_new_handshake(struct timer_list *timer)
{
	struct wg_peer *peer = wg_timer_owner(peer, timer, timer_new_handshake);

	net_dbg_ratelimited("%s: peer %llu: sent data without an answer for %d s, new handshake\n",
			    peer->device->dev->name, peer->internal_id,
			    WG_KEEPALIVE_SECS + WG_REKEY_TIMEOUT_SECS);
	wg_socket_clear_peer_endpoint_src(peer);
	wg_packet_send_queued_handshake_initiation(peer, false);
}

static void expired_zero_key_material(struct timer_list *timer)
{
	struct wg_peer *peer = wg_timer_owner(peer, timer, timer_zero_key_material);

	/* Clearing takes sleeping locks: do it from process context. */
	rcu_read_lock_bh();
	if (!READ_ONCE(peer->is_dead)) {
		wg_peer_get(peer);
		if (!queue_work(peer->device->handshake_send_wq,
				&peer->clear_peer_work))
			wg_peer_put(peer);
	}
	rcu_read_unlock_bh();
}

static void clear_peer_worker(struct work_struct *work)
{
	struct wg_peer *peer = container_of(work, struct wg_peer,
					    clear_peer_work);

	net_dbg_ratelimited("%s: peer %llu: zeroing keys after %d s without a new handshake\n",
			    peer->device->dev->name, peer->internal_id,
			    WG_REJECT_AFTER_SECS * 3);
	wg_exchange_reset(peer);
	wg_keypairs_clear(peer);
	wg_peer_put(peer);
}

static void expired_persistent_keepalive(struct timer_list *timer)
{
	struct wg_peer *peer = wg_timer_owner(peer, timer,
					  timer_persistent_keepalive);

	if (likely(peer->persistent_keepalive_interval))
		wg_packet_send_keepalive(peer);
}

void wg_timers_data_sent(struct wg_peer *peer)
{
	if (!timer_pending(&peer->timer_new_handshake))
		arm(peer, &peer->timer_new_handshake,
		    jiffies + wg_secs(WG_KEEPALIVE_SECS + WG_REKEY_TIMEOUT_SECS) +
		    jitter());
}

void wg_timers_data_received(struct wg_peer *peer)
{
	if (likely(netif_running(peer->device->dev))) {
		if (!timer_pending(&peer->timer_send_keepalive))
			arm(peer, &peer->timer_send_keepalive,
			    jiffies + wg_secs(WG_KEEPALIVE_SECS));
		else
			peer->timer_need_another_keepalive = true;
	}
}

void wg_timers_any_authenticated_packet_sent(struct wg_peer *peer)
{
	timer_delete(&peer->timer_send_keepalive);
}

void wg_timers_any_authenticated_packet_received(struct wg_peer *peer)
{
	timer_delete(&peer->timer_new_handshake);
}

void wg_timers_handshake_initiated(struct wg_peer *peer)
{
	arm(peer, &peer->timer_retransmit_handshake,
	    jiffies + wg_secs(WG_REKEY_TIMEOUT_SECS) + jitter());
}

void wg_timers_handshake_complete(struct wg_peer *peer)
{
	timer_delete(&peer->timer_retransmit_handshake);
	peer->timer_handshake_attempts = 0;
	peer->sent_lastminute_handshake = false;
	ktime_get_real_ts64(&peer->walltime_last_handshake);
}

void wg_timers_session_derived(struct wg_peer *peer)
{
	arm(peer, &peer->timer_zero_key_material,
	    jiffies + wg_secs(WG_REJECT_AFTER_SECS * 3));
}

void wg_timers_any_authenticated_packet_traversal(struct wg_peer *peer)
{
	u16 interval = READ_ONCE(peer->persistent_keepalive_interval);

	if (interval)
		arm(peer, &peer->timer_persistent_keepalive,
		    jiffies + wg_secs(interval));
}

void wg_timers_init(struct wg_peer *peer)
{
	timer_setup(&peer->timer_retransmit_handshake,
		    expired_retransmit_handshake, 0);
	timer_setup(&peer->timer_send_keepalive, expired_send_keepalive, 0);
	timer_setup(&peer->timer_new_handshake, expired_new_handshake, 0);
	timer_setup(&peer->timer_zero_key_material,
		    expired_zero_key_material, 0);
	timer_setup(&peer->timer_persistent_keepalive,
		    expired_persistent_keepalive, 0);
	INIT_WORK(&peer->clear_peer_work, clear_peer_worker);
	peer->timer_handshake_attempts = 0;
	peer->sent_lastminute_handshake = false;
	peer->timer_need_another_keepalive = false;
}

void wg_timers_stop(struct wg_peer *peer)
{
	timer_delete_sync(&peer->timer_retransmit_handshake);
	timer_delete_sync(&peer->timer_send_keepalive);
	timer_delete_sync(&peer->timer_new_handshake);
	timer_delete_sync(&peer->timer_zero_key_material);
	timer_delete_sync(&peer->timer_persistent_keepalive);
	flush_work(&peer->clear_peer_work);
}
