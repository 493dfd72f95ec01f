// SPDX-License-Identifier: GPL-2.0
/*
 * mac1 proves the sender knows our public key; it is checked on every
 * handshake message before anything costly.  mac2 proves the sender can
 * receive at its address: under load we answer an initiation or response
 * with a cookie, MAC(secret, address), sealed with XChaCha20-Poly1305
 * under a key only holders of our public key have and bound to the mac1
 * it answers; the sender repeats its message with mac2 = MAC(cookie, ...).
 */
#include "cookie.h"
#include "symmetric.h"

#include <linux/random.h>
#include <linux/string.h>
#include <linux/time64.h>
#include <crypto/algapi.h>
#include <crypto/chacha20poly1305.h>

static const u8 label_mac1[] = "mac1----";
static const u8 label_cookie[] = "cookie--";

/* The MACs are the last 32 bytes; each covers everything before it. */
#define MAC1_OFFSET(len) ((len) - 2 * WG_MAC_LEN)
#define MAC2_OFFSET(len) ((len) - WG_MAC_LEN)

static void derive_keys(u8 mac1_key[WG_SYMKEY_LEN],
			u8 reply_key[WG_SYMKEY_LEN],
			const u8 public[WG_PUBLIC_LEN])
{
	wg_sym_hash(mac1_key, label_mac1, sizeof(label_mac1) - 1, public,
		    WG_PUBLIC_LEN);
	wg_sym_hash(reply_key, label_cookie, sizeof(label_cookie) - 1, public,
		    WG_PUBLIC_LEN);
}

static bool older_than(u64 born, u64 now_ns, unsigned int secs)
{
	return now_ns - born >= (u64)secs * NSEC_PER_SEC;
}

void wg_cookie_make(u8 cookie[WG_COOKIE_LEN], const u8 secret[WG_HASH_LEN],
		    const u8 *source, size_t source_len)
{
	wg_sym_mac(cookie, secret, WG_HASH_LEN, source, source_len);
}

void wg_cookie_seal_reply(struct wg_msg_cookie *reply,
			  const u8 reply_key[WG_SYMKEY_LEN], __le32 receiver,
			  const u8 cookie[WG_COOKIE_LEN],
			  const u8 mac1[WG_MAC_LEN],
			  const u8 nonce[WG_COOKIE_NONCE_LEN])
{
	reply->type = cpu_to_le32(WG_MSG_COOKIE);
	reply->receiver = receiver;
	memcpy(reply->nonce, nonce, WG_COOKIE_NONCE_LEN);
	xchacha20poly1305_encrypt(reply->sealed_cookie, cookie, WG_COOKIE_LEN,
				  mac1, WG_MAC_LEN, reply->nonce, reply_key);
}

void wg_cookie_guard_init(struct wg_cookie_guard *g)
{
	memset(g, 0, sizeof(*g));
	spin_lock_init(&g->lock);
}

void wg_cookie_guard_set_key(struct wg_cookie_guard *g,
			     const u8 public[WG_PUBLIC_LEN])
{
	if (public) {
		derive_keys(g->mac1_key, g->reply_key, public);
	} else {
		memzero_explicit(g->mac1_key, WG_SYMKEY_LEN);
		memzero_explicit(g->reply_key, WG_SYMKEY_LEN);
	}
}

/* The cookie for @source now; a secret past its age is replaced first. */
static void current_cookie(struct wg_cookie_guard *g,
			   u8 cookie[WG_COOKIE_LEN], const u8 *source,
			   size_t source_len, u64 now_ns)
{
	spin_lock_bh(&g->lock);
	if (!g->secret_born ||
	    older_than(g->secret_born, now_ns, WG_COOKIE_SECRET_SECS)) {
		get_random_bytes(g->secret, WG_HASH_LEN);
		/* 0 means "never": a clock reading of 0 still counts. */
		g->secret_born = now_ns ?: 1;
	}
	wg_cookie_make(cookie, g->secret, source, source_len);
	spin_unlock_bh(&g->lock);
}

