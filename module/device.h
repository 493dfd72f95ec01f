/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wg net_device: its link kinds and lifetime.  Its private area is the
 * tunnel's per-device state, struct wg_device (tunnel/tunnel.h).
 */
#ifndef _WG_DEVICE_H
#define _WG_DEVICE_H

#include "tunnel/tunnel.h"

int wg_device_init(void);
void wg_device_uninit(void);
/* True if @dev is one of ours (either link kind). */
bool wg_device_is_wg(const struct net_device *dev);

#endif /* _WG_DEVICE_H */
