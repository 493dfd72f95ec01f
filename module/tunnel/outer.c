// SPDX-License-Identifier: GPL-2.0
/*
 * The outer side of the tunnel: endpoints, routes and the datagrams that
 * carry messages to them.
 *
 * Sending a message to a peer: read its endpoint (peer->endpoint_rwlock,
 * for reading), find a route (the peer's route_cache, else the routing
 * table with the device's fwmark and the endpoint's remembered source),
 * and hand the datagram to the device's UDP socket of that family (udp.c)
 * under rcu_read_lock_bh(), which keeps the socket alive.
 *
 * Receive learns endpoints (write lock, only when they changed); netlink
 * sets them.  Either resets the route cache.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "../compat.h"
#include "limits.h"
#include "outer.h"
#include "peer.h"
#include "tunnel.h"

#include <linux/inetdevice.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/udp_tunnel.h>

/*
 * Tunnels of this device that one outer packet may be nested in (onion
 * routing), the sender's own included; deeper chains count as loops.
 */
#define WG_NEST_MAX 8

/* --- endpoints ------------------------------------------------------ */

int wg_endpoint_of_skb(struct wg_endpoint *ep, const struct sk_buff *skb)
{
	__be16 from_port = udp_hdr(skb)->source;

	memset(ep, 0, sizeof(*ep));
	if (skb->protocol == htons(ETH_P_IP)) {
		const struct iphdr *outer = ip_hdr(skb);

		ep->addr4.sin_family = AF_INET;
		ep->addr4.sin_addr.s_addr = outer->saddr;
		ep->addr4.sin_port = from_port;
		ep->src4.s_addr = outer->daddr;
		ep->src_if4 = skb->skb_iif;
		return 0;
	}
	if (skb->protocol == htons(ETH_P_IPV6)) {
		const struct ipv6hdr *outer = ipv6_hdr(skb);

		ep->addr6.sin6_family = AF_INET6;
		ep->addr6.sin6_addr = outer->saddr;
		ep->addr6.sin6_port = from_port;
		/* A link-local peer is only reachable on the interface it used. */
		ep->addr6.sin6_scope_id = ipv6_iface_scope_id(&outer->saddr,
							      skb->skb_iif);
		ep->src6 = outer->daddr;
		return 0;
	}
	return -EAFNOSUPPORT;
}

/* Both halves equal?  (Reading @known needs the endpoint lock.) */
static bool endpoint_unchanged(const struct wg_endpoint *seen,
			       const struct wg_endpoint *known)
{
	const struct sockaddr_in6 *s6 = &seen->addr6, *k6 = &known->addr6;
	const struct sockaddr_in *s4 = &seen->addr4, *k4 = &known->addr4;

	switch (seen->addr.sa_family) {
	case AF_INET:
		return k4->sin_family == AF_INET &&
		       s4->sin_addr.s_addr == k4->sin_addr.s_addr &&
		       s4->sin_port == k4->sin_port &&
		       seen->src4.s_addr == known->src4.s_addr &&
		       seen->src_if4 == known->src_if4;
	case AF_INET6:
		return k6->sin6_family == AF_INET6 &&
		       ipv6_addr_equal(&s6->sin6_addr, &k6->sin6_addr) &&
		       s6->sin6_port == k6->sin6_port &&
		       s6->sin6_scope_id == k6->sin6_scope_id &&
		       ipv6_addr_equal(&seen->src6, &known->src6);
	}
	/* Nothing to learn from another family. */
	return true;
}

void wg_endpoint_learn(struct wg_peer *peer, const struct wg_endpoint *ep)
{
	bool same;

	/* Nearly every packet comes from where the previous one did. */
	read_lock_bh(&peer->endpoint_rwlock);
	same = endpoint_unchanged(ep, &peer->endpoint);
	read_unlock_bh(&peer->endpoint_rwlock);
	if (same)
		return;

	write_lock_bh(&peer->endpoint_rwlock);
	/* Both of @ep's unions come whole: no byte of the old one stays. */
	peer->endpoint = *ep;
	dst_cache_reset(&peer->route_cache);
	write_unlock_bh(&peer->endpoint_rwlock);
}

void wg_endpoint_learn_skb(struct wg_peer *peer, const struct sk_buff *skb)
{
	struct wg_endpoint seen;

	if (wg_endpoint_of_skb(&seen, skb) == 0)
		wg_endpoint_learn(peer, &seen);
}