enum wg_mac_verdict wg_cookie_guard_check(struct wg_cookie_guard *g,
					  const void *msg, size_t len,
					  const u8 *source, size_t source_len,
					  bool check_mac2, u64 now_ns)
{
	enum wg_mac_verdict verdict = WG_MAC_BAD;
	u8 cookie[WG_COOKIE_LEN];
	u8 mac[WG_MAC_LEN];

	if (len < 2 * WG_MAC_LEN)
		return WG_MAC_BAD;
	wg_sym_mac(mac, g->mac1_key, WG_SYMKEY_LEN, msg, MAC1_OFFSET(len));
	if (crypto_memneq(mac, (const u8 *)msg + MAC1_OFFSET(len), WG_MAC_LEN))
		goto out;
	verdict = WG_MAC_OK;
	if (!check_mac2)
		goto out;

	current_cookie(g, cookie, source, source_len, now_ns);
	wg_sym_mac(mac, cookie, WG_COOKIE_LEN, msg, MAC2_OFFSET(len));
	if (!crypto_memneq(mac, (const u8 *)msg + MAC2_OFFSET(len), WG_MAC_LEN))
		verdict = WG_MAC_OK_COOKIE;
	memzero_explicit(cookie, sizeof(cookie));
out:
	memzero_explicit(mac, sizeof(mac));
	return verdict;
}

void wg_cookie_guard_reply(struct wg_cookie_guard *g,
			   struct wg_msg_cookie *reply, __le32 receiver,
			   const u8 mac1[WG_MAC_LEN], const u8 *source,
			   size_t source_len, u64 now_ns)
{
	u8 nonce[WG_COOKIE_NONCE_LEN];
	u8 cookie[WG_COOKIE_LEN];

	get_random_bytes(nonce, sizeof(nonce));
	current_cookie(g, cookie, source, source_len, now_ns);
	wg_cookie_seal_reply(reply, g->reply_key, receiver, cookie, mac1,
			     nonce);
	memzero_explicit(cookie, sizeof(cookie));
}

void wg_cookie_jar_init(struct wg_cookie_jar *jar,
			const u8 their_public[WG_PUBLIC_LEN])
{
	memset(jar, 0, sizeof(*jar));
	spin_lock_init(&jar->lock);
	derive_keys(jar->mac1_key, jar->reply_key, their_public);
}

void wg_cookie_jar_stamp(struct wg_cookie_jar *jar, void *msg, size_t len,
			 u64 now_ns)
{
	u8 *mac1 = (u8 *)msg + MAC1_OFFSET(len);
	u8 *mac2 = (u8 *)msg + MAC2_OFFSET(len);

	wg_sym_mac(mac1, jar->mac1_key, WG_SYMKEY_LEN, msg, MAC1_OFFSET(len));

	spin_lock_bh(&jar->lock);
	memcpy(jar->last_mac1, mac1, WG_MAC_LEN);
	jar->sent_mac1 = true;
	/* Stop using a cookie a little before the responder's secret moves on. */
	if (jar->have_cookie &&
	    !older_than(jar->cookie_born, now_ns,
			WG_COOKIE_SECRET_SECS - WG_COOKIE_MARGIN_SECS))
		wg_sym_mac(mac2, jar->cookie, WG_COOKIE_LEN, msg,
			   MAC2_OFFSET(len));
	else
		memset(mac2, 0, WG_MAC_LEN);
	spin_unlock_bh(&jar->lock);
}

bool wg_cookie_jar_take(struct wg_cookie_jar *jar,
			const struct wg_msg_cookie *reply, u64 now_ns)
{
	u8 cookie[WG_COOKIE_LEN];
	bool ok = false;

	spin_lock_bh(&jar->lock);
	if (!jar->sent_mac1)
		goto out;
	if (!xchacha20poly1305_decrypt(cookie, reply->sealed_cookie,
				       sizeof(reply->sealed_cookie),
				       jar->last_mac1, WG_MAC_LEN,
				       reply->nonce, jar->reply_key))
		goto out;
	memcpy(jar->cookie, cookie, WG_COOKIE_LEN);
	jar->cookie_born = now_ns;
	jar->have_cookie = true;
	/* One cookie per message sent: a second reply answers nothing. */
	jar->sent_mac1 = false;
	ok = true;
out:
	spin_unlock_bh(&jar->lock);
	memzero_explicit(cookie, sizeof(cookie));
	return ok;
}
