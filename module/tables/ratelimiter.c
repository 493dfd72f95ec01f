// SPDX-License-Identifier: GPL-2.0
/*
 * A token bucket per handshake source, shared by every wg device.  Sources
 * are IPv4 /32 and IPv6 /64 prefixes (one host rarely has more than a /64),
 * within one network namespace.  Each second a source earns
 * WG_INITIATIONS_PER_SEC tokens, up to a burst of PACKETS_BURSTABLE; a
 * source idle for a second has a full bucket and is forgotten, as a new
 * entry would start full anyway.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "ratelimiter.h"
#include "core/wire.h"

#include <linux/hashtable.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

enum {
	PACKETS_PER_SECOND = WG_INITIATIONS_PER_SEC,
	PACKETS_BURSTABLE = 5,
	/* Tokens are nanoseconds of allowance; a packet costs this many. */
	PACKET_COST = NSEC_PER_SEC / PACKETS_PER_SECOND,
	TOKEN_MAX = PACKET_COST * PACKETS_BURSTABLE,
	/* Idle this long, a bucket is full again: no need to keep it. */
	ENTRY_IDLE_NS = NSEC_PER_SEC,
};

struct wg_ratelimiter_entry {
	u64 prefix;
	const void *net;
	u8 family;
	/* Protects tokens and last_time_ns (read without it by the GC). */
	spinlock_t lock;
	u64 tokens;
	u64 last_time_ns;
	struct hlist_node hash;
	struct rcu_head rcu;
};

/* Protects init_refcount, and setup and teardown of everything below. */
static DEFINE_MUTEX(init_lock);
static unsigned int init_refcount;

/*
 * Protects the chains of table (readers walk them under RCU) and
 * total_entries.  table, table_size, max_entries, key and entry_cache are
 * set before the first user and cleared after the last.
 */
static DEFINE_SPINLOCK(table_lock);
static struct hlist_head *table;
static unsigned int table_size, max_entries, total_entries;
static siphash_key_t key;
static struct kmem_cache *entry_cache;

static void gc_worker(struct work_struct *work);
static DECLARE_DELAYED_WORK(gc_work, gc_worker);

static struct hlist_head *bucket(const void *net, u8 family, u64 prefix)
{
	return &table[siphash_3u64(prefix, (unsigned long)net, family, &key) &
		      (table_size - 1)];
}

static bool matches(const struct wg_ratelimiter_entry *entry,
		    const void *net, u8 family, u64 prefix)
{
	return entry->prefix == prefix && entry->net == net &&
	       entry->family == family;
}

static void entry_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(entry_cache,
			container_of(rcu, struct wg_ratelimiter_entry, rcu));
}

/* Drops entries idle at @now, or all of them. */
static void gc(u64 now, bool all)
{
	struct wg_ratelimiter_entry *entry;
	struct hlist_node *tmp;
	unsigned int i;

	spin_lock_bh(&table_lock);
	for (i = 0; i < table_size; ++i) {
		hlist_for_each_entry_safe(entry, tmp, &table[i], hash) {
			if (!all &&
			    (s64)(now - READ_ONCE(entry->last_time_ns)) <=
			    ENTRY_IDLE_NS)
				continue;
			hlist_del_rcu(&entry->hash);
			--total_entries;
			call_rcu(&entry->rcu, entry_free_rcu);
		}
	}
	spin_unlock_bh(&table_lock);
}

static void gc_worker(struct work_struct *work)
{
	gc(ktime_get_coarse_boottime_ns(), false);
	queue_delayed_work(system_power_efficient_wq, &gc_work, HZ);
}

/* Spends a token of @entry at @now, if it has one. */
static bool take_token(struct wg_ratelimiter_entry *entry, u64 now)
{
	s64 elapsed;
	u64 tokens;
	bool ret;

	spin_lock_bh(&entry->lock);
	elapsed = now - entry->last_time_ns;
	tokens = entry->tokens;
	if (elapsed > 0) {
		tokens = min_t(u64, TOKEN_MAX, tokens + elapsed);
		WRITE_ONCE(entry->last_time_ns, now);
	}
	ret = tokens >= PACKET_COST;
	entry->tokens = ret ? tokens - PACKET_COST : tokens;
	spin_unlock_bh(&entry->lock);
	return ret;
}

