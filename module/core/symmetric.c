// SPDX-License-Identifier: GPL-2.0
/*
 * HASH, MAC, HMAC and the KDF chain over BLAKE2s (WireGuard paper 5.4,
 * RFC 7693, RFC 2104 for the HMAC, RFC 5869's expand for the KDF).
 */
#include "symmetric.h"
#include "compat.h"

#include <linux/string.h>

void wg_sym_hash(u8 out[WG_HASH_LEN], const u8 *a, size_t alen,
		 const u8 *b, size_t blen)
{
	struct wg_blake2s_state st;

	blake2s_init(&st, WG_HASH_LEN);
	blake2s_update(&st, a, alen);
	if (blen)
		blake2s_update(&st, b, blen);
	blake2s_final(&st, out);
}

void wg_sym_mac(u8 out[WG_MAC_LEN], const u8 *key, size_t keylen,
		const void *data, size_t len)
{
	wg_blake2s(out, data, key, WG_MAC_LEN, len, keylen);
}

/*
 * HMAC-BLAKE2s with a 32-byte key: the block is 64 bytes, so the key is
 * padded, never hashed first.  @msg2 is a single byte appended when
 * @with_byte is set (the KDF's counter).
 */
static void hmac(u8 out[WG_HASH_LEN], const u8 key[WG_HASH_LEN],
		 const u8 *msg, size_t len, bool with_byte, u8 byte)
{
	u8 pad[BLAKE2S_BLOCK_SIZE];
	struct wg_blake2s_state st;
	u8 inner[WG_HASH_LEN];
	int i;

	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < WG_HASH_LEN; i++)
		pad[i] ^= key[i];
	blake2s_init(&st, WG_HASH_LEN);
	blake2s_update(&st, pad, sizeof(pad));
	if (len)
		blake2s_update(&st, msg, len);
	if (with_byte)
		blake2s_update(&st, &byte, 1);
	blake2s_final(&st, inner);

	/* 0x36 ^ 0x5c turns the inner pad into the outer one. */
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	blake2s_init(&st, WG_HASH_LEN);
	blake2s_update(&st, pad, sizeof(pad));
	blake2s_update(&st, inner, sizeof(inner));
	blake2s_final(&st, out);

	memzero_explicit(pad, sizeof(pad));
	memzero_explicit(inner, sizeof(inner));
}

void wg_sym_kdf(u8 ck[WG_HASH_LEN], u8 *k1, u8 *k2, const u8 *input,
		size_t len)
{
	u8 prk[WG_HASH_LEN], t[WG_HASH_LEN];

	hmac(prk, ck, input, len, false, 0);
	/* T(1) = HMAC(prk, 0x01); T(n) = HMAC(prk, T(n-1) || n). */
	hmac(t, prk, NULL, 0, true, 1);
	memcpy(ck, t, WG_HASH_LEN);
	if (k1 || k2) {
		hmac(t, prk, ck, WG_HASH_LEN, true, 2);
		if (k1)
			memcpy(k1, t, WG_HASH_LEN);
	}
	if (k2) {
		hmac(t, prk, t, WG_HASH_LEN, true, 3);
		memcpy(k2, t, WG_HASH_LEN);
	}
	memzero_explicit(prk, sizeof(prk));
	memzero_explicit(t, sizeof(t));
}
