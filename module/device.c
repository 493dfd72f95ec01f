// SPDX-License-Identifier: GPL-2.0
/*
 * The wg net_device: link kinds "wg" and "wireguard", device lifetime,
 * transmit entry point, drop counters and per-namespace bookkeeping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "compat.h"
#include "device.h"
#include "tables/ratelimiter.h"
#include "tunnel/limits.h"
#include "tunnel/peer.h"
#include "tunnel/ring.h"
#include "tunnel/tx.h"

#include <linux/ethtool.h>
#include <linux/icmp.h>
#include <linux/if_arp.h>
#include <linux/inetdevice.h>
#include <linux/module.h>
/* The stack's side: IPv6 address generation, ICMP errors, link ops. */
#include <net/addrconf.h>
#include <net/dst_metadata.h>
#include <net/icmp.h>
#include <net/ip_tunnels.h>
#include <net/rtnetlink.h>

/* Every wg device of every namespace, under the RTNL. */
static LIST_HEAD(device_list);

static const char wg_stat_names[__WG_STAT_MAX][ETH_GSTRING_LEN] = {
	[WG_STAT_RX_BAD_TYPE] = "rx_bad_type",
	[WG_STAT_RX_BAD_SIZE] = "rx_bad_size",
	[WG_STAT_RX_NO_KEYPAIR] = "rx_no_keypair",
	[WG_STAT_RX_EXPIRED_KEYPAIR] = "rx_expired_keypair",
	[WG_STAT_RX_REPLAY] = "rx_replay",
	[WG_STAT_RX_AUTH_FAIL] = "rx_auth_fail",
	[WG_STAT_RX_BAD_INNER] = "rx_bad_inner_packet",
	[WG_STAT_RX_SRC_NOT_ALLOWED] = "rx_src_not_allowed",
	[WG_STAT_RX_QUEUE_FULL] = "rx_queue_full",
	[WG_STAT_RX_HANDSHAKE_INVALID] = "rx_handshake_invalid",
	[WG_STAT_RX_HANDSHAKE_BAD_MAC] = "rx_handshake_bad_mac",
	[WG_STAT_RX_HANDSHAKE_RATELIMITED] = "rx_handshake_ratelimited",
	[WG_STAT_RX_HANDSHAKE_QUEUE_FULL] = "rx_handshake_queue_full",
	[WG_STAT_RX_COOKIE_REPLIES_SENT] = "rx_cookie_replies_sent",
	[WG_STAT_RX_COOKIE_INVALID] = "rx_cookie_invalid",
	[WG_STAT_RX_KEEPALIVES] = "rx_keepalives",
	[WG_STAT_TX_NO_PEER] = "tx_no_peer",
	[WG_STAT_TX_NO_ENDPOINT] = "tx_no_endpoint",
	[WG_STAT_TX_BAD_PROTOCOL] = "tx_bad_protocol",
	[WG_STAT_TX_STAGED_OVERFLOW] = "tx_staged_overflow",
	[WG_STAT_TX_ROUTE_FAIL] = "tx_route_fail",
	[WG_STAT_TX_ROUTING_LOOP] = "tx_routing_loop",
	[WG_STAT_TX_QUEUE_FULL] = "tx_queue_full",
	[WG_STAT_TX_NOMEM] = "tx_nomem",
	[WG_STAT_TX_KEY_EXHAUSTED] = "tx_key_exhausted",
	[WG_STAT_HANDSHAKES_COMPLETED] = "handshakes_completed",
	[WG_STAT_TX_DIRECT] = "tx_direct",
	[WG_STAT_TX_ORDER_WAITS] = "tx_order_waits",
};

/*
 * Up: a point-to-point tunnel sends no ICMP redirects and makes no IPv6
 * link-local address of its own; then the tunnel binds its sockets.
 */
static int wg_open(struct net_device *dev)
{
	struct inet6_dev *in6 = __in6_dev_get(dev);
	struct in_device *in4 = __in_dev_get_rtnl(dev);

	if (in4) {
		IN_DEV_CONF_SET(in4, SEND_REDIRECTS, false);
		IPV4_DEVCONF_ALL(dev_net(dev), SEND_REDIRECTS) = false;
	}
	if (in6)
		in6->cnf.addr_gen_mode = IN6_ADDR_GEN_MODE_NONE;
	return wg_tunnel_up(netdev_priv(dev));
}

