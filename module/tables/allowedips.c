// SPDX-License-Identifier: GPL-2.0
/*
 * The allowed-IPs table: one binary radix trie per address family.
 *
 * Every node stores a whole prefix (its bits with the host part zeroed, and
 * its length).  A child's prefix always extends its parent's, and the child
 * sits in child[0] or child[1] according to the first bit past the parent's
 * prefix.  Only two kinds of node exist: nodes that carry an owner, and
 * ownerless branch nodes that join exactly two subtrees.  A node that ends
 * up with no owner and fewer than two children is spliced out at once, so
 * the depth stays bounded by the number of prefixes and by the address
 * length.
 *
 * Readers walk the trie under rcu_read_lock_bh() without any lock.  They
 * only ever load the mutable pointers (root, child[], owner); a node's
 * prefix, length and branch position never change after it is published.  Writers hold
 * the device's update lock, passed in as @lock so that the trie can check it,
 * and free unlinked nodes only after a grace period.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "allowedips.h"

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/bitops.h>
#include <linux/socket.h>

static struct kmem_cache *node_cache;

#define deref_locked(p, lock) \
	rcu_dereference_protected(p, lockdep_is_held(lock))

/*
 * The pointer that leads to a node is its parent's child[side], or for a
 * node without a parent the root of its width.
 */
static struct wg_allowedips_node *
parent_of(const struct wg_allowedips_node *node)
{
	return node->up;
}

static unsigned int parent_bit(const struct wg_allowedips_node *node)
{
	return node->side;
}

static void set_parent(struct wg_allowedips_node *node,
		       struct wg_allowedips_node *parent, unsigned int bit)
{
	node->up = parent;
	node->side = bit;
}

static struct wg_allowedips_node __rcu **
slot_of(struct wg_allowedips *table, struct wg_allowedips_node *node)
{
	struct wg_allowedips_node *parent = parent_of(node);

	if (parent)
		return &parent->child[parent_bit(node)];
	return node->width == 32 ? &table->root4 : &table->root6;
}

/* Keys may come straight from a packet header, so no alignment is assumed. */
static u32 load_be32(const u8 *p)
{
	__be32 v;

	memcpy(&v, p, sizeof(v));
	return be32_to_cpu(v);
}

/* Length of the common leading run of @a and @b, looking at most @nbits. */
static unsigned int common_bits(const u8 *a, const u8 *b, unsigned int nbits)
{
	unsigned int i;
	u32 diff;

	for (i = 0; i < nbits; i += 32) {
		diff = load_be32(a + i / 8) ^ load_be32(b + i / 8);
		if (diff)
			return min(i + 32 - fls(diff), nbits);
	}
	return nbits;
}

static bool prefix_matches(const struct wg_allowedips_node *node, const u8 *key)
{
	return common_bits(node->key, key, node->len) >= node->len;
}

/* The key's first bit past @node's prefix; only valid if len < width. */
static unsigned int choose(const struct wg_allowedips_node *node, const u8 *key)
{
	return (key[node->next_byte] >> node->next_shift) & 1;
}

/* Copies the first @cidr bits of @src to @dst and zeroes the rest. */
static void mask_key(u8 dst[16], const u8 *src, unsigned int cidr,
		     unsigned int bitlen)
{
	unsigned int i;

	memset(dst, 0, 16);
	for (i = 0; i < bitlen / 8; ++i) {
		if (cidr >= 8 * (i + 1))
			dst[i] = src[i];
		else if (cidr > 8 * i)
			dst[i] = src[i] & (u8)(0xff00 >> (cidr - 8 * i));
	}
}

static struct wg_allowedips_node *node_alloc(const u8 *key, u8 cidr, u8 bitlen)
{
	struct wg_allowedips_node *node;

	node = kmem_cache_zalloc(node_cache, GFP_KERNEL);
	if (!node)
		return NULL;
	node->len = cidr;
	node->width = bitlen;
	node->next_byte = cidr / 8;
	node->next_shift = 7 - cidr % 8;
	mask_key(node->key, key, cidr, bitlen);
	INIT_LIST_HEAD(&node->owner_link);
	return node;
}

static void node_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(node_cache,
			container_of(rcu, struct wg_allowedips_node, rcu));
}

/*
 * Readers may still be standing on @node, so it goes back to the cache only
 * after a grace period.  The rcu head shares storage with owner_link, so the
 * node must already be off its owner's list.
 */
static void node_release(struct wg_allowedips_node *node)
{
	call_rcu(&node->rcu, node_free_rcu);
}

/* The owner of the longest prefix holding @key, or NULL. */
static struct wg_aip_owner *
find_owner(struct wg_allowedips_node __rcu *const *root, const u8 *key)
{
	struct wg_allowedips_node *node = rcu_dereference_bh(*root);
	struct wg_aip_owner *best = NULL, *owner;

	while (node && prefix_matches(node, key)) {
		owner = rcu_dereference_bh(node->owner);
		if (owner)
			best = owner;
		if (node->len == node->width)
			break;
		node = rcu_dereference_bh(node->child[choose(node, key)]);
	}
	return best;
}

struct wg_aip_owner *wg_allowedips_find(struct wg_allowedips *table,
					sa_family_t family, const void *addr)
{
	if (family == AF_INET)
		return find_owner(&table->root4, addr);
	if (family == AF_INET6)
		return find_owner(&table->root6, addr);
	return NULL;
}

static void set_owner(struct wg_allowedips_node *node,
		      struct wg_aip_owner *owner, struct mutex *lock)
{
	if (deref_locked(node->owner, lock))
		list_move_tail(&node->owner_link, &owner->prefixes);
	else
		list_add_tail(&node->owner_link, &owner->prefixes);
	rcu_assign_pointer(node->owner, owner);
}

