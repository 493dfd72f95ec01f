/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allowed-IPs table: a binary radix trie per address family mapping
 * prefixes to peers.  Lookups run under RCU-bh without locks; every change
 * is made with the device's update lock held (passed as @lock so that the
 * trie can assert it).
 */
#ifndef _WG_ALLOWEDIPS_H
#define _WG_ALLOWEDIPS_H

#include <linux/mutex.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

struct wg_peer;
struct sk_buff;

struct wg_allowedips_node {
	struct wg_peer __rcu *peer;
	struct wg_allowedips_node __rcu *bit[2];
	u8 cidr, bit_at_a, bit_at_b, bitlen;
	u8 bits[16] __aligned(__alignof(u64));

	/* Rarely used: kept past the first cache line. */
	unsigned long parent_bit_packed;
	union {
		/* Entry in the owning peer's allowedips_list. */
		struct list_head peer_list;
		struct rcu_head rcu;
	};
};

struct wg_allowedips {
	struct wg_allowedips_node __rcu *root4;
	struct wg_allowedips_node __rcu *root6;
	/* Bumped on every change, so split dumps notice concurrent edits. */
	u64 seq;
};

int wg_allowedips_slab_init(void);
void wg_allowedips_slab_uninit(void);

void wg_allowedips_init(struct wg_allowedips *table);
void wg_allowedips_free(struct wg_allowedips *table, struct mutex *lock);
/* Insert or move the prefix to @peer; host bits past @cidr are ignored. */
int wg_allowedips_insert_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock);
int wg_allowedips_insert_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock);
/* Remove the prefix if, and only if, @peer owns it. */
int wg_allowedips_remove_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock);
int wg_allowedips_remove_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock);
/* Removes every prefix of @peer, in time proportional to its own count. */
void wg_allowedips_remove_by_peer(struct wg_allowedips *table,
				  struct wg_peer *peer, struct mutex *lock);
/*
 * Replacing @peer's prefixes without a gap: set its nodes aside (they keep
 * routing to it), insert the new set (a prefix it had comes back), then
 * remove what is still aside.  All under @lock.
 */
void wg_allowedips_set_aside(struct wg_peer *peer,
			     struct list_head *aside, struct mutex *lock);
void wg_allowedips_remove_aside(struct wg_allowedips *table,
				struct list_head *aside, struct mutex *lock);
/* Fills @ip (4 or 16 bytes) and @cidr; returns AF_INET or AF_INET6. */
int wg_allowedips_read_node(struct wg_allowedips_node *node, u8 ip[16],
			    u8 *cidr);

/* These return a peer reference, or NULL.  Call under rcu_read_lock_bh(). */
struct wg_peer *wg_allowedips_lookup_dst(struct wg_allowedips *table,
					 struct sk_buff *skb);
struct wg_peer *wg_allowedips_lookup_src(struct wg_allowedips *table,
					 struct sk_buff *skb);
/*
 * The peer whose allowed IPs hold @addr (an in_addr or in6_addr by
 * @family), without a reference: only for comparing identities, under
 * rcu_read_lock_bh().
 */
struct wg_peer *wg_allowedips_peer_of(struct wg_allowedips *table,
				      sa_family_t family, const void *addr);

/* Debug builds only: run at module load; false fails the load. */
#ifdef CONFIG_WG_DEBUG
bool wg_allowedips_selftest(void);
#else
static inline bool wg_allowedips_selftest(void)
{
	return true;
}
#endif

#endif /* _WG_ALLOWEDIPS_H */
