// SPDX-License-Identifier: GPL-2.0
/*
 * MAC1, MAC2 and cookie replies.  MAC1 proves a handshake message was made
 * by someone who knows our public key, so it is cheap to drop junk before
 * any DH.  Under load the responder demands MAC2, keyed with a cookie that
 * only a sender who can receive at its source address can learn; the
 * ratelimiter then applies per address.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "compat.h"
#include "cookie.h"
#include "device.h"
#include "peer.h"
#include "peerlookup.h"
#include "ratelimiter.h"
#include "timers.h"
#include "messages.h"

#include <crypto/algapi.h>
#include <crypto/blake2s.h>
#include <crypto/chacha20poly1305.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/random.h>
#include <linux/string.h>
#include <net/ip.h>
#include <net/ipv6.h>

enum { COOKIE_KEY_LABEL_LEN = 8 };

static const u8 mac1_key_label[COOKIE_KEY_LABEL_LEN] __nonstring =
	"mac1----";
static const u8 cookie_key_label[COOKIE_KEY_LABEL_LEN] __nonstring =
	"cookie--";

/* key = BLAKE2s-256(label || public key) */
static void precompute_key(u8 key[NOISE_SYMMETRIC_KEY_LEN],
			   const u8 pubkey[NOISE_PUBLIC_KEY_LEN],
			   const u8 label[COOKIE_KEY_LABEL_LEN])
{
	struct wg_blake2s_state state;

	blake2s_init(&state, NOISE_SYMMETRIC_KEY_LEN);
	blake2s_update(&state, label, COOKIE_KEY_LABEL_LEN);
	blake2s_update(&state, pubkey, NOISE_PUBLIC_KEY_LEN);
	blake2s_final(&state, key);
}

void wg_cookie_checker_init(struct wg_cookie_checker *checker,
			    struct wg_device *wg)
{
	init_rwsem(&checker->secret_lock);
	checker->secret_birthdate = ktime_get_coarse_boottime_ns();
	get_random_bytes(checker->secret, NOISE_HASH_LEN);
	checker->device = wg;
}

/*
 * The caller holds the static identity's lock (for writing when it just
 * changed the key), so the public key is stable here; taking it again
 * would deadlock.
 */
void wg_cookie_checker_precompute_device_keys(struct wg_cookie_checker *checker)
{
	struct wg_noise_static_identity *identity =
		&checker->device->static_identity;

	lockdep_assert_held(&identity->lock);

	if (likely(identity->has_identity)) {
		precompute_key(checker->cookie_encryption_key,
			       identity->static_public, cookie_key_label);
		precompute_key(checker->message_mac1_key,
			       identity->static_public, mac1_key_label);
	} else {
		memset(checker->cookie_encryption_key, 0,
		       NOISE_SYMMETRIC_KEY_LEN);
		memset(checker->message_mac1_key, 0, NOISE_SYMMETRIC_KEY_LEN);
	}
}

/* The peer's public key never changes, so neither do these keys. */
void wg_cookie_checker_precompute_peer_keys(struct wg_peer *peer)
{
	precompute_key(peer->latest_cookie.cookie_decryption_key,
		       peer->handshake.remote_static, cookie_key_label);
	precompute_key(peer->latest_cookie.message_mac1_key,
		       peer->handshake.remote_static, mac1_key_label);
}

void wg_cookie_init(struct wg_cookie *cookie)
{
	memset(cookie, 0, sizeof(*cookie));
	init_rwsem(&cookie->lock);
}

/* MAC1 covers the message up to itself. */
static void compute_mac1(u8 mac1[COOKIE_LEN], const void *message, size_t len,
			 const u8 key[NOISE_SYMMETRIC_KEY_LEN])
{
	len -= sizeof(struct wg_message_macs);
	wg_blake2s(mac1, message, key, COOKIE_LEN, len, NOISE_SYMMETRIC_KEY_LEN);
}

/* MAC2 covers the message up to itself, MAC1 included. */
static void compute_mac2(u8 mac2[COOKIE_LEN], const void *message, size_t len,
			 const u8 cookie[COOKIE_LEN])
{
	len -= sizeof_field(struct wg_message_macs, mac2);
	wg_blake2s(mac2, message, cookie, COOKIE_LEN, len, COOKIE_LEN);
}

