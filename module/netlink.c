// SPDX-License-Identifier: GPL-2.0
/*
 * The "wireguard" generic netlink family: WG_CMD_GET_DEVICE dumps the
 * configuration of one device, WG_CMD_SET_DEVICE changes it.  The wire format
 * is documented once, in include/uapi/linux/wg.h.
 *
 * Lock order: RTNL, wg->config_lock, wg->identity_lock,
 * peer->handshake_lock.  wg_udp_open() takes wg->udp_lock
 * inside all of them.  SET holds RTNL throughout so that netif_running() and
 * the sockets cannot change under it (wg_open() binds with RTNL held); GET
 * takes RTNL only to copy the device name.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "netlink.h"
#include "device.h"
#include "tunnel/peer.h"
#include "tunnel/udp.h"
#include "tunnel/outer.h"
#include "tunnel/ring.h"
#include "tunnel/rx.h"
#include "tunnel/tx.h"
#include "compat.h"
#include "tunnel/exchange.h"

/*
 * Not <linux/wireguard.h>: kbuild searches the kernel's own include/uapi
 * first, and its copy predates WGALLOWEDIP_A_FLAGS.
 */
#include <uapi/linux/wg.h>

#include <linux/if.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/capability.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/time64.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>
#include <crypto/algapi.h>
#include <crypto/curve25519.h>

static_assert(WG_KEY_LEN == WG_PUBLIC_LEN);
static_assert(WG_KEY_LEN == WG_SYMKEY_LEN);

static struct genl_family wg_genl_family;

/*
 * Only the two address shapes userspace can mean are accepted; anything else
 * is refused here, while the request is still being parsed.
 */
static int validate_endpoint(const struct nlattr *attr,
			     struct netlink_ext_ack *extack)
{
	const struct sockaddr *addr = nla_data(attr);
	int len = nla_len(attr);

	if ((len == sizeof(struct sockaddr_in) && addr->sa_family == AF_INET) ||
	    (len == sizeof(struct sockaddr_in6) && addr->sa_family == AF_INET6))
		return 0;
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "endpoint must be a sockaddr_in or a sockaddr_in6");
	return -EINVAL;
}

static const struct nla_policy allowedip_policy[WGALLOWEDIP_A_MAX + 1] = {
	[WGALLOWEDIP_A_FAMILY] = { .type = NLA_U16 },
	[WGALLOWEDIP_A_IPADDR] = NLA_POLICY_RANGE(NLA_BINARY,
						  sizeof(struct in_addr),
						  sizeof(struct in6_addr)),
	[WGALLOWEDIP_A_CIDR_MASK] = NLA_POLICY_MAX(NLA_U8, 128),
	[WGALLOWEDIP_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, __WGALLOWEDIP_F_ALL),
};