static bool allow_at(const void *net, u8 family, u64 prefix, u64 now)
{
	struct hlist_head *head = bucket(net, family, prefix);
	struct wg_ratelimiter_entry *entry, *fresh;
	bool ret;

	for (;;) {
		rcu_read_lock();
		hlist_for_each_entry_rcu(entry, head, hash) {
			if (!matches(entry, net, family, prefix))
				continue;
			ret = take_token(entry, now);
			rcu_read_unlock();
			return ret;
		}
		rcu_read_unlock();

		/* A new source.  A full table refuses it rather than grow. */
		if (READ_ONCE(total_entries) >= max_entries)
			return false;
		fresh = kmem_cache_alloc(entry_cache, GFP_ATOMIC);
		if (unlikely(!fresh))
			return false;
		fresh->prefix = prefix;
		fresh->net = net;
		fresh->family = family;
		spin_lock_init(&fresh->lock);
		/* Starts full, minus this packet. */
		fresh->tokens = TOKEN_MAX - PACKET_COST;
		fresh->last_time_ns = now;

		spin_lock_bh(&table_lock);
		/* Another CPU may have added the same source meanwhile. */
		hlist_for_each_entry_rcu(entry, head, hash,
					 lockdep_is_held(&table_lock)) {
			if (matches(entry, net, family, prefix))
				break;
		}
		if (!entry && total_entries < max_entries) {
			hlist_add_head_rcu(&fresh->hash, head);
			WRITE_ONCE(total_entries, total_entries + 1);
			spin_unlock_bh(&table_lock);
			return true;
		}
		spin_unlock_bh(&table_lock);
		kmem_cache_free(entry_cache, fresh);
		if (!entry)
			return false;
		/* Lost the race: charge the entry the other CPU added. */
	}
}

/* The key of a source, as documented above: its /32 or its /64. */
static bool prefix_of(sa_family_t family, const void *addr, u64 *prefix)
{
	u32 v4;

	if (family == AF_INET) {
		memcpy(&v4, addr, sizeof(v4));
		*prefix = v4;
		return true;
	}
	if (family == AF_INET6) {
		memcpy(prefix, addr, sizeof(*prefix));
		return true;
	}
	return false;
}

bool wg_ratelimiter_allow(const struct net *net, sa_family_t family,
			  const void *addr)
{
	u64 prefix;

	if (unlikely(!prefix_of(family, addr, &prefix)))
		return false;
	return allow_at(net, family, prefix, ktime_get_coarse_boottime_ns());
}

/*
 * The entry cache lives as long as the module: creating it with the first
 * device put kmem_cache_create() on the device creation path, where a
 * failed allocation inside it leaks in SLUB's sysfs error path (6.1,
 * found by the fault-injection test under kmemleak).
 */
int wg_ratelimiter_slab_init(void)
{
	entry_cache = KMEM_CACHE(wg_ratelimiter_entry, 0);
	return entry_cache ? 0 : -ENOMEM;
}

void wg_ratelimiter_slab_uninit(void)
{
	/* Entries freed by call_rcu() must be back before the cache goes. */
	rcu_barrier();
	kmem_cache_destroy(entry_cache);
}

int wg_ratelimiter_init(void)
{
	unsigned long ram = totalram_pages() << PAGE_SHIFT;

	mutex_lock(&init_lock);
	if (init_refcount++)
		goto out;

	/*
	 * A bucket per 128 KiB of RAM, between 16 and 8192, and eight
	 * entries per bucket on average: small machines do not spend much
	 * memory on a flood, large ones cap it at 64Ki sources.
	 */
	table_size = clamp_t(unsigned long,
			     rounddown_pow_of_two(max(ram / SZ_128K, 1UL)),
			     16, 8192);
	max_entries = table_size * 8;
	table = kvcalloc(table_size, sizeof(*table), GFP_KERNEL);
	if (!table)
		goto err_undo_refcount;

	get_random_bytes(&key, sizeof(key));
	queue_delayed_work(system_power_efficient_wq, &gc_work, HZ);
out:
	mutex_unlock(&init_lock);
	return 0;

err_undo_refcount:
	--init_refcount;
	mutex_unlock(&init_lock);
	return -ENOMEM;
}

void wg_ratelimiter_uninit(void)
{
	mutex_lock(&init_lock);
	if (!init_refcount || --init_refcount)
		goto out;

	/* No device is left to call wg_ratelimiter_allow(). */
	cancel_delayed_work_sync(&gc_work);
	gc(0, true);
	/*
	 * The entries, unhashed, go back to the cache in RCU callbacks that
	 * do not touch the table, and no reader is left: free it now.
	 */
	kvfree(table);
	table = NULL;
out:
	mutex_unlock(&init_lock);
}

#ifdef CONFIG_WG_DEBUG

/* A test source: an address of a family. */
struct st_src {
	sa_family_t family;
	const void *addr;
};

static bool src_allow_at(const struct st_src *src, const void *net, u64 now)
{
	u64 prefix;

	return prefix_of(src->family, src->addr, &prefix) &&
	       allow_at(net, src->family, prefix, now);
}

/*
 * Expects @n packets from @src allowed at @now, then one refused.  The
 * counter @test numbers the checks so that a failure can be located.
 */