void wg_endpoint_forget_src(struct wg_peer *peer)
{
	write_lock_bh(&peer->endpoint_rwlock);
	if (peer->endpoint.addr.sa_family == AF_INET6) {
		peer->endpoint.src6 = in6addr_any;
	} else {
		peer->endpoint.src4.s_addr = 0;
		peer->endpoint.src_if4 = 0;
	}
	dst_cache_reset_now(&peer->route_cache);
	write_unlock_bh(&peer->endpoint_rwlock);
}

/* --- onion routing: an outer packet routed into the device ------------ */

/* Does the outer packet to @ep leave through @wg's own device? */
static bool routed_into(struct wg_device *wg, const struct wg_endpoint *ep)
{
	struct dst_entry *dst = NULL;
	struct sock *sk;
	bool into;

	if (ep->addr.sa_family == AF_INET) {
		struct flowi4 fl = {
			.daddr = ep->addr4.sin_addr.s_addr,
			.fl4_dport = ep->addr4.sin_port,
			.flowi4_mark = wg->fwmark,
			.flowi4_proto = IPPROTO_UDP
		};
		struct rtable *rt;

		sk = rcu_dereference_bh(wg->sock4);
		if (!sk)
			return false;
		rt = ip_route_output_flow(sock_net(sk), &fl, sk);
		if (!IS_ERR(rt))
			dst = &rt->dst;
	} else if (ep->addr.sa_family == AF_INET6) {
		struct flowi6 fl = {
			.daddr = ep->addr6.sin6_addr,
			.fl6_dport = ep->addr6.sin6_port,
			.flowi6_mark = wg->fwmark,
			.flowi6_oif = ep->addr6.sin6_scope_id,
			.flowi6_proto = IPPROTO_UDP
		};

		sk = rcu_dereference_bh(wg->sock6);
		if (!sk)
			return false;
		dst = wg_compat_ip6_route(sock_net(sk), sk, &fl);
		if (IS_ERR(dst))
			dst = NULL;
	}
	if (!dst)
		return false;
	into = dst->dev == wg->dev;
	dst_release(dst);
	return into;
}

/* The peer whose tunnel would carry a packet to @ep; no reference. */
static struct wg_peer *carrier_of(struct wg_device *wg,
				  const struct wg_endpoint *ep)
{
	if (ep->addr.sa_family == AF_INET)
		return wg_peer_owning(wg, AF_INET, &ep->addr4.sin_addr);
	return wg_peer_owning(wg, AF_INET6, &ep->addr6.sin6_addr);
}

/*
 * Onion routing: the outer packet to @ep is routed into this very device,
 * so the tunnel of the peer whose allowed IPs hold @ep's address carries
 * it, and that peer's outer packet may be routed in again.  The chain must
 * reach a real interface within WG_NEST_MAX tunnels without meeting a
 * peer twice (@from, the sender, counts; NULL for a reply to a stranger):
 * a chain that comes back circles every packet sent into it forever.
 * Nested routes are never cached, so this runs on every such send and a
 * change of any endpoint on the chain takes effect at once.  Called under
 * rcu_read_lock_bh() with @from's endpoint lock held for reading; other
 * peers' endpoints are read with a trylock (a writer busy with one lets
 * this packet nest one level further, where the next hop checks again).
 */
static bool nests_in_loop(struct wg_device *wg, const struct wg_peer *from,
			  const struct wg_endpoint *endpoint)
{
	const struct wg_peer *chain[WG_NEST_MAX + 1];
	struct wg_endpoint ep = *endpoint;
	unsigned int depth = 0, i;
	struct wg_peer *next;

	if (from)
		chain[depth++] = from;
	for (;;) {
		next = carrier_of(wg, &ep);
		/* No tunnel takes it: the device drops it as tx_no_peer. */
		if (!next)
			return false;
		for (i = 0; i < depth; ++i) {
			if (chain[i] == next)
				goto loop;
		}
		if (depth == ARRAY_SIZE(chain))
			goto loop;
		chain[depth++] = next;
		if (!read_trylock(&next->endpoint_rwlock))
			return false;
		ep = next->endpoint;
		read_unlock(&next->endpoint_rwlock);
		if (!routed_into(wg, &ep))
			return false;
	}

loop:
	wg_stat_inc(wg, WG_STAT_TX_ROUTING_LOOP);
	net_warn_ratelimited("%s: routing loop: the outer packet to %pISpfsc comes back into a tunnel it is already in; dropped\n",
			     wg->dev->name, &endpoint->addr);
	return true;
}