static const struct nla_policy peer_policy[WGPEER_A_MAX + 1] = {
	[WGPEER_A_PUBLIC_KEY] = NLA_POLICY_EXACT_LEN(WG_KEY_LEN),
	[WGPEER_A_PRESHARED_KEY] = NLA_POLICY_EXACT_LEN(WG_KEY_LEN),
	[WGPEER_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, __WGPEER_F_ALL),
	[WGPEER_A_ENDPOINT] =
		NLA_POLICY_VALIDATE_FN(NLA_BINARY, validate_endpoint,
				       sizeof(struct sockaddr_in6)),
	[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = { .type = NLA_U16 },
	[WGPEER_A_LAST_HANDSHAKE_TIME] =
		NLA_POLICY_EXACT_LEN(sizeof(struct __kernel_timespec)),
	[WGPEER_A_RX_BYTES] = { .type = NLA_U64 },
	[WGPEER_A_TX_BYTES] = { .type = NLA_U64 },
	[WGPEER_A_ALLOWEDIPS] = NLA_POLICY_NESTED_ARRAY(allowedip_policy),
	/* Checked by hand: an unknown version has its own errno. */
	[WGPEER_A_PROTOCOL_VERSION] = { .type = NLA_U32 },
};

static const struct nla_policy device_policy[WGDEVICE_A_MAX + 1] = {
	[WGDEVICE_A_IFINDEX] = { .type = NLA_U32 },
	[WGDEVICE_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[WGDEVICE_A_PRIVATE_KEY] = NLA_POLICY_EXACT_LEN(WG_KEY_LEN),
	[WGDEVICE_A_PUBLIC_KEY] = NLA_POLICY_EXACT_LEN(WG_KEY_LEN),
	[WGDEVICE_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, __WGDEVICE_F_ALL),
	[WGDEVICE_A_LISTEN_PORT] = { .type = NLA_U16 },
	[WGDEVICE_A_FWMARK] = { .type = NLA_U32 },
	[WGDEVICE_A_PEERS] = NLA_POLICY_NESTED_ARRAY(peer_policy),
};

/*
 * Finds the device named by exactly one of IFINDEX and IFNAME in @net and
 * returns it with a reference on its net_device, tracked by @tracker.
 */
static struct wg_device *lookup_device(struct net *net, struct nlattr **attrs,
				       netdevice_tracker *tracker,
				       struct netlink_ext_ack *extack)
{
	struct nlattr *ifindex = attrs[WGDEVICE_A_IFINDEX];
	struct nlattr *ifname = attrs[WGDEVICE_A_IFNAME];
	struct nlattr *which = ifindex ?: ifname;
	struct net_device *dev;

	if (!ifindex == !ifname) {
		NL_SET_ERR_MSG(extack,
			       "exactly one of WGDEVICE_A_IFINDEX and WGDEVICE_A_IFNAME is required");
		return ERR_PTR(-EBADR);
	}

	if (ifindex)
		dev = dev_get_by_index(net, nla_get_u32(ifindex));
	else
		dev = dev_get_by_name(net, nla_data(ifname));
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(extack, which, "no such device");
		return ERR_PTR(-ENODEV);
	}
	/* Upgrade the plain reference taken above to a tracked one. */
	netdev_tracker_alloc(dev, tracker, GFP_KERNEL);

	if (!wg_device_is_wg(dev)) {
		netdev_put(dev, tracker);
		NL_SET_ERR_MSG_ATTR(extack, which, "not a WireGuard device");
		return ERR_PTR(-EOPNOTSUPP);
	}
	return netdev_priv(dev);
}

/*
 * Dump state, kept in cb->ctx between the parts of one dump.  The device is
 * held by a net_device reference from .start to .done, so that its peer list
 * and locks outlive the dump (they are torn down by the priv_destructor, which
 * waits for that reference).
 */
struct dump_ctx {
	struct wg_device *wg;
	netdevice_tracker dev_tracker;
	/* Peer the next part starts with, referenced; NULL: the first peer. */
	struct wg_peer *peer;
	/*
	 * Where to resume in @peer's allowed IPs; NULL: from the start of the
	 * peer.  Not referenced: only used while dump_seq() still equals @seq,
	 * which proves no trie node was freed meanwhile.
	 */
	struct wg_allowedips_node *next_ip;
	/* dump_seq() when the previous part ended. */
	u32 seq;
	/* The device attributes went out in the first part. */
	bool started;
};

static_assert(sizeof(struct dump_ctx) <= sizeof_field(struct netlink_callback,
						      ctx));

static struct dump_ctx *dump_ctx(struct netlink_callback *cb)
{
	return (struct dump_ctx *)cb->ctx;
}

/*
 * A stored dump position is stale once the configuration (device_update_gen)
 * or the trie (its seq) changed.  Both only grow, so their sum changes
 * whenever either does.  The low bit keeps the result away from 0, which
 * netlink reads as "no sequence" and would not compare.
 */
static u32 dump_seq(struct wg_device *wg)
{
	lockdep_assert_held(&wg->config_lock);
	return ((wg->device_update_gen + (u32)wg->peer_allowedips.seq) << 1) | 1;
}

static void dump_release_position(struct dump_ctx *ctx)
{
	if (ctx->peer)
		wg_peer_unref(ctx->peer);
	ctx->peer = NULL;
	ctx->next_ip = NULL;
}

static int put_device_config(struct sk_buff *skb, struct wg_device *wg)
{
	struct wg_identity *identity = &wg->identity;
	int ret = 0;

	lockdep_assert_held(&wg->config_lock);

	/* Both change only under config_lock, which we hold. */
	if (nla_put_u16(skb, WGDEVICE_A_LISTEN_PORT, wg->listen_port) ||
	    nla_put_u32(skb, WGDEVICE_A_FWMARK, wg->fwmark))
		return -EMSGSIZE;

	down_read(&wg->identity_lock);
	if (identity->valid &&
	    (nla_put(skb, WGDEVICE_A_PRIVATE_KEY, WG_PUBLIC_LEN,
		     identity->private) ||
	     nla_put(skb, WGDEVICE_A_PUBLIC_KEY, WG_PUBLIC_LEN,
		     identity->public)))
		ret = -EMSGSIZE;
	up_read(&wg->identity_lock);
	return ret;
}

static int put_endpoint(struct sk_buff *skb, struct wg_peer *peer)
{
	const struct wg_endpoint *ep = &peer->endpoint;
	int len = 0, ret = 0;

	read_lock_bh(&peer->endpoint_rwlock);
	/* The sockaddr as the peer's family has it; nothing if unknown. */
	if (ep->addr.sa_family == AF_INET)
		len = sizeof(ep->addr4);
	else if (ep->addr.sa_family == AF_INET6)
		len = sizeof(ep->addr6);
	if (len)
		ret = nla_put(skb, WGPEER_A_ENDPOINT, len, &ep->addr);
	read_unlock_bh(&peer->endpoint_rwlock);
	return ret;
}

/* Everything about a peer except its public key and allowed IPs. */
static int put_peer_state(struct sk_buff *skb, struct wg_peer *peer)
{
	/*
	 * The timers write this without a lock; a value torn across a
	 * handshake is off by one handshake, which a reader cannot tell anyway.
	 */
	const struct __kernel_timespec last_handshake = {
		.tv_sec = READ_ONCE(peer->walltime_last_handshake.tv_sec),
		.tv_nsec = READ_ONCE(peer->walltime_last_handshake.tv_nsec),
	};
	int ret;

	down_read(&peer->handshake_lock);
	ret = nla_put(skb, WGPEER_A_PRESHARED_KEY, WG_SYMKEY_LEN,
		      peer->handshake.psk);
	up_read(&peer->handshake_lock);
	if (ret)
		return ret;

	if (nla_put(skb, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(last_handshake),
		    &last_handshake) ||
	    nla_put_u16(skb, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
			peer->persistent_keepalive_interval) ||
	    nla_put_u64_64bit(skb, WGPEER_A_TX_BYTES,
			      atomic64_read(&peer->tx_bytes), WGPEER_A_UNSPEC) ||
	    nla_put_u64_64bit(skb, WGPEER_A_RX_BYTES,
			      atomic64_read(&peer->rx_bytes), WGPEER_A_UNSPEC) ||
	    nla_put_u32(skb, WGPEER_A_PROTOCOL_VERSION, 1))
		return -EMSGSIZE;

	return put_endpoint(skb, peer);
}

static int put_allowedip(struct sk_buff *skb, struct wg_allowedips_node *node)
{
	u8 ip[16] __aligned(__alignof(u64));
	struct nlattr *nest;
	int family;
	u8 cidr;

	family = wg_allowedips_read_node(node, ip, &cidr);
	if (family != AF_INET && family != AF_INET6)
		return 0;

	nest = nla_nest_start(skb, 0);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u16(skb, WGALLOWEDIP_A_FAMILY, family) ||
	    nla_put(skb, WGALLOWEDIP_A_IPADDR,
		    family == AF_INET6 ? sizeof(struct in6_addr) :
					 sizeof(struct in_addr), ip) ||
	    nla_put_u8(skb, WGALLOWEDIP_A_CIDR_MASK, cidr)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Emits @peer's allowed IPs from *@pos on.  On -EMSGSIZE, *@pos is the first
 * one that did not fit.
 */
static int put_allowedips(struct sk_buff *skb, struct wg_peer *peer,
			  struct wg_allowedips_node **pos)
{
	struct wg_allowedips_node *node = *pos;
	struct nlattr *nest;
	int ret = 0;

	nest = nla_nest_start(skb, WGPEER_A_ALLOWEDIPS);
	if (!nest)
		return -EMSGSIZE;
	list_for_each_entry_from(node, &peer->aip.prefixes, owner_link) {
		ret = put_allowedip(skb, node);
		if (ret)
			break;
	}
	if (ret && node == *pos)
		nla_nest_cancel(skb, nest);
	else
		nla_nest_end(skb, nest);
	if (ret)
		*pos = node;
	return ret;
}

/*
 * Emits one peer entry.  With *@next_ip set, this continues a peer cut short
 * by the previous part: only its public key and the remaining allowed IPs go
 * out, and userspace merges the two entries by public key.
 *
 * Returns 0 when the peer is complete (and clears *@next_ip), or -EMSGSIZE.
 * Then either nothing of the peer was added and *@next_ip is unchanged, or
 * *@next_ip is where its allowed IPs must resume.
 */
static int put_peer(struct sk_buff *skb, struct wg_peer *peer,
		    struct wg_allowedips_node **next_ip)
{
	struct wg_allowedips_node *node = *next_ip, *first;
	bool fresh = !node;
	struct nlattr *nest;
	int ret;

	nest = nla_nest_start(skb, 0);
	if (!nest)
		return -EMSGSIZE;

	down_read(&peer->handshake_lock);
	ret = nla_put(skb, WGPEER_A_PUBLIC_KEY, WG_PUBLIC_LEN,
		      peer->handshake.remote_static);
	up_read(&peer->handshake_lock);
	if (ret)
		goto err_cancel_peer;

	if (fresh) {
		ret = put_peer_state(skb, peer);
		if (ret)
			goto err_cancel_peer;
		node = list_first_entry_or_null(&peer->aip.prefixes,
						struct wg_allowedips_node,
						owner_link);
	}

	if (node) {
		first = node;
		ret = put_allowedips(skb, peer, &node);
		/* A continuation with no new allowed IP would be an empty repeat. */
		if (ret && !fresh && node == first)
			goto err_cancel_peer;
		if (ret) {
			nla_nest_end(skb, nest);
			*next_ip = node;
			return ret;
		}
	}

	nla_nest_end(skb, nest);
	*next_ip = NULL;
	return 0;

err_cancel_peer:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/*
 * Emits peers from the stored position on.  Returns 0 once the last peer is
 * out, or -EMSGSIZE with the position moved to where the next part starts.
 */
static int put_peers(struct sk_buff *skb, struct dump_ctx *ctx)
{
	struct wg_device *wg = ctx->wg;
	struct wg_peer *peer = ctx->peer;
	unsigned int empty_len;
	struct nlattr *nest;
	int ret = 0;

	lockdep_assert_held(&wg->config_lock);

	if (!peer)
		peer = list_first_entry_or_null(&wg->peers, struct wg_peer,
						device_link);
	if (!peer)
		return 0;

	nest = nla_nest_start(skb, WGDEVICE_A_PEERS);
	if (!nest)
		return -EMSGSIZE;
	empty_len = skb->len;
	list_for_each_entry_from(peer, &wg->peers, device_link) {
		ret = put_peer(skb, peer, &ctx->next_ip);
		if (ret)
			break;
	}
	if (skb->len == empty_len)
		nla_nest_cancel(skb, nest);
	else
		nla_nest_end(skb, nest);
	if (!ret)
		return 0;

	if (peer != ctx->peer) {
		if (ctx->peer)
			wg_peer_unref(ctx->peer);
		ctx->peer = wg_peer_ref(peer);
	}
	return ret;
}

static int wg_get_device_start(struct netlink_callback *cb)
{
	/*
	 * The device is looked up by the first dump call rather than here:
	 * before 6.x, ->start() has no extack to explain a failure with.
	 */
	return wg_compat_genl_dump_attrs(cb) ? 0 : -EINVAL;
}

/*
 * Each part repeats IFINDEX and IFNAME.  The first part adds the device
 * attributes; every part then carries as many peers as fit, resuming where
 * the previous one stopped, even inside a peer's allowed IPs.
 */
static int wg_get_device_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct dump_ctx *ctx = dump_ctx(cb);
	struct wg_device *wg = ctx->wg;
	char ifname[IFNAMSIZ];
	unsigned int mark;
	void *hdr;
	int ret;

	if (!wg) {
		wg = lookup_device(sock_net(cb->skb->sk),
				   wg_compat_genl_dump_attrs(cb),
				   &ctx->dev_tracker, cb->extack);
		if (IS_ERR(wg))
			return PTR_ERR(wg);
		ctx->wg = wg;
	}

	/* A rename changes dev->name under RTNL only. */
	rtnl_lock();
	strscpy(ifname, wg->dev->name, sizeof(ifname));
	rtnl_unlock();

	mutex_lock(&wg->config_lock);
	cb->seq = dump_seq(wg);
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &wg_genl_family, NLM_F_MULTI, WG_CMD_GET_DEVICE);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto out_unlock;
	}
	/* Flags this part NLM_F_DUMP_INTR if anything changed since the last. */
	genl_dump_check_consistent(cb, hdr);

	if (nla_put_u32(skb, WGDEVICE_A_IFINDEX, wg->dev->ifindex) ||
	    nla_put_string(skb, WGDEVICE_A_IFNAME, ifname)) {
		ret = -EMSGSIZE;
		goto err_cancel_msg;
	}
	mark = skb->len;

	if (!ctx->started) {
		ret = put_device_config(skb, wg);
		if (ret)
			goto err_cancel_msg;
		ctx->started = true;
	} else if (cb->seq != ctx->seq ||
		   (ctx->peer && READ_ONCE(ctx->peer->is_dead))) {
		/*
		 * The stored position may name a freed trie node or a peer
		 * off the list.  Userspace restarts on NLM_F_DUMP_INTR, so end
		 * here rather than send a mix of old and new state.
		 */
		genlmsg_nlhdr(hdr)->nlmsg_flags |= NLM_F_DUMP_INTR;
		genlmsg_end(skb, hdr);
		dump_release_position(ctx);
		ret = 0;
		goto out_unlock;
	}

	ret = put_peers(skb, ctx);
	if (ret && skb->len == mark) {
		/* Not even one allowed IP fits in an empty part: give up. */
		goto err_cancel_msg;
	}
	genlmsg_end(skb, hdr);
	if (ret) {
		ctx->seq = cb->seq;
		ret = skb->len;
	} else {
		dump_release_position(ctx);
	}
	goto out_unlock;

err_cancel_msg:
	genlmsg_cancel(skb, hdr);
out_unlock:
	mutex_unlock(&wg->config_lock);
	return ret;
}