static int wg_stop(struct net_device *dev)
{
	wg_tunnel_down(netdev_priv(dev));
	return 0;
}

/* No peer takes @skb: an ICMP "host unreachable" back to its sender. */
static void xmit_unreachable(struct sk_buff *skb)
{
	switch (ntohs(skb->protocol)) {
	case ETH_P_IP:
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
		break;
	case ETH_P_IPV6:
		icmpv6_ndo_send(skb, ICMPV6_DEST_UNREACH,
				ICMPV6_ADDR_UNREACH, 0);
		break;
	}
}

/*
 * The stack's packet for the tunnel: find its peer, cut it into segments
 * if it is GSO, stage them on the peer and let the tunnel send them.
 */
static netdev_tx_t wg_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);
	struct wg_peer *peer;
	/* Of the peer's endpoint, and the inner route's MTU. */
	sa_family_t family;
	u32 mtu;

	/* The IP header must agree with what the stack says it sent. */
	if (unlikely(skb->protocol != wg_inner_protocol(skb) ||
		     !skb->protocol)) {
		wg_stat_inc(wg, WG_STAT_TX_BAD_PROTOCOL);
		net_dbg_ratelimited("%s: invalid IP packet\n", dev->name);
		goto err;
	}

	peer = wg_peer_for_dst(wg, skb);
	if (unlikely(!peer)) {
		wg_stat_inc(wg, WG_STAT_TX_NO_PEER);
		if (skb->protocol == htons(ETH_P_IP))
			net_dbg_ratelimited("%s: no peer for %pI4\n",
					    dev->name, &ip_hdr(skb)->daddr);
		else
			net_dbg_ratelimited("%s: no peer for %pI6\n",
					    dev->name, &ipv6_hdr(skb)->daddr);
		goto err_unreachable;
	}

	family = READ_ONCE(peer->endpoint.addr.sa_family);
	if (unlikely(family != AF_INET && family != AF_INET6)) {
		wg_stat_inc(wg, WG_STAT_TX_NO_ENDPOINT);
		net_dbg_ratelimited("%s: peer %llu has no endpoint\n",
				    dev->name, peer->internal_id);
		goto err_put_peer;
	}

	mtu = skb_valid_dst(skb) ? dst_mtu(skb_dst(skb)) : dev->mtu;

	if (unlikely(!wg_tx_stage(peer, skb, mtu))) {
		wg_stat_inc(wg, WG_STAT_TX_NOMEM);
		goto err_put_peer;
	}
	wg_peer_unref(peer);
	return NETDEV_TX_OK;

err_put_peer:
	wg_peer_unref(peer);
err_unreachable:
	xmit_unreachable(skb);
err:
	wg_stat_inc(wg, WG_LINK_TX_ERRORS);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

/*
 * Unregistering, before the core frees dev->tstats (compat.h): close the
 * sockets and remove the peers, so that nothing counts into the device
 * any more, and let what they queued finish.  The destructor frees the
 * rest and repeats the two steps for a peer a racing netlink request may
 * have added since.  Also runs when register_netdevice() fails, so every
 * step is safe on a device that never came up.
 */
static void wg_uninit(struct net_device *dev)
{
	wg_tunnel_quiesce(netdev_priv(dev));
}

/*
 * ip -s link: what the kernel's UDP tunnel transmit counted in the
 * device's tstats, plus the tunnel's own link counters.
 */
static void wg_get_stats64(struct net_device *dev,
			   struct rtnl_link_stats64 *s)
{
	u64 c[__WG_COUNTERS - __WG_STAT_MAX];

