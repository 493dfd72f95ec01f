/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mac1, mac2 and cookie replies (WireGuard paper, section 5.4.4 and
 * 5.4.7): the defence of a responder under load.
 *
 * A guard is the responder's side, one per local identity: it checks
 * mac1 against our public key, and under load mac2 against a cookie made
 * from a secret that changes every two minutes and the sender's address.
 * A jar is the initiator's side, one per peer: it stamps mac1 (and mac2
 * while it holds a fresh cookie) on outgoing handshake messages, and takes
 * in the cookie replies that answer them.
 *
 * The caller passes the sender's address as opaque bytes (the IP address
 * then the UDP port, as on the wire), and the clock in ns.
 */
#ifndef _WG_CORE_COOKIE_H
#define _WG_CORE_COOKIE_H

#include "wire.h"

#include <linux/spinlock.h>

struct wg_cookie_guard {
	u8 mac1_key[WG_SYMKEY_LEN];	/* HASH("mac1----" || our public) */
	u8 reply_key[WG_SYMKEY_LEN];	/* HASH("cookie--" || our public) */
	u8 secret[WG_HASH_LEN];
	u64 secret_born;
	/*
	 * Protects secret and secret_born.  The keys change only when the
	 * caller changes our identity; a check racing that fails, as it
	 * would a moment later.
	 */
	spinlock_t lock;
};

struct wg_cookie_jar {
	u8 mac1_key[WG_SYMKEY_LEN];	/* HASH("mac1----" || their public) */
	u8 reply_key[WG_SYMKEY_LEN];	/* HASH("cookie--" || their public) */
	u8 cookie[WG_COOKIE_LEN];
	u64 cookie_born;
	bool have_cookie;
	/* The mac1 a cookie reply must answer. */
	u8 last_mac1[WG_MAC_LEN];
	bool sent_mac1;
	/* Protects everything from cookie on. */
	spinlock_t lock;
};

enum wg_mac_verdict {
	WG_MAC_BAD,		/* mac1 does not match: drop silently */
	WG_MAC_OK,		/* mac1 good; mac2 not checked or not good */
	WG_MAC_OK_COOKIE,	/* mac1 and mac2 good */
};

void wg_cookie_guard_init(struct wg_cookie_guard *g);
/* @public NULL: no identity, nothing will pass. */
void wg_cookie_guard_set_key(struct wg_cookie_guard *g,
			     const u8 public[WG_PUBLIC_LEN]);
/* @msg is a whole handshake message of @len bytes, ending in the MACs. */
enum wg_mac_verdict wg_cookie_guard_check(struct wg_cookie_guard *g,
					  const void *msg, size_t len,
					  const u8 *source, size_t source_len,
					  bool check_mac2, u64 now_ns);
/* Answers the message whose mac1 is @mac1 and sender index @receiver. */
void wg_cookie_guard_reply(struct wg_cookie_guard *g,
			   struct wg_msg_cookie *reply, __le32 receiver,
			   const u8 mac1[WG_MAC_LEN], const u8 *source,
			   size_t source_len, u64 now_ns);

void wg_cookie_jar_init(struct wg_cookie_jar *jar,
			const u8 their_public[WG_PUBLIC_LEN]);
/* Writes mac1 and mac2 of the handshake message @msg of @len bytes. */
void wg_cookie_jar_stamp(struct wg_cookie_jar *jar, void *msg, size_t len,
			 u64 now_ns);
/* Takes in a cookie reply; false if it answers nothing or is forged. */
bool wg_cookie_jar_take(struct wg_cookie_jar *jar,
			const struct wg_msg_cookie *reply, u64 now_ns);

/* The pieces, for the self-test's known answers. */
void wg_cookie_make(u8 cookie[WG_COOKIE_LEN], const u8 secret[WG_HASH_LEN],
		    const u8 *source, size_t source_len);
void wg_cookie_seal_reply(struct wg_msg_cookie *reply,
			  const u8 reply_key[WG_SYMKEY_LEN], __le32 receiver,
			  const u8 cookie[WG_COOKIE_LEN],
			  const u8 mac1[WG_MAC_LEN],
			  const u8 nonce[WG_COOKIE_NONCE_LEN]);

#endif /* _WG_CORE_COOKIE_H */