/*
 * cookie = BLAKE2s-128 keyed with the current secret over the source
 * address and port.  The secret is replaced every COOKIE_SECRET_MAX_AGE, so
 * a cookie a sender learnt stops working within two minutes.
 */
static void make_cookie(u8 cookie[COOKIE_LEN], struct sk_buff *skb,
			struct wg_cookie_checker *checker)
{
	struct wg_blake2s_state state;

	down_read(&checker->secret_lock);
	if (unlikely(wg_birthdate_has_expired(checker->secret_birthdate,
					      COOKIE_SECRET_MAX_AGE))) {
		up_read(&checker->secret_lock);
		down_write(&checker->secret_lock);
		/* Only the first of several waiting writers rotates. */
		if (wg_birthdate_has_expired(checker->secret_birthdate,
					     COOKIE_SECRET_MAX_AGE)) {
			checker->secret_birthdate =
				ktime_get_coarse_boottime_ns();
			get_random_bytes(checker->secret, NOISE_HASH_LEN);
		}
		downgrade_write(&checker->secret_lock);
	}

	blake2s_init_key(&state, COOKIE_LEN, checker->secret, NOISE_HASH_LEN);
	if (skb->protocol == htons(ETH_P_IP))
		blake2s_update(&state, (u8 *)&ip_hdr(skb)->saddr,
			       sizeof(struct in_addr));
	else if (skb->protocol == htons(ETH_P_IPV6))
		blake2s_update(&state, (u8 *)&ipv6_hdr(skb)->saddr,
			       sizeof(struct in6_addr));
	blake2s_update(&state, (u8 *)&udp_hdr(skb)->source, sizeof(__be16));
	blake2s_final(&state, cookie);

	up_read(&checker->secret_lock);
}

/*
 * Length of the handshake message at skb->data, from its type, or 0 if it
 * is not a handshake message carrying MACs or is short.
 */
static size_t mac_message_len(const struct sk_buff *skb)
{
	size_t len;

	if (skb_headlen(skb) < sizeof(struct wg_message_header))
		return 0;
	switch (le32_to_cpu(((struct wg_message_header *)skb->data)->type)) {
	case MESSAGE_HANDSHAKE_INITIATION:
		len = sizeof(struct wg_message_handshake_initiation);
		break;
	case MESSAGE_HANDSHAKE_RESPONSE:
		len = sizeof(struct wg_message_handshake_response);
		break;
	default:
		return 0;
	}
	/* The receive path has linearised the message; make sure. */
	return skb_headlen(skb) < len ? 0 : len;
}

enum wg_cookie_mac_state wg_cookie_validate_packet(struct wg_cookie_checker *checker,
						   struct sk_buff *skb,
						   bool check_cookie)
{
	size_t len = mac_message_len(skb);
	struct wg_message_macs *macs;
	enum wg_cookie_mac_state ret;
	u8 computed_mac[COOKIE_LEN];
	u8 cookie[COOKIE_LEN];

	if (!len)
		return INVALID_MAC;
	macs = (struct wg_message_macs *)(skb->data + len - sizeof(*macs));

	ret = INVALID_MAC;
	compute_mac1(computed_mac, skb->data, len, checker->message_mac1_key);
	if (crypto_memneq(computed_mac, macs->mac1, COOKIE_LEN))
		goto out;

	ret = VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;

	make_cookie(cookie, skb, checker);
	compute_mac2(computed_mac, skb->data, len, cookie);
	if (crypto_memneq(computed_mac, macs->mac2, COOKIE_LEN))
		goto out;

	/* The sender owns its address: now it is fair to rate limit that. */
	ret = VALID_MAC_WITH_COOKIE_BUT_RATELIMITED;
	if (!wg_ratelimiter_allow(skb, dev_net(checker->device->dev)))
		goto out;

	ret = VALID_MAC_WITH_COOKIE;

out:
	memzero_explicit(cookie, sizeof(cookie));
	return ret;
}

