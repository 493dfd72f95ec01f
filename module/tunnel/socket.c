// SPDX-License-Identifier: GPL-2.0
/*
 * UDP tunnel sockets, outer routing, and peer endpoints.
 *
 * A device owns one IPv4 and one IPv6 socket bound to the same port in the
 * namespace that created it.  Packets are routed with the device's fwmark;
 * the source address a peer last reached us on is cached in its endpoint so
 * replies leave from it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "../compat.h"
#include "tunnel.h"
#include "peer.h"
#include "socket.h"
#include "queueing.h"
#include "limits.h"
#include "../tables/allowedips.h"

#include <linux/ctype.h>
#include <linux/net.h>
#include <linux/if_vlan.h>
#include <linux/if_ether.h>
#include <linux/inetdevice.h>
#include <net/udp_tunnel.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/inet_common.h>

/*
 * Tunnels of this device that one outer packet may be nested in (onion
 * routing), the sender's own included; deeper chains count as loops.
 */
#define WG_NEST_MAX 8

/*
 * Forget a cached source that no longer works.  Callers hold the endpoint
 * lock for reading only: the fields are plain words, a racing reader at
 * worst routes once more.
 */
static void forget_src4(struct wg_endpoint *endpoint, struct flowi4 *fl,
			struct dst_cache *cache)
{
	endpoint->src4.s_addr = 0;
	endpoint->src_if4 = 0;
	fl->saddr = 0;
	if (cache)
		dst_cache_reset(cache);
}

static struct rtable *route4(struct wg_device *wg, struct sock *sock,
			     struct wg_endpoint *endpoint, struct flowi4 *fl,
			     struct dst_cache *cache)
{
	struct net *net = sock_net(sock);
	struct rtable *rt;

