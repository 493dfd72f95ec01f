// SPDX-License-Identifier: GPL-2.0
/*
 * A device's UDP sockets.  They are kernel UDP tunnel sockets: the UDP
 * layer hands each datagram for our port to on_datagram() in softirq
 * context, before any socket queue, so that nothing is copied and nothing
 * waits for a reader.
 *
 * Lifetime: wg->sock4 and wg->sock6 are RCU-bh pointers.  Senders and the
 * receive hook use a socket only inside rcu_read_lock_bh() (or the softirq
 * the UDP layer runs them in); a replaced pair is closed only after
 * synchronize_net().  wg->udp_lock orders the writers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "../compat.h"
#include "ring.h"
#include "rx.h"
#include "tx.h"
#include "tunnel.h"
#include "udp.h"

#include <linux/ipv6.h>
#include <net/udp_tunnel.h>

/* How often a port-0 bind retries when IPv6 finds IPv4's port taken. */
#define UDP_BIND_TRIES 100

/* The UDP layer's encap_rcv: every datagram for our port.  Consumes it. */
static int on_datagram(struct sock *sk, struct sk_buff *skb)
{
	struct wg_device *wg = sk ? rcu_dereference_sk_user_data(sk) : NULL;

	if (likely(wg)) {
		skb_mark_not_on_list(skb);
		wg_rx_datagram(wg, skb);
	} else {
		/* The socket is on its way out. */
		kfree_skb(skb);
	}
	return 0;
}

static void udp_close_one(struct sock *sk)
{
	if (!sk)
		return;
	sk_clear_memalloc(sk);
	wg_compat_udp_tunnel_release(sk->sk_socket);
}

static struct socket *udp_open_one(struct net *net, struct wg_device *wg,
				   sa_family_t family, u16 port)
{
	struct udp_tunnel_sock_cfg hook = {
		.sk_user_data = wg,
		.encap_type = 1,
		.encap_rcv = on_datagram,
	};
	/* Zeroed addresses: the wildcard of either family. */
	struct udp_port_cfg cfg = {
		.family = family,
		.local_udp_port = htons(port),
		.ipv6_v6only = family == AF_INET6,
		.use_udp6_rx_checksums = family == AF_INET6,
	};
	struct socket *sock;
	int err;

	err = udp_sock_create(net, &cfg, &sock);
	if (err)
		return ERR_PTR(err);
	/*
	 * Sends happen in softirq and under spinlocks, and must not fail
	 * for want of buffer: the tunnel queues and counts on its own.
	 */
	sock->sk->sk_allocation = GFP_ATOMIC;
	sock->sk->sk_sndbuf = INT_MAX;
	sk_set_memalloc(sock->sk);
	wg_compat_udp_tunnel_setup(net, sock, &hook);
	return sock;
}

/* Publish @sk4 and @sk6 (either may be NULL), then close the old pair. */
static void udp_swap(struct wg_device *wg, struct sock *sk4,
		     struct sock *sk6)
{
	struct sock *old4, *old6;

	mutex_lock(&wg->udp_lock);
	old4 = rcu_replace_pointer(wg->sock4, sk4,
				   lockdep_is_held(&wg->udp_lock));
	old6 = rcu_replace_pointer(wg->sock6, sk6,
				   lockdep_is_held(&wg->udp_lock));
	if (sk4)
		wg->listen_port = ntohs(inet_sk(sk4)->inet_sport);
	mutex_unlock(&wg->udp_lock);

	if (!old4 && !old6)
		return;
	/* Wait out every sender and receive hook still on the old pair. */
	synchronize_net();
	udp_close_one(old4);
	udp_close_one(old6);
}

int wg_udp_open(struct wg_device *wg, u16 port)
{
	bool want6 = IS_ENABLED(CONFIG_IPV6) && ipv6_mod_enabled();
	struct socket *s4, *s6 = NULL;
	unsigned int tries = 0;
	struct net *net;
	int err;

	rcu_read_lock();
	net = rcu_dereference(wg->creating_net);
	if (net)
		net = maybe_get_net(net);
	rcu_read_unlock();
	if (unlikely(!net))
		return -ENONET;

	for (;;) {
		s4 = udp_open_one(net, wg, AF_INET, port);
		if (IS_ERR(s4)) {
			err = PTR_ERR(s4);
			net_dbg_ratelimited("%s: IPv4 bind to port %u failed: %d\n",
					    wg->dev->name, port, err);
			goto out;
		}
		if (!want6)
			break;
		/* On IPv4's port, which for port 0 the kernel just chose. */
		s6 = udp_open_one(net, wg, AF_INET6,
				  ntohs(inet_sk(s4->sk)->inet_sport));
		if (!IS_ERR(s6))
			break;
		err = PTR_ERR(s6);
		s6 = NULL;
		udp_close_one(s4->sk);
		/* Someone holds that port over IPv6 only: draw another. */
		if (port || err != -EADDRINUSE || ++tries >= UDP_BIND_TRIES) {
			net_dbg_ratelimited("%s: IPv6 bind failed: %d\n",
					    wg->dev->name, err);
			goto out;
		}
	}
	udp_swap(wg, s4->sk, s6 ? s6->sk : NULL);
	err = 0;
out:
	put_net(net);
	return err;
}

void wg_udp_close(struct wg_device *wg)
{
	udp_swap(wg, NULL, NULL);
}
