/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allowed-IPs table: a binary radix trie per address family mapping
 * prefixes to owners.  An owner is a struct wg_aip_owner the caller embeds
 * in its own object (a peer) and recovers with container_of(); the trie
 * lists each owner's prefixes on it, and takes no reference to it.
 *
 * Locking: every change is made with the caller's update lock held
 * (passed as @lock so that the trie can assert it), and that lock also
 * guards each owner's list.  Lookups take no lock: call them under
 * rcu_read_lock_bh() and take the caller's reference before leaving that
 * section.  An owner may be freed once wg_allowedips_remove_owner() has
 * run and an RCU-bh grace period has passed.
 */
#ifndef _WG_TABLES_ALLOWEDIPS_H
#define _WG_TABLES_ALLOWEDIPS_H

#include <linux/mutex.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

/* What the trie maps prefixes to. */
struct wg_aip_owner {
	/* Its prefixes' nodes, under the update lock. */
	struct list_head prefixes;
};

static inline void wg_aip_owner_init(struct wg_aip_owner *owner)
{
	INIT_LIST_HEAD(&owner->prefixes);
}

/*
 * One prefix.  A lookup reads key, len, next_byte, next_shift (fixed once
 * the node is published), owner and child[] (RCU pointers); the rest is
 * the writers', under the update lock.
 */
struct wg_allowedips_node {
	/* The prefix's first @len bits of @width, the rest zero. */
	u8 key[16] __aligned(__alignof(u64));
	struct wg_aip_owner __rcu *owner;
	/* By the first bit past the prefix. */
	struct wg_allowedips_node __rcu *child[2];
	/* The node whose child this is, NULL for a root; and which child. */
	struct wg_allowedips_node *up;
	u8 side;
	u8 len, width;
	/* That first bit past the prefix: its byte, and its shift in it. */
	u8 next_byte, next_shift;
	union {
		/* In the owner's prefixes while the node is in the trie. */
		struct list_head owner_link;
		/* Then, unlinked, on its way back to the cache. */
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
/* Insert or move the prefix to @owner; host bits past @cidr are ignored. */
int wg_allowedips_insert_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_aip_owner *owner, struct mutex *lock);
int wg_allowedips_insert_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_aip_owner *owner, struct mutex *lock);
/* Remove the prefix if, and only if, @owner owns it. */
int wg_allowedips_remove_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_aip_owner *owner, struct mutex *lock);
int wg_allowedips_remove_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_aip_owner *owner, struct mutex *lock);
/* Removes every prefix of @owner, in time proportional to its own count. */
void wg_allowedips_remove_owner(struct wg_allowedips *table,
				struct wg_aip_owner *owner, struct mutex *lock);
/*
 * Replacing @owner's prefixes without a gap: set its nodes aside (they
 * keep routing to it), insert the new set (a prefix it had comes back),
 * then remove what is still aside.  All under @lock.
 */
void wg_allowedips_set_aside(struct wg_aip_owner *owner,
			     struct list_head *aside, struct mutex *lock);
void wg_allowedips_remove_aside(struct wg_allowedips *table,
				struct list_head *aside, struct mutex *lock);
/* Fills @ip (4 or 16 bytes) and @cidr; returns AF_INET or AF_INET6. */
int wg_allowedips_read_node(struct wg_allowedips_node *node, u8 ip[16],
			    u8 *cidr);

/*
 * The owner of the longest prefix holding @addr (an in_addr or in6_addr
 * by @family; any other family finds none), or NULL.  No reference is
 * taken: call under rcu_read_lock_bh().
 */
struct wg_aip_owner *wg_allowedips_find(struct wg_allowedips *table,
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

#endif /* _WG_TABLES_ALLOWEDIPS_H */