	dev_get_tstats64(dev, s);
	wg_stats_sum(netdev_priv(dev), __WG_STAT_MAX, ARRAY_SIZE(c), c);
#define LINK(counter) c[WG_LINK_##counter - __WG_STAT_MAX]
	s->rx_packets += LINK(RX_PACKETS);
	s->rx_bytes += LINK(RX_BYTES);
	s->rx_dropped += LINK(RX_DROPPED);
	s->rx_errors += LINK(RX_ERRORS);
	s->rx_frame_errors += LINK(RX_FRAME_ERRORS);
	s->rx_length_errors += LINK(RX_LENGTH_ERRORS);
	s->tx_packets += LINK(TX_PACKETS);
	s->tx_dropped += LINK(TX_DROPPED);
	s->tx_errors += LINK(TX_ERRORS);
#undef LINK
}

static const struct net_device_ops netdev_ops = {
	.ndo_uninit = wg_uninit,
	.ndo_open = wg_open,
	.ndo_stop = wg_stop,
	.ndo_start_xmit = wg_xmit,
	.ndo_get_stats64 = wg_get_stats64,
};

bool wg_device_is_wg(const struct net_device *dev)
{
	return dev->netdev_ops == &netdev_ops;
}

static void wg_get_drvinfo(struct net_device *dev,
			   struct ethtool_drvinfo *info)
{
	strscpy(info->driver, KBUILD_MODNAME, sizeof(info->driver));
	strscpy(info->version, WG_VERSION, sizeof(info->version));
}

static int wg_get_sset_count(struct net_device *dev, int sset)
{
	return sset == ETH_SS_STATS ? __WG_STAT_MAX : -EOPNOTSUPP;
}

static void wg_get_strings(struct net_device *dev, u32 sset, u8 *buf)
{
	if (sset == ETH_SS_STATS)
		memcpy(buf, wg_stat_names, sizeof(wg_stat_names));
}

static void wg_get_ethtool_stats(struct net_device *dev,
				 struct ethtool_stats *stats, u64 *data)
{
	wg_stats_sum(netdev_priv(dev), 0, __WG_STAT_MAX, data);
}

static const struct ethtool_ops ethtool_ops = {
	.get_drvinfo = wg_get_drvinfo,
	.get_link = ethtool_op_get_link,
	.get_sset_count = wg_get_sset_count,
	.get_strings = wg_get_strings,
	.get_ethtool_stats = wg_get_ethtool_stats,
};

static void wg_destruct(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);

	rtnl_lock();
	list_del(&wg->device_list);
	rtnl_unlock();
	wg_tunnel_uninit(wg);
	wg_compat_tstats_free(dev);
	wg_dbg_obj("%s: interface destroyed\n", dev->name);
	free_netdev(dev);
}

static const struct device_type device_type = { .name = KBUILD_MODNAME };

static void wg_setup(struct net_device *dev)
{
	/*
	 * Encrypted packets carry an outer IP header, UDP and the data
	 * message header and tag; the default MTU leaves room for the
	 * largest (IPv6) outer header on a 1500-byte link.
	 */
	const int overhead = WG_DATA_MIN_LEN + sizeof(struct udphdr) +
			     max(sizeof(struct ipv6hdr), sizeof(struct iphdr));
	const netdev_features_t features = NETIF_F_HW_CSUM | NETIF_F_RXCSUM |
					   NETIF_F_SG | NETIF_F_GSO |
					   NETIF_F_GSO_SOFTWARE |
					   NETIF_F_HIGHDMA;
	struct wg_device *wg = netdev_priv(dev);

	/*
	 * A point-to-point IP link without a link-layer header or address
	 * (hard_header_len and addr_len stay 0 from alloc_netdev()).
	 */
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->header_ops = &ip_tunnel_header_ops;
	SET_NETDEV_DEVTYPE(dev, &device_type);
	/* What it does: up, down, transmit; counters for ip and ethtool. */
	dev->netdev_ops = &netdev_ops;
	dev->ethtool_ops = &ethtool_ops;
	/* No qdisc and no transmit lock: the tunnel queues per peer. */
	dev->priv_flags |= IFF_NO_QUEUE;
	wg_compat_set_lltx(dev);
	/* Room for the outer headers in front and the tag behind. */
	dev->needed_headroom = WG_DATA_HEADROOM;
	dev->needed_tailroom = WG_SEALED(WG_PADDING);
	dev->mtu = ETH_DATA_LEN - overhead;
	dev->max_mtu = round_down(INT_MAX, WG_PADDING) - overhead;
	/* Whatever the stack hands over, wg_xmit() segments and sums. */
	dev->features |= features;
	dev->hw_features |= features;
	dev->hw_enc_features |= features;
	/* ICMP errors for the sender need the inner packet's route. */
	netif_keep_dst(dev);

	memset(wg, 0, sizeof(*wg));
	wg->dev = dev;
}

