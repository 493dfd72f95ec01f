/* SPDX-License-Identifier: GPL-2.0 */
/* UDP tunnel sockets, routing and peer endpoints. */
#ifndef _WG_SOCKET_H
#define _WG_SOCKET_H

#include <linux/netdevice.h>
#include <linux/udp.h>
#include <linux/if_vlan.h>
#include <linux/if_ether.h>

struct wg_device;
struct wg_peer;
struct wg_endpoint;

/* Binds new sockets on @port (0: any) and swaps them in, or fails cleanly. */
int wg_socket_init(struct wg_device *wg, u16 port);
void wg_socket_reinit(struct wg_device *wg, struct sock *new4,
		      struct sock *new6);
int wg_socket_send_buffer_to_peer(struct wg_peer *peer, void *data,
				  size_t len, u8 ds);
int wg_socket_send_skb_to_peer(struct wg_peer *peer, struct sk_buff *skb,
			       u8 ds);
int wg_socket_send_buffer_as_reply_to_skb(struct wg_device *wg,
					  struct sk_buff *in_skb,
					  void *out_buffer, size_t len);

int wg_socket_endpoint_from_skb(struct wg_endpoint *endpoint,
				const struct sk_buff *skb);
void wg_socket_set_peer_endpoint(struct wg_peer *peer,
				 const struct wg_endpoint *endpoint);
void wg_socket_set_peer_endpoint_from_skb(struct wg_peer *peer,
					  const struct sk_buff *skb);
void wg_socket_clear_peer_endpoint_src(struct wg_peer *peer);

#endif /* _WG_SOCKET_H */
