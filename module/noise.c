// SPDX-License-Identifier: GPL-2.0
/*
 * The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake as WireGuard uses it,
 * the keypairs it yields and the replay window of their receiving side.
 *
 * Lock order: static_identity->lock, then handshake->lock, then the index
 * hashtable's lock; keypairs->keypair_update_lock nests inside
 * handshake->lock and is never held while sleeping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "compat.h"
#include "noise.h"
#include "device.h"
#include "peer.h"
#include "peerlookup.h"
#include "messages.h"

#include <crypto/algapi.h>
#include <crypto/blake2s.h>
#include <crypto/chacha20poly1305.h>
#include <crypto/curve25519.h>
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

static const u8 handshake_name[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const u8 identifier_name[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/*
 * Every handshake starts from the same chaining key and hash, which depend
 * only on the protocol name and identifier: compute them once.
 */
static u8 initial_chaining_key[NOISE_HASH_LEN] __ro_after_init;
static u8 initial_hash[NOISE_HASH_LEN] __ro_after_init;

/* Source of keypair->internal_id, for debug messages only. */
static atomic64_t keypair_counter = ATOMIC64_INIT(0);

static void mix_hash(u8 hash[NOISE_HASH_LEN], const u8 *src, size_t src_len)
{
	struct wg_blake2s_state state;

	blake2s_init(&state, NOISE_HASH_LEN);
	blake2s_update(&state, hash, NOISE_HASH_LEN);
	blake2s_update(&state, src, src_len);
	blake2s_final(&state, hash);
}

void wg_noise_init(void)
{
	wg_blake2s(initial_chaining_key, handshake_name, NULL, NOISE_HASH_LEN,
		   sizeof(handshake_name) - 1, 0);
	memcpy(initial_hash, initial_chaining_key, NOISE_HASH_LEN);
	mix_hash(initial_hash, identifier_name, sizeof(identifier_name) - 1);
}

/*
 * HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256).  Keys here are always chaining
 * keys or PRKs, exactly one hash long, so they never need hashing down to
 * the block size.  @out may alias @in.
 */
static void hmac(u8 out[BLAKE2S_HASH_SIZE], const u8 key[BLAKE2S_HASH_SIZE],
		 const u8 *in, size_t in_len)
{
	u8 pad[BLAKE2S_BLOCK_SIZE], inner[BLAKE2S_HASH_SIZE];
	struct wg_blake2s_state state;
	int i;

	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < BLAKE2S_HASH_SIZE; ++i)
		pad[i] ^= key[i];
	blake2s_init(&state, BLAKE2S_HASH_SIZE);
	blake2s_update(&state, pad, sizeof(pad));
	blake2s_update(&state, in, in_len);
	blake2s_final(&state, inner);

	/* Turn the inner pad into the outer one: 0x36 ^ 0x5c == 0x6a. */
	for (i = 0; i < BLAKE2S_BLOCK_SIZE; ++i)
		pad[i] ^= 0x36 ^ 0x5c;
	blake2s_init(&state, BLAKE2S_HASH_SIZE);
	blake2s_update(&state, pad, sizeof(pad));
	blake2s_update(&state, inner, sizeof(inner));
	blake2s_final(&state, out);

	memzero_explicit(pad, sizeof(pad));
	memzero_explicit(inner, sizeof(inner));
}

/*
 * HKDF with HMAC-BLAKE2s, producing up to three 32-byte outputs; a NULL
 * output ends the expansion early.  Any output may alias @chaining_key,
 * which is only read to extract the PRK.
 */
static void kdf(u8 *first, u8 *second, u8 *third, const u8 *data,
		size_t data_len, const u8 chaining_key[NOISE_HASH_LEN])
{
	u8 *outputs[] = { first, second, third };
	u8 block[NOISE_HASH_LEN + 1];
	u8 prk[NOISE_HASH_LEN];
	size_t block_len = 1;
	unsigned int i;

	BUILD_BUG_ON(NOISE_SYMMETRIC_KEY_LEN != NOISE_HASH_LEN);
	hmac(prk, chaining_key, data, data_len);
	for (i = 0; i < ARRAY_SIZE(outputs) && outputs[i]; ++i) {
		/* T(i) = HMAC(PRK, T(i - 1) || i), with T(0) empty. */
		block[block_len - 1] = i + 1;
		hmac(block, prk, block, block_len);
		memcpy(outputs[i], block, NOISE_HASH_LEN);
		block_len = NOISE_HASH_LEN + 1;
	}
	memzero_explicit(prk, sizeof(prk));
	memzero_explicit(block, sizeof(block));
}

/* Mixes DH(@private_key, @public_key) into the chaining key. */
static bool __must_check mix_dh(u8 chaining_key[NOISE_HASH_LEN],
				u8 key[NOISE_SYMMETRIC_KEY_LEN],
				const u8 private_key[NOISE_PUBLIC_KEY_LEN],
				const u8 public_key[NOISE_PUBLIC_KEY_LEN])
{
	u8 dh[NOISE_PUBLIC_KEY_LEN];

	/* curve25519() refuses the all-zero result of a low-order point. */
	if (unlikely(!curve25519(dh, private_key, public_key)))
		return false;
	kdf(chaining_key, key, NULL, dh, NOISE_PUBLIC_KEY_LEN, chaining_key);
	memzero_explicit(dh, sizeof(dh));
	return true;
}