static int add(struct wg_allowedips_node __rcu **root, u8 bitlen,
	       const u8 *addr, u8 cidr, struct wg_aip_owner *owner,
	       struct mutex *lock)
{
	struct wg_allowedips_node *node, *parent = NULL, *leaf, *branch;
	struct wg_allowedips_node __rcu **slot = root;
	unsigned int bit = 0, common = 0, b;
	u8 key[16] __aligned(8);

	mask_key(key, addr, cidr, bitlen);

	/* Descend while the node's prefix is a strict prefix of the new one. */
	node = deref_locked(*slot, lock);
	while (node) {
		common = common_bits(node->key, key, min(node->len, cidr));
		if (common < node->len)
			break;
		if (node->len == cidr) {
			set_owner(node, owner, lock);
			return 0;
		}
		parent = node;
		bit = choose(node, key);
		slot = &node->child[bit];
		node = deref_locked(*slot, lock);
	}

	leaf = node_alloc(key, cidr, bitlen);
	if (!leaf)
		return -ENOMEM;
	RCU_INIT_POINTER(leaf->owner, owner);

	if (!node) {
		/* An empty slot: the new prefix simply hangs there. */
		set_parent(leaf, parent, bit);
	} else if (common == cidr) {
		/* The new prefix covers @node: it goes above it. */
		b = choose(leaf, node->key);
		RCU_INIT_POINTER(leaf->child[b], node);
		set_parent(node, leaf, b);
		set_parent(leaf, parent, bit);
	} else {
		/*
		 * The prefixes diverge at bit @common before either ends: a
		 * ownerless branch node at that depth holds both.
		 */
		branch = node_alloc(key, common, bitlen);
		if (!branch) {
			kmem_cache_free(node_cache, leaf);
			return -ENOMEM;
		}
		b = choose(branch, key);
		RCU_INIT_POINTER(branch->child[b], leaf);
		RCU_INIT_POINTER(branch->child[!b], node);
		set_parent(leaf, branch, b);
		set_parent(node, branch, !b);
		set_parent(branch, parent, bit);
		list_add_tail(&leaf->owner_link, &owner->prefixes);
		/* Publish only once every field readers may see is in place. */
		rcu_assign_pointer(*slot, branch);
		return 0;
	}
	list_add_tail(&leaf->owner_link, &owner->prefixes);
	rcu_assign_pointer(*slot, leaf);
	return 0;
}

/*
 * Takes @node away from its owner and drops whatever became useless: the node
 * itself if it has fewer than two children, and then its parent if that was a
 * ownerless branch node left with a single child.
 */
static void unlink_node(struct wg_allowedips *table,
			struct wg_allowedips_node *node, struct mutex *lock)
{
	struct wg_allowedips_node *parent, *child, *sibling;
	struct wg_allowedips_node __rcu **slot;
	unsigned int bit;

	list_del_init(&node->owner_link);
	RCU_INIT_POINTER(node->owner, NULL);

	child = deref_locked(node->child[0], lock);
	sibling = deref_locked(node->child[1], lock);
	if (child && sibling)
		return;	/* still needed to join two subtrees */
	if (!child)
		child = sibling;

	parent = parent_of(node);
	bit = parent_bit(node);
	slot = slot_of(table, node);
	if (child) {
		set_parent(child, parent, bit);
		rcu_assign_pointer(*slot, child);
		node_release(node);
		return;
	}
	RCU_INIT_POINTER(*slot, NULL);
	node_release(node);

	if (!parent || deref_locked(parent->owner, lock))
		return;
	/* An ownerless parent had two children; now it has one. */
	sibling = deref_locked(parent->child[!bit], lock);
	slot = slot_of(table, parent);
	set_parent(sibling, parent_of(parent), parent_bit(parent));
	rcu_assign_pointer(*slot, sibling);
	node_release(parent);
}

static struct wg_allowedips_node *
find_exact(struct wg_allowedips_node __rcu **root, const u8 *key, u8 cidr,
	   struct mutex *lock)
{
	struct wg_allowedips_node *node = deref_locked(*root, lock);

	while (node && node->len <= cidr && prefix_matches(node, key)) {
		if (node->len == cidr)
			return node;
		node = deref_locked(node->child[choose(node, key)], lock);
	}
	return NULL;
}

static int del(struct wg_allowedips *table,
	       struct wg_allowedips_node __rcu **root, u8 bitlen,
	       const u8 *addr, u8 cidr, struct wg_aip_owner *owner,
	       struct mutex *lock)
{
	struct wg_allowedips_node *node;
	u8 key[16] __aligned(8);

	mask_key(key, addr, cidr, bitlen);
	node = find_exact(root, key, cidr, lock);
	if (!node || deref_locked(node->owner, lock) != owner)
		return -ENOENT;
	unlink_node(table, node, lock);
	return 0;
}

/*
 * Frees a whole trie in post-order, climbing back through the parent links
 * so that no stack proportional to the depth is needed.  A node is released
 * only after both its subtrees, and is never read again afterwards.
 */
static void free_trie(struct wg_allowedips_node __rcu **root,
		      struct mutex *lock)
{
	struct wg_allowedips_node *node, *parent, *child;
	unsigned int bit;

	node = deref_locked(*root, lock);
	RCU_INIT_POINTER(*root, NULL);

	while (node) {
		child = deref_locked(node->child[0], lock);
		if (!child)
			child = deref_locked(node->child[1], lock);
		if (child) {
			node = child;
			continue;
		}
		for (;;) {
			parent = parent_of(node);
			bit = parent_bit(node);
			if (deref_locked(node->owner, lock))
				list_del(&node->owner_link);
			node_release(node);
			if (!parent) {
				node = NULL;
				break;
			}
			child = bit ? NULL : deref_locked(parent->child[1], lock);
			if (child) {
				node = child;
				break;
			}
			node = parent;
		}
	}
}

