/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake of the WireGuard
 * paper (section 5.4), as functions over keys and message bytes.
 *
 * The caller passes in everything the core would otherwise look up: our
 * identity, the peer's handshake state, fresh ephemeral keys, the clock,
 * the local index it registered.  It serialises calls on one handshake
 * state and keeps the identity stable while a call runs.
 *
 * Answering an initiation takes two steps, because only the message says
 * which peer sent it: wg_handshake_open_initiation() recovers the
 * initiator's static key; the caller finds that peer and hands its state
 * to wg_handshake_accept_initiation(), which applies the timestamp and
 * flood rules and takes the initiation in.
 */
#ifndef _WG_CORE_HANDSHAKE_H
#define _WG_CORE_HANDSHAKE_H

#include "wire.h"

struct wg_session;
struct timespec64;

struct wg_identity {
	u8 public[WG_PUBLIC_LEN];
	u8 private[WG_PUBLIC_LEN];	/* clamped */
	bool valid;			/* false while no private key is set */
};

enum wg_handshake_stage {
	WG_HS_IDLE,
	WG_HS_SENT_INITIATION,
	WG_HS_GOT_INITIATION,
	WG_HS_SENT_RESPONSE,
	WG_HS_GOT_RESPONSE,
};

struct wg_handshake {
	enum wg_handshake_stage stage;
	u8 remote_static[WG_PUBLIC_LEN];
	u8 psk[WG_SYMKEY_LEN];
	/* DH(our static, their static), all zero if it cannot be had. */
	u8 static_dh[WG_PUBLIC_LEN];
	u8 ephemeral[WG_PUBLIC_LEN];		/* ours, private */
	u8 remote_ephemeral[WG_PUBLIC_LEN];
	u8 hash[WG_HASH_LEN];
	u8 chain[WG_HASH_LEN];
	/* Newest accepted initiation: its timestamp and our clock then. */
	u8 newest_tai64n[WG_TAI64N_LEN];
	u64 newest_initiation_ns;
	__le32 local_index, remote_index;
};

/* What the first step of answering an initiation found. */
struct wg_initiation_opened {
	u8 remote_static[WG_PUBLIC_LEN];
	u8 remote_ephemeral[WG_PUBLIC_LEN];
	u8 hash[WG_HASH_LEN];
	u8 chain[WG_HASH_LEN];
};

enum wg_handshake_verdict {
	WG_HS_OK,
	WG_HS_REJECTED,		/* does not authenticate, or wrong stage */
	WG_HS_REPLAYED,		/* timestamp not newer than the newest */
	WG_HS_FLOOD,		/* too soon after the previous initiation */
};

/* Module init: the hash of the protocol's name, the same for everyone. */
void wg_handshake_prepare(void);

/* Keys. */
void wg_keys_generate(u8 private[WG_PUBLIC_LEN]);
/* Sets @id from @private (clamped); all zero makes it invalid. */
void wg_identity_set(struct wg_identity *id, const u8 private[WG_PUBLIC_LEN]);
/* TAI64N label of @now, its nanoseconds coarsened below the flood rule. */
void wg_tai64n(u8 out[WG_TAI64N_LEN], const struct timespec64 *now);

/* @psk may be NULL (no pre-shared key). */
void wg_handshake_init(struct wg_handshake *hs,
		       const u8 remote_static[WG_PUBLIC_LEN],
		       const u8 psk[WG_SYMKEY_LEN],
		       const struct wg_identity *me);
/* Recomputes the static-static DH after our identity changed. */
void wg_handshake_precompute(struct wg_handshake *hs,
			     const struct wg_identity *me);
/* Forgets a handshake in progress; keeps keys and the replay rule's state. */
void wg_handshake_reset(struct wg_handshake *hs);

/*
 * Fills @msg except mac1 and mac2 (wg_cookie_jar_stamp()).  @ephemeral is
 * a fresh private key, @local_index the index the caller registered.
 */
bool wg_handshake_create_initiation(struct wg_handshake *hs,
				    const struct wg_identity *me,
				    const u8 ephemeral[WG_PUBLIC_LEN],
				    const u8 tai64n[WG_TAI64N_LEN],
				    __le32 local_index,
				    struct wg_msg_initiation *msg);
bool wg_handshake_open_initiation(const struct wg_identity *me,
				  const struct wg_msg_initiation *msg,
				  struct wg_initiation_opened *opened);
/* Wipes @opened in every case. */
enum wg_handshake_verdict
wg_handshake_accept_initiation(struct wg_handshake *hs,
			       struct wg_initiation_opened *opened,
			       const struct wg_msg_initiation *msg, u64 now_ns);
bool wg_handshake_create_response(struct wg_handshake *hs,
				  const u8 ephemeral[WG_PUBLIC_LEN],
				  __le32 local_index,
				  struct wg_msg_response *msg);
/* The caller found @hs by msg->receiver, its local index. */
enum wg_handshake_verdict
wg_handshake_consume_response(struct wg_handshake *hs,
			      const struct wg_identity *me,
			      const struct wg_msg_response *msg);
/*
 * After a response was sent (responder) or consumed (initiator): fills
 * @s with the transport keys, born at @now_ns, and resets @hs.  The
 * session's local index is hs->local_index as it was before the call.
 */
bool wg_handshake_derive(struct wg_handshake *hs, struct wg_session *s,
			 u64 now_ns);

#endif /* _WG_CORE_HANDSHAKE_H */
