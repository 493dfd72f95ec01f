/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A device's UDP sockets: one IPv4 and (where IPv6 is on) one IPv6 socket
 * on the same port, in the namespace the device was created in, whose
 * datagrams go straight to the receive path.
 */
#ifndef _WG_TUNNEL_UDP_H
#define _WG_TUNNEL_UDP_H

#include <linux/types.h>

struct wg_device;

/*
 * Bind a new pair on @port (0: any free port) and put it in place of the
 * old pair, which is closed; on failure the old pair stays.  Call with
 * wg->config_lock held (or before the device is visible).
 */
int wg_udp_open(struct wg_device *wg, u16 port);
/* Close the device's sockets, once no sender can be using them. */
void wg_udp_close(struct wg_device *wg);

#endif /* _WG_TUNNEL_UDP_H */