void wg_allowedips_init(struct wg_allowedips *table)
{
	RCU_INIT_POINTER(table->root4, NULL);
	RCU_INIT_POINTER(table->root6, NULL);
	table->seq = 1;
}

void wg_allowedips_free(struct wg_allowedips *table, struct mutex *lock)
{
	lockdep_assert_held(lock);
	++table->seq;
	free_trie(&table->root4, lock);
	free_trie(&table->root6, lock);
}

int wg_allowedips_insert_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_aip_owner *owner, struct mutex *lock)
{
	lockdep_assert_held(lock);
	if (cidr > 32)
		return -EINVAL;
	++table->seq;
	return add(&table->root4, 32, (const u8 *)ip, cidr, owner, lock);
}

int wg_allowedips_insert_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_aip_owner *owner, struct mutex *lock)
{
	lockdep_assert_held(lock);
	if (cidr > 128)
		return -EINVAL;
	++table->seq;
	return add(&table->root6, 128, (const u8 *)ip, cidr, owner, lock);
}

int wg_allowedips_remove_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_aip_owner *owner, struct mutex *lock)
{
	lockdep_assert_held(lock);
	if (cidr > 32)
		return -EINVAL;
	++table->seq;
	return del(table, &table->root4, 32, (const u8 *)ip, cidr, owner, lock);
}

int wg_allowedips_remove_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_aip_owner *owner, struct mutex *lock)
{
	lockdep_assert_held(lock);
	if (cidr > 128)
		return -EINVAL;
	++table->seq;
	return del(table, &table->root6, 128, (const u8 *)ip, cidr, owner,
		   lock);
}

/* Unlinks every node on @list, an owner's list or one set aside from it. */
static void remove_list(struct wg_allowedips *table, struct list_head *list,
			struct mutex *lock)
{
	struct wg_allowedips_node *node, *tmp;

	lockdep_assert_held(lock);
	if (list_empty(list))
		return;
	++table->seq;
	/*
	 * unlink_node() may also free an ownerless parent, but never another
	 * node of this list, so the saved next entry stays valid.
	 */
	list_for_each_entry_safe(node, tmp, list, owner_link)
		unlink_node(table, node, lock);
}

void wg_allowedips_remove_owner(struct wg_allowedips *table,
				struct wg_aip_owner *owner, struct mutex *lock)
{
	remove_list(table, &owner->prefixes, lock);
}

/*
 * Replacing an owner's prefixes without a moment in which it has none: its
 * nodes go on @aside but keep routing to it; inserting a prefix it had
 * moves that node back onto its list (set_owner()), and
 * wg_allowedips_remove_aside() then drops the rest.
 */
void wg_allowedips_set_aside(struct wg_aip_owner *owner,
			     struct list_head *aside, struct mutex *lock)
{
	lockdep_assert_held(lock);
	list_splice_init(&owner->prefixes, aside);
}

void wg_allowedips_remove_aside(struct wg_allowedips *table,
				struct list_head *aside, struct mutex *lock)
{
	remove_list(table, aside, lock);
}

int wg_allowedips_read_node(struct wg_allowedips_node *node, u8 ip[16],
			    u8 *cidr)
{
	memcpy(ip, node->key, node->width / 8);
	*cidr = node->len;
	return node->width == 32 ? AF_INET : AF_INET6;
}

int wg_allowedips_slab_init(void)
{
	node_cache = kmem_cache_create("wg_allowedips_node",
				       sizeof(struct wg_allowedips_node), 0, 0,
				       NULL);
	return node_cache ? 0 : -ENOMEM;
}

void wg_allowedips_slab_uninit(void)
{
	/* Nodes freed by call_rcu() must be back before the cache goes. */
	rcu_barrier();
	kmem_cache_destroy(node_cache);
	node_cache = NULL;
}

#ifdef CONFIG_WG_DEBUG

#include <linux/inet.h>
#include <linux/random.h>

/*
 * The trie is checked against a deliberately naive model: an array of
 * prefixes searched linearly.  The model masks bit by bit and compares bytes,
 * so it shares none of the trie's word and fls() arithmetic.
 */

#define ST_PEERS 6
#define ST_POOL 8
#define ST_MAX_ENTRIES 1024
#define ST_RANDOM_OPS 3000
#define ST_MAX_ERRORS 8
#define ST_REPLACE_MAX 16

struct st_entry {
	u8 ip[16] __aligned(8);
	u8 len, width;
	struct wg_aip_owner *peer;
	/* Filled by st_check_trie(), compared by st_check_lists(). */
	struct wg_allowedips_node *node;
};

struct st_ctx {
	struct wg_allowedips table;
	struct wg_aip_owner *peers[ST_PEERS];
	struct st_entry *ref;
	unsigned int nref;
	u8 pool[2][ST_POOL][16];
	u64 seed, rng;
	unsigned int errors;
	const char *phase;
};

/* Stands in for the device's update lock. */
static DEFINE_MUTEX(st_lock);

/* Counts every failure but prints only the first few. */
static __printf(2, 3) void st_fail(struct st_ctx *ctx, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (ctx->errors++ >= ST_MAX_ERRORS)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("allowedips self-test (%s, seed %llx): %pV\n", ctx->phase,
	       ctx->seed, &vaf);
	va_end(args);
}

static u32 st_rand(struct st_ctx *ctx)
{
	u64 x = ctx->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ctx->rng = x;
	return (x * 0x2545f4914f6cdd1dULL) >> 32;
}