/*
 * A route just looked up for @ep: 0 if the datagram may take it, else the
 * error (the route, if any, released).  Routes back into the device
 * (onion routing) are taken unless they loop, and never cached.
 */
static int vet_route(struct wg_device *wg, const struct wg_peer *from,
		     const struct wg_endpoint *ep, struct dst_entry *dst)
{
	if (IS_ERR(dst)) {
		wg_stat_inc(wg, WG_STAT_TX_ROUTE_FAIL);
		net_dbg_ratelimited("%s: no route to %pISpfsc, error %ld\n",
				    wg->dev->name, &ep->addr, PTR_ERR(dst));
		return PTR_ERR(dst);
	}
	if (unlikely(dst->dev == wg->dev) && nests_in_loop(wg, from, ep)) {
		dst_release(dst);
		return -ELOOP;
	}
	return 0;
}

/* --- IPv4 --------------------------------------------------------------- */

/*
 * The route for @fl from the routing table.  A remembered source that is
 * no longer one of ours, or that sits on another interface than the route
 * now leaves by, is forgotten (in the endpoint too: a racing reader at
 * worst routes once more) and the route is looked up without it.
 */
static struct rtable *lookup4(struct sock *sk, struct wg_endpoint *ep,
			      struct flowi4 *fl, struct dst_cache *cache)
{
	struct net *net = sock_net(sk);
	struct rtable *rt;
	bool stale;

	security_sk_classify_flow(sk, flowi4_to_flowi_common(fl));
	stale = fl->saddr &&
		!inet_confirm_addr(net, NULL, 0, fl->saddr, RT_SCOPE_HOST);
	if (!stale) {
		rt = ip_route_output_flow(net, fl, sk);
		/* Unbound, or still on its interface: the route stands. */
		if (!ep->src_if4 || (IS_ERR(rt) && PTR_ERR(rt) != -EINVAL))
			return rt;
		if (!IS_ERR(rt) && rt->dst.dev->ifindex == ep->src_if4)
			return rt;
		if (!IS_ERR(rt))
			ip_rt_put(rt);
	}
	ep->src4.s_addr = 0;
	ep->src_if4 = 0;
	fl->saddr = 0;
	/* Other CPUs' cached routes still carry the old source. */
	if (cache)
		dst_cache_reset(cache);
	return ip_route_output_flow(net, fl, sk);
}

/*
 * The messages on the frag_list of an outer batch (see send.c) each get a
 * UDP and an IPv4 header of their own in their headroom, as UDP GRO leaves
 * datagrams, so that skb_segment_list() can split the batch wherever it has
 * to (it copies only the link-layer header and fixes the IP length, ID and
 * checksum).  Their UDP checksum is zero, as the head's: allowed over IPv4,
 * the messages are authenticated, and nothing needs to checksum a segment
 * when the batch is split.  @ll: link-layer room of the route's device.
 */
static int batch_headers4(struct sk_buff *skb, const struct flowi4 *fl,
			  u8 tos, u8 ttl, unsigned int ll)
{
	const unsigned int hlen = sizeof(struct iphdr) + sizeof(struct udphdr);
	const unsigned int seg_len = skb_shinfo(skb)->gso_size;
	struct {
		struct iphdr ip;
		struct udphdr udp;
	} __packed hdr = {
		.ip = {
			.version = 4,
			.ihl = sizeof(struct iphdr) >> 2,
			.tos = tos,
			.tot_len = htons(seg_len + hlen),
			.ttl = ttl,
			.protocol = IPPROTO_UDP,
			.saddr = fl->saddr,
			.daddr = fl->daddr
		},
		.udp = {
			.source = fl->fl4_sport,
			.dest = fl->fl4_dport,
			.len = htons(seg_len + sizeof(struct udphdr))
		}
	};
	struct sk_buff *m;

	BUILD_BUG_ON(sizeof(hdr) != hlen);
	ip_send_check(&hdr.ip);
	skb_walk_frags(skb, m) {
		if (unlikely(skb_headroom(m) < hlen + ll) &&
		    pskb_expand_head(m, hlen + ll - skb_headroom(m), 0,
				     GFP_ATOMIC))
			return -ENOMEM;
		skb_set_transport_header(m, -(int)sizeof(struct udphdr));
		skb_set_network_header(m, -(int)hlen);
		memcpy(ip_hdr(m), &hdr, hlen);
		/* Only the last message of a batch may be shorter. */
		if (m->len != seg_len) {
			ip_hdr(m)->tot_len = htons(m->len + hlen);
			udp_hdr(m)->len = htons(m->len + sizeof(struct udphdr));
			ip_send_check(ip_hdr(m));
		}
		m->ip_summed = CHECKSUM_UNNECESSARY;
	}
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	return 0;
}