/* As mix_dh() for the static-static result computed ahead of time. */
static bool __must_check mix_precomputed_dh(u8 chaining_key[NOISE_HASH_LEN],
					    u8 key[NOISE_SYMMETRIC_KEY_LEN],
					    const u8 dh[NOISE_PUBLIC_KEY_LEN])
{
	static const u8 zero[NOISE_PUBLIC_KEY_LEN];

	/* All zero means no identity or a bad peer key: no session. */
	if (unlikely(!crypto_memneq(dh, zero, NOISE_PUBLIC_KEY_LEN)))
		return false;
	kdf(chaining_key, key, NULL, dh, NOISE_PUBLIC_KEY_LEN, chaining_key);
	return true;
}

static void mix_psk(u8 chaining_key[NOISE_HASH_LEN], u8 hash[NOISE_HASH_LEN],
		    u8 key[NOISE_SYMMETRIC_KEY_LEN],
		    const u8 psk[NOISE_SYMMETRIC_KEY_LEN])
{
	u8 tau[NOISE_HASH_LEN];

	kdf(chaining_key, tau, key, psk, NOISE_SYMMETRIC_KEY_LEN, chaining_key);
	mix_hash(hash, tau, NOISE_HASH_LEN);
	memzero_explicit(tau, sizeof(tau));
}

/* Handshake keys are used for exactly one message each: nonce 0. */
static void encrypt_and_hash(u8 *dst, const u8 *src, size_t src_len,
			     const u8 key[NOISE_SYMMETRIC_KEY_LEN],
			     u8 hash[NOISE_HASH_LEN])
{
	chacha20poly1305_encrypt(dst, src, src_len, hash, NOISE_HASH_LEN, 0,
				 key);
	mix_hash(hash, dst, noise_encrypted_len(src_len));
}

static bool __must_check decrypt_and_hash(u8 *dst, const u8 *src,
					  size_t src_len,
					  const u8 key[NOISE_SYMMETRIC_KEY_LEN],
					  u8 hash[NOISE_HASH_LEN])
{
	if (!chacha20poly1305_decrypt(dst, src, src_len, hash, NOISE_HASH_LEN,
				      0, key))
		return false;
	mix_hash(hash, src, src_len);
	return true;
}

/* Copies the ephemeral public key out (or in) and mixes it into both. */
static void message_ephemeral(u8 dst[NOISE_PUBLIC_KEY_LEN],
			      const u8 src[NOISE_PUBLIC_KEY_LEN],
			      u8 chaining_key[NOISE_HASH_LEN],
			      u8 hash[NOISE_HASH_LEN])
{
	if (dst != src)
		memcpy(dst, src, NOISE_PUBLIC_KEY_LEN);
	mix_hash(hash, src, NOISE_PUBLIC_KEY_LEN);
	kdf(chaining_key, NULL, NULL, src, NOISE_PUBLIC_KEY_LEN, chaining_key);
}

/* IK pre-message: the initiator knows the responder's static key. */
static void handshake_start(u8 chaining_key[NOISE_HASH_LEN],
			    u8 hash[NOISE_HASH_LEN],
			    const u8 responder_static[NOISE_PUBLIC_KEY_LEN])
{
	memcpy(chaining_key, initial_chaining_key, NOISE_HASH_LEN);
	memcpy(hash, initial_hash, NOISE_HASH_LEN);
	mix_hash(hash, responder_static, NOISE_PUBLIC_KEY_LEN);
}

/*
 * TAI64N of the wall clock.  The label is 2^62 + 10 (the TAI-UTC offset of
 * 1970), as other WireGuard implementations use, so that a peer switching
 * implementations is not refused as a replay.  Nanoseconds are rounded
 * down to the initiation rate so the timestamp does not leak fine timing.
 */
static void tai64n_now(u8 out[NOISE_TIMESTAMP_LEN])
{
	const u32 granularity =
		rounddown_pow_of_two(NSEC_PER_SEC / INITIATIONS_PER_SECOND);
	struct timespec64 now;
	__be32 nsecs;
	__be64 secs;

	ktime_get_real_ts64(&now);
	secs = cpu_to_be64(0x400000000000000aULL + now.tv_sec);
	nsecs = cpu_to_be32((u32)now.tv_nsec & ~(granularity - 1));
	memcpy(out, &secs, sizeof(secs));
	memcpy(out + sizeof(secs), &nsecs, sizeof(nsecs));
}

/*
 * Forgets the ephemeral state of a handshake in progress, keeping what
 * outlives one handshake: keys, precomputation and the replay/flood
 * guards.  The index entry is the caller's business.
 */