static void st_clear_bit(u8 *ip, unsigned int i)
{
	ip[i / 8] &= ~(0x80 >> (i % 8));
}

static void st_flip_bit(u8 *ip, unsigned int i)
{
	ip[i / 8] ^= 0x80 >> (i % 8);
}

static bool st_prefix_eq(const u8 *a, const u8 *b, unsigned int cidr)
{
	u8 mask = 0xff << (8 - cidr % 8);

	if (memcmp(a, b, cidr / 8))
		return false;
	return !(cidr % 8) || !((a[cidr / 8] ^ b[cidr / 8]) & mask);
}

static void st_print(struct st_ctx *ctx, const char *what, u8 bitlen,
		     const u8 *ip, unsigned int cidr)
{
	if (bitlen == 32)
		st_fail(ctx, "%s %pI4/%u", what, ip, cidr);
	else
		st_fail(ctx, "%s %pI6c/%u", what, ip, cidr);
}

static int st_ref_find(struct st_ctx *ctx, u8 bitlen, const u8 *masked,
		       u8 cidr)
{
	unsigned int i;

	for (i = 0; i < ctx->nref; ++i) {
		if (ctx->ref[i].width == bitlen && ctx->ref[i].len == cidr &&
		    !memcmp(ctx->ref[i].ip, masked, bitlen / 8))
			return i;
	}
	return -1;
}

static unsigned int st_ref_count(struct st_ctx *ctx, u8 bitlen)
{
	unsigned int i, n = 0;

	for (i = 0; i < ctx->nref; ++i)
		n += ctx->ref[i].width == bitlen;
	return n;
}

static struct wg_aip_owner *st_ref_lookup(struct st_ctx *ctx, u8 bitlen,
					  const u8 *ip)
{
	struct wg_aip_owner *best = NULL;
	int best_cidr = -1;
	unsigned int i;

	for (i = 0; i < ctx->nref; ++i) {
		struct st_entry *e = &ctx->ref[i];

		if (e->width == bitlen && e->len > best_cidr &&
		    st_prefix_eq(e->ip, ip, e->len)) {
			best = e->peer;
			best_cidr = e->len;
		}
	}
	return best;
}

static int st_peer_index(struct st_ctx *ctx, struct wg_aip_owner *peer)
{
	int i;

	for (i = 0; i < ST_PEERS; ++i) {
		if (ctx->peers[i] == peer)
			return i;
	}
	return peer ? -2 : -1;
}

static void st_mask(u8 *dst, const u8 *src, u8 bitlen, u8 cidr)
{
	unsigned int i;

	memset(dst, 0, 16);
	memcpy(dst, src, bitlen / 8);
	for (i = cidr; i < bitlen; ++i)
		st_clear_bit(dst, i);
}

static struct wg_allowedips_node __rcu **st_root(struct st_ctx *ctx,
						 u8 bitlen)
{
	return bitlen == 32 ? &ctx->table.root4 : &ctx->table.root6;
}

static void st_insert(struct st_ctx *ctx, u8 bitlen, const u8 *ip, u8 cidr,
		      struct wg_aip_owner *peer)
{
	u8 masked[16] __aligned(8);
	u64 seq = ctx->table.seq;
	int ret, i;

	if (bitlen == 32)
		ret = wg_allowedips_insert_v4(&ctx->table, (const void *)ip,
					      cidr, peer, &st_lock);
	else
		ret = wg_allowedips_insert_v6(&ctx->table, (const void *)ip,
					      cidr, peer, &st_lock);
	if (ret) {
		st_print(ctx, "insert failed", bitlen, ip, cidr);
		return;
	}
	if (ctx->table.seq == seq)
		st_print(ctx, "seq unchanged by insert", bitlen, ip, cidr);

	st_mask(masked, ip, bitlen, cidr);
	i = st_ref_find(ctx, bitlen, masked, cidr);
	if (i >= 0) {
		ctx->ref[i].peer = peer;
		return;
	}
	if (ctx->nref == ST_MAX_ENTRIES) {
		st_fail(ctx, "model full");
		return;
	}
	memcpy(ctx->ref[ctx->nref].ip, masked, 16);
	ctx->ref[ctx->nref].len = cidr;
	ctx->ref[ctx->nref].width = bitlen;
	ctx->ref[ctx->nref].peer = peer;
	++ctx->nref;
}

static void st_remove(struct st_ctx *ctx, u8 bitlen, const u8 *ip, u8 cidr,
		      struct wg_aip_owner *peer)
{
	u8 masked[16] __aligned(8);
	int ret, want = -ENOENT, i;
	u64 seq = ctx->table.seq;

	st_mask(masked, ip, bitlen, cidr);
	i = st_ref_find(ctx, bitlen, masked, cidr);
	if (i >= 0 && ctx->ref[i].peer == peer) {
		want = 0;
		ctx->ref[i] = ctx->ref[--ctx->nref];
	}

	if (bitlen == 32)
		ret = wg_allowedips_remove_v4(&ctx->table, (const void *)ip,
					      cidr, peer, &st_lock);
	else
		ret = wg_allowedips_remove_v6(&ctx->table, (const void *)ip,
					      cidr, peer, &st_lock);
	if (ret != want) {
		st_fail(ctx, "remove returned %d, expected %d", ret, want);
		st_print(ctx, "  prefix", bitlen, ip, cidr);
	}
	if (!ret && ctx->table.seq == seq)
		st_print(ctx, "seq unchanged by remove", bitlen, ip, cidr);
}

