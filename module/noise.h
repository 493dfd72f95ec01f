/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake and the keypairs it
 * derives.
 */
#ifndef _WG_NOISE_H
#define _WG_NOISE_H

#include "messages.h"
#include "peerlookup.h"

#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/rwsem.h>
#include <linux/mutex.h>
#include <linux/kref.h>

struct wg_device;
struct wg_peer;

struct wg_noise_replay_counter {
	u64 counter;
	/* Protects counter and backtrack. */
	spinlock_t lock;
	unsigned long backtrack[COUNTER_BITS_TOTAL / BITS_PER_LONG];
};

struct wg_noise_symmetric_key {
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	u64 birthdate;	/* ktime_get_coarse_boottime_ns() at creation */
	bool is_valid;
};

struct wg_noise_keypair {
	struct wg_index_hashtable_entry entry;
	struct wg_noise_symmetric_key sending;
	atomic64_t sending_counter;
	struct wg_noise_symmetric_key receiving;
	struct wg_noise_replay_counter receiving_counter;
	__le32 remote_index;
	bool i_am_the_initiator;
	struct kref refcount;
	struct rcu_head rcu;
	u64 internal_id;
};

struct wg_noise_keypairs {
	struct wg_noise_keypair __rcu *current_keypair;
	struct wg_noise_keypair __rcu *previous_keypair;
	struct wg_noise_keypair __rcu *next_keypair;
	/* Protects the three slots above against concurrent rotation. */
	spinlock_t keypair_update_lock;
};

struct wg_noise_static_identity {
	u8 static_public[NOISE_PUBLIC_KEY_LEN];
	u8 static_private[NOISE_PUBLIC_KEY_LEN];
	/* Readers: handshakes.  Writer: netlink changing the private key. */
	struct rw_semaphore lock;
	bool has_identity;
};

enum wg_noise_handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE
};

struct wg_noise_handshake {
	struct wg_index_hashtable_entry entry;

	enum wg_noise_handshake_state state;
	u64 last_initiation_consumption;

	struct wg_noise_static_identity *static_identity;

	u8 ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	u8 remote_static[NOISE_PUBLIC_KEY_LEN];
	u8 remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	u8 precomputed_static_static[NOISE_PUBLIC_KEY_LEN];

	u8 preshared_key[NOISE_SYMMETRIC_KEY_LEN];

	u8 hash[NOISE_HASH_LEN];
	u8 chaining_key[NOISE_HASH_LEN];

	u8 latest_timestamp[NOISE_TIMESTAMP_LEN];
	__le32 remote_index;

	/* Protects everything above except entry. */
	struct rw_semaphore lock;
};

void wg_noise_init(void);
void wg_noise_handshake_init(struct wg_noise_handshake *handshake,
			     struct wg_noise_static_identity *static_identity,
			     const u8 peer_public_key[NOISE_PUBLIC_KEY_LEN],
			     const u8 peer_preshared_key[NOISE_SYMMETRIC_KEY_LEN],
			     struct wg_peer *peer);
void wg_noise_handshake_clear(struct wg_noise_handshake *handshake);
static inline void wg_noise_reset_last_sent_handshake(atomic64_t *handshake_ns)
{
	atomic64_set(handshake_ns, ktime_get_coarse_boottime_ns() -
				   (u64)(REKEY_TIMEOUT + 1) * NSEC_PER_SEC);
}

void wg_noise_keypair_put(struct wg_noise_keypair *keypair, bool unreference_now);
/* Returns a reference, or NULL if the keypair is being freed. */
struct wg_noise_keypair *wg_noise_keypair_get(struct wg_noise_keypair *keypair);
void wg_noise_keypairs_clear(struct wg_noise_keypairs *keypairs);
bool wg_noise_received_with_keypair(struct wg_noise_keypairs *keypairs,
				    struct wg_noise_keypair *received_keypair);
void wg_noise_expire_current_peer_keypairs(struct wg_peer *peer);

void wg_noise_set_static_identity_private_key(struct wg_noise_static_identity *static_identity,
					      const u8 private_key[NOISE_PUBLIC_KEY_LEN]);
void wg_noise_precompute_static_static(struct wg_peer *peer);

bool wg_noise_handshake_create_initiation(struct wg_message_handshake_initiation *dst,
					  struct wg_noise_handshake *handshake);
/* Returns a peer reference, or NULL. */
struct wg_peer *
wg_noise_handshake_consume_initiation(struct wg_message_handshake_initiation *src,
				      struct wg_device *wg);

bool wg_noise_handshake_create_response(struct wg_message_handshake_response *dst,
					struct wg_noise_handshake *handshake);
/* Returns a peer reference, or NULL. */
struct wg_peer *
wg_noise_handshake_consume_response(struct wg_message_handshake_response *src,
				    struct wg_device *wg);

bool wg_noise_handshake_begin_session(struct wg_noise_handshake *handshake,
				      struct wg_noise_keypairs *keypairs);

/* Replay window check and update; true if @counter is fresh. */
bool wg_noise_counter_validate(struct wg_noise_replay_counter *counter,
			       u64 their_counter);
void wg_noise_counter_init(struct wg_noise_replay_counter *counter);
/* Debug builds only: run at module load; false fails the load. */
#ifdef CONFIG_WG_DEBUG
bool wg_noise_counter_selftest(void);
#else
static inline bool wg_noise_counter_selftest(void)
{
	return true;
}
#endif

#endif /* _WG_NOISE_H */
