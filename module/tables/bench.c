// SPDX-License-Identifier: GPL-2.0
/*
 * Debug builds: a micro-benchmark of the allowed-IPs trie alone, for make
 * bench.  Writing N to the module parameter table_bench fills a trie with
 * N random prefixes (half IPv4 /16../32, half IPv6 /32../128) spread over
 * BENCH_OWNERS owners, then times BENCH_LOOKUPS lookups of addresses
 * inside those prefixes; reading the parameter gives the last result as
 * "prefixes=N inserts_per_s=R lookups=L lookups_per_s=R found=F".  No
 * device, peer or netlink is involved: the figure is the table's own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "allowedips.h"

#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#ifdef CONFIG_WG_DEBUG

#define BENCH_OWNERS 64
#define BENCH_MAX_PREFIXES 4000000
/* Addresses drawn once (so that drawing is not timed), looked up in turn. */
#define BENCH_ADDRS 65536
#define BENCH_LOOKUPS (16 * BENCH_ADDRS)
/* Lookups per RCU read section: bottom halves stay off only briefly. */
#define BENCH_BATCH 256

struct bench_addr {
	u8 ip[16];
	sa_family_t family;
};

/*
 * Stands in for a device's update lock.  Runs need no lock of their own:
 * the kernel serialises a module's parameter reads and writes
 * (kernel_param_lock), which also guards bench_result.
 */
static DEFINE_MUTEX(bench_lock);
static char bench_result[160] = "not run";

/* A random prefix of family @v6 and the first address in it. */
static void bench_draw(struct bench_addr *a, u8 *cidr, bool v6)
{
	unsigned int width = v6 ? 128 : 32, shortest = v6 ? 32 : 16, i;

	get_random_bytes(a->ip, width / 8);
	*cidr = shortest + get_random_u32_below(width - shortest + 1);
	for (i = *cidr; i < width; i++)
		a->ip[i / 8] &= ~(0x80 >> (i % 8));
	a->family = v6 ? AF_INET6 : AF_INET;
}

static int bench_fill(struct wg_allowedips *table, struct wg_aip_owner *owners,
		      struct bench_addr *addrs, unsigned int prefixes, u64 *ns)
{
	struct bench_addr a;
	u64 start, spent = 0;
	unsigned int i;
	u8 cidr;
	int ret = 0;

	for (i = 0; i < prefixes && !ret; i++) {
		bench_draw(&a, &cidr, i & 1);
		start = ktime_get_ns();
		if (a.family == AF_INET)
			ret = wg_allowedips_insert_v4(table,
						      (struct in_addr *)a.ip, cidr,
						      &owners[i % BENCH_OWNERS],
						      &bench_lock);
		else
			ret = wg_allowedips_insert_v6(table,
						      (struct in6_addr *)a.ip,
						      cidr,
						      &owners[i % BENCH_OWNERS],
						      &bench_lock);
		spent += ktime_get_ns() - start;
		/* Every prefix's first address is looked up later. */
		if (i < BENCH_ADDRS)
			addrs[i] = a;
		cond_resched();
	}
	*ns = spent;
	return ret;
}

static unsigned int bench_lookup(struct wg_allowedips *table,
				 const struct bench_addr *addrs,
				 unsigned int naddrs, u64 *ns)
{
	unsigned int found = 0, i = 0, j;
	u64 start = ktime_get_ns();

	while (i < BENCH_LOOKUPS) {
		rcu_read_lock_bh();
		for (j = 0; j < BENCH_BATCH; j++, i++) {
			const struct bench_addr *a = &addrs[i % naddrs];

			if (wg_allowedips_find(table, a->family, a->ip))
				found++;
		}
		rcu_read_unlock_bh();
		cond_resched();
	}
	*ns = ktime_get_ns() - start;
	return found;
}

static int bench_run(unsigned int prefixes)
{
	struct wg_allowedips table;
	struct wg_aip_owner *owners;
	struct bench_addr *addrs;
	unsigned int i, naddrs = min(prefixes, BENCH_ADDRS), found;
	u64 insert_ns, lookup_ns;
	int ret = -ENOMEM;

	owners = kcalloc(BENCH_OWNERS, sizeof(*owners), GFP_KERNEL);
	addrs = vmalloc(array_size(naddrs, sizeof(*addrs)));
	if (!owners || !addrs)
		goto out_free;
	for (i = 0; i < BENCH_OWNERS; i++)
		wg_aip_owner_init(&owners[i]);
	wg_allowedips_init(&table);

	mutex_lock(&bench_lock);
	ret = bench_fill(&table, owners, addrs, prefixes, &insert_ns);
	mutex_unlock(&bench_lock);
	if (ret)
		goto out_table;
	found = bench_lookup(&table, addrs, naddrs, &lookup_ns);
	snprintf(bench_result, sizeof(bench_result),
		 "prefixes=%u inserts_per_s=%llu lookups=%u lookups_per_s=%llu found=%u",
		 prefixes, div64_u64((u64)prefixes * NSEC_PER_SEC, insert_ns + 1),
		 BENCH_LOOKUPS,
		 div64_u64((u64)BENCH_LOOKUPS * NSEC_PER_SEC, lookup_ns + 1),
		 found);
	pr_info("table bench: %s\n", bench_result);

out_table:
	mutex_lock(&bench_lock);
	wg_allowedips_free(&table, &bench_lock);
	mutex_unlock(&bench_lock);
out_free:
	vfree(addrs);
	kfree(owners);
	return ret;
}

static int bench_set(const char *val, const struct kernel_param *kp)
{
	unsigned int prefixes;
	int ret;

	ret = kstrtouint(val, 0, &prefixes);
	if (ret)
		return ret;
	if (!prefixes || prefixes > BENCH_MAX_PREFIXES)
		return -EINVAL;
	return bench_run(prefixes);
}

static int bench_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", bench_result);
}

static const struct kernel_param_ops bench_ops = {
	.set = bench_set,
	.get = bench_get,
};
module_param_cb(table_bench, &bench_ops, NULL, 0600);
MODULE_PARM_DESC(table_bench,
		 "Debug builds: write N to time N prefixes into a trie and lookups in it; read the result");

#endif /* CONFIG_WG_DEBUG */
