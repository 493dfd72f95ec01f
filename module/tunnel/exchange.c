// SPDX-License-Identifier: GPL-2.0
/*
 * A peer's handshakes, wired to the device: the core (core/handshake.c,
 * core/cookie.c) computes; this file takes the locks, registers the
 * indexes the remote side will address us by, finds peers by static key or
 * index, and reads the clocks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "exchange.h"
#include "../core/cookie.h"
#include "../core/handshake.h"
#include "tunnel.h"
#include "keypair.h"
#include "peer.h"

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/timekeeping.h>

static u64 now_ns(void)
{
	return ktime_get_coarse_boottime_ns();
}

void wg_exchange_peer_init(struct wg_peer *peer,
			   const u8 public_key[WG_PUBLIC_LEN],
			   const u8 preshared_key[WG_SYMKEY_LEN])
{
	struct wg_device *wg = peer->device;

	/* Our identity changes only under config_lock, held here. */
	lockdep_assert_held(&wg->config_lock);
	init_rwsem(&peer->handshake_lock);
	wg_handshake_init(&peer->handshake, public_key, preshared_key,
			  &wg->identity);
	wg_cookie_jar_init(&peer->cookie_jar, public_key);
	wg_index_slot_init(&peer->handshake_slot, WG_INDEX_HANDSHAKE);
	wg_session_slots_init(&peer->sessions);
}

void wg_exchange_reset(struct wg_peer *peer)
{
	down_write(&peer->handshake_lock);
	wg_index_release(peer->device->indexes, &peer->handshake_slot);
	wg_handshake_reset(&peer->handshake);
	up_write(&peer->handshake_lock);
}

void wg_exchange_allow_initiation(struct wg_peer *peer)
{
	atomic64_set(&peer->last_sent_handshake,
		     now_ns() - (u64)(WG_REKEY_TIMEOUT_SECS + 1) * NSEC_PER_SEC);
}

void wg_exchange_set_identity(struct wg_device *wg,
			      const u8 private_key[WG_PUBLIC_LEN])
{
	struct wg_peer *peer;

	lockdep_assert_held(&wg->config_lock);
	down_write(&wg->identity_lock);
	wg_identity_set(&wg->identity, private_key);
	wg_cookie_guard_set_key(&wg->cookie_guard, wg->identity.valid ?
				wg->identity.public : NULL);
	list_for_each_entry(peer, &wg->peers, device_link) {
		down_write(&peer->handshake_lock);
		wg_handshake_precompute(&peer->handshake, &wg->identity);
		up_write(&peer->handshake_lock);
		/* A handshake begun under the old key cannot finish. */
		wg_exchange_reset(peer);
		/* Sessions derived from the old identity must stop sending. */
		wg_session_slots_stop_sending(&peer->sessions);
	}
	up_write(&wg->identity_lock);
}

bool wg_exchange_create_initiation(struct wg_peer *peer,
				   struct wg_msg_initiation *msg)
{
	struct wg_device *wg = peer->device;
	u8 ephemeral[WG_PUBLIC_LEN];
	u8 tai64n[WG_TAI64N_LEN];
	struct timespec64 now;
	bool ok = false;
	__le32 index;

	wg_keys_generate(ephemeral);
	ktime_get_real_ts64(&now);
	wg_tai64n(tai64n, &now);

	down_read(&wg->identity_lock);
	down_write(&peer->handshake_lock);
	if (!wg->identity.valid)
		goto out;
	index = wg_index_claim(wg->indexes, &peer->handshake_slot);
	ok = wg_handshake_create_initiation(&peer->handshake, &wg->identity,
					    ephemeral, tai64n, index, msg);
	if (!ok)
		wg_index_release(wg->indexes, &peer->handshake_slot);
out:
	up_write(&peer->handshake_lock);
	up_read(&wg->identity_lock);
	memzero_explicit(ephemeral, sizeof(ephemeral));
	if (ok)
		wg_cookie_jar_stamp(&peer->cookie_jar, msg, sizeof(*msg),
				    now_ns());
	return ok;
}

