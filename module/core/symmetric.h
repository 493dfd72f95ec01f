/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The symmetric building blocks of the paper's section 5.4: HASH, MAC,
 * HMAC and the KDF chain, all BLAKE2s.  Internal to the core.
 */
#ifndef _WG_CORE_SYMMETRIC_H
#define _WG_CORE_SYMMETRIC_H

#include "wire.h"

/* out = HASH(a || b); @b may be NULL with @blen 0. */
void wg_sym_hash(u8 out[WG_HASH_LEN], const u8 *a, size_t alen,
		 const u8 *b, size_t blen);
/* out = MAC(key, data): keyed BLAKE2s, 16 bytes. */
void wg_sym_mac(u8 out[WG_MAC_LEN], const u8 *key, size_t keylen,
		const void *data, size_t len);
/*
 * The KDF: ck becomes the first output; @k1 and @k2 (either may be NULL)
 * receive the second and third.
 */
void wg_sym_kdf(u8 ck[WG_HASH_LEN], u8 *k1, u8 *k2, const u8 *input,
		size_t len);

#endif /* _WG_CORE_SYMMETRIC_H */
