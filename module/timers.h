/* SPDX-License-Identifier: GPL-2.0 */
/* Protocol timers of one peer. */
#ifndef _WG_TIMERS_H
#define _WG_TIMERS_H

#include <linux/ktime.h>
#include <linux/jiffies.h>

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

static inline unsigned long wg_secs(unsigned int secs)
{
	return max_t(unsigned long, (unsigned long)secs * HZ / wg_time_divisor, 1);
}

static inline u64 wg_secs_ns(unsigned int secs)
{
	return (u64)secs * NSEC_PER_SEC / wg_time_divisor;
}

/* True if @birthdate_ns (boottime) is more than @secs protocol seconds ago. */
static inline bool wg_birthdate_has_expired(u64 birthdate_ns, unsigned int secs)
{
	return (s64)(birthdate_ns + wg_secs_ns(secs) - ktime_get_coarse_boottime_ns()) <= 0;
}

void wg_timers_init(struct wg_peer *peer);
void wg_timers_stop(struct wg_peer *peer);
void wg_timers_data_sent(struct wg_peer *peer);
void wg_timers_data_received(struct wg_peer *peer);
void wg_timers_any_authenticated_packet_sent(struct wg_peer *peer);
void wg_timers_any_authenticated_packet_received(struct wg_peer *peer);
void wg_timers_handshake_initiated(struct wg_peer *peer);
void wg_timers_handshake_complete(struct wg_peer *peer);
void wg_timers_session_derived(struct wg_peer *peer);
void wg_timers_any_authenticated_packet_traversal(struct wg_peer *peer);

#endif /* _WG_TIMERS_H */
