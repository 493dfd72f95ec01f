// SPDX-License-Identifier: GPL-2.0
/*
 * A peer's protocol clock: an array of five timers, one per kind, each
 * with a callback that finds the peer from the timer's place in the array
 * and does what that kind of timer is for.
 *
 * Arming: only while the device is up and the peer alive (checked under
 * RCU-bh, the read side of peer removal), so wg_timers_stop(), called
 * after the peer is dead or the device down, leaves nothing pending.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "timers.h"
#include "tunnel.h"
#include "exchange.h"
#include "peer.h"
#include "ring.h"
#include "rx.h"
#include "tx.h"
#include "outer.h"

#include <linux/random.h>

static struct timer_list *timer_of(struct wg_peer *peer,
				   enum wg_timer_kind kind)
{
	return &peer->timers.t[kind];
}

#define owner_of(timer, kind) container_of(timer, struct wg_peer, timers.t[kind])

/*
 * How long each kind waits, in jiffies.  The ones a peer arms on its own
 * initiative get up to a third of a second of jitter, so that two peers
 * do not keep starting handshakes at the same moment.
 */
static unsigned long jitter(void)
{
	return get_random_u32_below(WG_REKEY_JITTER_JIFFIES);
}

static unsigned long delay_of(struct wg_peer *peer, enum wg_timer_kind kind)
{
	switch (kind) {
	case WG_TIMER_RESEND:
		return wg_secs(WG_REKEY_TIMEOUT_SECS) + jitter();
	case WG_TIMER_KEEPALIVE:
		return wg_secs(WG_KEEPALIVE_SECS);
	case WG_TIMER_REHANDSHAKE:
		return wg_secs(WG_KEEPALIVE_SECS + WG_REKEY_TIMEOUT_SECS) +
		       jitter();
	case WG_TIMER_FORGET:
		return wg_secs(WG_REJECT_AFTER_SECS * 3);
	case WG_TIMER_HEARTBEAT:
	default:
		return wg_secs(READ_ONCE(peer->persistent_keepalive_interval));
	}
}

static const char *dev_name_of(struct wg_peer *peer)
{
	return peer->device->dev->name;
}

/* (Re)starts the timer of @kind, if the peer may still have timers. */
static void start(struct wg_peer *peer, enum wg_timer_kind kind)
{
	bool live;

	rcu_read_lock_bh();
	live = netif_running(peer->device->dev) && !READ_ONCE(peer->is_dead);
	if (likely(live))
		mod_timer(timer_of(peer, kind),
			  jiffies + delay_of(peer, kind));
	rcu_read_unlock_bh();
}

/* Starts it only if it is not already running. */
static void start_once(struct wg_peer *peer, enum wg_timer_kind kind)
{
	if (!timer_pending(timer_of(peer, kind)))
		start(peer, kind);
}

static void cancel(struct wg_peer *peer, enum wg_timer_kind kind)
{
	timer_delete(timer_of(peer, kind));
}

static void resend_initiation(struct wg_peer *peer)
{
	struct wg_peer_timers *pt = &peer->timers;

	if (pt->tries > WG_MAX_HANDSHAKE_TRIES) {
		/* REKEY_ATTEMPT_TIME is over: stop trying until new data. */
		net_dbg_ratelimited("%s: peer %llu: giving up after %u initiations\n",
				    dev_name_of(peer), peer->internal_id,
				    pt->tries + 1);
		cancel(peer, WG_TIMER_KEEPALIVE);
		wg_tx_purge_staged(peer);
		start_once(peer, WG_TIMER_FORGET);
		return;
	}
	pt->tries++;
	net_dbg_ratelimited("%s: peer %llu: initiation unanswered, sending number %u\n",
			    dev_name_of(peer), peer->internal_id,
			    pt->tries + 1);
	/* The answer may have gone to a source address we no longer have. */
	wg_endpoint_forget_src(peer);
	wg_tx_initiation(peer, true);
}

static void send_keepalive(struct wg_peer *peer)
{
	wg_tx_keepalive(peer);
	if (peer->timers.keepalive_again) {
		peer->timers.keepalive_again = false;
		start(peer, WG_TIMER_KEEPALIVE);
	}
}

static void rehandshake(struct wg_peer *peer)
{
	net_dbg_ratelimited("%s: peer %llu: our data went unanswered, new handshake\n",
			    dev_name_of(peer), peer->internal_id);
	wg_endpoint_forget_src(peer);
	wg_tx_initiation(peer, false);
}

