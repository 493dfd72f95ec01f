/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A peer's protocol clock (the whitepaper's section 6): five timers that
 * the transmit and receive paths arm and cancel by telling this file what
 * just happened (wg_timers_on_*()), and what each does when it fires.
 */
#ifndef _WG_TUNNEL_TIMERS_H
#define _WG_TUNNEL_TIMERS_H

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

struct wg_peer;

/*
 * A debug build (WG_DEBUG=1) can divide every protocol time by the module
 * parameter time_divisor so that tests observe rekeys and key expiry within
 * seconds.  A normal build has the constant 1 and no parameter.
 */
#ifdef CONFIG_WG_DEBUG
extern unsigned int wg_time_divisor;
#else
#define wg_time_divisor 1U
#endif

/* @secs protocol seconds in jiffies (at least one). */
static inline unsigned long wg_secs(unsigned int secs)
{
	return max_t(unsigned long, (unsigned long)secs * HZ / wg_time_divisor,
		     1);
}

/* @secs protocol seconds in nanoseconds. */
static inline u64 wg_secs_ns(unsigned int secs)
{
	return (u64)secs * NSEC_PER_SEC / wg_time_divisor;
}

/* True if @birthdate_ns (boottime) is more than @secs protocol seconds ago. */
static inline bool wg_birthdate_has_expired(u64 birthdate_ns,
					    unsigned int secs)
{
	return (s64)(birthdate_ns + wg_secs_ns(secs) -
		     ktime_get_coarse_boottime_ns()) <= 0;
}

enum wg_timer_kind {
	/* Our initiation went unanswered for REKEY_TIMEOUT: send another. */
	WG_TIMER_RESEND,
	/* We received data and sent nothing back for KEEPALIVE: say so. */
	WG_TIMER_KEEPALIVE,
	/* We sent data and heard nothing for KEEPALIVE + REKEY_TIMEOUT. */
	WG_TIMER_REHANDSHAKE,
	/* No new session for 3 x REJECT_AFTER_TIME: forget every key. */
	WG_TIMER_FORGET,
	/* The user's persistent keepalive interval passed in silence. */
	WG_TIMER_HEARTBEAT,
	WG_TIMER_KINDS
};

/*
 * Written by the timer callbacks and by the packet paths, which the
 * protocol lets race: a lost update only moves a timer by one period.
 */
struct wg_peer_timers {
	struct timer_list t[WG_TIMER_KINDS];
	/* Forgetting keys sleeps, so the FORGET timer hands it to this. */
	struct work_struct forget_work;
	/* Initiations sent since the last completed handshake. */
	unsigned int tries;
	/* Data came in while KEEPALIVE was pending: one more after it. */
	bool keepalive_again;
	/*
	 * We sent the initiation a receiver makes when its session nears
	 * REJECT_AFTER_TIME (receive.c); reset by a completed handshake.
	 */
	bool lastminute_sent;
};

void wg_timers_setup(struct wg_peer *peer);
/* Waits for every callback and the forget work; nothing re-arms after. */
void wg_timers_stop(struct wg_peer *peer);

/* The events, as the whitepaper names them. */
void wg_timers_on_data_sent(struct wg_peer *peer);
void wg_timers_on_data_received(struct wg_peer *peer);
/* Any authenticated message (data, keepalive, handshake) sent/received. */
void wg_timers_on_sent(struct wg_peer *peer);
void wg_timers_on_received(struct wg_peer *peer);
/* Any authenticated message either way: the persistent keepalive waits. */
void wg_timers_on_traffic(struct wg_peer *peer);
void wg_timers_on_initiation_sent(struct wg_peer *peer);
void wg_timers_on_handshake_done(struct wg_peer *peer);
void wg_timers_on_new_session(struct wg_peer *peer);

#endif /* _WG_TUNNEL_TIMERS_H */