static struct rtnl_link_ops link_ops_wireguard;
static bool have_link_ops_wireguard;

/* A new device in @src_net, whose UDP sockets will live there. */
int wg_device_create(struct net *src_net, struct net_device *dev,
		     struct netlink_ext_ack *extack)
{
	struct wg_device *wg = netdev_priv(dev);
	int err;

	err = wg_tunnel_init(wg, src_net);
	if (err)
		return err;
	err = wg_compat_tstats_alloc(dev);
	if (err)
		goto undo_tunnel;

	/*
	 * wireguard-tools lists devices by kind "wireguard" (wg show all):
	 * a "wg" device reports that kind whenever we hold it.
	 */
	if (have_link_ops_wireguard)
		dev->rtnl_link_ops = &link_ops_wireguard;
	err = register_netdevice(dev);
	if (err)
		goto undo_tstats;

	list_add(&wg->device_list, &device_list);
	/* From here on, unregistering the device frees everything. */
	dev->priv_destructor = wg_destruct;
	wg_dbg_obj("%s: interface created\n", dev->name);
	return 0;

undo_tstats:
	wg_compat_tstats_free(dev);
undo_tunnel:
	wg_tunnel_uninit(wg);
	return err;
}

static struct rtnl_link_ops link_ops __read_mostly = {
	.kind = KBUILD_MODNAME,
	.priv_size = sizeof(struct wg_device),
	.setup = wg_setup,
	.newlink = wg_compat_newlink,
};

/* The same device under the name wg-quick, networkd and NM ask for. */
static struct rtnl_link_ops link_ops_wireguard __read_mostly = {
	.kind = "wireguard",
	.priv_size = sizeof(struct wg_device),
	.setup = wg_setup,
	.newlink = wg_compat_newlink,
};

/*
 * The sockets of a device live in the namespace that created it, which may
 * not be the one the device lives in now.  When that namespace goes away the
 * device stays, without sockets, until it is configured or deleted.  No
 * reference to the namespace is held, so there is no cycle to break.
 */
static void __net_exit wg_netns_pre_exit(struct net *net)
{
	struct wg_device *wg;

	rtnl_lock();
	list_for_each_entry(wg, &device_list, device_list) {
		/* Only the devices whose sockets live in @net. */
		if (rcu_access_pointer(wg->creating_net) == net) {
			netif_carrier_off(wg->dev);
			wg_tunnel_orphan(wg);
		}
	}
	rtnl_unlock();
}

static struct pernet_operations pernet_ops = {
	.pre_exit = wg_netns_pre_exit
};

int __init wg_device_init(void)
{
	int err = register_pernet_device(&pernet_ops);

	if (err)
		return err;
	err = rtnl_link_register(&link_ops);
	if (err)
		goto undo_pernet;
	/*
	 * The second kind is a courtesy to wg-quick, networkd and NM: if
	 * the in-tree module holds it, "wg" alone will do.
	 */
	err = rtnl_link_register(&link_ops_wireguard);
	have_link_ops_wireguard = !err;
	if (err == -EEXIST) {
		pr_info("link kind \"wireguard\" is taken (by the in-tree wireguard module?); only \"wg\" is available\n");
		return 0;
	}
	if (!err)
		return 0;
	rtnl_link_unregister(&link_ops);
undo_pernet:
	unregister_pernet_device(&pernet_ops);
	return err;
}

void wg_device_uninit(void)
{
	if (have_link_ops_wireguard)
		rtnl_link_unregister(&link_ops_wireguard);
	rtnl_link_unregister(&link_ops);
	unregister_pernet_device(&pernet_ops);
	rcu_barrier();
}