static bool burst(const struct st_src *src, const void *net, u64 now,
		  unsigned int n, unsigned int *test)
{
	unsigned int i;

	for (i = 0; i < n; ++i, ++*test)
		if (!src_allow_at(src, net, now))
			return false;
	++*test;
	return !src_allow_at(src, net, now);
}

bool wg_ratelimiter_selftest(void)
{
	static const u8 v6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const u8 v6_a2[16] = { 0x20, 0x01, 0x0d, 0xb8,
				      [8] = 0xff, [15] = 2 };
	static const u8 v6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, [7] = 1,
				     [15] = 1 };
	static const u8 v4_a[4] = { 192, 0, 2, 1 };
	static const u8 v4_b[4] = { 192, 0, 2, 2 };
	const struct st_src a4_src = { AF_INET, v4_a }, b4_src = { AF_INET, v4_b };
	const struct st_src a6_src = { AF_INET6, v6_a };
	const struct st_src a6_same64_src = { AF_INET6, v6_a2 };
	const struct st_src b6_src = { AF_INET6, v6_b };
	const struct st_src *a4 = &a4_src, *b4 = &b4_src, *a6 = &a6_src;
	const struct st_src *a6_same64 = &a6_same64_src, *b6 = &b6_src;
	const struct st_src other = { AF_UNSPEC, v6_a };
	/* Only its address matters: a second namespace key. */
	static const u8 other_net;
	const void *net = &init_net;
	unsigned int test = 0, saved_max;
	bool ok = false;
	u64 t;

	if (wg_ratelimiter_init())
		return false;

	/*
	 * Synthetic times make the test deterministic.  They lie an hour in
	 * the future so that the real-time GC leaves these entries alone.
	 */
	t = ktime_get_coarse_boottime_ns() + 3600ULL * NSEC_PER_SEC;

	/* A new source gets its burst, then is refused. */
	if (!burst(a4, net, t, PACKETS_BURSTABLE, &test))
		goto fail;

	/* Other sources, and the same one in another namespace, are apart. */
	if (!burst(b4, net, t, PACKETS_BURSTABLE, &test) ||
	    !burst(a4, &other_net, t, PACKETS_BURSTABLE, &test))
		goto fail;

	/* Tokens come back at the configured rate, not sooner. */
	t += PACKET_COST - 1;
	++test;
	if (src_allow_at(a4, net, t))
		goto fail;
	t += 1;
	if (!burst(a4, net, t, 1, &test))
		goto fail;
	t += 3 * PACKET_COST;
	if (!burst(a4, net, t, 3, &test))
		goto fail;

	/* A long pause refills the bucket only up to the burst. */
	t += 10ULL * NSEC_PER_SEC;
	if (!burst(a4, net, t, PACKETS_BURSTABLE, &test))
		goto fail;

	/* IPv6 sources are /64 prefixes. */
	if (!burst(a6, net, t, PACKETS_BURSTABLE, &test))
		goto fail;
	++test;
	if (src_allow_at(a6_same64, net, t))
		goto fail;
	if (!burst(b6, net, t, PACKETS_BURSTABLE, &test))
		goto fail;
	t += PACKET_COST;
	if (!burst(a6_same64, net, t, 1, &test))
		goto fail;

	/* The GC forgets idle sources, which then start with a full bucket. */
	++test;
	gc(t + ENTRY_IDLE_NS + 1, false);
	if (READ_ONCE(total_entries))
		goto fail;
	if (!burst(a4, net, t + 2ULL * ENTRY_IDLE_NS, PACKETS_BURSTABLE, &test))
		goto fail;

	/* A full table refuses new sources but still serves known ones. */
	spin_lock_bh(&table_lock);
	saved_max = max_entries;
	max_entries = total_entries;
	spin_unlock_bh(&table_lock);
	++test;
	ok = !src_allow_at(b4, net, t) &&
	     src_allow_at(a4, net, t + 3ULL * ENTRY_IDLE_NS);
	spin_lock_bh(&table_lock);
	max_entries = saved_max;
	spin_unlock_bh(&table_lock);
	if (!ok)
		goto fail;

	/* And the real clock path; a source outside IP is never allowed. */
	++test;
	if (!wg_ratelimiter_allow(&init_net, AF_INET, v4_b) ||
	    wg_ratelimiter_allow(&init_net, other.family, other.addr))
		goto fail;

	ok = true;
	pr_info("ratelimiter self-tests: pass\n");
	goto out;

fail:
	ok = false;
	pr_err("ratelimiter self-test %u: fail\n", test);
out:
	wg_ratelimiter_uninit();
	return ok;
}

#endif /* CONFIG_WG_DEBUG */