static int wg_get_device_done(struct netlink_callback *cb)
{
	struct dump_ctx *ctx = dump_ctx(cb);

	if (!ctx->wg)
		return 0;
	dump_release_position(ctx);
	netdev_put(ctx->wg->dev, &ctx->dev_tracker);
	return 0;
}

/* Checks what the policy cannot: the relations between the attributes. */
static int check_allowedip(const struct nlattr *entry,
			   struct netlink_ext_ack *extack)
{
	struct nlattr *tb[WGALLOWEDIP_A_MAX + 1];
	unsigned int addr_len, max_cidr;
	int ret;

	ret = nla_parse_nested(tb, WGALLOWEDIP_A_MAX, entry, allowedip_policy,
			       extack);
	if (ret)
		return ret;

	if (NL_REQ_ATTR_CHECK(extack, entry, tb, WGALLOWEDIP_A_FAMILY) ||
	    NL_REQ_ATTR_CHECK(extack, entry, tb, WGALLOWEDIP_A_IPADDR) ||
	    NL_REQ_ATTR_CHECK(extack, entry, tb, WGALLOWEDIP_A_CIDR_MASK)) {
		NL_SET_ERR_MSG_ATTR(extack, entry,
				    "allowed IP needs a family, an address and a prefix length");
		return -EINVAL;
	}

