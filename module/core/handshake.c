// SPDX-License-Identifier: GPL-2.0
/*
 * The handshake, step by step as the WireGuard paper's section 5.4 gives
 * it.  Both sides carry a chaining key (chain) through the KDF and a
 * transcript hash (hash) that every sealed field authenticates.  The
 * tokens of the pattern IKpsk2:
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss, {timestamp}
 *   <- e, ee, se, psk, {}
 */
#include "handshake.h"
#include "session.h"
#include "symmetric.h"

#include <linux/string.h>
#include <linux/time64.h>
#include <crypto/algapi.h>
#include <crypto/chacha20poly1305.h>
#include <crypto/curve25519.h>

static const u8 protocol_name[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const u8 prologue[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* HASH(protocol name) and HASH(that || prologue): the same for everyone. */
static u8 start_chain[WG_HASH_LEN] __ro_after_init;
static u8 start_hash[WG_HASH_LEN] __ro_after_init;

void __init wg_handshake_prepare(void)
{
	wg_sym_hash(start_chain, protocol_name, sizeof(protocol_name) - 1,
		    NULL, 0);
	wg_sym_hash(start_hash, start_chain, WG_HASH_LEN, prologue,
		    sizeof(prologue) - 1);
}

static void starting_point(u8 chain[WG_HASH_LEN], u8 hash[WG_HASH_LEN],
			   const u8 responder_static[WG_PUBLIC_LEN])
{
	memcpy(chain, start_chain, WG_HASH_LEN);
	/* The responder's static key is known in advance: "<- s". */
	wg_sym_hash(hash, start_hash, WG_HASH_LEN, responder_static,
		    WG_PUBLIC_LEN);
}

static void mix_hash(u8 hash[WG_HASH_LEN], const u8 *data, size_t len)
{
	wg_sym_hash(hash, hash, WG_HASH_LEN, data, len);
}

/* chain, key = KDF2(chain, DH(private, public)); false if DH is zero. */
static bool mix_dh(u8 chain[WG_HASH_LEN], u8 key[WG_SYMKEY_LEN],
		   const u8 private[WG_PUBLIC_LEN],
		   const u8 public[WG_PUBLIC_LEN])
{
	u8 shared[WG_PUBLIC_LEN];
	bool ok;

	ok = curve25519(shared, private, public);
	if (ok)
		wg_sym_kdf(chain, key, NULL, shared, WG_PUBLIC_LEN);
	memzero_explicit(shared, sizeof(shared));
	return ok;
}

/* As mix_dh() for a static-static result computed in advance. */
static bool mix_static_dh(u8 chain[WG_HASH_LEN], u8 key[WG_SYMKEY_LEN],
			  const u8 static_dh[WG_PUBLIC_LEN])
{
	static const u8 zero[WG_PUBLIC_LEN];

	if (!crypto_memneq(static_dh, zero, WG_PUBLIC_LEN))
		return false;
	wg_sym_kdf(chain, key, NULL, static_dh, WG_PUBLIC_LEN);
	return true;
}

/* Seals @len bytes with @key under nonce 0 and the hash as associated data. */
static void seal(u8 *dst, const u8 *src, size_t len, const u8 key[WG_SYMKEY_LEN],
		 u8 hash[WG_HASH_LEN])
{
	chacha20poly1305_encrypt(dst, src, len, hash, WG_HASH_LEN, 0, key);
	mix_hash(hash, dst, WG_SEALED(len));
}

static bool open_sealed(u8 *dst, const u8 *src, size_t len,
			const u8 key[WG_SYMKEY_LEN], u8 hash[WG_HASH_LEN])
{
	if (!chacha20poly1305_decrypt(dst, src, WG_SEALED(len), hash,
				      WG_HASH_LEN, 0, key))
		return false;
	mix_hash(hash, src, WG_SEALED(len));
	return true;
}

/* "e": the ephemeral public key goes into both the chain and the hash. */
static void mix_ephemeral(u8 chain[WG_HASH_LEN], u8 hash[WG_HASH_LEN],
			  const u8 public[WG_PUBLIC_LEN])
{
	wg_sym_kdf(chain, NULL, NULL, public, WG_PUBLIC_LEN);
	mix_hash(hash, public, WG_PUBLIC_LEN);
}

void wg_keys_generate(u8 private[WG_PUBLIC_LEN])
{
	curve25519_generate_secret(private);
}

void wg_identity_set(struct wg_identity *id, const u8 private[WG_PUBLIC_LEN])
{
	static const u8 zero[WG_PUBLIC_LEN];

	/* All zero means "no key": clamped, it would look like one. */
	id->valid = false;
	memset(id->public, 0, WG_PUBLIC_LEN);
	memset(id->private, 0, WG_PUBLIC_LEN);
	if (!crypto_memneq(private, zero, WG_PUBLIC_LEN))
		return;
	memcpy(id->private, private, WG_PUBLIC_LEN);
	curve25519_clamp_secret(id->private);
	id->valid = curve25519_generate_public(id->public, id->private);
	if (!id->valid) {
		memzero_explicit(id->private, WG_PUBLIC_LEN);
		memset(id->public, 0, WG_PUBLIC_LEN);
	}
}

void wg_tai64n(u8 out[WG_TAI64N_LEN], const struct timespec64 *now)
{
	/*
	 * Seconds since 1970 shifted by 2^62 (TAI64), then nanoseconds, both
	 * big endian.  The nanoseconds are rounded down to 2^24 ns, about
	 * 17 ms: finer than the 20 ms the flood rule allows between two
	 * initiations, too coarse to tell much about our clock.
	 */
	__be64 secs = cpu_to_be64((1ULL << 62) + now->tv_sec);
	__be32 nsecs = cpu_to_be32((u32)now->tv_nsec & ~((1U << 24) - 1));

	memcpy(out, &secs, sizeof(secs));
	memcpy(out + sizeof(secs), &nsecs, sizeof(nsecs));
}

void wg_handshake_precompute(struct wg_handshake *hs,
			     const struct wg_identity *me)
{
	if (!me->valid ||
	    !curve25519(hs->static_dh, me->private, hs->remote_static))
		memset(hs->static_dh, 0, WG_PUBLIC_LEN);
}

void wg_handshake_init(struct wg_handshake *hs,
		       const u8 remote_static[WG_PUBLIC_LEN],
		       const u8 psk[WG_SYMKEY_LEN],
		       const struct wg_identity *me)
{
	memset(hs, 0, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, WG_PUBLIC_LEN);
	if (psk)
		memcpy(hs->psk, psk, WG_SYMKEY_LEN);
	wg_handshake_precompute(hs, me);
}

void wg_handshake_reset(struct wg_handshake *hs)
{
	memzero_explicit(hs->ephemeral, WG_PUBLIC_LEN);
	memzero_explicit(hs->remote_ephemeral, WG_PUBLIC_LEN);
	memzero_explicit(hs->hash, WG_HASH_LEN);
	memzero_explicit(hs->chain, WG_HASH_LEN);
	hs->local_index = 0;
	hs->remote_index = 0;
	hs->stage = WG_HS_IDLE;
}

bool wg_handshake_create_initiation(struct wg_handshake *hs,
				    const struct wg_identity *me,
				    const u8 ephemeral[WG_PUBLIC_LEN],
				    const u8 tai64n[WG_TAI64N_LEN],
				    __le32 local_index,
				    struct wg_msg_initiation *msg)
{
	u8 key[WG_SYMKEY_LEN];
	bool ok = false;

	if (!me->valid)
		return false;
	memset(msg, 0, sizeof(*msg));
	msg->type = cpu_to_le32(WG_MSG_INITIATION);
	msg->sender = local_index;
	memcpy(hs->ephemeral, ephemeral, WG_PUBLIC_LEN);
	starting_point(hs->chain, hs->hash, hs->remote_static);

	/* e */
	if (!curve25519_generate_public(msg->ephemeral, hs->ephemeral))
		goto out;
	mix_ephemeral(hs->chain, hs->hash, msg->ephemeral);
	/* es */
	if (!mix_dh(hs->chain, key, hs->ephemeral, hs->remote_static))
		goto out;
	/* s */
	seal(msg->sealed_static, me->public, WG_PUBLIC_LEN, key, hs->hash);
	/* ss */
	if (!mix_static_dh(hs->chain, key, hs->static_dh))
		goto out;
	/* {timestamp} */
	seal(msg->sealed_tai64n, tai64n, WG_TAI64N_LEN, key, hs->hash);

	hs->local_index = local_index;
	hs->stage = WG_HS_SENT_INITIATION;
	ok = true;
out:
	if (!ok)
		wg_handshake_reset(hs);
	memzero_explicit(key, sizeof(key));
	return ok;
}

bool wg_handshake_open_initiation(const struct wg_identity *me,
				  const struct wg_msg_initiation *msg,
				  struct wg_initiation_opened *o)
{
	u8 key[WG_SYMKEY_LEN];
	bool ok = false;

	if (!me->valid)
		return false;
	starting_point(o->chain, o->hash, me->public);
	/* e */
	memcpy(o->remote_ephemeral, msg->ephemeral, WG_PUBLIC_LEN);
	mix_ephemeral(o->chain, o->hash, msg->ephemeral);
	/* es, from our side */
	if (!mix_dh(o->chain, key, me->private, msg->ephemeral))
		goto out;
	/* s */
	ok = open_sealed(o->remote_static, msg->sealed_static, WG_PUBLIC_LEN,
			 key, o->hash);
out:
	if (!ok)
		memzero_explicit(o, sizeof(*o));
	memzero_explicit(key, sizeof(key));
	return ok;
}

enum wg_handshake_verdict
wg_handshake_accept_initiation(struct wg_handshake *hs,
			       struct wg_initiation_opened *o,
			       const struct wg_msg_initiation *msg, u64 now_ns)
{
	enum wg_handshake_verdict verdict = WG_HS_REJECTED;
	u8 tai64n[WG_TAI64N_LEN];
	u8 key[WG_SYMKEY_LEN];

	if (crypto_memneq(o->remote_static, hs->remote_static, WG_PUBLIC_LEN))
		goto out;
	/* ss, with the result the caller computed for this peer */
	if (!mix_static_dh(o->chain, key, hs->static_dh))
		goto out;
	/* {timestamp} */
	if (!open_sealed(tai64n, msg->sealed_tai64n, WG_TAI64N_LEN, key,
			 o->hash))
		goto out;

	/*
	 * A captured initiation must not start a handshake again: the
	 * timestamp has to be newer than any accepted before (big endian
	 * compares as bytes).  And a peer gets at most one initiation per
	 * 1/WG_INITIATIONS_PER_SEC s, however new its timestamps.
	 */
	if (memcmp(tai64n, hs->newest_tai64n, WG_TAI64N_LEN) <= 0) {
		verdict = WG_HS_REPLAYED;
		goto out;
	}
	if (hs->newest_initiation_ns &&
	    now_ns - hs->newest_initiation_ns <
	    NSEC_PER_SEC / WG_INITIATIONS_PER_SEC) {
		verdict = WG_HS_FLOOD;
		goto out;
	}

	memcpy(hs->newest_tai64n, tai64n, WG_TAI64N_LEN);
	hs->newest_initiation_ns = now_ns;
	memcpy(hs->remote_ephemeral, o->remote_ephemeral, WG_PUBLIC_LEN);
	memcpy(hs->hash, o->hash, WG_HASH_LEN);
	memcpy(hs->chain, o->chain, WG_HASH_LEN);
	memzero_explicit(hs->ephemeral, WG_PUBLIC_LEN);
	hs->remote_index = msg->sender;
	hs->local_index = 0;
	hs->stage = WG_HS_GOT_INITIATION;
	verdict = WG_HS_OK;
out:
	memzero_explicit(o, sizeof(*o));
	memzero_explicit(key, sizeof(key));
	memzero_explicit(tai64n, sizeof(tai64n));
	return verdict;
}

/* "psk": the pre-shared key, and the key that seals the empty payload. */
static void mix_psk(u8 chain[WG_HASH_LEN], u8 hash[WG_HASH_LEN],
		    u8 key[WG_SYMKEY_LEN], const u8 psk[WG_SYMKEY_LEN])
{
	u8 tau[WG_HASH_LEN];

	wg_sym_kdf(chain, tau, key, psk, WG_SYMKEY_LEN);
	mix_hash(hash, tau, WG_HASH_LEN);
	memzero_explicit(tau, sizeof(tau));
}

bool wg_handshake_create_response(struct wg_handshake *hs,
				  const u8 ephemeral[WG_PUBLIC_LEN],
				  __le32 local_index,
				  struct wg_msg_response *msg)
{
	u8 key[WG_SYMKEY_LEN], empty[1] = {};
	bool ok = false;

	if (hs->stage != WG_HS_GOT_INITIATION)
		return false;
	memset(msg, 0, sizeof(*msg));
	msg->type = cpu_to_le32(WG_MSG_RESPONSE);
	msg->sender = local_index;
	msg->receiver = hs->remote_index;
	memcpy(hs->ephemeral, ephemeral, WG_PUBLIC_LEN);

	/* e */
	if (!curve25519_generate_public(msg->ephemeral, hs->ephemeral))
		goto out;
	mix_ephemeral(hs->chain, hs->hash, msg->ephemeral);
	/* ee */
	if (!mix_dh(hs->chain, key, hs->ephemeral, hs->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(hs->chain, key, hs->ephemeral, hs->remote_static))
		goto out;
	/* psk, {} */
	mix_psk(hs->chain, hs->hash, key, hs->psk);
	seal(msg->sealed_nothing, empty, 0, key, hs->hash);

	hs->local_index = local_index;
	hs->stage = WG_HS_SENT_RESPONSE;
	ok = true;
out:
	if (!ok)
		wg_handshake_reset(hs);
	memzero_explicit(key, sizeof(key));
	return ok;
}

enum wg_handshake_verdict
wg_handshake_consume_response(struct wg_handshake *hs,
			      const struct wg_identity *me,
			      const struct wg_msg_response *msg)
{
	u8 chain[WG_HASH_LEN], hash[WG_HASH_LEN], key[WG_SYMKEY_LEN];
	enum wg_handshake_verdict verdict = WG_HS_REJECTED;
	u8 empty[1];

	if (hs->stage != WG_HS_SENT_INITIATION || !me->valid ||
	    msg->receiver != hs->local_index)
		return verdict;
	/* Work on copies: a forged response must leave the state intact. */
	memcpy(chain, hs->chain, WG_HASH_LEN);
	memcpy(hash, hs->hash, WG_HASH_LEN);

	/* e */
	mix_ephemeral(chain, hash, msg->ephemeral);
	/* ee */
	if (!mix_dh(chain, key, hs->ephemeral, msg->ephemeral))
		goto out;
	/* se, from our side */
	if (!mix_dh(chain, key, me->private, msg->ephemeral))
		goto out;
	/* psk, {} */
	mix_psk(chain, hash, key, hs->psk);
	if (!open_sealed(empty, msg->sealed_nothing, 0, key, hash))
		goto out;

	memcpy(hs->remote_ephemeral, msg->ephemeral, WG_PUBLIC_LEN);
	memcpy(hs->chain, chain, WG_HASH_LEN);
	memcpy(hs->hash, hash, WG_HASH_LEN);
	hs->remote_index = msg->sender;
	hs->stage = WG_HS_GOT_RESPONSE;
	verdict = WG_HS_OK;
out:
	memzero_explicit(chain, sizeof(chain));
	memzero_explicit(hash, sizeof(hash));
	memzero_explicit(key, sizeof(key));
	return verdict;
}

bool wg_handshake_derive(struct wg_handshake *hs, struct wg_session *s,
			 u64 now_ns)
{
	u8 *first, *second;

	if (hs->stage != WG_HS_SENT_RESPONSE &&
	    hs->stage != WG_HS_GOT_RESPONSE)
		return false;
	s->initiator = hs->stage == WG_HS_GOT_RESPONSE;
	/* The initiator sends with the first key, the responder with the second. */
	first = s->initiator ? s->send.key : s->recv.key;
	second = s->initiator ? s->recv.key : s->send.key;
	/* KDF2(chain, empty); the KDF leaves its first output in chain. */
	wg_sym_kdf(hs->chain, second, NULL, NULL, 0);
	memcpy(first, hs->chain, WG_SYMKEY_LEN);
	s->send.born = now_ns;
	s->recv.born = now_ns;
	s->send.valid = true;
	s->recv.valid = true;
	atomic64_set(&s->send_counter, 0);
	wg_replay_init(&s->replay);
	s->remote_index = hs->remote_index;
	wg_handshake_reset(hs);
	return true;
}
