// SPDX-License-Identifier: GPL-2.0
/*
 * The wg net_device: link kinds "wg" and "wireguard", device lifetime,
 * transmit entry point, drop counters and per-namespace bookkeeping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "device.h"
#include "compat.h"
#include "tunnel/peer.h"
#include "tunnel/queueing.h"
#include "tunnel/socket.h"
#include "tunnel/timers.h"
#include "tables/ratelimiter.h"
#include "tunnel/exchange.h"
#include "tunnel/limits.h"

#include <linux/module.h>
#include <linux/rtnetlink.h>
#include <linux/inet.h>
#include <linux/netdevice.h>
#include <linux/inetdevice.h>
#include <linux/if_arp.h>
#include <linux/icmp.h>
#include <linux/ethtool.h>
#include <linux/suspend.h>
#include <net/icmp.h>
#include <net/rtnetlink.h>
#include <net/ip_tunnels.h>
#include <net/addrconf.h>
#include <net/dst_metadata.h>
#include <net/net_namespace.h>

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

static int wg_open(struct net_device *dev)
{
	struct in_device *dev_v4 = __in_dev_get_rtnl(dev);
	struct inet6_dev *dev_v6 = __in6_dev_get(dev);
	struct wg_device *wg = netdev_priv(dev);
	struct wg_peer *peer;
	int ret;

	if (dev_v4) {
		/* Redirects make no sense on a point-to-point tunnel. */
		IN_DEV_CONF_SET(dev_v4, SEND_REDIRECTS, false);
		IPV4_DEVCONF_ALL(dev_net(dev), SEND_REDIRECTS) = false;
	}
	if (dev_v6)
		dev_v6->cnf.addr_gen_mode = IN6_ADDR_GEN_MODE_NONE;

	mutex_lock(&wg->config_lock);
	ret = wg_socket_init(wg, wg->incoming_port);
	if (ret < 0)
		goto out;
	list_for_each_entry(peer, &wg->peers, device_link) {
		wg_packet_send_staged_packets(peer);
		if (peer->persistent_keepalive_interval)
			wg_packet_send_keepalive(peer);
	}
out:
	mutex_unlock(&wg->config_lock);
	return ret;
}

static int wg_stop(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);
	struct wg_peer *peer;

	mutex_lock(&wg->config_lock);
	list_for_each_entry(peer, &wg->peers, device_link) {
		wg_packet_purge_staged_packets(peer);
		wg_timers_stop(peer);
		wg_exchange_reset(peer);
		wg_keypairs_clear(peer);
		wg_exchange_allow_initiation(peer);
	}
	mutex_unlock(&wg->config_lock);
	wg_socket_reinit(wg, NULL, NULL);
	return 0;
}

static void xmit_unreachable(struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
	else if (skb->protocol == htons(ETH_P_IPV6))
		icmpv6_ndo_send(skb, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH, 0);
}

static netdev_tx_t wg_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);
	struct sk_buff_head packets;
	struct wg_peer *peer;
	struct sk_buff *next;
	sa_family_t family;
	u32 mtu;

	if (unlikely(!wg_examine_packet_protocol(skb) ||
		     wg_examine_packet_protocol(skb) != skb->protocol)) {
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

	__skb_queue_head_init(&packets);
	if (!skb_is_gso(skb)) {
		skb_mark_not_on_list(skb);
	} else {
		struct sk_buff *segs = skb_gso_segment(skb, 0);

		if (IS_ERR_OR_NULL(segs)) {
			wg_stat_inc(wg, WG_STAT_TX_NOMEM);
			goto err_put_peer;
		}
		dev_kfree_skb(skb);
		skb = segs;
	}

	skb_list_walk_safe(skb, skb, next) {
		skb_mark_not_on_list(skb);
		skb = skb_share_check(skb, GFP_ATOMIC);
		if (unlikely(!skb))
			continue;
		/* The route of the inner packet means nothing after this. */
		skb_dst_drop(skb);
		PACKET_CB(skb)->mtu = mtu;
		__skb_queue_tail(&packets, skb);
	}

	spin_lock_bh(&peer->staged.lock);
	skb_queue_splice_tail(&packets, &peer->staged);
	/* Without a session the queue only grows: keep the newest packets. */
	while (skb_queue_len(&peer->staged) > WG_MAX_STAGED_PACKETS) {
		dev_kfree_skb(__skb_dequeue(&peer->staged));
		wg_stat_inc(wg, WG_STAT_TX_STAGED_OVERFLOW);
		++dev->stats.tx_dropped;
	}
	spin_unlock_bh(&peer->staged.lock);

	wg_packet_send_staged_packets(peer);
	wg_peer_unref(peer);
	return NETDEV_TX_OK;

err_put_peer:
	wg_peer_unref(peer);
err_unreachable:
	xmit_unreachable(skb);
err:
	++dev->stats.tx_errors;
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
	struct wg_device *wg = netdev_priv(dev);

	mutex_lock(&wg->config_lock);
	wg_socket_reinit(wg, NULL, NULL);
	wg_peer_retire_all(wg);
	mutex_unlock(&wg->config_lock);
	flush_workqueue(wg->handshake_receive_wq);
	flush_workqueue(wg->handshake_send_wq);
	flush_workqueue(wg->packet_crypt_wq);
}

