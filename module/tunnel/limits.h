/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This implementation's own bounds and sizes: how much it queues, how many
 * peers a device holds, the room it leaves in front of a packet.  The
 * protocol's numbers are in core/wire.h.
 */
#ifndef _WG_LIMITS_H
#define _WG_LIMITS_H

#include "../core/wire.h"

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/skbuff.h>
#include <linux/jiffies.h>

enum {
	/* Handshake messages waiting for the handshake worker, per device. */
	WG_MAX_QUEUED_HANDSHAKES = 4096,
	/* Packets waiting for a session, per peer. */
	WG_MAX_STAGED_PACKETS = 128,
	/* Packets in a peer's in-order queue, and in a crypt ring. */
	WG_MAX_QUEUED_PACKETS = 1024,
	WG_MAX_PEERS = 1U << 20,
};

/*
 * The message limits the data path applies.  A debug build (WG_DEBUG=1)
 * can lower them with the module parameters rekey_after_messages and
 * reject_after_messages, so that tests reach them; a normal build has the
 * protocol's constants.  The replay window's own bound stays
 * WG_REJECT_AFTER_MSGS.
 */
#ifdef CONFIG_WG_DEBUG
extern u64 wg_rekey_after_messages, wg_reject_after_messages;
#else
#define wg_rekey_after_messages WG_REKEY_AFTER_MSGS
#define wg_reject_after_messages WG_REJECT_AFTER_MSGS
#endif

/* Handshake messages go out as AF41 (DSCP 34), shifted into the TOS byte. */
#define WG_HANDSHAKE_TOS (34 << 2)

/* A retried initiation waits up to a third of a second more (paper 6.1). */
#define WG_REKEY_JITTER_JIFFIES (HZ / 3)

/* Room for the outer IP and UDP headers in front of a message. */
#define WG_SKB_HEADER_LEN \
	((sizeof(struct iphdr) > sizeof(struct ipv6hdr) ? \
	  sizeof(struct iphdr) : sizeof(struct ipv6hdr)) + \
	 sizeof(struct udphdr) + NET_SKB_PAD)
#define WG_DATA_HEADROOM \
	ALIGN(sizeof(struct wg_msg_data) + WG_SKB_HEADER_LEN, 4)

#endif /* _WG_LIMITS_H */