	switch (nla_get_u16(tb[WGALLOWEDIP_A_FAMILY])) {
	case AF_INET:
		addr_len = sizeof(struct in_addr);
		max_cidr = 32;
		break;
	case AF_INET6:
		addr_len = sizeof(struct in6_addr);
		max_cidr = 128;
		break;
	default:
		NL_SET_ERR_MSG_ATTR(extack, tb[WGALLOWEDIP_A_FAMILY],
				    "unknown address family");
		return -EINVAL;
	}

	if (nla_len(tb[WGALLOWEDIP_A_IPADDR]) != addr_len) {
		NL_SET_ERR_MSG_ATTR(extack, tb[WGALLOWEDIP_A_IPADDR],
				    "address length does not match the family");
		return -EINVAL;
	}
	if (nla_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]) > max_cidr) {
		NL_SET_ERR_MSG_ATTR(extack, tb[WGALLOWEDIP_A_CIDR_MASK],
				    "prefix length exceeds the address width");
		return -EINVAL;
	}
	return 0;
}

static int check_peer(const struct nlattr *entry,
		      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[WGPEER_A_MAX + 1], *ip;
	int rem, ret;

	ret = nla_parse_nested(tb, WGPEER_A_MAX, entry, peer_policy, extack);
	if (ret)
		return ret;

	if (NL_REQ_ATTR_CHECK(extack, entry, tb, WGPEER_A_PUBLIC_KEY)) {
		NL_SET_ERR_MSG_ATTR(extack, entry, "peer without a public key");
		return -EINVAL;
	}
	if (tb[WGPEER_A_PROTOCOL_VERSION] &&
	    nla_get_u32(tb[WGPEER_A_PROTOCOL_VERSION]) != 1) {
		NL_SET_ERR_MSG_ATTR(extack, tb[WGPEER_A_PROTOCOL_VERSION],
				    "unsupported protocol version");
		return -EPFNOSUPPORT;
	}
	if (!tb[WGPEER_A_ALLOWEDIPS])
		return 0;

	nla_for_each_nested(ip, tb[WGPEER_A_ALLOWEDIPS], rem) {
		ret = check_allowedip(ip, extack);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The whole request is checked before anything is changed, so that a refused
 * request leaves the old configuration intact.
 */
static int check_peers(const struct nlattr *peers,
		       struct netlink_ext_ack *extack)
{
	struct nlattr *entry;
	int rem, ret;

	if (!peers)
		return 0;
	nla_for_each_nested(entry, peers, rem) {
		ret = check_peer(entry, extack);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The UDP sockets live in the namespace the device was created in, which may
 * not be the caller's, so touching them needs CAP_NET_ADMIN there as well.
 */
static int check_socket_perm(const struct sk_buff *skb, struct wg_device *wg,
			     struct nlattr **attrs,
			     struct netlink_ext_ack *extack)
{
	struct nlattr *attr = attrs[WGDEVICE_A_LISTEN_PORT] ?:
			      attrs[WGDEVICE_A_FWMARK];
	struct net *net;

	if (!attr)
		return 0;
	net = rcu_dereference_protected(wg->creating_net,
					lockdep_is_held(&wg->config_lock));
	/* Without that namespace there are no sockets to protect. */
	if (!net || netlink_ns_capable(skb, net->user_ns, CAP_NET_ADMIN))
		return 0;
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "needs CAP_NET_ADMIN in the namespace the device was created in");
	return -EPERM;
}

static int set_port(struct wg_device *wg, u16 port)
{
	struct wg_peer *peer;
	int ret;

	ASSERT_RTNL();
	lockdep_assert_held(&wg->config_lock);

	if (port == wg->listen_port)
		return 0;

	if (netif_running(wg->dev)) {
		/* Binds first and only then swaps, setting listen_port. */
		ret = wg_udp_open(wg, port);
		if (ret)
			return ret;
	} else {
		/* wg_open() binds it; RTNL keeps the device down until then. */
		mutex_lock(&wg->udp_lock);
		wg->listen_port = port;
		mutex_unlock(&wg->udp_lock);
	}

	/* Cached source addresses belonged to the old sockets. */
	list_for_each_entry(peer, &wg->peers, device_link)
		wg_endpoint_forget_src(peer);
	return 0;
}

static void set_fwmark(struct wg_device *wg, u32 fwmark)
{
	struct wg_peer *peer;

	lockdep_assert_held(&wg->config_lock);

	if (wg->fwmark == fwmark)
		return;
	/* The send path reads it without our lock. */
	WRITE_ONCE(wg->fwmark, fwmark);
	/* Cached sources were picked by routes the old mark selected. */
	list_for_each_entry(peer, &wg->peers, device_link)
		wg_endpoint_forget_src(peer);
}

static void set_private_key(struct wg_device *wg,
			    const u8 key[WG_PUBLIC_LEN])
{
	struct wg_identity *identity = &wg->identity;
	u8 public_key[WG_PUBLIC_LEN];
	u8 clamped[WG_PUBLIC_LEN];
	struct wg_peer *peer;
	bool gained;

	lockdep_assert_held(&wg->config_lock);

	/*
	 * Setting the key already in use (as given or as stored, clamped)
	 * must not tear down every session, or each `wg syncconf` would.
	 * Only writers, which hold config_lock, change the key.
	 */
	memcpy(clamped, key, sizeof(clamped));
	curve25519_clamp_secret(clamped);
	if (!crypto_memneq(identity->private, key, sizeof(clamped)) ||
	    (identity->valid &&
	     !crypto_memneq(identity->private, clamped,
			    sizeof(clamped))))
		goto out_wipe;

	/* A peer with our own new public key would be ourselves. */
	if (curve25519_generate_public(public_key, key)) {
		peer = wg_peer_by_key(wg, public_key);
		if (peer) {
			wg_peer_retire(peer);
			wg_peer_unref(peer);
		}
	}

	/* Only we change the identity, under config_lock. */
	gained = !identity->valid;
	wg_exchange_set_identity(wg, key);
	gained = gained && identity->valid;

	/* Packets that waited for an identity can start their handshakes. */
	if (gained && netif_running(wg->dev))
		list_for_each_entry(peer, &wg->peers, device_link)
			wg_tx_staged(peer);
out_wipe:
	memzero_explicit(clamped, sizeof(clamped));
}

static bool is_own_public_key(struct wg_device *wg,
			      const u8 key[WG_PUBLIC_LEN])
{
	bool own;

	down_read(&wg->identity_lock);
	own = wg->identity.valid &&
	      !memcmp(key, wg->identity.public, WG_PUBLIC_LEN);
	up_read(&wg->identity_lock);
	return own;
}

static void set_endpoint(struct wg_peer *peer, const struct nlattr *attr)
{
	struct wg_endpoint endpoint = {};

	/* validate_endpoint() let only these two shapes through. */
	if (nla_len(attr) == sizeof(endpoint.addr4))
		memcpy(&endpoint.addr4, nla_data(attr), sizeof(endpoint.addr4));
	else
		memcpy(&endpoint.addr6, nla_data(attr), sizeof(endpoint.addr6));
	wg_endpoint_learn(peer, &endpoint);
}

static void set_keepalive(struct wg_peer *peer, u16 interval)
{
	bool was_off = !peer->persistent_keepalive_interval;

	/* The timers read it without our lock. */
	WRITE_ONCE(peer->persistent_keepalive_interval, interval);
	/* Open the NAT mapping now instead of after the next packet. */
	if (was_off && interval && netif_running(peer->device->dev))
		wg_tx_keepalive(peer);
}

static int apply_allowedip(struct wg_device *wg, struct wg_peer *peer,
			   const struct nlattr *entry)
{
	struct wg_allowedips *table = &wg->peer_allowedips;
	struct mutex *lock = &wg->config_lock;
	struct nlattr *tb[WGALLOWEDIP_A_MAX + 1];
	const void *addr;
	bool remove;
	int ret;
	u8 cidr;

	ret = nla_parse_nested(tb, WGALLOWEDIP_A_MAX, entry, allowedip_policy,
			       NULL);
	if (ret)
		return ret;
	addr = nla_data(tb[WGALLOWEDIP_A_IPADDR]);
	cidr = nla_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	remove = tb[WGALLOWEDIP_A_FLAGS] &&
		 (nla_get_u32(tb[WGALLOWEDIP_A_FLAGS]) & WGALLOWEDIP_F_REMOVE_ME);

	/* check_allowedip() matched the family with the address length. */
	if (nla_get_u16(tb[WGALLOWEDIP_A_FAMILY]) == AF_INET)
		ret = remove ? wg_allowedips_remove_v4(table, addr, cidr,
						       &peer->aip, lock) :
			       wg_allowedips_insert_v4(table, addr, cidr,
						       &peer->aip, lock);
	else
		ret = remove ? wg_allowedips_remove_v6(table, addr, cidr,
						       &peer->aip, lock) :
			       wg_allowedips_insert_v6(table, addr, cidr,
						       &peer->aip, lock);

	/* Removing a prefix the peer does not own is a no-op, not an error. */
	if (remove && ret == -ENOENT)
		ret = 0;
	return ret;
}

static int configure_peer(struct wg_device *wg, struct wg_peer *peer,
			  struct nlattr **tb, const u8 *preshared_key,
			  u32 flags, struct netlink_ext_ack *extack)
{
	LIST_HEAD(aside);
	struct nlattr *ip;
	int rem, ret = 0;

	if (preshared_key) {
		down_write(&peer->handshake_lock);
		memcpy(peer->handshake.psk, preshared_key,
		       WG_SYMKEY_LEN);
		up_write(&peer->handshake_lock);
	}

	if (tb[WGPEER_A_ENDPOINT])
		set_endpoint(peer, tb[WGPEER_A_ENDPOINT]);

	/*
	 * The old prefixes keep routing to the peer until the new ones are
	 * in: traffic of prefixes in both sets is never dropped.  A failure
	 * leaves what a plain removal before the inserts would have left.
	 */
	if (flags & WGPEER_F_REPLACE_ALLOWEDIPS)
		wg_allowedips_set_aside(&peer->aip, &aside,
					&wg->config_lock);

	if (tb[WGPEER_A_ALLOWEDIPS]) {
		nla_for_each_nested(ip, tb[WGPEER_A_ALLOWEDIPS], rem) {
			ret = apply_allowedip(wg, peer, ip);
			if (ret) {
				NL_SET_ERR_MSG_ATTR(extack, ip,
						    "cannot change this allowed IP");
				break;
			}
		}
	}
	wg_allowedips_remove_aside(&wg->peer_allowedips, &aside,
				   &wg->config_lock);
	if (ret)
		return ret;

	if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])
		set_keepalive(peer,
			      nla_get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]));

	/* A new endpoint or new allowed IPs may unblock queued packets. */
	if (netif_running(wg->dev))
		wg_tx_staged(peer);
	return 0;
}