static const struct net_device_ops netdev_ops = {
	.ndo_uninit = wg_uninit,
	.ndo_open = wg_open,
	.ndo_stop = wg_stop,
	.ndo_start_xmit = wg_xmit,
	.ndo_get_stats64 = dev_get_tstats64,
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
	struct wg_device *wg = netdev_priv(dev);
	int cpu, i;

	memset(data, 0, sizeof(u64) * __WG_STAT_MAX);
	for_each_possible_cpu(cpu) {
		const u64 *pcpu = per_cpu_ptr(wg->stats, cpu);

		for (i = 0; i < __WG_STAT_MAX; ++i)
			data[i] += READ_ONCE(pcpu[i]);
	}
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

	mutex_lock(&wg->config_lock);
	rcu_assign_pointer(wg->creating_net, NULL);
	wg->incoming_port = 0;
	wg_socket_reinit(wg, NULL, NULL);
	wg_peer_retire_all(wg);
	wg_allowedips_free(&wg->peer_allowedips, &wg->config_lock);
	mutex_unlock(&wg->config_lock);

	/* Nothing queues new work any more; let what is queued finish. */
	destroy_workqueue(wg->handshake_receive_wq);
	destroy_workqueue(wg->handshake_send_wq);
	destroy_workqueue(wg->packet_crypt_wq);
	wg_packet_queue_free(&wg->handshake_queue, true);
	wg_packet_queue_free(&wg->decrypt_queue, false);
	wg_packet_queue_free(&wg->encrypt_queue, false);
	/*
	 * No rcu_barrier(): the RCU callbacks still pending for this device's
	 * peers, keypairs and trie nodes free only their own object; module
	 * exit waits for them before the caches go.
	 */
	wg_ratelimiter_uninit();
	memzero_explicit(&wg->identity, sizeof(wg->identity));
	free_percpu(wg->stats);
	wg_compat_tstats_free(dev);
	wg_index_table_destroy(wg->indexes);
	wg_key_table_destroy(wg->peer_keys);
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

	dev->netdev_ops = &netdev_ops;
	dev->ethtool_ops = &ethtool_ops;
	dev->header_ops = &ip_tunnel_header_ops;
	dev->hard_header_len = 0;
	dev->addr_len = 0;
	dev->needed_headroom = WG_DATA_HEADROOM;
	dev->needed_tailroom = WG_SEALED(WG_PADDING);
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	wg_compat_set_lltx(dev);
	dev->features |= features;
	dev->hw_features |= features;
	dev->hw_enc_features |= features;
	dev->mtu = ETH_DATA_LEN - overhead;
	dev->max_mtu = round_down(INT_MAX, WG_PADDING) - overhead;
	SET_NETDEV_DEVTYPE(dev, &device_type);
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
	int ret = -ENOMEM;

	rcu_assign_pointer(wg->creating_net, src_net);
	init_rwsem(&wg->identity_lock);
	mutex_init(&wg->socket_update_lock);
	mutex_init(&wg->config_lock);
	wg_allowedips_init(&wg->peer_allowedips);
	wg_cookie_guard_init(&wg->cookie_guard);
	INIT_LIST_HEAD(&wg->peers);
	wg->device_update_gen = 1;

	wg->peer_keys = wg_key_table_new();
	if (!wg->peer_keys)
		return ret;

	wg->indexes = wg_index_table_new();
	if (!wg->indexes)
		goto err_free_peer_keys;

	ret = wg_compat_tstats_alloc(dev);
	if (ret < 0)
		goto err_free_indexes;
	ret = -ENOMEM;

	wg->stats = __alloc_percpu(sizeof(u64) * __WG_STAT_MAX,
				   __alignof__(u64));
	if (!wg->stats)
		goto err_free_tstats;

	wg->handshake_receive_wq =
		alloc_workqueue("wg-kex-%s", WQ_CPU_INTENSIVE | WQ_FREEZABLE,
				0, dev->name);
	if (!wg->handshake_receive_wq)
		goto err_free_stats;

	wg->handshake_send_wq =
		alloc_workqueue("wg-kex-%s", WQ_UNBOUND | WQ_FREEZABLE, 0,
				dev->name);
	if (!wg->handshake_send_wq)
		goto err_destroy_handshake_receive;

	wg->packet_crypt_wq =
		alloc_workqueue("wg-crypt-%s", WQ_CPU_INTENSIVE | WQ_MEM_RECLAIM,
				0, dev->name);
	if (!wg->packet_crypt_wq)
		goto err_destroy_handshake_send;

	ret = wg_packet_queue_init(&wg->encrypt_queue, wg_packet_encrypt_worker,
				   WG_MAX_QUEUED_PACKETS);
	if (ret < 0)
		goto err_destroy_packet_crypt;

	ret = wg_packet_queue_init(&wg->decrypt_queue, wg_packet_decrypt_worker,
				   WG_MAX_QUEUED_PACKETS);
	if (ret < 0)
		goto err_free_encrypt_queue;

	ret = wg_packet_queue_init(&wg->handshake_queue,
				   wg_packet_handshake_receive_worker,
				   WG_MAX_QUEUED_HANDSHAKES);
	if (ret < 0)
		goto err_free_decrypt_queue;

	ret = wg_ratelimiter_init();
	if (ret < 0)
		goto err_free_handshake_queue;

	/*
	 * wireguard-tools lists devices by kind "wireguard" (wg show all):
	 * a "wg" device reports that kind whenever we hold it.
	 */
	if (have_link_ops_wireguard)
		dev->rtnl_link_ops = &link_ops_wireguard;

	ret = register_netdevice(dev);
	if (ret < 0)
		goto err_uninit_ratelimiter;

	list_add(&wg->device_list, &device_list);

	/* From here on, unregistering the device frees everything. */
	dev->priv_destructor = wg_destruct;

	wg_dbg_obj("%s: interface created\n", dev->name);
	return ret;

err_uninit_ratelimiter:
	wg_ratelimiter_uninit();
err_free_handshake_queue:
	wg_packet_queue_free(&wg->handshake_queue, false);
err_free_decrypt_queue:
	wg_packet_queue_free(&wg->decrypt_queue, false);
err_free_encrypt_queue:
	wg_packet_queue_free(&wg->encrypt_queue, false);
err_destroy_packet_crypt:
	destroy_workqueue(wg->packet_crypt_wq);
err_destroy_handshake_send:
	destroy_workqueue(wg->handshake_send_wq);
err_destroy_handshake_receive:
	destroy_workqueue(wg->handshake_receive_wq);
err_free_stats:
	free_percpu(wg->stats);
err_free_tstats:
	wg_compat_tstats_free(dev);
err_free_indexes:
	wg_index_table_destroy(wg->indexes);
err_free_peer_keys:
	wg_key_table_destroy(wg->peer_keys);
	return ret;
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
	struct wg_peer *peer;

	rtnl_lock();
	list_for_each_entry(wg, &device_list, device_list) {
		if (rcu_access_pointer(wg->creating_net) != net)
			continue;
		netif_carrier_off(wg->dev);
		mutex_lock(&wg->config_lock);
		rcu_assign_pointer(wg->creating_net, NULL);
		wg_socket_reinit(wg, NULL, NULL);
		list_for_each_entry(peer, &wg->peers, device_link)
			wg_socket_clear_peer_endpoint_src(peer);
		mutex_unlock(&wg->config_lock);
	}
	rtnl_unlock();
}

static struct pernet_operations pernet_ops = {
	.pre_exit = wg_netns_pre_exit
};

int __init wg_device_init(void)
{
	int ret;

	ret = register_pernet_device(&pernet_ops);
	if (ret)
		return ret;

	ret = rtnl_link_register(&link_ops);
	if (ret)
		goto err_unregister_pernet;

	ret = rtnl_link_register(&link_ops_wireguard);
	if (!ret)
		have_link_ops_wireguard = true;
	else if (ret == -EEXIST)
		pr_info("link kind \"wireguard\" is taken (by the in-tree wireguard module?); only \"wg\" is available\n");
	else
		goto err_unregister_link;

	return 0;

err_unregister_link:
	rtnl_link_unregister(&link_ops);
err_unregister_pernet:
	unregister_pernet_device(&pernet_ops);
	return ret;
}

void wg_device_uninit(void)
{
	if (have_link_ops_wireguard)
		rtnl_link_unregister(&link_ops_wireguard);
	rtnl_link_unregister(&link_ops);
	unregister_pernet_device(&pernet_ops);
	rcu_barrier();
}