static void handshake_zero(struct wg_noise_handshake *handshake)
{
	lockdep_assert_held_write(&handshake->lock);
	memzero_explicit(handshake->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	memzero_explicit(handshake->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memzero_explicit(handshake->hash, NOISE_HASH_LEN);
	memzero_explicit(handshake->chaining_key, NOISE_HASH_LEN);
	handshake->remote_index = 0;
	handshake->state = HANDSHAKE_ZEROED;
}

static struct wg_index_hashtable *index_table(struct wg_peer *peer)
{
	return peer->device->index_hashtable;
}

void wg_noise_handshake_init(struct wg_noise_handshake *handshake,
			     struct wg_noise_static_identity *static_identity,
			     const u8 peer_public_key[NOISE_PUBLIC_KEY_LEN],
			     const u8 peer_preshared_key[NOISE_SYMMETRIC_KEY_LEN],
			     struct wg_peer *peer)
{
	memset(handshake, 0, sizeof(*handshake));
	init_rwsem(&handshake->lock);
	INIT_HLIST_NODE(&handshake->entry.index_hash);
	handshake->entry.type = INDEX_HASHTABLE_HANDSHAKE;
	handshake->entry.peer = peer;
	memcpy(handshake->remote_static, peer_public_key, NOISE_PUBLIC_KEY_LEN);
	if (peer_preshared_key)
		memcpy(handshake->preshared_key, peer_preshared_key,
		       NOISE_SYMMETRIC_KEY_LEN);
	handshake->static_identity = static_identity;
	handshake->state = HANDSHAKE_ZEROED;
	wg_noise_precompute_static_static(peer);
}

void wg_noise_handshake_clear(struct wg_noise_handshake *handshake)
{
	/*
	 * Index inserts happen only under the write lock too, so once it is
	 * held nothing can hash the entry again behind our back.
	 */
	down_write(&handshake->lock);
	wg_index_hashtable_remove(index_table(handshake->entry.peer),
				  &handshake->entry);
	handshake_zero(handshake);
	up_write(&handshake->lock);
}

static struct wg_noise_keypair *keypair_create(struct wg_peer *peer)
{
	struct wg_noise_keypair *keypair;

	keypair = kzalloc(sizeof(*keypair), GFP_KERNEL);
	if (unlikely(!keypair))
		return NULL;
	kref_init(&keypair->refcount);
	INIT_HLIST_NODE(&keypair->entry.index_hash);
	keypair->entry.type = INDEX_HASHTABLE_KEYPAIR;
	keypair->entry.peer = peer;
	keypair->internal_id = atomic64_inc_return(&keypair_counter);
	atomic64_set(&keypair->sending_counter, 0);
	wg_noise_counter_init(&keypair->receiving_counter);
	return keypair;
}

static void keypair_free_rcu(struct rcu_head *rcu)
{
	kfree_sensitive(container_of(rcu, struct wg_noise_keypair, rcu));
}

static void keypair_free_kref(struct kref *kref)
{
	struct wg_noise_keypair *keypair =
		container_of(kref, struct wg_noise_keypair, refcount);

	wg_dbg_obj("%s: keypair %llu destroyed for peer %llu\n",
		   keypair->entry.peer->device->dev->name,
		   keypair->internal_id, keypair->entry.peer->internal_id);
	/*
	 * Slots drop keypairs with unreference_now, so it is out of the
	 * index already.  Readers under RCU may still hold the pointer.
	 */
	call_rcu(&keypair->rcu, keypair_free_rcu);
}

void wg_noise_keypair_put(struct wg_noise_keypair *keypair, bool unreference_now)
{
	if (unlikely(!keypair))
		return;
	/*
	 * Dropping it from the index now stops new packets from finding it,
	 * while packets already in flight keep their references.
	 */
	if (unlikely(unreference_now))
		wg_index_hashtable_remove(index_table(keypair->entry.peer),
					  &keypair->entry);
	kref_put(&keypair->refcount, keypair_free_kref);
}

struct wg_noise_keypair *wg_noise_keypair_get(struct wg_noise_keypair *keypair)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_bh_held(),
			 "keypair reference taken outside RCU BH read side");
	if (unlikely(!keypair || !kref_get_unless_zero(&keypair->refcount)))
		return NULL;
	return keypair;
}

static struct wg_noise_keypair *
slot(struct wg_noise_keypairs *keypairs, struct wg_noise_keypair __rcu **p)
{
	return rcu_dereference_protected(*p,
		lockdep_is_held(&keypairs->keypair_update_lock));
}

void wg_noise_keypairs_clear(struct wg_noise_keypairs *keypairs)
{
	struct wg_noise_keypair *old;

	spin_lock_bh(&keypairs->keypair_update_lock);

	/*
	 * Each slot is emptied before its keypair is put: nobody must find a
	 * keypair through the slots once it is out of the index.
	 */
	old = slot(keypairs, &keypairs->next_keypair);
	RCU_INIT_POINTER(keypairs->next_keypair, NULL);
	wg_noise_keypair_put(old, true);

	old = slot(keypairs, &keypairs->previous_keypair);
	RCU_INIT_POINTER(keypairs->previous_keypair, NULL);
	wg_noise_keypair_put(old, true);

	old = slot(keypairs, &keypairs->current_keypair);
	RCU_INIT_POINTER(keypairs->current_keypair, NULL);
	wg_noise_keypair_put(old, true);

	spin_unlock_bh(&keypairs->keypair_update_lock);
}