static int apply_peer(struct wg_device *wg, const struct nlattr *entry,
		      struct netlink_ext_ack *extack)
{
	static const u8 no_preshared_key[WG_SYMKEY_LEN];
	struct nlattr *tb[WGPEER_A_MAX + 1];
	const u8 *public_key, *psk = NULL;
	struct wg_peer *peer;
	u32 flags = 0;
	int ret;

	lockdep_assert_held(&wg->config_lock);

	ret = nla_parse_nested(tb, WGPEER_A_MAX, entry, peer_policy, extack);
	if (ret)
		return ret;
	public_key = nla_data(tb[WGPEER_A_PUBLIC_KEY]);
	if (tb[WGPEER_A_FLAGS])
		flags = nla_get_u32(tb[WGPEER_A_FLAGS]);
	if (tb[WGPEER_A_PRESHARED_KEY])
		psk = nla_data(tb[WGPEER_A_PRESHARED_KEY]);

	peer = wg_peer_by_key(wg, public_key);
	if (!peer) {
		if (flags & (WGPEER_F_REMOVE_ME | WGPEER_F_UPDATE_ONLY))
			return 0;
		/*
		 * Silently, so that one list of peers can be sent to every
		 * member of a mesh, each skipping itself.
		 */
		if (is_own_public_key(wg, public_key))
			return 0;
		peer = wg_peer_new(wg, public_key, psk ?: no_preshared_key);
		if (IS_ERR(peer)) {
			NL_SET_ERR_MSG_ATTR(extack, entry, "cannot create the peer");
			return PTR_ERR(peer);
		}
		/* The list owns the peer; take our own like a lookup would. */
		wg_peer_ref(peer);
		psk = NULL;
	} else if (flags & WGPEER_F_REMOVE_ME) {
		wg_peer_retire(peer);
		goto out_put_peer;
	}

