/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protocol's numbers: the four message layouts as they travel (all
 * integers little endian), the sizes of keys and tags, and the times and
 * counts after which keys are replaced or refused (WireGuard paper,
 * sections 5.4 and 6).
 */
#ifndef _WG_CORE_WIRE_H
#define _WG_CORE_WIRE_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/limits.h>
#include <linux/types.h>

enum {
	WG_PUBLIC_LEN = 32,	/* Curve25519 keys, both halves */
	WG_SYMKEY_LEN = 32,	/* ChaCha20-Poly1305 and pre-shared keys */
	WG_HASH_LEN = 32,	/* BLAKE2s-256 */
	WG_TAG_LEN = 16,	/* Poly1305 */
	WG_TAI64N_LEN = 12,
	WG_MAC_LEN = 16,	/* mac1, mac2 and the cookie itself */
	WG_COOKIE_LEN = WG_MAC_LEN,
	WG_COOKIE_NONCE_LEN = 24,	/* XChaCha20-Poly1305 */
	WG_PADDING = 16,	/* transport plaintext is padded to this */
};

#define WG_SEALED(len) ((len) + WG_TAG_LEN)

/* The first byte of every message; the next three are zero. */
enum wg_msg_type {
	WG_MSG_INITIATION = 1,
	WG_MSG_RESPONSE = 2,
	WG_MSG_COOKIE = 3,
	WG_MSG_DATA = 4,
};

struct wg_msg_header {
	__le32 type;
};

/* Every handshake message ends in mac1 then mac2. */
struct wg_msg_initiation {
	__le32 type;
	__le32 sender;
	u8 ephemeral[WG_PUBLIC_LEN];
	u8 sealed_static[WG_SEALED(WG_PUBLIC_LEN)];
	u8 sealed_tai64n[WG_SEALED(WG_TAI64N_LEN)];
	u8 mac1[WG_MAC_LEN];
	u8 mac2[WG_MAC_LEN];
} __packed;

struct wg_msg_response {
	__le32 type;
	__le32 sender;
	__le32 receiver;
	u8 ephemeral[WG_PUBLIC_LEN];
	u8 sealed_nothing[WG_SEALED(0)];
	u8 mac1[WG_MAC_LEN];
	u8 mac2[WG_MAC_LEN];
} __packed;

struct wg_msg_cookie {
	__le32 type;
	__le32 receiver;
	u8 nonce[WG_COOKIE_NONCE_LEN];
	u8 sealed_cookie[WG_SEALED(WG_COOKIE_LEN)];
} __packed;

/* Followed by the sealed, padded inner packet. */
struct wg_msg_data {
	__le32 type;
	__le32 receiver;
	__le64 counter;
} __packed;

static_assert(sizeof(struct wg_msg_initiation) == 148);
static_assert(sizeof(struct wg_msg_response) == 92);
static_assert(sizeof(struct wg_msg_cookie) == 64);
static_assert(sizeof(struct wg_msg_data) == 16);

/* The length on the wire of a transport message of @plain bytes. */
static inline size_t wg_wire_data_len(size_t plain)
{
	return sizeof(struct wg_msg_data) + WG_SEALED(plain);
}

/* The shortest transport message: a keepalive. */
#define WG_DATA_MIN_LEN (sizeof(struct wg_msg_data) + WG_TAG_LEN)

/* Times in seconds and counts of the paper's section 6.1. */
#define WG_REKEY_AFTER_MSGS BIT_ULL(60)
#define WG_REJECT_AFTER_MSGS (U64_MAX - (1ULL << 13))
enum {
	WG_REKEY_AFTER_SECS = 120,
	WG_REJECT_AFTER_SECS = 180,
	WG_REKEY_ATTEMPT_SECS = 90,
	WG_REKEY_TIMEOUT_SECS = 5,
	WG_KEEPALIVE_SECS = 10,
	/* Initiations retried before giving up: one per timeout. */
	WG_MAX_HANDSHAKE_TRIES = WG_REKEY_ATTEMPT_SECS / WG_REKEY_TIMEOUT_SECS,
	/* A responder's cookie secret lives this long ... */
	WG_COOKIE_SECRET_SECS = 120,
	/* ... and an initiator drops a cookie this much earlier. */
	WG_COOKIE_MARGIN_SECS = 5,
	/* Initiations accepted from one peer (or one source) per second. */
	WG_INITIATIONS_PER_SEC = 50,
};

#endif /* _WG_CORE_WIRE_H */
