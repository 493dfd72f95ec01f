/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences, each behind one small named helper.  Which side
 * of a difference a kernel is on is probed from its headers by Kbuild
 * (WG_HAVE_* flags), not guessed from its version: distributions backport.
 */
#ifndef _WG_COMPAT_H
#define _WG_COMPAT_H

#include <linux/netdevice.h>
#include <net/genetlink.h>
#include <net/rtnetlink.h>
#include <net/udp_tunnel.h>

/* skb_gso_segment() moved to its own header (upstream 6.4). */
#ifdef WG_HAVE_NET_GSO_H
#include <net/gso.h>
#endif

/* The lockless-xmit flag moved from features to a bitfield (6.11). */
static inline void wg_compat_set_lltx(struct net_device *dev)
{
#ifdef WG_HAVE_DEV_LLTX
	dev->lltx = true;
#else
	dev->features |= NETIF_F_LLTX;
#endif
}

/* A dump request's attributes moved into an embedded genl_info (6.2). */
static inline struct nlattr **
wg_compat_genl_dump_attrs(struct netlink_callback *cb)
{
#ifdef WG_HAVE_GENL_DUMPIT_INFO_INFO
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/*
 * The device's per-CPU rx/tx counters (dev->tstats).  Since 6.7 the core
 * allocates and frees them for a device that declares their type, and
 * iptunnel_xmit() counts into them only for such a device (newer stable
 * kernels warn for one that declares nothing).  The core then frees them
 * in netdev_run_todo(), before the destructor: everything that counts
 * must have stopped by ndo_uninit.  Before 6.7 the driver owns them.
 */
static inline int wg_compat_tstats_alloc(struct net_device *dev)
{
#ifdef WG_HAVE_PCPU_STAT_TYPE
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS;
	return 0;
#else
	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	return dev->tstats ? 0 : -ENOMEM;
#endif
}

static inline void wg_compat_tstats_free(struct net_device *dev)
{
#ifndef WG_HAVE_PCPU_STAT_TYPE
	free_percpu(dev->tstats);
#endif
}

/*
 * rtnl_link_ops::newlink takes its arguments in a struct (6.15).  The
 * device takes no IFLA attributes: wg_compat_newlink() hands the source
 * namespace to wg_device_create() (device.c).
 */
int wg_device_create(struct net *src_net, struct net_device *dev,
		     struct netlink_ext_ack *extack);
#ifdef WG_HAVE_RTNL_NEWLINK_PARAMS
static inline int wg_compat_newlink(struct net_device *dev,
				    struct rtnl_newlink_params *params,
				    struct netlink_ext_ack *extack)
{
	return wg_device_create(params->src_net, dev, extack);
}
#else
static inline int wg_compat_newlink(struct net *src_net,
				    struct net_device *dev,
				    struct nlattr *tb[], struct nlattr *data[],
				    struct netlink_ext_ack *extack)
{
	return wg_device_create(src_net, dev, extack);
}
#endif

/*
 * The IPv6 stubs for modules that work without IPv6 loaded are gone: IPv6
 * is built in (7.0).  The route of an outer IPv6 packet:
 */
#ifdef WG_HAVE_IPV6_STUBS
#include <net/ipv6_stubs.h>
#else
#include <net/ipv6.h>
#endif
static inline struct dst_entry *wg_compat_ip6_route(struct net *net,
						    const struct sock *sk,
						    struct flowi6 *fl)
{
#ifdef WG_HAVE_IPV6_STUBS
	return ipv6_stub->ipv6_dst_lookup_flow(net, sk, fl, NULL);
#else
	return ip6_dst_lookup_flow(net, sk, fl, NULL);
#endif
}

/*
 * The UDP tunnel helpers: the transmit functions take the IP control
 * block's flags last, and the socket setup and release take the struct
 * sock instead of the struct socket (7.0).
 */
static inline void wg_compat_udp_xmit4(struct rtable *rt, struct sock *sk,
				       struct sk_buff *skb, __be32 src,
				       __be32 dst, u8 tos, u8 ttl,
				       __be16 sport, __be16 dport,
				       bool nocheck)
{
#ifdef WG_HAVE_UDP_TUNNEL_CB_FLAGS
	udp_tunnel_xmit_skb(rt, sk, skb, src, dst, tos, ttl, 0, sport, dport,
			    false, nocheck, 0);
#else
	udp_tunnel_xmit_skb(rt, sk, skb, src, dst, tos, ttl, 0, sport, dport,
			    false, nocheck);
#endif
}

static inline void wg_compat_udp_xmit6(struct dst_entry *dst,
				       struct sock *sk, struct sk_buff *skb,
				       struct in6_addr *src,
				       struct in6_addr *daddr,
				       u8 prio, u8 ttl, __be16 sport,
				       __be16 dport)
{
#ifdef WG_HAVE_UDP_TUNNEL_CB_FLAGS
	udp_tunnel6_xmit_skb(dst, sk, skb, skb->dev, src, daddr, prio, ttl, 0,
			     sport, dport, false, 0);
#else
	udp_tunnel6_xmit_skb(dst, sk, skb, skb->dev, src, daddr, prio, ttl, 0,
			     sport, dport, false);
#endif
}

static inline void wg_compat_udp_tunnel_setup(struct net *net,
					      struct socket *sock,
					      struct udp_tunnel_sock_cfg *cfg)
{
#ifdef WG_HAVE_UDP_TUNNEL_SK
	setup_udp_tunnel_sock(net, sock->sk, cfg);
#else
	setup_udp_tunnel_sock(net, sock, cfg);
#endif
}

static inline void wg_compat_udp_tunnel_release(struct socket *sock)
{
#ifdef WG_HAVE_UDP_TUNNEL_SK
	udp_tunnel_sock_release(sock->sk);
#else
	udp_tunnel_sock_release(sock);
#endif
}

#endif /* _WG_COMPAT_H */
