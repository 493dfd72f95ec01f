/* SPDX-License-Identifier: GPL-2.0 */
/* The tables' load-time self-tests (debug builds). */
#ifndef _WG_TABLES_TABLES_H
#define _WG_TABLES_TABLES_H

#include <linux/types.h>

#ifdef CONFIG_WG_DEBUG
/* The index and key tables; false fails the module load. */
bool wg_lookup_selftest(void);
#else
static inline bool wg_lookup_selftest(void)
{
	return true;
}
#endif

#endif /* _WG_TABLES_TABLES_H */