	security_sk_classify_flow(sock, flowi4_to_flowi_common(fl));
	if (unlikely(fl->saddr &&
		     !inet_confirm_addr(net, NULL, 0, fl->saddr, RT_SCOPE_HOST)))
		forget_src4(endpoint, fl, cache);
	rt = ip_route_output_flow(net, fl, sock);
	/* The cached source moved to another interface: route afresh. */
	if (unlikely(endpoint->src_if4 &&
		     ((IS_ERR(rt) && PTR_ERR(rt) == -EINVAL) ||
		      (!IS_ERR(rt) && rt->dst.dev->ifindex != endpoint->src_if4)))) {
		forget_src4(endpoint, fl, cache);
		if (!IS_ERR(rt))
			ip_rt_put(rt);
		rt = ip_route_output_flow(net, fl, sock);
	}
	return rt;
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

/* Does the outer packet to @ep leave through @wg's own device? */
static bool routed_into(struct wg_device *wg, const struct wg_endpoint *ep)
{
	struct sock *sock;
	bool into = false;

	if (ep->addr.sa_family == AF_INET) {
		struct flowi4 fl = {
			.daddr = ep->addr4.sin_addr.s_addr,
			.fl4_dport = ep->addr4.sin_port,
			.flowi4_mark = wg->fwmark,
			.flowi4_proto = IPPROTO_UDP
		};
		struct rtable *rt;

		sock = rcu_dereference_bh(wg->sock4);
		if (!sock)
			return false;
		rt = ip_route_output_flow(sock_net(sock), &fl, sock);
		if (IS_ERR(rt))
			return false;
		into = rt->dst.dev == wg->dev;
		ip_rt_put(rt);
	} else if (ep->addr.sa_family == AF_INET6) {
		struct flowi6 fl = {
			.daddr = ep->addr6.sin6_addr,
			.fl6_dport = ep->addr6.sin6_port,
			.flowi6_mark = wg->fwmark,
			.flowi6_oif = ep->addr6.sin6_scope_id,
			.flowi6_proto = IPPROTO_UDP
		};
		struct dst_entry *dst;

		sock = rcu_dereference_bh(wg->sock6);
		if (!sock)
			return false;
		dst = wg_compat_ip6_route(sock_net(sock), sock, &fl);
		if (IS_ERR(dst))
			return false;
		into = dst->dev == wg->dev;
		dst_release(dst);
	}
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

static int send4(struct wg_device *wg, const struct wg_peer *from,
		 struct sk_buff *skb, struct wg_endpoint *endpoint, u8 ds,
		 struct dst_cache *cache)
{
	struct flowi4 fl = {
		.saddr = endpoint->src4.s_addr,
		.daddr = endpoint->addr4.sin_addr.s_addr,
		.fl4_dport = endpoint->addr4.sin_port,
		.flowi4_mark = wg->fwmark,
		.flowi4_proto = IPPROTO_UDP
	};
	struct rtable *rt = NULL;
	struct sock *sock;
	int ret = 0;

	skb_mark_not_on_list(skb);
	skb->dev = wg->dev;
	skb->mark = wg->fwmark;

	rcu_read_lock_bh();
	sock = rcu_dereference_bh(wg->sock4);
	if (unlikely(!sock)) {
		ret = -ENONET;
		goto err;
	}
	fl.fl4_sport = inet_sk(sock)->inet_sport;

	if (cache)
		rt = dst_cache_get_ip4(cache, &fl.saddr);
	if (!rt) {
		rt = route4(wg, sock, endpoint, &fl, cache);
		if (IS_ERR(rt)) {
			ret = PTR_ERR(rt);
			wg_stat_inc(wg, WG_STAT_TX_ROUTE_FAIL);
			net_dbg_ratelimited("%s: no route to %pISpfsc, error %d\n",
					    wg->dev->name, &endpoint->addr, ret);
			goto err;
		}
		if (unlikely(rt->dst.dev == wg->dev)) {
			if (nests_in_loop(wg, from, endpoint)) {
				ip_rt_put(rt);
				ret = -ELOOP;
				goto err;
			}
		} else if (cache) {
			dst_cache_set_ip4(cache, &rt->dst, fl.saddr);
		}
	}

	skb->ignore_df = 1;
	if (skb_is_gso(skb) &&
	    unlikely(batch_headers4(skb, &fl, ds, ip4_dst_hoplimit(&rt->dst),
				    LL_RESERVED_SPACE(rt->dst.dev)))) {
		ip_rt_put(rt);
		ret = -ENOMEM;
		wg_stat_inc(wg, WG_STAT_TX_NOMEM);
		goto err;
	}
	wg_compat_udp_xmit4(rt, sock, skb, fl.saddr, fl.daddr, ds,
			    ip4_dst_hoplimit(&rt->dst), fl.fl4_sport,
			    fl.fl4_dport, skb_is_gso(skb));
	goto out;

err:
	kfree_skb(skb);
out:
	rcu_read_unlock_bh();
	return ret;
}

static int send6(struct wg_device *wg, const struct wg_peer *from,
		 struct sk_buff *skb, struct wg_endpoint *endpoint, u8 ds,
		 struct dst_cache *cache)
{
	struct flowi6 fl = {
		.saddr = endpoint->src6,
		.daddr = endpoint->addr6.sin6_addr,
		.fl6_dport = endpoint->addr6.sin6_port,
		.flowi6_mark = wg->fwmark,
		.flowi6_oif = endpoint->addr6.sin6_scope_id,
		.flowi6_proto = IPPROTO_UDP
	};
	struct dst_entry *dst = NULL;
	struct sock *sock;
	int ret = 0;

	skb_mark_not_on_list(skb);
	skb->dev = wg->dev;
	skb->mark = wg->fwmark;

	rcu_read_lock_bh();
	sock = rcu_dereference_bh(wg->sock6);
	if (unlikely(!sock)) {
		ret = -ENONET;
		goto err;
	}
	fl.fl6_sport = inet_sk(sock)->inet_sport;

	if (cache)
		dst = dst_cache_get_ip6(cache, &fl.saddr);
	if (!dst) {
		security_sk_classify_flow(sock, flowi6_to_flowi_common(&fl));
		if (unlikely(!ipv6_addr_any(&fl.saddr) &&
			     !ipv6_chk_addr(sock_net(sock), &fl.saddr, NULL, 0))) {
			fl.saddr = in6addr_any;
			endpoint->src6 = in6addr_any;
			if (cache)
				dst_cache_reset(cache);
		}
		dst = wg_compat_ip6_route(sock_net(sock), sock, &fl);
		if (IS_ERR(dst)) {
			ret = PTR_ERR(dst);
			wg_stat_inc(wg, WG_STAT_TX_ROUTE_FAIL);
			net_dbg_ratelimited("%s: no route to %pISpfsc, error %d\n",
					    wg->dev->name, &endpoint->addr, ret);
			goto err;
		}
		if (unlikely(dst->dev == wg->dev)) {
			if (nests_in_loop(wg, from, endpoint)) {
				dst_release(dst);
				ret = -ELOOP;
				goto err;
			}
		} else if (cache) {
			dst_cache_set_ip6(cache, dst, &fl.saddr);
		}
	}

	skb->ignore_df = 1;
	wg_compat_udp_xmit6(dst, sock, skb, &fl.saddr, &fl.daddr, ds,
			    ip6_dst_hoplimit(dst), fl.fl6_sport, fl.fl6_dport);
	goto out;

err:
	kfree_skb(skb);
out:
	rcu_read_unlock_bh();
	return ret;
}

/* Called with the endpoint lock held. */
static int send_to_endpoint(struct wg_peer *peer, struct sk_buff *skb, u8 ds)
{
	if (peer->endpoint.addr.sa_family == AF_INET)
		return send4(peer->device, peer, skb, &peer->endpoint, ds,
			     &peer->route_cache);
	if (peer->endpoint.addr.sa_family == AF_INET6)
		return send6(peer->device, peer, skb, &peer->endpoint, ds,
			     &peer->route_cache);
	dev_kfree_skb(skb);
	return -EAFNOSUPPORT;
}

/*
 * A batch was built for an IPv4 endpoint; should the endpoint have changed
 * family since, its messages leave one by one.  Called with the endpoint
 * lock held; returns the last error.
 */
static int send_unbatched(struct wg_peer *peer, struct sk_buff *skb, u8 ds)
{
	struct sk_buff *list = skb_shinfo(skb)->frag_list, *m, *next;
	int ret, err;

	skb_shinfo(skb)->frag_list = NULL;
	skb_list_walk_safe(list, m, next) {
		skb->len -= m->len;
		skb->data_len -= m->len;
		skb->truesize -= m->truesize;
	}
	skb_gso_reset(skb);
	ret = send_to_endpoint(peer, skb, ds);
	skb_list_walk_safe(list, m, next) {
		skb_mark_not_on_list(m);
		err = send_to_endpoint(peer, m, ds);
		if (err)
			ret = err;
	}
	return ret;
}

int wg_socket_send_skb_to_peer(struct wg_peer *peer, struct sk_buff *skb,
			       u8 ds)
{
	size_t skb_len = skb->len;
	int ret;

	read_lock_bh(&peer->endpoint_rwlock);
	if (unlikely(skb_is_gso(skb) &&
		     peer->endpoint.addr.sa_family != AF_INET))
		ret = send_unbatched(peer, skb, ds);
	else
		ret = send_to_endpoint(peer, skb, ds);
	if (likely(!ret))
		atomic64_add(skb_len, &peer->tx_bytes);
	read_unlock_bh(&peer->endpoint_rwlock);

	return ret;
}

int wg_socket_send_buffer_to_peer(struct wg_peer *peer, void *buffer,
				  size_t len, u8 ds)
{
	struct sk_buff *skb = alloc_skb(len + WG_SKB_HEADER_LEN, GFP_ATOMIC);

	if (unlikely(!skb))
		return -ENOMEM;

	skb_reserve(skb, WG_SKB_HEADER_LEN);
	skb_set_inner_network_header(skb, 0);
	skb_put_data(skb, buffer, len);
	return wg_socket_send_skb_to_peer(peer, skb, ds);
}

int wg_socket_send_buffer_as_reply_to_skb(struct wg_device *wg,
					  struct sk_buff *in_skb, void *buffer,
					  size_t len)
{
	struct wg_endpoint endpoint;
	struct sk_buff *skb;
	int ret;

	if (unlikely(!in_skb))
		return -EINVAL;
	ret = wg_socket_endpoint_from_skb(&endpoint, in_skb);
	if (unlikely(ret < 0))
		return ret;

	skb = alloc_skb(len + WG_SKB_HEADER_LEN, GFP_ATOMIC);
	if (unlikely(!skb))
		return -ENOMEM;
	skb_reserve(skb, WG_SKB_HEADER_LEN);
	skb_set_inner_network_header(skb, 0);
	skb_put_data(skb, buffer, len);

	/* No cache: replies to strangers must not pollute a peer's route. */
	if (endpoint.addr.sa_family == AF_INET)
		ret = send4(wg, NULL, skb, &endpoint, 0, NULL);
	else if (endpoint.addr.sa_family == AF_INET6)
		ret = send6(wg, NULL, skb, &endpoint, 0, NULL);
	return ret;
}

int wg_socket_endpoint_from_skb(struct wg_endpoint *endpoint,
				const struct sk_buff *skb)
{
	memset(endpoint, 0, sizeof(*endpoint));
	if (skb->protocol == htons(ETH_P_IP)) {
		endpoint->addr4.sin_family = AF_INET;
		endpoint->addr4.sin_port = udp_hdr(skb)->source;
		endpoint->addr4.sin_addr.s_addr = ip_hdr(skb)->saddr;
		endpoint->src4.s_addr = ip_hdr(skb)->daddr;
		endpoint->src_if4 = skb->skb_iif;
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6 = ipv6_hdr(skb);

		endpoint->addr6.sin6_family = AF_INET6;
		endpoint->addr6.sin6_port = udp_hdr(skb)->source;
		endpoint->addr6.sin6_addr = ip6->saddr;
		endpoint->addr6.sin6_scope_id =
			ipv6_iface_scope_id(&ip6->saddr, skb->skb_iif);
		endpoint->src6 = ip6->daddr;
	} else {
		return -EINVAL;
	}
	return 0;
}

static bool endpoint_eq(const struct wg_endpoint *a,
			const struct wg_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return false;
	if (a->addr.sa_family == AF_INET)
		return a->addr4.sin_port == b->addr4.sin_port &&
		       a->addr4.sin_addr.s_addr == b->addr4.sin_addr.s_addr &&
		       a->src4.s_addr == b->src4.s_addr &&
		       a->src_if4 == b->src_if4;
	if (a->addr.sa_family == AF_INET6)
		return a->addr6.sin6_port == b->addr6.sin6_port &&
		       ipv6_addr_equal(&a->addr6.sin6_addr,
				       &b->addr6.sin6_addr) &&
		       a->addr6.sin6_scope_id == b->addr6.sin6_scope_id &&
		       ipv6_addr_equal(&a->src6, &b->src6);
	return true;
}

void wg_socket_set_peer_endpoint(struct wg_peer *peer,
				 const struct wg_endpoint *endpoint)
{
	/* Most packets come from where the last one did: check cheaply. */
	read_lock_bh(&peer->endpoint_rwlock);
	if (endpoint_eq(endpoint, &peer->endpoint)) {
		read_unlock_bh(&peer->endpoint_rwlock);
		return;
	}
	read_unlock_bh(&peer->endpoint_rwlock);

	write_lock_bh(&peer->endpoint_rwlock);
	if (endpoint->addr.sa_family == AF_INET) {
		peer->endpoint.addr4 = endpoint->addr4;
		peer->endpoint.src4 = endpoint->src4;
		peer->endpoint.src_if4 = endpoint->src_if4;
	} else if (endpoint->addr.sa_family == AF_INET6) {
		peer->endpoint.addr6 = endpoint->addr6;
		peer->endpoint.src6 = endpoint->src6;
	}
	dst_cache_reset(&peer->route_cache);
	write_unlock_bh(&peer->endpoint_rwlock);
}

void wg_socket_set_peer_endpoint_from_skb(struct wg_peer *peer,
					  const struct sk_buff *skb)
{
	struct wg_endpoint endpoint;

	if (!wg_socket_endpoint_from_skb(&endpoint, skb))
		wg_socket_set_peer_endpoint(peer, &endpoint);
}

void wg_socket_clear_peer_endpoint_src(struct wg_peer *peer)
{
	write_lock_bh(&peer->endpoint_rwlock);
	memset(&peer->endpoint.src6, 0, sizeof(peer->endpoint.src6));
	dst_cache_reset_now(&peer->route_cache);
	write_unlock_bh(&peer->endpoint_rwlock);
}

static int wg_receive(struct sock *sk, struct sk_buff *skb)
{
	struct wg_device *wg;

	if (unlikely(!sk))
		goto err;
	wg = rcu_dereference_sk_user_data(sk);
	if (unlikely(!wg))
		goto err;
	skb_mark_not_on_list(skb);
	wg_packet_receive(wg, skb);
	return 0;

err:
	kfree_skb(skb);
	return 0;
}

static void sock_free(struct sock *sock)
{
	if (unlikely(!sock))
		return;
	sk_clear_memalloc(sock);
	wg_compat_udp_tunnel_release(sock->sk_socket);
}

static void set_sock_opts(struct socket *sock)
{
	sock->sk->sk_allocation = GFP_ATOMIC;
	sock->sk->sk_sndbuf = INT_MAX;
	sk_set_memalloc(sock->sk);
}

static int create_bound(struct net *net, struct wg_device *wg, int family,
			u16 port, struct socket **out)
{
	struct udp_tunnel_sock_cfg tunnel_cfg = {
		.sk_user_data = wg,
		.encap_type = 1,
		.encap_rcv = wg_receive
	};
	struct udp_port_cfg port_cfg = {
		.family = family,
		.local_udp_port = htons(port),
	};
	int ret;

	if (family == AF_INET) {
		port_cfg.local_ip.s_addr = htonl(INADDR_ANY);
	} else {
		port_cfg.local_ip6 = in6addr_any;
		port_cfg.ipv6_v6only = true;
		port_cfg.use_udp6_rx_checksums = true;
	}
	ret = udp_sock_create(net, &port_cfg, out);
	if (ret < 0)
		return ret;
	set_sock_opts(*out);
	wg_compat_udp_tunnel_setup(net, *out, &tunnel_cfg);
	return 0;
}

int wg_socket_init(struct wg_device *wg, u16 port)
{
	struct socket *new4 = NULL, *new6 = NULL;
	unsigned int retries = 0;
	struct net *net;
	u16 bound;
	int ret;

	rcu_read_lock();
	net = rcu_dereference(wg->creating_net);
	net = net ? maybe_get_net(net) : NULL;
	rcu_read_unlock();
	if (unlikely(!net))
		return -ENONET;

retry:
	ret = create_bound(net, wg, AF_INET, port, &new4);
	if (ret < 0) {
		net_dbg_ratelimited("%s: could not bind IPv4 port %u: %d\n",
				    wg->dev->name, port, ret);
		goto out;
	}
	/* With port 0, the IPv6 socket takes whatever port v4 was given. */
	bound = ntohs(inet_sk(new4->sk)->inet_sport);

	if (IS_ENABLED(CONFIG_IPV6) && ipv6_mod_enabled()) {
		ret = create_bound(net, wg, AF_INET6, bound, &new6);
		if (ret < 0) {
			wg_compat_udp_tunnel_release(new4);
			new4 = NULL;
			if (ret == -EADDRINUSE && !port && retries++ < 100)
				goto retry;
			net_dbg_ratelimited("%s: could not bind IPv6 port %u: %d\n",
					    wg->dev->name, bound, ret);
			goto out;
		}
	}

	/* Only now, with both bound, do the old sockets go. */
	wg_socket_reinit(wg, new4->sk, new6 ? new6->sk : NULL);
	ret = 0;
out:
	put_net(net);
	return ret;
}

void wg_socket_reinit(struct wg_device *wg, struct sock *new4,
		      struct sock *new6)
{
	struct sock *old4, *old6;

	mutex_lock(&wg->socket_update_lock);
	old4 = rcu_dereference_protected(wg->sock4,
					 lockdep_is_held(&wg->socket_update_lock));
	old6 = rcu_dereference_protected(wg->sock6,
					 lockdep_is_held(&wg->socket_update_lock));
	rcu_assign_pointer(wg->sock4, new4);
	rcu_assign_pointer(wg->sock6, new6);
	if (new4)
		wg->incoming_port = ntohs(inet_sk(new4)->inet_sport);
	mutex_unlock(&wg->socket_update_lock);
	/*
	 * Senders hold rcu_read_lock_bh() while using the old sockets.  With
	 * none to free (a device closed before it is destroyed), there is
	 * nothing to wait for.
	 */
	if (!old4 && !old6)
		return;
	synchronize_net();
	sock_free(old4);
	sock_free(old6);
}
