/* SPDX-License-Identifier: GPL-2.0 */
/* The protocol core as a whole: its module init and its self-test. */
#ifndef _WG_CORE_CORE_H
#define _WG_CORE_CORE_H

#include <linux/types.h>

void wg_core_init(void);
/* Debug builds only: run at module load; false fails the load. */
#ifdef CONFIG_WG_DEBUG
bool wg_core_selftest(void);
#else
static inline bool wg_core_selftest(void)
{
	return true;
}
#endif

#endif /* _WG_CORE_CORE_H */