static void st_remove_peer(struct st_ctx *ctx, struct wg_aip_owner *peer)
{
	unsigned int i = 0;

	wg_allowedips_remove_owner(&ctx->table, peer, &st_lock);
	while (i < ctx->nref) {
		if (ctx->ref[i].peer == peer)
			ctx->ref[i] = ctx->ref[--ctx->nref];
		else
			++i;
	}
	if (!list_empty(&peer->prefixes))
		st_fail(ctx, "peer %d list not empty after remove_by_peer",
			st_peer_index(ctx, peer));
}

static bool st_check_one(struct st_ctx *ctx, u8 bitlen, const u8 *ip)
{
	struct wg_aip_owner *want = st_ref_lookup(ctx, bitlen, ip), *got;

	rcu_read_lock_bh();
	got = find_owner(st_root(ctx, bitlen), ip);
	rcu_read_unlock_bh();
	if (got == want)
		return true;
	st_print(ctx, "lookup mismatch for", bitlen, ip, bitlen);
	st_fail(ctx, "  got peer %d, expected peer %d",
		st_peer_index(ctx, got), st_peer_index(ctx, want));
	return false;
}

/* Addresses near a few fixed bases, so that prefixes overlap heavily. */
static void st_rand_addr(struct st_ctx *ctx, u8 bitlen, u8 *ip)
{
	const u8 *base = ctx->pool[bitlen == 128][st_rand(ctx) % ST_POOL];
	unsigned int keep = st_rand(ctx) % (bitlen + 1), i;

	memset(ip, 0, 16);
	memcpy(ip, base, bitlen / 8);
	for (i = keep; i < bitlen; ++i) {
		if (st_rand(ctx) & 1)
			st_flip_bit(ip, i);
	}
}

static void st_check_lookups(struct st_ctx *ctx, unsigned int n)
{
	u8 ip[16] __aligned(8);
	struct st_entry *e;
	unsigned int i, j;
	u8 bitlen;

	for (i = 0; i < n; ++i) {
		bitlen = st_rand(ctx) & 1 ? 32 : 128;
		if (ctx->nref && st_rand(ctx) % 3 == 0) {
			/* Somewhere inside, or just past, a known prefix. */
			e = &ctx->ref[st_rand(ctx) % ctx->nref];
			bitlen = e->width;
			memcpy(ip, e->ip, 16);
			for (j = e->len; j < bitlen; ++j) {
				if (st_rand(ctx) & 1)
					st_flip_bit(ip, j);
			}
			if (e->len && st_rand(ctx) & 1)
				st_flip_bit(ip, e->len - 1);
		} else {
			st_rand_addr(ctx, bitlen, ip);
		}
		if (!st_check_one(ctx, bitlen, ip))
			return;
	}
}

/* Pre-order successor, climbing through the parent links. */
static struct wg_allowedips_node *st_next(struct wg_allowedips_node *node)
{
	struct wg_allowedips_node *parent, *child;

	child = deref_locked(node->child[0], &st_lock);
	if (!child)
		child = deref_locked(node->child[1], &st_lock);
	if (child)
		return child;
	while ((parent = parent_of(node))) {
		child = deref_locked(parent->child[1], &st_lock);
		if (!parent_bit(node) && child)
			return child;
		node = parent;
	}
	return NULL;
}

static void st_check_trie(struct st_ctx *ctx, u8 bitlen)
{
	unsigned int steps = 0, with_peer = 0, b;
	struct wg_allowedips_node *node, *child;
	u8 masked[16] __aligned(8);
	struct wg_aip_owner *peer;
	int i;

	node = deref_locked(*st_root(ctx, bitlen), &st_lock);
	if (node && node->up)
		st_fail(ctx, "root has a parent");
	for (; node; node = st_next(node)) {
		if (++steps > 4 * ST_MAX_ENTRIES) {
			st_fail(ctx, "trie walk does not end");
			return;
		}
		st_mask(masked, node->key, bitlen, node->len);
		if (node->width != bitlen || node->len > bitlen ||
		    memcmp(masked, node->key, 16) ||
		    node->next_byte != node->len / 8 ||
		    node->next_shift != 7 - node->len % 8) {
			st_print(ctx, "malformed node", bitlen, node->key,
				 node->len);
			return;
		}
		peer = deref_locked(node->owner, &st_lock);
		if (!peer && (!rcu_access_pointer(node->child[0]) ||
			      !rcu_access_pointer(node->child[1])))
			st_print(ctx, "useless peerless node", bitlen,
				 node->key, node->len);
		if (peer) {
			++with_peer;
			i = st_ref_find(ctx, bitlen, node->key, node->len);
			if (i < 0 || ctx->ref[i].peer != peer)
				st_print(ctx, "node not in model", bitlen,
					 node->key, node->len);
			else
				ctx->ref[i].node = node;
		}
		for (b = 0; b < 2; ++b) {
			child = deref_locked(node->child[b], &st_lock);
			if (!child)
				continue;
			if (parent_of(child) != node || parent_bit(child) != b) {
				st_print(ctx, "bad parent link below", bitlen,
					 node->key, node->len);
				return;
			}
			if (child->len <= node->len ||
			    !st_prefix_eq(child->key, node->key,
					  node->len) ||
			    choose(node, child->key) != b)
				st_print(ctx, "misplaced child", bitlen,
					 child->key, child->len);
		}
	}
	if (with_peer != st_ref_count(ctx, bitlen))
		st_fail(ctx, "%u prefixes in the /%u trie, model has %u",
			with_peer, bitlen, st_ref_count(ctx, bitlen));
}