	ret = configure_peer(wg, peer, tb, psk, flags, extack);
out_put_peer:
	wg_peer_unref(peer);
	return ret;
}

/*
 * Applies a checked request.  What can still fail here, part way: binding
 * the listen port (done first, before anything else changes), and creating a
 * peer or a trie node (out of memory, or too many peers).  Everything else
 * was refused by check_peers() and the policies.
 */
static int apply_device(struct wg_device *wg, struct nlattr **attrs,
			struct netlink_ext_ack *extack)
{
	struct nlattr *entry;
	int rem, ret;

	ASSERT_RTNL();
	lockdep_assert_held(&wg->config_lock);

	/* Whatever a concurrent dump has sent so far is now stale. */
	++wg->device_update_gen;

	if (attrs[WGDEVICE_A_LISTEN_PORT]) {
		ret = set_port(wg, nla_get_u16(attrs[WGDEVICE_A_LISTEN_PORT]));
		if (ret) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[WGDEVICE_A_LISTEN_PORT],
					    "cannot bind the listen port, it may be in use");
			return ret;
		}
	}

	if (attrs[WGDEVICE_A_FWMARK])
		set_fwmark(wg, nla_get_u32(attrs[WGDEVICE_A_FWMARK]));

	if (attrs[WGDEVICE_A_FLAGS] &&
	    (nla_get_u32(attrs[WGDEVICE_A_FLAGS]) & WGDEVICE_F_REPLACE_PEERS))
		wg_peer_retire_all(wg);

	if (attrs[WGDEVICE_A_PRIVATE_KEY])
		set_private_key(wg, nla_data(attrs[WGDEVICE_A_PRIVATE_KEY]));

	if (!attrs[WGDEVICE_A_PEERS])
		return 0;
	nla_for_each_nested(entry, attrs[WGDEVICE_A_PEERS], rem) {
		ret = apply_peer(wg, entry, extack);
		if (ret)
			return ret;
	}
	return 0;
}