void wg_noise_expire_current_peer_keypairs(struct wg_peer *peer)
{
	struct wg_noise_keypair *keypair;

	wg_noise_handshake_clear(&peer->handshake);
	wg_noise_reset_last_sent_handshake(&peer->last_sent_handshake);

	/*
	 * Only sending stops: packets the peer already encrypted with these
	 * keys may still arrive and are accepted until the keys age out.
	 */
	spin_lock_bh(&peer->keypairs.keypair_update_lock);
	keypair = slot(&peer->keypairs, &peer->keypairs.next_keypair);
	if (keypair)
		keypair->sending.is_valid = false;
	keypair = slot(&peer->keypairs, &peer->keypairs.current_keypair);
	if (keypair)
		keypair->sending.is_valid = false;
	spin_unlock_bh(&peer->keypairs.keypair_update_lock);
}

static void add_new_keypair(struct wg_noise_keypairs *keypairs,
			    struct wg_noise_keypair *new_keypair)
{
	struct wg_noise_keypair *previous, *current_kp, *next;

	spin_lock_bh(&keypairs->keypair_update_lock);
	previous = slot(keypairs, &keypairs->previous_keypair);
	current_kp = slot(keypairs, &keypairs->current_keypair);
	next = slot(keypairs, &keypairs->next_keypair);

	if (new_keypair->i_am_the_initiator) {
		/*
		 * The response proved the peer holds this session: use it at
		 * once.  If we also answered the peer's own initiation (both
		 * sides started at the same time), that unconfirmed keypair
		 * may already carry the peer's data, so it is kept as previous
		 * rather than dropped; the old current is then the one to go.
		 */
		if (next) {
			RCU_INIT_POINTER(keypairs->next_keypair, NULL);
			rcu_assign_pointer(keypairs->previous_keypair, next);
			wg_noise_keypair_put(current_kp, true);
		} else {
			rcu_assign_pointer(keypairs->previous_keypair,
					   current_kp);
		}
		wg_noise_keypair_put(previous, true);
		rcu_assign_pointer(keypairs->current_keypair, new_keypair);
	} else {
		/*
		 * As responder we cannot send until the initiator shows, with
		 * its first data packet, that it derived the same keys: park
		 * the keypair as next.  The previous one is dropped so that
		 * the confirmation's rotation has a free slot.
		 */
		rcu_assign_pointer(keypairs->next_keypair, new_keypair);
		wg_noise_keypair_put(next, true);
		RCU_INIT_POINTER(keypairs->previous_keypair, NULL);
		wg_noise_keypair_put(previous, true);
	}
	spin_unlock_bh(&keypairs->keypair_update_lock);
}

bool wg_noise_received_with_keypair(struct wg_noise_keypairs *keypairs,
				    struct wg_noise_keypair *received_keypair)
{
	struct wg_noise_keypair *old_previous;

	/* The common case, a packet on current, needs no lock. */
	if (rcu_access_pointer(keypairs->next_keypair) != received_keypair)
		return false;

	spin_lock_bh(&keypairs->keypair_update_lock);
	/* Someone may have rotated between the check and the lock. */
	if (unlikely(slot(keypairs, &keypairs->next_keypair) !=
		     received_keypair)) {
		spin_unlock_bh(&keypairs->keypair_update_lock);
		return false;
	}

	/* Confirmed: next becomes current, current becomes previous. */
	old_previous = slot(keypairs, &keypairs->previous_keypair);
	rcu_assign_pointer(keypairs->previous_keypair,
			   slot(keypairs, &keypairs->current_keypair));
	wg_noise_keypair_put(old_previous, true);
	rcu_assign_pointer(keypairs->current_keypair, received_keypair);
	RCU_INIT_POINTER(keypairs->next_keypair, NULL);

	spin_unlock_bh(&keypairs->keypair_update_lock);
	return true;
}

void wg_noise_set_static_identity_private_key(struct wg_noise_static_identity *static_identity,
					      const u8 private_key[NOISE_PUBLIC_KEY_LEN])
{
	static const u8 zero[NOISE_PUBLIC_KEY_LEN];

	lockdep_assert_held_write(&static_identity->lock);

	/*
	 * Test the key as given: clamping would turn all zeros, which is how
	 * userspace removes the key, into a valid scalar.
	 */
	if (!crypto_memneq(private_key, zero, NOISE_PUBLIC_KEY_LEN))
		goto clear;
	memcpy(static_identity->static_private, private_key,
	       NOISE_PUBLIC_KEY_LEN);
	curve25519_clamp_secret(static_identity->static_private);
	static_identity->has_identity =
		curve25519_generate_public(static_identity->static_public,
					   static_identity->static_private);
	if (static_identity->has_identity)
		return;
clear:
	static_identity->has_identity = false;
	memzero_explicit(static_identity->static_private, NOISE_PUBLIC_KEY_LEN);
	memset(static_identity->static_public, 0, NOISE_PUBLIC_KEY_LEN);
}

/*
 * The caller keeps the private key still: it holds wg->device_update_lock
 * (peer creation) or the static identity's lock (key change), and both
 * writers of the key hold both.
 */
