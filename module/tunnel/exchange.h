/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A peer's handshakes: the core's handshake and cookie functions fed
 * with this device's identity, its index table, its peers and the clock.
 *
 * Lock order: wg->identity_lock, peer->handshake_lock, the index table's
 * lock; a peer's session slots lock nests inside the handshake lock.
 */
#ifndef _WG_EXCHANGE_H
#define _WG_EXCHANGE_H

#include "../core/wire.h"

#include <linux/types.h>

struct sk_buff;
struct wg_device;
struct wg_peer;

/* Sets up @peer's handshake, cookie jar and index entry. */
void wg_exchange_peer_init(struct wg_peer *peer,
			   const u8 public_key[WG_PUBLIC_LEN],
			   const u8 preshared_key[WG_SYMKEY_LEN]);
/* Drops a handshake in progress and its index. */
void wg_exchange_reset(struct wg_peer *peer);
/* Lets the next initiation go out at once. */
void wg_exchange_allow_initiation(struct wg_peer *peer);

/* Changes our private key; caller holds wg->config_lock. */
void wg_exchange_set_identity(struct wg_device *wg,
			      const u8 private_key[WG_PUBLIC_LEN]);

/* Both fill the whole message, MACs included. */
bool wg_exchange_create_initiation(struct wg_peer *peer,
				   struct wg_msg_initiation *msg);
bool wg_exchange_create_response(struct wg_peer *peer,
				 struct wg_msg_response *msg);
/* Both return a reference to the peer that sent @msg, or NULL. */
struct wg_peer *wg_exchange_consume_initiation(struct wg_device *wg,
					       const struct wg_msg_initiation *msg);
struct wg_peer *wg_exchange_consume_response(struct wg_device *wg,
					     const struct wg_msg_response *msg);

/* The sender's address as the cookie binds it; returns its length. */
size_t wg_exchange_source(const struct sk_buff *skb, u8 out[18]);
/* A cookie reply for one of our messages; false if dropped. */
bool wg_exchange_take_cookie(struct wg_device *wg,
			     const struct wg_msg_cookie *reply);

#endif /* _WG_EXCHANGE_H */