static void st_check_lists(struct st_ctx *ctx)
{
	struct wg_allowedips_node *node;
	unsigned int total = 0, p;
	u8 ip[16] __aligned(8);
	struct wg_aip_owner *peer;
	u8 cidr, bitlen;
	int family, i;

	for (p = 0; p < ST_PEERS; ++p) {
		peer = ctx->peers[p];
		list_for_each_entry(node, &peer->prefixes, owner_link) {
			if (++total > ctx->nref) {
				st_fail(ctx, "peer lists longer than model");
				return;
			}
			memset(ip, 0, sizeof(ip));
			family = wg_allowedips_read_node(node, ip, &cidr);
			bitlen = family == AF_INET ? 32 : 128;
			i = st_ref_find(ctx, bitlen, ip, cidr);
			if (deref_locked(node->owner, &st_lock) != peer ||
			    i < 0 || ctx->ref[i].node != node ||
			    ctx->ref[i].peer != peer)
				st_print(ctx, "stray list entry", bitlen, ip,
					 cidr);
		}
	}
	if (total != ctx->nref)
		st_fail(ctx, "peer lists hold %u prefixes, model has %u",
			total, ctx->nref);
}

static void st_check_all(struct st_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < ctx->nref; ++i)
		ctx->ref[i].node = NULL;
	st_check_trie(ctx, 32);
	st_check_trie(ctx, 128);
	st_check_lists(ctx);
}

/* Whether the model entry @e is one of the @n prefixes in @set. */
static bool st_in_set(const struct st_entry *set, unsigned int n,
		      const struct st_entry *e)
{
	unsigned int i;

	for (i = 0; i < n; ++i) {
		if (set[i].width == e->width && set[i].len == e->len &&
		    !memcmp(set[i].ip, e->ip, 16))
			return true;
	}
	return false;
}

/*
 * Replaces @peer's prefixes the way netlink does: about half of the old ones
 * (at most 12) and a few new ones.  While the old ones are set aside, every
 * lookup must still find what it found before.
 */
static void st_replace_peer(struct st_ctx *ctx, struct wg_aip_owner *peer)
{
	struct st_entry set[ST_REPLACE_MAX] = {};
	u8 ip[16] __aligned(8);
	unsigned int n = 0, i;
	LIST_HEAD(aside);
	u8 bitlen, cidr;

	for (i = 0; i < ctx->nref && n < ST_REPLACE_MAX - 4; ++i) {
		if (ctx->ref[i].peer == peer && st_rand(ctx) & 1)
			set[n++] = ctx->ref[i];
	}
	while (n < ST_REPLACE_MAX && ctx->nref + n < ST_MAX_ENTRIES &&
	       st_rand(ctx) % 3) {
		bitlen = st_rand(ctx) & 1 ? 32 : 128;
		st_rand_addr(ctx, bitlen, ip);
		cidr = st_rand(ctx) % (bitlen + 1);
		st_mask(set[n].ip, ip, bitlen, cidr);
		set[n].width = bitlen;
		set[n++].len = cidr;
	}

	wg_allowedips_set_aside(peer, &aside, &st_lock);
	st_check_lookups(ctx, 32);
	for (i = 0; i < n; ++i)
		st_insert(ctx, set[i].width, set[i].ip, set[i].len, peer);
	wg_allowedips_remove_aside(&ctx->table, &aside, &st_lock);
	if (!list_empty(&aside))
		st_fail(ctx, "prefixes left aside after remove_aside");

	/* The peer keeps exactly the inserted prefixes. */
	i = 0;
	while (i < ctx->nref) {
		if (ctx->ref[i].peer == peer &&
		    !st_in_set(set, n, &ctx->ref[i]))
			ctx->ref[i] = ctx->ref[--ctx->nref];
		else
			++i;
	}
}

static void st_random(struct st_ctx *ctx)
{
	struct wg_aip_owner *peer;
	u8 ip[16] __aligned(8);
	unsigned int op, r, j;
	struct st_entry *e;
	u8 bitlen, cidr;

	ctx->phase = "random";
	for (op = 0; op < ST_RANDOM_OPS && !ctx->errors; ++op) {
		bitlen = st_rand(ctx) & 1 ? 32 : 128;
		peer = ctx->peers[st_rand(ctx) % ST_PEERS];
		r = st_rand(ctx) % 100;
		if (r < 50) {
			if (ctx->nref == ST_MAX_ENTRIES)
				continue;
			st_rand_addr(ctx, bitlen, ip);
			cidr = st_rand(ctx) % (bitlen + 1);
			st_insert(ctx, bitlen, ip, cidr, peer);
		} else if (r < 80) {
			if (ctx->nref && st_rand(ctx) % 4) {
				/* A known prefix, host bits set at random. */
				e = &ctx->ref[st_rand(ctx) % ctx->nref];
				bitlen = e->width;
				cidr = e->len;
				memcpy(ip, e->ip, 16);
				for (j = cidr; j < bitlen; ++j) {
					if (st_rand(ctx) & 1)
						st_flip_bit(ip, j);
				}
				if (st_rand(ctx) % 4)
					peer = e->peer;
			} else {
				st_rand_addr(ctx, bitlen, ip);
				cidr = st_rand(ctx) % (bitlen + 1);
			}
			st_remove(ctx, bitlen, ip, cidr, peer);
		} else if (r < 81) {
			st_remove_peer(ctx, peer);
		} else if (r < 83) {
			st_replace_peer(ctx, peer);
		} else {
			st_check_lookups(ctx, 16);
		}
		if (op % 128 == 0)
			st_check_all(ctx);
	}
	st_check_all(ctx);
	st_check_lookups(ctx, 1000);

	/* Tear down half by peer, then the rest through the whole-trie free. */
	for (j = 0; j < ST_PEERS / 2; ++j)
		st_remove_peer(ctx, ctx->peers[j]);
	st_check_all(ctx);
	st_check_lookups(ctx, 500);
}

static void st_parse(const char *s, u8 *bitlen, u8 *ip)
{
	memset(ip, 0, 16);
	if (strchr(s, ':')) {
		*bitlen = 128;
		in6_pton(s, -1, ip, -1, NULL);
	} else {
		*bitlen = 32;
		in4_pton(s, -1, ip, -1, NULL);
	}
}