void wg_noise_precompute_static_static(struct wg_peer *peer)
{
	struct wg_noise_handshake *handshake = &peer->handshake;

	down_write(&handshake->lock);
	if (!handshake->static_identity->has_identity ||
	    !curve25519(handshake->precomputed_static_static,
			handshake->static_identity->static_private,
			handshake->remote_static))
		memzero_explicit(handshake->precomputed_static_static,
				 NOISE_PUBLIC_KEY_LEN);
	up_write(&handshake->lock);
}

/* Fresh ephemeral pair; the private half goes into the handshake. */
static bool __must_check new_ephemeral(struct wg_noise_handshake *handshake,
				       u8 public_key[NOISE_PUBLIC_KEY_LEN])
{
	curve25519_generate_secret(handshake->ephemeral_private);
	return curve25519_generate_public(public_key,
					  handshake->ephemeral_private);
}

bool wg_noise_handshake_create_initiation(struct wg_message_handshake_initiation *dst,
					  struct wg_noise_handshake *handshake)
{
	u8 timestamp[NOISE_TIMESTAMP_LEN];
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	/*
	 * curve25519_generate_secret() may wait for the RNG: do that before
	 * taking locks (a kworker sees no signals, so it cannot fail).
	 */
	(void)wait_for_random_bytes();

	down_read(&handshake->static_identity->lock);
	down_write(&handshake->lock);

	if (unlikely(!handshake->static_identity->has_identity))
		goto out;

	dst->header.type = cpu_to_le32(MESSAGE_HANDSHAKE_INITIATION);
	handshake_start(handshake->chaining_key, handshake->hash,
			handshake->remote_static);

	/* e */
	if (!new_ephemeral(handshake, dst->unencrypted_ephemeral))
		goto out;
	message_ephemeral(dst->unencrypted_ephemeral,
			  dst->unencrypted_ephemeral, handshake->chaining_key,
			  handshake->hash);

	/* es */
	if (!mix_dh(handshake->chaining_key, key, handshake->ephemeral_private,
		    handshake->remote_static))
		goto out;

	/* s */
	encrypt_and_hash(dst->encrypted_static,
			 handshake->static_identity->static_public,
			 NOISE_PUBLIC_KEY_LEN, key, handshake->hash);

	/* ss */
	if (!mix_precomputed_dh(handshake->chaining_key, key,
				handshake->precomputed_static_static))
		goto out;

	/* {t} */
	tai64n_now(timestamp);
	encrypt_and_hash(dst->encrypted_timestamp, timestamp,
			 NOISE_TIMESTAMP_LEN, key, handshake->hash);

	dst->sender_index =
		wg_index_hashtable_insert(index_table(handshake->entry.peer),
					  &handshake->entry);
	handshake->state = HANDSHAKE_CREATED_INITIATION;
	ret = true;

out:
	up_write(&handshake->lock);
	up_read(&handshake->static_identity->lock);
	memzero_explicit(key, sizeof(key));
	return ret;
}

struct wg_peer *
wg_noise_handshake_consume_initiation(struct wg_message_handshake_initiation *src,
				      struct wg_device *wg)
{
	u8 chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	u8 s[NOISE_PUBLIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN];
	struct wg_noise_handshake *handshake;
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	u8 t[NOISE_TIMESTAMP_LEN];
	struct wg_peer *peer = NULL;
	bool replay, flood, ok;
	u64 now;

	down_read(&wg->static_identity.lock);
	if (unlikely(!wg->static_identity.has_identity))
		goto out;

	handshake_start(chaining_key, hash, wg->static_identity.static_public);

	/* e */
	message_ephemeral(e, src->unencrypted_ephemeral, chaining_key, hash);

	/* es */
	if (!mix_dh(chaining_key, key, wg->static_identity.static_private, e))
		goto out;

	/* s */
	if (!decrypt_and_hash(s, src->encrypted_static,
			      sizeof(src->encrypted_static), key, hash))
		goto out;

	peer = wg_pubkey_hashtable_lookup(wg->peer_hashtable, s);
	if (!peer)
		goto out;
	handshake = &peer->handshake;

	/* ss */
	down_read(&handshake->lock);
	ok = mix_precomputed_dh(chaining_key, key,
				handshake->precomputed_static_static);
	up_read(&handshake->lock);
	if (!ok)
		goto err_put_peer;

	/* {t} */
	if (!decrypt_and_hash(t, src->encrypted_timestamp,
			      sizeof(src->encrypted_timestamp), key, hash))
		goto err_put_peer;

	/*
	 * Checks and update under one write lock, so two copies of the same
	 * initiation racing on different CPUs cannot both pass.  The TAI64N
	 * timestamp is big endian, so memcmp() orders it.
	 */
	down_write(&handshake->lock);
	now = ktime_get_coarse_boottime_ns();
	replay = memcmp(t, handshake->latest_timestamp,
			NOISE_TIMESTAMP_LEN) <= 0;
	flood = handshake->last_initiation_consumption &&
		(s64)(now - handshake->last_initiation_consumption) <
		(s64)(NSEC_PER_SEC / INITIATIONS_PER_SECOND);
	if (replay || flood) {
		up_write(&handshake->lock);
		goto err_put_peer;
	}
	memcpy(handshake->remote_ephemeral, e, NOISE_PUBLIC_KEY_LEN);
	memcpy(handshake->latest_timestamp, t, NOISE_TIMESTAMP_LEN);
	memcpy(handshake->hash, hash, NOISE_HASH_LEN);
	memcpy(handshake->chaining_key, chaining_key, NOISE_HASH_LEN);
	handshake->remote_index = src->sender_index;
	handshake->last_initiation_consumption = now;
	handshake->state = HANDSHAKE_CONSUMED_INITIATION;
	up_write(&handshake->lock);
	goto out;

err_put_peer:
	wg_peer_put(peer);
	peer = NULL;
out:
	up_read(&wg->static_identity.lock);
	memzero_explicit(key, sizeof(key));
	memzero_explicit(hash, sizeof(hash));
	memzero_explicit(chaining_key, sizeof(chaining_key));
	memzero_explicit(t, sizeof(t));
	return peer;
}

