/* SPDX-License-Identifier: GPL-2.0 */
/* The transmit path (send.c): messages and packets to a peer. */
#ifndef _WG_TUNNEL_TX_H
#define _WG_TUNNEL_TX_H

#include <linux/types.h>

struct sk_buff;
struct wg_device;
struct wg_peer;
struct work_struct;

/*
 * Handshake messages.  An initiation is queued to the peer's handshake
 * work (rate-limited to one per REKEY_TIMEOUT unless @retry); a response
 * and a cookie reply are sent at once.
 */
void wg_tx_initiation(struct wg_peer *peer, bool retry);
void wg_tx_initiation_worker(struct work_struct *work);
void wg_tx_response(struct wg_peer *peer);
void wg_tx_cookie(struct wg_device *wg, struct sk_buff *in_skb,
		  __le32 sender_index);
void wg_tx_keepalive(struct wg_peer *peer);

/*
 * Data.  wg_tx_stage() takes a packet from the device for @peer (cut into
 * segments if it is GSO, each to leave within @mtu), stages it and sends
 * what a session allows; false, @skb untouched, if it could not be cut.
 * wg_tx_staged() sends what is staged, in order.
 */
bool wg_tx_stage(struct wg_peer *peer, struct sk_buff *skb, u32 mtu);
void wg_tx_staged(struct wg_peer *peer);
void wg_tx_purge_staged(struct wg_peer *peer);
void wg_tx_encrypt_worker(struct work_struct *work);
void wg_tx_worker(struct work_struct *work);

#endif /* _WG_TUNNEL_TX_H */