static void st_add_s(struct st_ctx *ctx, const char *s, u8 cidr, int peer)
{
	u8 ip[16] __aligned(8), bitlen;

	st_parse(s, &bitlen, ip);
	st_insert(ctx, bitlen, ip, cidr, ctx->peers[peer]);
}

static void st_del_s(struct st_ctx *ctx, const char *s, u8 cidr, int peer)
{
	u8 ip[16] __aligned(8), bitlen;

	st_parse(s, &bitlen, ip);
	st_remove(ctx, bitlen, ip, cidr, ctx->peers[peer]);
}

/* @peer -1 means no match is expected. */
static void st_expect(struct st_ctx *ctx, const char *s, int peer)
{
	struct wg_aip_owner *want = peer < 0 ? NULL : ctx->peers[peer], *got;
	u8 ip[16] __aligned(8), bitlen;

	st_parse(s, &bitlen, ip);
	rcu_read_lock_bh();
	got = find_owner(st_root(ctx, bitlen), ip);
	rcu_read_unlock_bh();
	if (got != want)
		st_fail(ctx, "%s: got peer %d, expected %d", s,
			st_peer_index(ctx, got), peer);
	/* The model must agree too, or the checks below prove nothing. */
	st_check_one(ctx, bitlen, ip);
}

static unsigned int st_list_len(struct st_ctx *ctx, int peer)
{
	struct list_head *pos;
	unsigned int n = 0;

	list_for_each(pos, &ctx->peers[peer]->prefixes)
		++n;
	return n;
}

/*
 * A packet's two lookups: its source (receive) and its destination
 * (transmit) find their own owners; a family that is not IP finds none.
 */
static void st_pair_case(struct st_ctx *ctx, bool v6, const char *src,
			 const char *dst, int want_src, int want_dst)
{
	const sa_family_t family = v6 ? AF_INET6 : AF_INET;
	struct wg_aip_owner *got_src, *got_dst, *other;
	u8 s[16] __aligned(8), d[16] __aligned(8), bitlen;

	st_parse(src, &bitlen, s);
	st_parse(dst, &bitlen, d);
	rcu_read_lock_bh();
	got_src = wg_allowedips_find(&ctx->table, family, s);
	got_dst = wg_allowedips_find(&ctx->table, family, d);
	other = wg_allowedips_find(&ctx->table, AF_UNSPEC, d);
	rcu_read_unlock_bh();
	if (st_peer_index(ctx, got_src) != want_src ||
	    st_peer_index(ctx, got_dst) != want_dst)
		st_fail(ctx, "%s -> %s: owners %d/%d, expected %d/%d", src,
			dst, st_peer_index(ctx, got_src),
			st_peer_index(ctx, got_dst), want_src, want_dst);
	if (other)
		st_fail(ctx, "a lookup outside IPv4 and IPv6 matched");
}