bool wg_noise_handshake_create_response(struct wg_message_handshake_response *dst,
					struct wg_noise_handshake *handshake)
{
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	/* As in create_initiation: wait for the RNG outside the locks. */
	(void)wait_for_random_bytes();

	/* The identity must not change while a response is built on it. */
	down_read(&handshake->static_identity->lock);
	down_write(&handshake->lock);

	if (handshake->state != HANDSHAKE_CONSUMED_INITIATION)
		goto out;

	dst->header.type = cpu_to_le32(MESSAGE_HANDSHAKE_RESPONSE);
	dst->receiver_index = handshake->remote_index;

	/* e */
	if (!new_ephemeral(handshake, dst->unencrypted_ephemeral))
		goto out;
	message_ephemeral(dst->unencrypted_ephemeral,
			  dst->unencrypted_ephemeral, handshake->chaining_key,
			  handshake->hash);

	/* ee */
	if (!mix_dh(handshake->chaining_key, NULL, handshake->ephemeral_private,
		    handshake->remote_ephemeral))
		goto out;

	/* se */
	if (!mix_dh(handshake->chaining_key, NULL, handshake->ephemeral_private,
		    handshake->remote_static))
		goto out;

	/* psk */
	mix_psk(handshake->chaining_key, handshake->hash, key,
		handshake->preshared_key);

	/* {} */
	encrypt_and_hash(dst->encrypted_nothing, NULL, 0, key, handshake->hash);

	dst->sender_index =
		wg_index_hashtable_insert(index_table(handshake->entry.peer),
					  &handshake->entry);
	handshake->state = HANDSHAKE_CREATED_RESPONSE;
	ret = true;

out:
	up_write(&handshake->lock);
	up_read(&handshake->static_identity->lock);
	memzero_explicit(key, sizeof(key));
	return ret;
}

struct wg_peer *
wg_noise_handshake_consume_response(struct wg_message_handshake_response *src,
				    struct wg_device *wg)
{
	u8 ephemeral_private[NOISE_PUBLIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN];
	u8 chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	u8 preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	struct wg_index_hashtable_entry *entry;
	struct wg_noise_handshake *handshake;
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	enum wg_noise_handshake_state state;
	struct wg_peer *peer = NULL;
	bool changed;

	down_read(&wg->static_identity.lock);
	if (unlikely(!wg->static_identity.has_identity))
		goto out;

	rcu_read_lock_bh();
	entry = wg_index_hashtable_lookup(wg->index_hashtable,
					  INDEX_HASHTABLE_HANDSHAKE,
					  src->receiver_index, &peer);
	rcu_read_unlock_bh();
	/* The peer reference keeps the handshake embedded in it alive. */
	if (unlikely(!entry)) {
		peer = NULL;
		goto out;
	}
	handshake = container_of(entry, struct wg_noise_handshake, entry);

	/* Work on a copy, so the lock is not held across the DH operations. */
	down_read(&handshake->lock);
	state = handshake->state;
	memcpy(hash, handshake->hash, NOISE_HASH_LEN);
	memcpy(chaining_key, handshake->chaining_key, NOISE_HASH_LEN);
	memcpy(ephemeral_private, handshake->ephemeral_private,
	       NOISE_PUBLIC_KEY_LEN);
	memcpy(preshared_key, handshake->preshared_key,
	       NOISE_SYMMETRIC_KEY_LEN);
	up_read(&handshake->lock);

	if (state != HANDSHAKE_CREATED_INITIATION)
		goto err_put_peer;

	/* e */
	message_ephemeral(e, src->unencrypted_ephemeral, chaining_key, hash);

	/* ee */
	if (!mix_dh(chaining_key, NULL, ephemeral_private, e))
		goto err_put_peer;

	/* se */
	if (!mix_dh(chaining_key, NULL, wg->static_identity.static_private, e))
		goto err_put_peer;

	/* psk */
	mix_psk(chaining_key, hash, key, preshared_key);

	/* {} */
	if (!decrypt_and_hash(NULL, src->encrypted_nothing,
			      sizeof(src->encrypted_nothing), key, hash))
		goto err_put_peer;