/* Called under rcu_read_lock_bh(); consumes @skb. */
static int xmit4(struct wg_device *wg, const struct wg_peer *from,
		 struct sk_buff *skb, struct wg_endpoint *ep, u8 ds,
		 struct dst_cache *cache)
{
	struct sock *sk = rcu_dereference_bh(wg->sock4);
	struct rtable *rt = NULL;
	struct flowi4 fl;
	u8 ttl;
	int err;

	if (unlikely(!sk)) {
		err = -ENONET;
		goto drop;
	}
	memset(&fl, 0, sizeof(fl));
	fl.flowi4_proto = IPPROTO_UDP;
	fl.flowi4_mark = wg->fwmark;
	fl.daddr = ep->addr4.sin_addr.s_addr;
	fl.saddr = ep->src4.s_addr;
	fl.fl4_dport = ep->addr4.sin_port;
	fl.fl4_sport = inet_sk(sk)->inet_sport;

	if (cache)
		rt = dst_cache_get_ip4(cache, &fl.saddr);
	if (!rt) {
		rt = lookup4(sk, ep, &fl, cache);
		err = vet_route(wg, from, ep, IS_ERR(rt) ? ERR_CAST(rt) :
							   &rt->dst);
		if (err)
			goto drop;
		if (cache && rt->dst.dev != wg->dev)
			dst_cache_set_ip4(cache, &rt->dst, fl.saddr);
	}

	ttl = ip4_dst_hoplimit(&rt->dst);
	if (skb_is_gso(skb) &&
	    unlikely(batch_headers4(skb, &fl, ds, ttl,
				    LL_RESERVED_SPACE(rt->dst.dev)))) {
		ip_rt_put(rt);
		wg_stat_inc(wg, WG_STAT_TX_NOMEM);
		err = -ENOMEM;
		goto drop;
	}
	wg_compat_udp_xmit4(rt, sk, skb, fl.saddr, fl.daddr, ds, ttl,
			    fl.fl4_sport, fl.fl4_dport, skb_is_gso(skb));
	return 0;

drop:
	kfree_skb(skb);
	return err;
}

/* --- IPv6 --------------------------------------------------------------- */

/*
 * As lookup4(), but an IPv6 endpoint remembers no interface: only a source
 * that is no longer ours is forgotten.
 */
static struct dst_entry *lookup6(struct sock *sk, struct wg_endpoint *ep,
				 struct flowi6 *fl, struct dst_cache *cache)
{
	struct net *net = sock_net(sk);

	security_sk_classify_flow(sk, flowi6_to_flowi_common(fl));
	if (!ipv6_addr_any(&fl->saddr) &&
	    unlikely(!ipv6_chk_addr(net, &fl->saddr, NULL, 0))) {
		ep->src6 = in6addr_any;
		fl->saddr = in6addr_any;
		if (cache)
			dst_cache_reset(cache);
	}
	return wg_compat_ip6_route(net, sk, fl);
}

/* Called under rcu_read_lock_bh(); consumes @skb. */
static int xmit6(struct wg_device *wg, const struct wg_peer *from,
		 struct sk_buff *skb, struct wg_endpoint *ep, u8 ds,
		 struct dst_cache *cache)
{
	struct sock *sk = rcu_dereference_bh(wg->sock6);
	struct dst_entry *dst = NULL;
	struct flowi6 fl;
	int err;

	if (unlikely(!sk)) {
		err = -ENONET;
		goto drop;
	}
	memset(&fl, 0, sizeof(fl));
	fl.flowi6_proto = IPPROTO_UDP;
	fl.flowi6_mark = wg->fwmark;
	fl.flowi6_oif = ep->addr6.sin6_scope_id;
	fl.daddr = ep->addr6.sin6_addr;
	fl.saddr = ep->src6;
	fl.fl6_dport = ep->addr6.sin6_port;
	fl.fl6_sport = inet_sk(sk)->inet_sport;