static void st_edges(struct st_ctx *ctx)
{
	u8 ip[16] __aligned(8), bitlen;
	int ret;

	ctx->phase = "defaults";
	st_expect(ctx, "1.2.3.4", -1);
	st_expect(ctx, "::1", -1);
	st_add_s(ctx, "0.0.0.0", 0, 0);
	st_add_s(ctx, "::", 0, 0);
	st_expect(ctx, "0.0.0.0", 0);
	st_expect(ctx, "255.255.255.255", 0);
	st_expect(ctx, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0);
	st_check_all(ctx);

	ctx->phase = "overlap";
	st_add_s(ctx, "10.0.0.0", 8, 1);
	st_add_s(ctx, "10.1.2.3", 32, 3);
	st_add_s(ctx, "10.1.0.0", 16, 2);
	st_add_s(ctx, "255.255.255.255", 32, 4);
	st_expect(ctx, "10.1.2.3", 3);
	st_expect(ctx, "10.1.2.2", 2);
	st_expect(ctx, "10.1.255.255", 2);
	st_expect(ctx, "10.2.0.1", 1);
	st_expect(ctx, "11.0.0.1", 0);
	st_expect(ctx, "255.255.255.255", 4);
	st_expect(ctx, "255.255.255.254", 0);
	st_check_all(ctx);

	ctx->phase = "host bits";
	st_add_s(ctx, "192.168.1.77", 24, 1);
	st_expect(ctx, "192.168.1.200", 1);
	st_expect(ctx, "192.168.2.1", 0);
	st_check_all(ctx);	/* read_node must give back 192.168.1.0/24 */
	st_del_s(ctx, "192.168.1.5", 24, 1);
	st_expect(ctx, "192.168.1.200", 0);
	st_check_all(ctx);

	ctx->phase = "invalid";
	st_parse("10.0.0.0", &bitlen, ip);
	ret = wg_allowedips_insert_v4(&ctx->table, (const void *)ip, 33,
				      ctx->peers[0], &st_lock);
	if (ret != -EINVAL)
		st_fail(ctx, "insert of /33 returned %d", ret);
	ret = wg_allowedips_insert_v6(&ctx->table, (const void *)ip, 129,
				      ctx->peers[0], &st_lock);
	if (ret != -EINVAL)
		st_fail(ctx, "insert of /129 returned %d", ret);
	st_check_all(ctx);

	ctx->phase = "move";
	st_add_s(ctx, "10.1.0.0", 16, 3);
	st_expect(ctx, "10.1.9.9", 3);
	if (st_list_len(ctx, 2) != 0 || st_list_len(ctx, 3) != 2)
		st_fail(ctx, "list lengths %u/%u after move, expected 0/2",
			st_list_len(ctx, 2), st_list_len(ctx, 3));
	st_del_s(ctx, "10.1.0.0", 16, 2);	/* no longer owned: -ENOENT */
	st_del_s(ctx, "10.3.0.0", 16, 3);	/* never inserted: -ENOENT */
	st_expect(ctx, "10.1.9.9", 3);
	st_check_all(ctx);

	ctx->phase = "reparent";
	st_add_s(ctx, "10.2.0.0", 16, 2);
	st_add_s(ctx, "10.3.0.0", 16, 2);
	st_del_s(ctx, "10.0.0.0", 8, 1);
	st_expect(ctx, "10.9.0.0", 0);
	st_expect(ctx, "10.2.1.1", 2);
	st_expect(ctx, "10.3.1.1", 2);
	st_expect(ctx, "10.1.2.3", 3);
	st_check_all(ctx);
	st_del_s(ctx, "10.1.0.0", 16, 3);
	st_expect(ctx, "10.1.2.3", 3);
	st_expect(ctx, "10.1.2.4", 0);
	st_del_s(ctx, "10.1.2.3", 32, 3);
	st_del_s(ctx, "10.2.0.0", 16, 2);
	st_expect(ctx, "10.2.1.1", 0);
	st_expect(ctx, "10.3.1.1", 2);
	st_check_all(ctx);

	ctx->phase = "ipv6";
	st_add_s(ctx, "2001:db8::", 32, 1);
	st_add_s(ctx, "2001:db8::1", 128, 2);
	st_add_s(ctx, "2001:db8:0:1::", 64, 3);
	st_add_s(ctx, "::1", 128, 3);
	st_add_s(ctx, "2001:db8:8000::", 33, 4);
	st_expect(ctx, "2001:db8::1", 2);
	st_expect(ctx, "2001:db8::2", 1);
	st_expect(ctx, "2001:db8:0:1::5", 3);
	st_expect(ctx, "2001:db8:8000::5", 4);
	st_expect(ctx, "2001:db8:7fff::5", 1);
	st_expect(ctx, "2001:db9::", 0);
	st_expect(ctx, "::1", 3);
	st_expect(ctx, "::2", 0);
	st_check_all(ctx);

	ctx->phase = "skb";
	st_pair_case(ctx, false, "10.3.1.1", "1.2.3.4", 2, 0);
	st_pair_case(ctx, true, "2001:db8:0:1::5", "2001:db8::1", 3, 2);

	ctx->phase = "remove by peer";
	st_remove_peer(ctx, ctx->peers[1]);
	st_expect(ctx, "2001:db8::2", 0);
	st_expect(ctx, "2001:db8::1", 2);
	st_check_all(ctx);
	st_remove_peer(ctx, ctx->peers[0]);
	st_expect(ctx, "1.2.3.4", -1);
	st_expect(ctx, "2001:db8::2", -1);
	st_expect(ctx, "10.3.0.0", 2);
	st_check_all(ctx);
}

static void st_free(struct st_ctx *ctx)
{
	unsigned int i;

	mutex_lock(&st_lock);
	wg_allowedips_free(&ctx->table, &st_lock);
	ctx->nref = 0;
	if (rcu_access_pointer(ctx->table.root4) ||
	    rcu_access_pointer(ctx->table.root6))
		st_fail(ctx, "trie not empty after free");
	for (i = 0; i < ST_PEERS; ++i) {
		if (!list_empty(&ctx->peers[i]->prefixes))
			st_fail(ctx, "peer %u still lists prefixes after free",
				i);
	}
	mutex_unlock(&st_lock);
}

bool wg_allowedips_selftest(void)
{
	bool own_cache = !node_cache, ok = false;
	struct st_ctx *ctx;
	unsigned int i, j;

	/* Module init runs the self-tests before the cache normally exists. */
	if (own_cache && wg_allowedips_slab_init() < 0)
		return false;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		goto err_uninit_cache;
	ctx->ref = kcalloc(ST_MAX_ENTRIES, sizeof(*ctx->ref), GFP_KERNEL);
	if (!ctx->ref)
		goto err_free_ctx;
	for (i = 0; i < ST_PEERS; ++i) {
		/* Owners stand for peers: the trie lists their prefixes. */
		ctx->peers[i] = kzalloc(sizeof(*ctx->peers[i]), GFP_KERNEL);
		if (!ctx->peers[i])
			goto err_free_peers;
		INIT_LIST_HEAD(&ctx->peers[i]->prefixes);
	}

	ctx->seed = get_random_u64() | 1;
	ctx->rng = ctx->seed;
	for (i = 0; i < 2; ++i) {
		for (j = 0; j < ST_POOL; ++j)
			get_random_bytes(ctx->pool[i][j], 16);
	}

	wg_allowedips_init(&ctx->table);
	mutex_lock(&st_lock);
	st_edges(ctx);
	mutex_unlock(&st_lock);
	st_free(ctx);

	ctx->phase = "random";
	wg_allowedips_init(&ctx->table);
	mutex_lock(&st_lock);
	st_random(ctx);
	mutex_unlock(&st_lock);
	st_free(ctx);

	ok = !ctx->errors;
	if (ok)
		pr_info("allowedips self-tests: pass\n");
	else
		pr_err("allowedips self-tests: FAIL (%u errors)\n",
		       ctx->errors);

err_free_peers:
	/* The nodes are gone from every list, and nothing else holds these. */
	for (i = 0; i < ST_PEERS; ++i)
		kfree(ctx->peers[i]);
	kfree(ctx->ref);
err_free_ctx:
	kfree(ctx);
err_uninit_cache:
	if (own_cache)
		wg_allowedips_slab_uninit();
	return ok;
}

#endif /* CONFIG_WG_DEBUG */