void wg_cookie_add_mac_to_packet(void *message, size_t len,
				 struct wg_peer *peer)
{
	struct wg_message_macs *macs =
		(struct wg_message_macs *)((u8 *)message + len - sizeof(*macs));
	struct wg_cookie *cookie = &peer->latest_cookie;

	down_write(&cookie->lock);

	compute_mac1(macs->mac1, message, len, cookie->message_mac1_key);
	/* A cookie reply to this message will be bound to this MAC1. */
	memcpy(cookie->last_mac1_sent, macs->mac1, COOKIE_LEN);
	cookie->have_sent_mac1 = true;

	/*
	 * Leave a margin before the responder's secret rotates, so it does
	 * not get a MAC2 it can no longer check.
	 */
	if (cookie->is_valid &&
	    !wg_birthdate_has_expired(cookie->birthdate,
				      COOKIE_SECRET_MAX_AGE -
				      COOKIE_SECRET_LATENCY))
		compute_mac2(macs->mac2, message, len, cookie->cookie);
	else
		memset(macs->mac2, 0, COOKIE_LEN);

	up_write(&cookie->lock);
}

void wg_cookie_message_create(struct wg_message_handshake_cookie *dst,
			      struct sk_buff *skb, __le32 index,
			      struct wg_cookie_checker *checker)
{
	size_t len = mac_message_len(skb);
	struct wg_message_macs *macs;
	u8 cookie[COOKIE_LEN];

	/*
	 * Only ever called for a message that passed MAC1 validation; if
	 * not, send nothing the other side would accept.
	 */
	if (unlikely(!len)) {
		memset(dst, 0, sizeof(*dst));
		return;
	}
	macs = (struct wg_message_macs *)(skb->data + len - sizeof(*macs));

	dst->header.type = cpu_to_le32(MESSAGE_HANDSHAKE_COOKIE);
	dst->receiver_index = index;
	get_random_bytes(dst->nonce, COOKIE_NONCE_LEN);

	make_cookie(cookie, skb, checker);
	/* Bound to the MAC1 it answers, so it cannot be replayed to others. */
	xchacha20poly1305_encrypt(dst->encrypted_cookie, cookie, COOKIE_LEN,
				  macs->mac1, COOKIE_LEN, dst->nonce,
				  checker->cookie_encryption_key);
	memzero_explicit(cookie, sizeof(cookie));
}

bool wg_cookie_message_consume(struct wg_message_handshake_cookie *src,
			       struct wg_device *wg)
{
	struct wg_index_hashtable_entry *entry;
	struct wg_peer *peer = NULL;
	u8 cookie[COOKIE_LEN];
	struct wg_cookie *c;
	bool ok = false;

	rcu_read_lock_bh();
	entry = wg_index_hashtable_lookup(wg->index_hashtable,
					  INDEX_HASHTABLE_HANDSHAKE |
					  INDEX_HASHTABLE_KEYPAIR,
					  src->receiver_index, &peer);
	rcu_read_unlock_bh();
	if (unlikely(!entry))
		return false;
	c = &peer->latest_cookie;

	down_read(&c->lock);
	/* Unsolicited, or answering a MAC1 we already had a reply for. */
	if (unlikely(!c->have_sent_mac1)) {
		up_read(&c->lock);
		goto out;
	}
	ok = xchacha20poly1305_decrypt(cookie, src->encrypted_cookie,
				       sizeof(src->encrypted_cookie),
				       c->last_mac1_sent, COOKIE_LEN,
				       src->nonce, c->cookie_decryption_key);
	up_read(&c->lock);

	if (ok) {
		down_write(&c->lock);
		memcpy(c->cookie, cookie, COOKIE_LEN);
		c->birthdate = ktime_get_coarse_boottime_ns();
		c->is_valid = true;
		c->have_sent_mac1 = false;
		up_write(&c->lock);
	} else {
		net_dbg_ratelimited("%s: could not decrypt invalid cookie response\n",
				    wg->dev->name);
	}

out:
	memzero_explicit(cookie, sizeof(cookie));
	wg_peer_put(peer);
	return ok;
}
