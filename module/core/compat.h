/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences the protocol core meets, each behind one small
 * named helper; Kbuild probes the headers for the WG_HAVE_* flags.
 */
#ifndef _WG_CORE_COMPAT_H
#define _WG_CORE_COMPAT_H

#include <crypto/blake2s.h>

/*
 * BLAKE2s's state became struct blake2s_ctx, and the one-shot blake2s()
 * takes the key first and the output last (6.18).  The core names the
 * state struct wg_blake2s_state and hashes in one go with wg_blake2s().
 */
#ifdef WG_HAVE_BLAKE2S_CTX
#define wg_blake2s_state blake2s_ctx
static inline void wg_blake2s(u8 *out, const u8 *in, const u8 *key,
			      size_t outlen, size_t inlen, size_t keylen)
{
	blake2s(key, keylen, in, inlen, out, outlen);
}
#else
#define wg_blake2s_state blake2s_state
static inline void wg_blake2s(u8 *out, const u8 *in, const u8 *key,
			      size_t outlen, size_t inlen, size_t keylen)
{
	blake2s(out, in, key, outlen, inlen, keylen);
}
#endif

#endif /* _WG_CORE_COMPAT_H */