/* Keys must not linger in the request skb once it is freed. */
static void wipe_keys(struct nlattr **attrs)
{
	struct nlattr *entry, *psk;
	int rem;

	if (attrs[WGDEVICE_A_PRIVATE_KEY])
		memzero_explicit(nla_data(attrs[WGDEVICE_A_PRIVATE_KEY]),
				 nla_len(attrs[WGDEVICE_A_PRIVATE_KEY]));
	if (!attrs[WGDEVICE_A_PEERS])
		return;
	nla_for_each_nested(entry, attrs[WGDEVICE_A_PEERS], rem) {
		psk = nla_find_nested(entry, WGPEER_A_PRESHARED_KEY);
		if (psk)
			memzero_explicit(nla_data(psk), nla_len(psk));
	}
}

static int wg_set_device(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **attrs = info->attrs;
	netdevice_tracker dev_tracker;
	struct wg_device *wg;
	int ret;

	wg = lookup_device(genl_info_net(info), attrs, &dev_tracker, extack);
	if (IS_ERR(wg)) {
		ret = PTR_ERR(wg);
		goto out_wipe;
	}

	ret = check_peers(attrs[WGDEVICE_A_PEERS], extack);
	if (ret)
		goto out_put_dev;

	rtnl_lock();
	mutex_lock(&wg->config_lock);
	ret = check_socket_perm(skb, wg, attrs, extack);
	if (!ret)
		ret = apply_device(wg, attrs, extack);
	mutex_unlock(&wg->config_lock);
	rtnl_unlock();

out_put_dev:
	netdev_put(wg->dev, &dev_tracker);
out_wipe:
	wipe_keys(attrs);
	return ret;
}

