/* SPDX-License-Identifier: GPL-2.0 */
/* The receive path (receive.c): from a UDP datagram to the inner packet. */
#ifndef _WG_TUNNEL_RX_H
#define _WG_TUNNEL_RX_H

struct napi_struct;
struct sk_buff;
struct wg_device;
struct work_struct;

/* Every datagram on the device's port, from udp.c; consumes @skb. */
void wg_rx_datagram(struct wg_device *wg, struct sk_buff *skb);
/* Workers of the handshake and the decrypt rings. */
void wg_rx_handshake_worker(struct work_struct *work);
void wg_rx_decrypt_worker(struct work_struct *work);
/* A peer's NAPI poll: its decrypted packets, in order, to the stack. */
int wg_rx_poll(struct napi_struct *napi, int budget);

#endif /* _WG_TUNNEL_RX_H */