	/*
	 * A new initiation may have been created while we worked on the
	 * copy; its fresh ephemeral key tells, and then this response is
	 * for a handshake that no longer exists.
	 */
	down_write(&handshake->lock);
	changed = handshake->state != state ||
		  crypto_memneq(handshake->ephemeral_private, ephemeral_private,
				NOISE_PUBLIC_KEY_LEN);
	if (changed) {
		up_write(&handshake->lock);
		goto err_put_peer;
	}
	memcpy(handshake->remote_ephemeral, e, NOISE_PUBLIC_KEY_LEN);
	memcpy(handshake->hash, hash, NOISE_HASH_LEN);
	memcpy(handshake->chaining_key, chaining_key, NOISE_HASH_LEN);
	handshake->remote_index = src->sender_index;
	handshake->state = HANDSHAKE_CONSUMED_RESPONSE;
	up_write(&handshake->lock);
	goto out;

err_put_peer:
	wg_peer_put(peer);
	peer = NULL;
out:
	up_read(&wg->static_identity.lock);
	memzero_explicit(key, sizeof(key));
	memzero_explicit(hash, sizeof(hash));
	memzero_explicit(chaining_key, sizeof(chaining_key));
	memzero_explicit(ephemeral_private, sizeof(ephemeral_private));
	memzero_explicit(preshared_key, sizeof(preshared_key));
	return peer;
}

static void derive_keys(struct wg_noise_symmetric_key *first_dst,
			struct wg_noise_symmetric_key *second_dst,
			const u8 chaining_key[NOISE_HASH_LEN])
{
	u64 birthdate = ktime_get_coarse_boottime_ns();

	kdf(first_dst->key, second_dst->key, NULL, NULL, 0, chaining_key);
	first_dst->birthdate = birthdate;
	second_dst->birthdate = birthdate;
	first_dst->is_valid = true;
	second_dst->is_valid = true;
}

bool wg_noise_handshake_begin_session(struct wg_noise_handshake *handshake,
				      struct wg_noise_keypairs *keypairs)
{
	struct wg_peer *peer = handshake->entry.peer;
	struct wg_noise_keypair *new_keypair;
	bool ret = false;

	down_write(&handshake->lock);
	if (handshake->state != HANDSHAKE_CREATED_RESPONSE &&
	    handshake->state != HANDSHAKE_CONSUMED_RESPONSE)
		goto out;

	new_keypair = keypair_create(peer);
	if (!new_keypair)
		goto out;
	new_keypair->i_am_the_initiator =
		handshake->state == HANDSHAKE_CONSUMED_RESPONSE;
	new_keypair->remote_index = handshake->remote_index;

	/* The initiator sends with the first key, the responder the second. */
	if (new_keypair->i_am_the_initiator)
		derive_keys(&new_keypair->sending, &new_keypair->receiving,
			    handshake->chaining_key);
	else
		derive_keys(&new_keypair->receiving, &new_keypair->sending,
			    handshake->chaining_key);

	handshake_zero(handshake);

	/*
	 * Peer removal marks the peer dead, clears its keypairs, waits for an
	 * RCU grace period and clears them again: whatever we install inside
	 * this read section is gone by the time the removal finishes.
	 */
	rcu_read_lock_bh();
	if (likely(!READ_ONCE(peer->is_dead))) {
		add_new_keypair(keypairs, new_keypair);
		wg_dbg_obj("%s: keypair %llu created for peer %llu\n",
			   peer->device->dev->name, new_keypair->internal_id,
			   peer->internal_id);
		/* The keypair takes over the handshake's local index. */
		ret = wg_index_hashtable_replace(index_table(peer),
						 &handshake->entry,
						 &new_keypair->entry);
	} else {
		kfree_sensitive(new_keypair);
	}
	rcu_read_unlock_bh();

out:
	up_write(&handshake->lock);
	return ret;
}

/* Words in the replay bitmap, used as a ring. */
#define COUNTER_WORDS (COUNTER_BITS_TOTAL / BITS_PER_LONG)

void wg_noise_counter_init(struct wg_noise_replay_counter *counter)
{
	counter->counter = 0;
	memset(counter->backtrack, 0, sizeof(counter->backtrack));
	spin_lock_init(&counter->lock);
}

/*
 * Sliding window in the style of RFC 6479.  counter->counter is one more
 * than the highest nonce accepted (0: none yet), which lets nonce 0 be
 * handled like any other.  Bit (n + 1) of the ring records nonce n.  When
 * the window moves forward, the words it moves into are cleared before
 * use; a ring of COUNTER_WORDS words always covers COUNTER_WINDOW_SIZE
 * positions below the top, so no two live positions share a bit.
 */
bool wg_noise_counter_validate(struct wg_noise_replay_counter *counter,
			       u64 their_counter)
{
	u64 pos, top_word, new_word, gap, i;
	bool ret = false;

	BUILD_BUG_ON(!is_power_of_2(COUNTER_WORDS));

	spin_lock_bh(&counter->lock);

	/* Past this the window arithmetic could overflow: the key is spent. */
	if (unlikely(their_counter >= REJECT_AFTER_MESSAGES))
		goto out;
	pos = their_counter + 1;

	/* Older than the window: we can no longer tell if it is a replay. */
	if (unlikely(pos + COUNTER_WINDOW_SIZE < counter->counter))
		goto out;

	new_word = pos / BITS_PER_LONG;
	if (pos > counter->counter) {
		top_word = counter->counter / BITS_PER_LONG;
		gap = min_t(u64, new_word - top_word, COUNTER_WORDS);
		for (i = 1; i <= gap; ++i)
			counter->backtrack[(top_word + i) &
					   (COUNTER_WORDS - 1)] = 0;
		counter->counter = pos;
	}

	ret = !__test_and_set_bit(pos & (BITS_PER_LONG - 1),
				  &counter->backtrack[new_word &
						      (COUNTER_WORDS - 1)]);
out:
	spin_unlock_bh(&counter->lock);
	return ret;
}