/*
 * Both commands need CAP_NET_ADMIN in the device's user namespace.  GET is
 * a dump only (a device's peers may not fit one message); SET is a do.
 */
static const struct genl_ops wg_genl_ops[] = {
	{ .cmd = WG_CMD_SET_DEVICE, .flags = GENL_UNS_ADMIN_PERM,
	  .doit = wg_set_device },
	{ .cmd = WG_CMD_GET_DEVICE, .flags = GENL_UNS_ADMIN_PERM,
	  .start = wg_get_device_start, .dumpit = wg_get_device_dump,
	  .done = wg_get_device_done },
};

static struct genl_family wg_genl_family __ro_after_init = {
	/* Family "wireguard" version 1, as wireguard-tools expects. */
	.name = WG_GENL_NAME, .version = WG_GENL_VERSION,
	.module = THIS_MODULE,
	.ops = wg_genl_ops, .n_ops = ARRAY_SIZE(wg_genl_ops),
	/* Strict validation for every command above SET (none yet). */
	.resv_start_op = WG_CMD_SET_DEVICE + 1,
	.policy = device_policy, .maxattr = WGDEVICE_A_MAX,
	/* Devices in any namespace; requests need no genl_mutex. */
	.netnsok = true, .parallel_ops = true,
};

int __init wg_genetlink_init(void)
{
	int ret = genl_register_family(&wg_genl_family);

	if (ret != -EEXIST)
		return ret;
	pr_err("generic netlink family \"%s\" is already registered, probably by the in-tree wireguard module; unload it (rmmod wireguard) or blacklist it (see README)\n",
	       WG_GENL_NAME);
	/* modprobe takes -EEXIST for "already loaded" and reports success. */
	return -EBUSY;
}

void wg_genetlink_uninit(void)
{
	genl_unregister_family(&wg_genl_family);
}