bool wg_exchange_create_response(struct wg_peer *peer,
				 struct wg_msg_response *msg)
{
	struct wg_device *wg = peer->device;
	u8 ephemeral[WG_PUBLIC_LEN];
	bool ok;
	__le32 index;

	wg_keys_generate(ephemeral);
	down_write(&peer->handshake_lock);
	index = wg_index_claim(wg->indexes, &peer->handshake_slot);
	ok = wg_handshake_create_response(&peer->handshake, ephemeral, index,
					  msg);
	if (!ok)
		wg_index_release(wg->indexes, &peer->handshake_slot);
	up_write(&peer->handshake_lock);
	memzero_explicit(ephemeral, sizeof(ephemeral));
	if (ok)
		wg_cookie_jar_stamp(&peer->cookie_jar, msg, sizeof(*msg),
				    now_ns());
	return ok;
}

struct wg_peer *wg_exchange_consume_initiation(struct wg_device *wg,
					       const struct wg_msg_initiation *msg)
{
	enum wg_handshake_verdict verdict = WG_HS_REJECTED;
	struct wg_initiation_opened opened;
	struct wg_peer *peer = NULL;

	down_read(&wg->identity_lock);
	if (!wg_handshake_open_initiation(&wg->identity, msg, &opened))
		goto out;
	/* The core found who claims to have sent it; is that a peer of ours? */
	peer = wg_peer_by_key(wg, opened.remote_static);
	if (!peer)
		goto out;
	down_write(&peer->handshake_lock);
	verdict = wg_handshake_accept_initiation(&peer->handshake, &opened,
						 msg, now_ns());
	up_write(&peer->handshake_lock);
out:
	up_read(&wg->identity_lock);
	memzero_explicit(&opened, sizeof(opened));
	if (verdict == WG_HS_OK)
		return peer;
	if (peer)
		net_dbg_ratelimited("%s: peer %llu: initiation refused (%s)\n",
				    wg->dev->name, peer->internal_id,
				    verdict == WG_HS_REPLAYED ? "replayed" :
				    verdict == WG_HS_FLOOD ? "too soon" :
				    "does not authenticate");
	wg_peer_unref(peer);
	return NULL;
}

struct wg_peer *wg_exchange_consume_response(struct wg_device *wg,
					     const struct wg_msg_response *msg)
{
	enum wg_handshake_verdict verdict;
	struct wg_peer *peer = NULL;

	peer = wg_peer_by_index(wg, msg->receiver, WG_INDEX_HANDSHAKE);
	if (!peer)
		return NULL;
	down_read(&wg->identity_lock);
	down_write(&peer->handshake_lock);
	verdict = wg_handshake_consume_response(&peer->handshake,
						&wg->identity, msg);
	up_write(&peer->handshake_lock);
	up_read(&wg->identity_lock);
	if (verdict == WG_HS_OK)
		return peer;
	wg_peer_unref(peer);
	return NULL;
}

size_t wg_exchange_source(const struct sk_buff *skb, u8 out[18])
{
	const __be16 port = udp_hdr(skb)->source;
	size_t len;

	if (skb->protocol == htons(ETH_P_IP)) {
		len = sizeof(ip_hdr(skb)->saddr);
		memcpy(out, &ip_hdr(skb)->saddr, len);
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		len = sizeof(ipv6_hdr(skb)->saddr);
		memcpy(out, &ipv6_hdr(skb)->saddr, len);
	} else {
		return 0;
	}
	memcpy(out + len, &port, sizeof(port));
	return len + sizeof(port);
}

bool wg_exchange_take_cookie(struct wg_device *wg,
			     const struct wg_msg_cookie *reply)
{
	struct wg_peer *peer = NULL;
	bool ok;

	/* A reply answers an initiation, a response, or data under a key. */
	peer = wg_peer_by_index(wg, reply->receiver,
				WG_INDEX_HANDSHAKE | WG_INDEX_SESSION);
	if (!peer)
		return false;
	ok = wg_cookie_jar_take(&peer->cookie_jar, reply, now_ns());
	if (ok)
		net_dbg_ratelimited("%s: peer %llu: received a cookie\n",
				    wg->dev->name, peer->internal_id);
	wg_peer_unref(peer);
	return ok;
}