#ifdef CONFIG_WG_DEBUG

struct counter_case {
	u64 nonce;
	bool accept;
};

static bool run_counter_cases(struct wg_noise_replay_counter *counter,
			      const struct counter_case *cases, size_t n,
			      const char *name)
{
	static const char * const verdict[] = { "rejected", "accepted" };
	size_t i;

	for (i = 0; i < n; ++i) {
		if (wg_noise_counter_validate(counter, cases[i].nonce) ==
		    cases[i].accept)
			continue;
		pr_err("counter self-test %s, case %zu (nonce %llu): should be %s\n",
		       name, i, cases[i].nonce, verdict[cases[i].accept]);
		return false;
	}
	return true;
}

/* Expects every nonce in [first, last], walked by @step, to give @accept. */
static bool run_counter_range(struct wg_noise_replay_counter *counter,
			      u64 first, u64 last, s64 step, bool accept,
			      const char *name)
{
	u64 n = first;

	for (;;) {
		if (wg_noise_counter_validate(counter, n) != accept) {
			pr_err("counter self-test %s (nonce %llu): expected %s\n",
			       name, n, accept ? "accept" : "reject");
			return false;
		}
		if (n == last)
			return true;
		n += step;
	}
}

bool wg_noise_counter_selftest(void)
{
	const u64 w = COUNTER_WINDOW_SIZE, total = COUNTER_BITS_TOTAL;
	const u64 lim = REJECT_AFTER_MESSAGES;
	const struct counter_case basic[] = {
		{ 0, true }, { 0, false }, { 1, true }, { 1, false },
		{ 3, true }, { 2, true }, { 2, false }, { 3, false },
		{ 63, true }, { 64, true }, { 65, true }, { 62, true },
		{ 64, false },
		/* Jump so that nonce 10 is exactly the window's oldest. */
		{ w + 10, true }, { 9, false }, { 10, true }, { 10, false },
		{ 11, true }, { w + 9, true }, { w + 10, false },
		/* A jump over several whole rings clears every word. */
		{ w + 10 + 3 * total, true },
		{ w + 10 + 3 * total - w - 1, false },
		{ w + 10 + 3 * total - w, true },
		{ w + 10 + 3 * total - 1, true },
		{ w + 10 + 3 * total - 1, false },
		{ w + 10 + 3 * total + 1, true },
	};
	const struct counter_case limits[] = {
		{ lim - 2, true }, { lim - 1, true }, { lim, false },
		{ lim + 1, false }, { U64_MAX, false }, { lim - 2, false },
		{ lim - 3, true }, { lim - 1 - w, true },
		{ lim - 2 - w, false },
	};
	struct wg_noise_replay_counter *counter;
	bool ok = false;

	/* Over 1 KiB: keep it off the stack. */
	counter = kmalloc(sizeof(*counter), GFP_KERNEL);
	if (!counter)
		return false;

	wg_noise_counter_init(counter);
	if (!run_counter_cases(counter, basic, ARRAY_SIZE(basic), "basic"))
		goto out;

	/* In order across several laps of the ring, then all replays. */
	wg_noise_counter_init(counter);
	if (!run_counter_range(counter, 0, 2 * total, 1, true, "in-order") ||
	    !run_counter_range(counter, 2 * total, 2 * total - w, -1, false,
			       "in-order replay") ||
	    !run_counter_range(counter, 2 * total - w - 1, 0, -1, false,
			       "in-order too old"))
		goto out;

	/* The whole window received backwards, from the top down. */
	wg_noise_counter_init(counter);
	if (!run_counter_range(counter, w, 0, -1, true, "backwards") ||
	    !run_counter_range(counter, 0, w, 1, false, "backwards replay"))
		goto out;

	/* One past the window: the bottom falls out. */
	wg_noise_counter_init(counter);
	if (!run_counter_range(counter, w + 1, 1, -1, true, "edge") ||
	    !run_counter_range(counter, 0, 0, 1, false, "edge too old"))
		goto out;

	/* Odd nonces first, then the even ones fill the gaps. */
	wg_noise_counter_init(counter);
	if (!run_counter_range(counter, 1, 2 * w + 1, 2, true, "odd") ||
	    !run_counter_range(counter, w + 2, 2 * w, 2, true, "even") ||
	    !run_counter_range(counter, w, w, 1, false, "even too old") ||
	    !run_counter_range(counter, w + 1, 2 * w + 1, 1, false,
			       "all replay"))
		goto out;

	wg_noise_counter_init(counter);
	if (!run_counter_cases(counter, limits, ARRAY_SIZE(limits), "limits"))
		goto out;

	ok = true;
	pr_info("counter self-tests: pass\n");
out:
	kfree(counter);
	return ok;
}

#endif /* CONFIG_WG_DEBUG */
