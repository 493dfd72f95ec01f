/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The outer side of the tunnel: where a peer is (its endpoint), how an
 * encrypted message gets there (a route, cached per peer) and the UDP
 * datagram that carries it.  The sockets themselves are udp.h's.
 */
#ifndef _WG_TUNNEL_OUTER_H
#define _WG_TUNNEL_OUTER_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/skbuff.h>

struct wg_device;
struct wg_peer;

/*
 * A peer's address and port (the "far" half), and the local source we
 * last heard it on (the "near" half: replies leave from the address the
 * peer talks to; for IPv4 also the interface that address was on).  A
 * zero near half lets routing choose.  addr.sa_family tells which view of
 * the far half is valid; AF_UNSPEC: no endpoint known.
 */
struct wg_endpoint {
	union {
		struct in6_addr src6;
		struct {
			struct in_addr src4;
			int src_if4;
		};
	};
	union {
		struct sockaddr addr;
		struct sockaddr_in addr4;
		struct sockaddr_in6 addr6;
	};
};

/*
 * The endpoint an incoming datagram came from (its source, and our address
 * it reached), or -EAFNOSUPPORT for a packet that is neither IPv4 nor IPv6.
 */
int wg_endpoint_of_skb(struct wg_endpoint *ep, const struct sk_buff *skb);
/* Make @ep the peer's endpoint (a no-op when it already is). */
void wg_endpoint_learn(struct wg_peer *peer, const struct wg_endpoint *ep);
void wg_endpoint_learn_skb(struct wg_peer *peer, const struct sk_buff *skb);
/* Forget the near half: the next send routes from scratch. */
void wg_endpoint_forget_src(struct wg_peer *peer);

/*
 * Sending to a peer's endpoint.  Each consumes @skb; 0 when it was handed
 * to the socket.  @ds: the outer DSCP/ECN byte.
 */
int wg_outer_send_skb(struct wg_peer *peer, struct sk_buff *skb, u8 ds);
int wg_outer_send_msg(struct wg_peer *peer, const void *msg, size_t len,
		      u8 ds);
/* A message back to wherever @in_skb came from, with no peer (a cookie). */
int wg_outer_reply(struct wg_device *wg, const struct sk_buff *in_skb,
		   const void *msg, size_t len);

/* Rate-limited debug line naming the outer source address of @skb. */
#define wg_dbg_skb_ratelimited(fmt, devname, skb, ...)			\
	do {								\
		struct wg_endpoint __from;				\
		if (!wg_endpoint_of_skb(&__from, skb))			\
			net_dbg_ratelimited(fmt, devname, &__from.addr,	\
					    ##__VA_ARGS__);		\
	} while (0)

#endif /* _WG_TUNNEL_OUTER_H */
