/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tunnel's state for one wg device: its crypt rings and workers, its
 * sockets, its identity and cookie guard, its tables and peers, and the
 * counters of everything it drops.  The face (module/device.c) creates it
 * with the net_device, whose private area it is, and reports the counters.
 */
#ifndef _WG_TUNNEL_TUNNEL_H
#define _WG_TUNNEL_TUNNEL_H

#include "../core/cookie.h"
#include "../core/handshake.h"
#include "limits.h"
#include "../tables/allowedips.h"
#include "../tables/index.h"
#include "../tables/keys.h"
#include "ring.h"
#include "rx.h"
#include "tx.h"

#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/rwsem.h>

/*
 * One counter per reason a packet is dropped or a handshake refused, and
 * two of work done (handshakes completed, lone short packets the sender
 * sent itself: send.c), shown by `ethtool -S` under the names in device.c.
 */
enum wg_stat {
	WG_STAT_RX_BAD_TYPE,
	WG_STAT_RX_BAD_SIZE,
	WG_STAT_RX_NO_KEYPAIR,
	WG_STAT_RX_EXPIRED_KEYPAIR,
	WG_STAT_RX_REPLAY,
	WG_STAT_RX_AUTH_FAIL,
	WG_STAT_RX_BAD_INNER,
	WG_STAT_RX_SRC_NOT_ALLOWED,
	WG_STAT_RX_QUEUE_FULL,
	WG_STAT_RX_HANDSHAKE_INVALID,
	WG_STAT_RX_HANDSHAKE_BAD_MAC,
	WG_STAT_RX_HANDSHAKE_RATELIMITED,
	WG_STAT_RX_HANDSHAKE_QUEUE_FULL,
	WG_STAT_RX_COOKIE_REPLIES_SENT,
	WG_STAT_RX_COOKIE_INVALID,
	WG_STAT_RX_KEEPALIVES,
	WG_STAT_TX_NO_PEER,
	WG_STAT_TX_NO_ENDPOINT,
	WG_STAT_TX_BAD_PROTOCOL,
	WG_STAT_TX_STAGED_OVERFLOW,
	WG_STAT_TX_ROUTE_FAIL,
	WG_STAT_TX_ROUTING_LOOP,
	WG_STAT_TX_QUEUE_FULL,
	WG_STAT_TX_NOMEM,
	WG_STAT_TX_KEY_EXHAUSTED,
	WG_STAT_HANDSHAKES_COMPLETED,
	WG_STAT_TX_DIRECT,
	WG_STAT_TX_ORDER_WAITS,
	__WG_STAT_MAX,
	/*
	 * The link's generic counters: what the data path delivered, and
	 * its drops in the kernel's classes.  The face reports them in the
	 * device's rtnl_link_stats64 (ip -s link), not in ethtool -S.
	 * Transmitted datagrams are counted by the kernel's UDP tunnel
	 * transmit itself; WG_LINK_TX_PACKETS adds the other messages of
	 * an outer batch, which leaves as one datagram there.
	 */
	WG_LINK_RX_PACKETS = __WG_STAT_MAX,
	WG_LINK_RX_BYTES,
	WG_LINK_RX_DROPPED,
	WG_LINK_RX_ERRORS,
	WG_LINK_RX_FRAME_ERRORS,
	WG_LINK_RX_LENGTH_ERRORS,
	WG_LINK_TX_PACKETS,
	WG_LINK_TX_DROPPED,
	WG_LINK_TX_ERRORS,
	__WG_COUNTERS
};

struct wg_device {
	struct net_device *dev;
	/* One counter per enum wg_stat, per CPU: the face sums them. */
	u64 __percpu *stats;

	/*
	 * config_lock serialises every change of the configuration: the
	 * peer list, allowed IPs, keys, port and fwmark.
	 */
	struct mutex config_lock;
	struct list_head peers;
	unsigned int num_peers;
	/* Bumped on every configuration change, for split dumps. */
	unsigned int device_update_gen;
	u32 fwmark;
	/* identity_lock: handshakes read the identity, netlink replaces it. */
	struct rw_semaphore identity_lock;
	struct wg_identity identity;
	struct wg_cookie_guard cookie_guard;

	/* The tables (module/tables), changed under config_lock. */
	struct wg_allowedips peer_allowedips;
	struct wg_index_table *indexes;
	struct wg_key_table *peer_keys;

	/* The sockets (udp.c); udp_lock orders their writers. */
	struct mutex udp_lock;
	struct sock __rcu *sock4, *sock6;
	u16 listen_port;
	/* The namespace the sockets live in; never changes, not counted. */
	struct net __rcu *creating_net;

	/* The crypt rings and their workers (ring.c, send.c, receive.c). */
	struct workqueue_struct *packet_crypt_wq, *handshake_receive_wq;
	struct workqueue_struct *handshake_send_wq;
	struct wg_crypt_ring encrypt_queue, decrypt_queue, handshake_queue;
	atomic_t handshake_queue_len;
	/* When the handshake queue was last found long: cookie mode. */
	u64 last_under_load;

	/* On the module's list of devices (device.c). */
	struct list_head device_list;
};

/*
 * The tunnel's half of a device (tunnel.c): everything but the net_device.
 * wg_tunnel_init() unwinds itself on failure; wg_tunnel_uninit() closes
 * the sockets, retires the peers and waits for the workers.
 */
int wg_tunnel_init(struct wg_device *wg, struct net *net);
void wg_tunnel_uninit(struct wg_device *wg);
/*
 * The device is being unregistered: close the sockets, retire the peers
 * and let queued work finish, so that nothing holds the device any more.
 * wg_tunnel_uninit() frees the rest later.
 */
void wg_tunnel_quiesce(struct wg_device *wg);
/*
 * The device goes up (bind the sockets, send what was staged) or down
 * (close them; every peer forgets its sessions and staged packets).
 */
int wg_tunnel_up(struct wg_device *wg);
void wg_tunnel_down(struct wg_device *wg);
/*
 * The namespace the sockets live in is going: close them for good and
 * forget every peer's source address (it was one of that namespace's).
 */
void wg_tunnel_orphan(struct wg_device *wg);

/* created/destroyed lines that let the tests prove nothing leaked. */
#define wg_dbg_obj(fmt, ...)                                \
	do {                                                \
		if (IS_ENABLED(CONFIG_WG_DEBUG))            \
			pr_info(fmt, ##__VA_ARGS__);        \
	} while (0)

static inline void wg_stat_add(struct wg_device *wg, enum wg_stat stat,
			       unsigned int n)
{
	this_cpu_add(wg->stats[stat], n);
}

static inline void wg_stat_inc(struct wg_device *wg, enum wg_stat stat)
{
	wg_stat_add(wg, stat, 1);
}

/* out[i] = counter @first + i summed over the CPUs, for i < @n. */
void wg_stats_sum(struct wg_device *wg, enum wg_stat first, unsigned int n,
		  u64 *out);

/*
 * Queued handshakes at which the device is under load and demands cookies.
 * A debug build lowers it with the module parameter under_load_handshakes
 * (the debug lane's KASAN kernel cannot send a flood fast enough).
 */
#ifdef CONFIG_WG_DEBUG
extern unsigned int wg_under_load_handshakes;
#define WG_UNDER_LOAD_HANDSHAKES READ_ONCE(wg_under_load_handshakes)
#else
#define WG_UNDER_LOAD_HANDSHAKES (WG_MAX_QUEUED_HANDSHAKES / 8)
#endif

#endif /* _WG_TUNNEL_TUNNEL_H */