static void forget_keys(struct wg_peer *peer)
{
	struct workqueue_struct *wq = peer->device->handshake_send_wq;

	/* The work holds a reference; a dead peer's keys are going anyway. */
	rcu_read_lock_bh();
	if (likely(!READ_ONCE(peer->is_dead))) {
		wg_peer_ref(peer);
		if (!queue_work(wq, &peer->timers.forget_work))
			wg_peer_unref(peer);
	}
	rcu_read_unlock_bh();
}

static void forget_work(struct work_struct *work)
{
	struct wg_peer *peer;

	peer = container_of(work, struct wg_peer, timers.forget_work);

	net_dbg_ratelimited("%s: peer %llu: no new session for %d s, keys zeroed\n",
			    dev_name_of(peer), peer->internal_id,
			    WG_REJECT_AFTER_SECS * 3);
	wg_exchange_reset(peer);
	wg_keypairs_clear(peer);
	wg_peer_unref(peer);
}

static void fired_resend(struct timer_list *t)
{
	resend_initiation(owner_of(t, WG_TIMER_RESEND));
}

static void fired_keepalive(struct timer_list *t)
{
	send_keepalive(owner_of(t, WG_TIMER_KEEPALIVE));
}

static void fired_rehandshake(struct timer_list *t)
{
	rehandshake(owner_of(t, WG_TIMER_REHANDSHAKE));
}

static void fired_forget(struct timer_list *t)
{
	forget_keys(owner_of(t, WG_TIMER_FORGET));
}

static void fired_heartbeat(struct timer_list *t)
{
	struct wg_peer *peer = owner_of(t, WG_TIMER_HEARTBEAT);

	/* Turned off since it was armed: nothing to send. */
	if (READ_ONCE(peer->persistent_keepalive_interval))
		wg_tx_keepalive(peer);
}

static void (*const fire[WG_TIMER_KINDS])(struct timer_list *) = {
	[WG_TIMER_RESEND] = fired_resend,
	[WG_TIMER_KEEPALIVE] = fired_keepalive,
	[WG_TIMER_REHANDSHAKE] = fired_rehandshake,
	[WG_TIMER_FORGET] = fired_forget,
	[WG_TIMER_HEARTBEAT] = fired_heartbeat,
};

void wg_timers_on_data_sent(struct wg_peer *peer)
{
	start_once(peer, WG_TIMER_REHANDSHAKE);
}

void wg_timers_on_data_received(struct wg_peer *peer)
{
	if (!netif_running(peer->device->dev))
		return;
	if (timer_pending(timer_of(peer, WG_TIMER_KEEPALIVE)))
		peer->timers.keepalive_again = true;
	else
		start(peer, WG_TIMER_KEEPALIVE);
}

void wg_timers_on_sent(struct wg_peer *peer)
{
	/* Whatever we sent told the peer we are alive. */
	cancel(peer, WG_TIMER_KEEPALIVE);
}

void wg_timers_on_received(struct wg_peer *peer)
{
	/* The peer answers: no need to suspect the session. */
	cancel(peer, WG_TIMER_REHANDSHAKE);
}

void wg_timers_on_traffic(struct wg_peer *peer)
{
	if (READ_ONCE(peer->persistent_keepalive_interval))
		start(peer, WG_TIMER_HEARTBEAT);
}

void wg_timers_on_initiation_sent(struct wg_peer *peer)
{
	start(peer, WG_TIMER_RESEND);
}

void wg_timers_on_handshake_done(struct wg_peer *peer)
{
	cancel(peer, WG_TIMER_RESEND);
	peer->timers.tries = 0;
	peer->timers.lastminute_sent = false;
	ktime_get_real_ts64(&peer->walltime_last_handshake);
}

void wg_timers_on_new_session(struct wg_peer *peer)
{
	start(peer, WG_TIMER_FORGET);
}

void wg_timers_setup(struct wg_peer *peer)
{
	struct wg_peer_timers *pt = &peer->timers;
	enum wg_timer_kind kind;

	for (kind = 0; kind < WG_TIMER_KINDS; kind++)
		timer_setup(&pt->t[kind], fire[kind], 0);
	INIT_WORK(&pt->forget_work, forget_work);
	pt->tries = 0;
	pt->keepalive_again = false;
	pt->lastminute_sent = false;
}

void wg_timers_stop(struct wg_peer *peer)
{
	enum wg_timer_kind kind;

	for (kind = 0; kind < WG_TIMER_KINDS; kind++)
		timer_delete_sync(timer_of(peer, kind));
	flush_work(&peer->timers.forget_work);
}
