/* SPDX-License-Identifier: GPL-2.0 */
/*
 * WireGuard wire formats and protocol constants.  Every multi-byte field on
 * the wire is little endian.
 */
#ifndef _WG_MESSAGES_H
#define _WG_MESSAGES_H

#include <crypto/curve25519.h>
#include <crypto/chacha20poly1305.h>
#include <crypto/blake2s.h>
#include <linux/kernel.h>
#include <linux/param.h>
#include <linux/skbuff.h>

enum wg_noise_lengths {
	NOISE_PUBLIC_KEY_LEN = CURVE25519_KEY_SIZE,
	NOISE_SYMMETRIC_KEY_LEN = CHACHA20POLY1305_KEY_SIZE,
	NOISE_TIMESTAMP_LEN = sizeof(u64) + sizeof(u32),
	NOISE_AUTHTAG_LEN = CHACHA20POLY1305_AUTHTAG_SIZE,
	NOISE_HASH_LEN = BLAKE2S_HASH_SIZE
};

#define noise_encrypted_len(plain_len) ((plain_len) + NOISE_AUTHTAG_LEN)

enum wg_cookie_values {
	COOKIE_SECRET_MAX_AGE = 2 * 60,
	COOKIE_SECRET_LATENCY = 5,
	COOKIE_NONCE_LEN = XCHACHA20POLY1305_NONCE_SIZE,
	COOKIE_LEN = 16
};

/* Protocol times, in seconds; see wg_secs() for the debug-build scaling. */
enum wg_limits {
	REKEY_TIMEOUT = 5,
	REKEY_TIMEOUT_JITTER_MAX_JIFFIES = HZ / 3,
	REKEY_AFTER_TIME = 120,
	REJECT_AFTER_TIME = 180,
	REKEY_ATTEMPT_TIME = 90,
	KEEPALIVE_TIMEOUT = 10,
	INITIATIONS_PER_SECOND = 50,
	MAX_PEERS_PER_DEVICE = 1U << 20,
	MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT,
	MAX_QUEUED_INCOMING_HANDSHAKES = 4096,
	MAX_STAGED_PACKETS = 128,
	MAX_QUEUED_PACKETS = 1024
};

/* Replay window: the last COUNTER_WINDOW_SIZE counters are tracked. */
#define COUNTER_BITS_TOTAL 8192
#define COUNTER_REDUNDANT_BITS BITS_PER_LONG
#define COUNTER_WINDOW_SIZE (COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS)

#define REKEY_AFTER_MESSAGES BIT_ULL(60)
#define REJECT_AFTER_MESSAGES (U64_MAX - COUNTER_WINDOW_SIZE - 1)

/*
 * The limits the data path applies.  A debug build (WG_DEBUG=1) can lower
 * them with the module parameters rekey_after_messages and
 * reject_after_messages, so that tests reach them; a normal build has the
 * constants.  The replay window's own bound stays REJECT_AFTER_MESSAGES.
 */
#ifdef CONFIG_WG_DEBUG
extern u64 wg_rekey_after_messages, wg_reject_after_messages;
#else
#define wg_rekey_after_messages REKEY_AFTER_MESSAGES
#define wg_reject_after_messages REJECT_AFTER_MESSAGES
#endif

enum wg_message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4
};

struct wg_message_header {
	/* type is one byte followed by three reserved zero bytes. */
	__le32 type;
};

struct wg_message_macs {
	u8 mac1[COOKIE_LEN];
	u8 mac2[COOKIE_LEN];
};

struct wg_message_handshake_initiation {
	struct wg_message_header header;
	__le32 sender_index;
	u8 unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	u8 encrypted_static[noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)];
	u8 encrypted_timestamp[noise_encrypted_len(NOISE_TIMESTAMP_LEN)];
	struct wg_message_macs macs;
};

struct wg_message_handshake_response {
	struct wg_message_header header;
	__le32 sender_index;
	__le32 receiver_index;
	u8 unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	u8 encrypted_nothing[noise_encrypted_len(0)];
	struct wg_message_macs macs;
};

struct wg_message_handshake_cookie {
	struct wg_message_header header;
	__le32 receiver_index;
	u8 nonce[COOKIE_NONCE_LEN];
	u8 encrypted_cookie[noise_encrypted_len(COOKIE_LEN)];
};

struct wg_message_data {
	struct wg_message_header header;
	__le32 key_idx;
	__le64 counter;
	u8 encrypted_data[];
};

#define message_data_len(plain_len) \
	(noise_encrypted_len(plain_len) + sizeof(struct wg_message_data))

enum wg_message_alignments {
	MESSAGE_PADDING_MULTIPLE = 16,
	MESSAGE_MINIMUM_LENGTH = message_data_len(0)
};

#define SKB_HEADER_LEN                                       \
	(max(sizeof(struct iphdr), sizeof(struct ipv6hdr)) + \
	 sizeof(struct udphdr) + NET_SKB_PAD)
#define DATA_PACKET_HEAD_ROOM \
	ALIGN(sizeof(struct wg_message_data) + SKB_HEADER_LEN, 4)

enum { HANDSHAKE_DSCP = 0x88 /* AF41, plus 00 ECN */ };

#endif /* _WG_MESSAGES_H */