	if (cache)
		dst = dst_cache_get_ip6(cache, &fl.saddr);
	if (!dst) {
		dst = lookup6(sk, ep, &fl, cache);
		err = vet_route(wg, from, ep, dst);
		if (err)
			goto drop;
		if (cache && dst->dev != wg->dev)
			dst_cache_set_ip6(cache, dst, &fl.saddr);
	}
	wg_compat_udp_xmit6(dst, sk, skb, &fl.saddr, &fl.daddr, ds,
			    ip6_dst_hoplimit(dst), fl.fl6_sport, fl.fl6_dport);
	return 0;

drop:
	kfree_skb(skb);
	return err;
}

/* --- sending ------------------------------------------------------------ */

/*
 * One datagram (or an IPv4 batch) to @ep; consumes @skb.  @cache: the
 * peer's route cache, NULL for a reply to a stranger (whose route must
 * not replace a peer's).
 */
static int xmit(struct wg_device *wg, const struct wg_peer *from,
		struct sk_buff *skb, struct wg_endpoint *ep, u8 ds,
		struct dst_cache *cache)
{
	int err;

	skb_mark_not_on_list(skb);
	skb->dev = wg->dev;
	skb->mark = wg->fwmark;
	/* Our datagrams may be fragmented on the way: the tunnel's MTU is ours. */
	skb->ignore_df = 1;

	rcu_read_lock_bh();
	switch (ep->addr.sa_family) {
	case AF_INET:
		err = xmit4(wg, from, skb, ep, ds, cache);
		break;
	case AF_INET6:
		err = xmit6(wg, from, skb, ep, ds, cache);
		break;
	default:
		kfree_skb(skb);
		err = -EAFNOSUPPORT;
	}
	rcu_read_unlock_bh();
	return err;
}

/*
 * A batch (send.c) is built only for an IPv4 endpoint; should the endpoint
 * have turned IPv6 since, its messages leave one by one.  Returns the last
 * error.
 */
static int xmit_split(struct wg_peer *peer, struct sk_buff *skb, u8 ds)
{
	struct sk_buff *rest = skb_shinfo(skb)->frag_list, *m, *tmp;
	int err, ret;

	skb_shinfo(skb)->frag_list = NULL;
	skb_list_walk_safe(rest, m, tmp) {
		skb->truesize -= m->truesize;
		skb->data_len -= m->len;
		skb->len -= m->len;
	}
	skb_gso_reset(skb);
	ret = xmit(peer->device, peer, skb, &peer->endpoint, ds,
		   &peer->route_cache);
	skb_list_walk_safe(rest, m, tmp) {
		err = xmit(peer->device, peer, m, &peer->endpoint, ds,
			   &peer->route_cache);
		if (err)
			ret = err;
	}
	return ret;
}

int wg_outer_send_skb(struct wg_peer *peer, struct sk_buff *skb, u8 ds)
{
	unsigned int bytes = skb->len;
	int err;

	read_lock_bh(&peer->endpoint_rwlock);
	if (unlikely(skb_is_gso(skb) &&
		     peer->endpoint.addr.sa_family != AF_INET))
		err = xmit_split(peer, skb, ds);
	else
		err = xmit(peer->device, peer, skb, &peer->endpoint, ds,
			   &peer->route_cache);
	read_unlock_bh(&peer->endpoint_rwlock);
	if (likely(!err))
		atomic64_add(bytes, &peer->tx_bytes);
	return err;
}

/* A fresh skb holding @msg, with room for the outer headers in front. */
static struct sk_buff *msg_skb(const void *msg, size_t len)
{
	struct sk_buff *skb = alloc_skb(WG_SKB_HEADER_LEN + len, GFP_ATOMIC);

	if (likely(skb)) {
		skb_reserve(skb, WG_SKB_HEADER_LEN);
		skb_set_inner_network_header(skb, 0);
		skb_put_data(skb, msg, len);
	}
	return skb;
}

int wg_outer_send_msg(struct wg_peer *peer, const void *msg, size_t len,
		      u8 ds)
{
	struct sk_buff *skb = msg_skb(msg, len);

	return skb ? wg_outer_send_skb(peer, skb, ds) : -ENOMEM;
}

int wg_outer_reply(struct wg_device *wg, const struct sk_buff *in_skb,
		   const void *msg, size_t len)
{
	struct wg_endpoint to;
	struct sk_buff *skb;
	int err;

	err = wg_endpoint_of_skb(&to, in_skb);
	if (unlikely(err))
		return err;
	skb = msg_skb(msg, len);
	if (unlikely(!skb))
		return -ENOMEM;
	return xmit(wg, NULL, skb, &to, 0, NULL);
}
