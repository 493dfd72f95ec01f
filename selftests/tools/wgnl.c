// SPDX-License-Identifier: GPL-2.0
/*
 * wgnl: a raw generic netlink client for the wg module's selftests.
 *
 * It sends what the stock wg tool cannot: malformed requests (wrong lengths,
 * unknown flag bits, missing attributes) and WGALLOWEDIP_A_FLAGS, which
 * wireguard-tools 1.0.20210914 predates.  No libmnl, so it builds statically
 * and runs in the test VM as is:
 *
 *	gcc -O2 -Wall -static wgnl.c -o wgnl
 *
 * Usage:
 *	wgnl [--as-user UID[:GID]] COMMAND ...
 *
 *	wgnl set [IFNAME] [DEVICE-OPTS] [peer KEY|none [PEER-OPTS]
 *		  [allowedip PREFIX [AIP-OPTS]]...]...
 *	  DEVICE-OPTS: --ifindex N, private-key KEY, public-key KEY,
 *		listen-port N, fwmark N, replace-peers, --key-len N (private
 *		key attribute of N bytes), --device-flags X, --attr TYPE HEX
 *	  PEER-OPTS: remove, replace-allowed-ips, update-only,
 *		preshared-key KEY, endpoint IP:PORT|[IP6]:PORT,
 *		persistent-keepalive N, --key-len N (public key of N bytes),
 *		--psk-len N, --peer-flags X, --protocol-version N,
 *		--endpoint-len N, --endpoint-family N, --attr TYPE HEX
 *	  AIP-OPTS: remove, --allowedip-flags X, --cidr N, --family N,
 *		--addr-len N, --no-family, --no-addr, --no-cidr,
 *		--attr TYPE HEX
 *	  IFNAME is the first word unless that is an option or a keyword
 *	  (so "set --ifindex N ..." or "set listen-port N" name no device).
 *	  Options apply to the innermost open object (device, then the
 *	  last peer, then its last allowed IP).  "peer none" sends no
 *	  public key.  A key given with a different --*-len is cut or
 *	  padded with 0x42 bytes.
 *	wgnl dump [-v] [IFNAME] [--ifindex N]
 *	  prints "messages=M peers=P peer_entries=E allowedips=A intr=0|1";
 *	  entries continuing the previous peer (split dump) count in E, not P.
 *	wgnl fuzz [--seed S] [--count N] [--keep] IFNAME
 *	  N random, well-framed SET/GET requests, then a clean dump; prints
 *	  how many were accepted and rejected (by errno).  --keep: start the
 *	  model from the device's configuration instead of emptying it, and
 *	  never touch what a tunnel of that device needs (private key, the
 *	  peers it has, their allowed IPs; listen ports only 40000-40063),
 *	  so that it keeps carrying traffic while it is fuzzed.
 *	wgnl cycles N KIND IFNAME [SET-OPTS...]
 *	  N times: create IFNAME of link kind KIND (rtnetlink), configure it
 *	  as "set IFNAME SET-OPTS" would (a listen port given is moved on by
 *	  one each cycle, wrapping after 1,000), bring it up, delete it.
 *	  Prints "cycles=N"; on a failure, the step and cycle.
 *	wgnl exec CMD [ARGS...]   (with --as-user: run CMD unprivileged)
 *	wgnl --hexdump set|dump ...  print the request in hex, send nothing
 *
 * Exit status 0 on success.  On a refused request it prints
 *	error: <strerror> (<extack message>[; missing attribute N])
 * to stderr (without the parentheses if the kernel sent no message), then
 * the attribute the kernel pointed at, and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * These mirror include/uapi/linux/wireguard.h (and the upstream WireGuard
 * UAPI).  They are spelled out here on purpose: the tool must keep sending
 * the documented wire format even if the header changes under it.
 */
#define WG_GENL_NAME			"wireguard"
#define WG_GENL_VERSION			1
#define WG_KEY_LEN			32
#define WG_CMD_GET_DEVICE		0
#define WG_CMD_SET_DEVICE		1

#define WGDEVICE_A_IFINDEX		1	/* u32 */
#define WGDEVICE_A_IFNAME		2	/* string */
#define WGDEVICE_A_PRIVATE_KEY		3	/* 32 bytes */
#define WGDEVICE_A_PUBLIC_KEY		4	/* 32 bytes */
#define WGDEVICE_A_FLAGS		5	/* u32 */
#define WGDEVICE_A_LISTEN_PORT		6	/* u16 */
#define WGDEVICE_A_FWMARK		7	/* u32 */
#define WGDEVICE_A_PEERS		8	/* nested array */
#define WGDEVICE_A_MAX			8
#define WGDEVICE_F_REPLACE_PEERS	1

#define WGPEER_A_PUBLIC_KEY		1
#define WGPEER_A_PRESHARED_KEY		2
#define WGPEER_A_FLAGS			3	/* u32 */
#define WGPEER_A_ENDPOINT		4	/* sockaddr_in / sockaddr_in6 */
#define WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL 5 /* u16 */
#define WGPEER_A_LAST_HANDSHAKE_TIME	6	/* struct __kernel_timespec */
#define WGPEER_A_RX_BYTES		7	/* u64 */
#define WGPEER_A_TX_BYTES		8	/* u64 */
#define WGPEER_A_ALLOWEDIPS		9	/* nested array */
#define WGPEER_A_PROTOCOL_VERSION	10	/* u32 */
#define WGPEER_A_MAX			10
#define WGPEER_F_REMOVE_ME		1
#define WGPEER_F_REPLACE_ALLOWEDIPS	2
#define WGPEER_F_UPDATE_ONLY		4

#define WGALLOWEDIP_A_FAMILY		1	/* u16 */
#define WGALLOWEDIP_A_IPADDR		2	/* 4 or 16 bytes */
#define WGALLOWEDIP_A_CIDR_MASK		3	/* u8 */
#define WGALLOWEDIP_A_FLAGS		4	/* u32 */
#define WGALLOWEDIP_A_MAX		4
#define WGALLOWEDIP_F_REMOVE_ME		1

/* Extended ack attributes (linux/netlink.h), local for older headers. */
#define ERRATTR_MSG			1
#define ERRATTR_OFFS			2
#define ERRATTR_MISS_TYPE		5
#define ERRATTR_MISS_NEST		6
#ifndef SOL_NETLINK
#define SOL_NETLINK			270
#endif

#define MAX_DEPTH			8
#define MAX_RAW				8

/* The kernel's spellings, which userspace headers lack. */
#define __noreturn		__attribute__((__noreturn__))
#define __printf(a, b)		__attribute__((__format__(__printf__, a, b)))
#define BIT(n)			(1UL << (n))

static const char *prog = "wgnl";

static __noreturn __printf(1, 2) void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("out of memory");
	return p;
}

/* --- message building ------------------------------------------------- */

/* Where each attribute went, so an error offset can be named. */
struct attr_rec {
	uint32_t off;
	char *path;
};

struct nlbuf {
	unsigned char *data;
	size_t len, cap;
	int depth;
	size_t nest[MAX_DEPTH];
	size_t pathlen[MAX_DEPTH];
	char path[256];
	int nested_flag;	/* set NLA_F_NESTED on nests */
	struct attr_rec *recs;
	size_t nrecs;
};

static void nb_reserve(struct nlbuf *b, size_t n)
{
	if (b->len + n + NLA_ALIGNTO <= b->cap)
		return;
	while (b->len + n + NLA_ALIGNTO > b->cap)
		b->cap = b->cap ? b->cap * 2 : 4096;
	b->data = xrealloc(b->data, b->cap);
}

static void nb_init(struct nlbuf *b, uint16_t family, uint16_t flags,
		    uint8_t cmd, uint8_t version)
{
	struct genlmsghdr *g;
	struct nlmsghdr *nh;

	memset(b, 0, sizeof(*b));
	b->nested_flag = 1;
	nb_reserve(b, NLMSG_HDRLEN + GENL_HDRLEN);
	memset(b->data, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nh = (struct nlmsghdr *)b->data;
	nh->nlmsg_type = family;
	nh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = (struct genlmsghdr *)(b->data + NLMSG_HDRLEN);
	g->cmd = cmd;
	g->version = version;
	b->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

static void nb_record(struct nlbuf *b, const char *name)
{
	char *p;

	if (asprintf(&p, "%s%s%s", b->path, b->path[0] ? "/" : "", name) < 0)
		die("out of memory");
	b->recs = xrealloc(b->recs, (b->nrecs + 1) * sizeof(*b->recs));
	b->recs[b->nrecs].off = b->len;
	b->recs[b->nrecs].path = p;
	b->nrecs++;
}

static void nb_put(struct nlbuf *b, uint16_t type, const void *data,
		   size_t len, const char *name)
{
	struct nlattr *a;

	if (NLA_HDRLEN + len > 0xffff)
		die("attribute %s too long", name);
	nb_reserve(b, NLA_HDRLEN + NLA_ALIGN(len));
	nb_record(b, name);
	a = (struct nlattr *)(b->data + b->len);
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy(b->data + b->len + NLA_HDRLEN, data, len);
	memset(b->data + b->len + NLA_HDRLEN + len, 0,
	       NLA_ALIGN(len) - len);
	b->len += NLA_HDRLEN + NLA_ALIGN(len);
}

static void nb_u8(struct nlbuf *b, uint16_t t, uint8_t v, const char *n)
{
	nb_put(b, t, &v, sizeof(v), n);
}

static void nb_u16(struct nlbuf *b, uint16_t t, uint16_t v, const char *n)
{
	nb_put(b, t, &v, sizeof(v), n);
}

static void nb_u32(struct nlbuf *b, uint16_t t, uint32_t v, const char *n)
{
	nb_put(b, t, &v, sizeof(v), n);
}

static void nb_nest_begin(struct nlbuf *b, uint16_t type, const char *name)
{
	size_t l;

	if (b->depth == MAX_DEPTH)
		die("nesting too deep");
	nb_put(b, type | (b->nested_flag ? NLA_F_NESTED : 0), NULL, 0, name);
	b->nest[b->depth] = b->len - NLA_HDRLEN;
	b->pathlen[b->depth] = strlen(b->path);
	l = strlen(b->path);
	snprintf(b->path + l, sizeof(b->path) - l, "%s%s", l ? "/" : "", name);
	b->depth++;
}

static void nb_nest_end(struct nlbuf *b)
{
	struct nlattr *a;

	b->depth--;
	a = (struct nlattr *)(b->data + b->nest[b->depth]);
	if (b->len - b->nest[b->depth] > 0xffff)
		die("nest %s too long", b->path);
	a->nla_len = b->len - b->nest[b->depth];
	b->path[b->pathlen[b->depth]] = '\0';
}

static void nb_free(struct nlbuf *b)
{
	size_t i;

	for (i = 0; i < b->nrecs; i++)
		free(b->recs[i].path);
	free(b->recs);
	free(b->data);
}

static const char *nb_path_at(const struct nlbuf *b, uint32_t off)
{
	size_t i;

	for (i = 0; b && i < b->nrecs; i++)
		if (b->recs[i].off == off)
			return b->recs[i].path;
	return NULL;
}

/* --- socket ----------------------------------------------------------- */

static int nl_fd = -1;
static uint32_t nl_seq;
static unsigned char *rxbuf;
static const size_t rxlen = 1 << 20;

static void nl_open(void)
{
	int one = 1, rcvbuf = 4 << 20;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl_fd < 0) {
		fprintf(stderr, "error: %s (socket(AF_NETLINK, NETLINK_GENERIC))\n",
			strerror(errno));
		exit(1);
	}
	if (setsockopt(nl_fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)))
		die("NETLINK_EXT_ACK: %s", strerror(errno));
	setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(nl_fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind: %s", strerror(errno));
	nl_seq = time(NULL);
	rxbuf = xrealloc(NULL, rxlen);
}

static int hexdump_only;

static void nl_send(struct nlbuf *b)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nh = (struct nlmsghdr *)b->data;
	size_t i;
	ssize_t n;

	nh->nlmsg_len = b->len;
	nh->nlmsg_seq = ++nl_seq;
	if (hexdump_only) {
		for (i = 0; i < b->len; i++)
			printf("%02x", b->data[i]);
		printf("\n");
		exit(0);
	}
	n = sendto(nl_fd, b->data, b->len, 0, (struct sockaddr *)&sa,
		   sizeof(sa));
	if (n < 0) {
		fprintf(stderr, "error: %s (sendto)\n", strerror(errno));
		exit(1);
	}
}

/* Returns the number of bytes in rxbuf; dies on socket errors. */
static size_t nl_recv(void)
{
	ssize_t n;

	do {
		n = recv(nl_fd, rxbuf, rxlen, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		fprintf(stderr, "error: %s (recv)\n", strerror(errno));
		exit(1);
	}
	return n;
}

struct nl_error {
	int err;		/* positive errno */
	char msg[512];
	int has_off, has_miss, has_miss_nest;
	uint32_t off, miss_type, miss_nest;
};

/*
 * Decode an NLMSG_ERROR (or NLMSG_DONE carrying an error).  @payload
 * points after the nlmsghdr.
 */
static void parse_error(const struct nlmsghdr *nh, struct nl_error *e)
{
	const unsigned char *end = (const unsigned char *)nh + nh->nlmsg_len;
	const unsigned char *p;
	const struct nlattr *a;

	memset(e, 0, sizeof(*e));
	if (nh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *err = NLMSG_DATA(nh);

		e->err = -err->error;
		p = (const unsigned char *)(err + 1);
		if (!(nh->nlmsg_flags & NLM_F_CAPPED))
			p += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	} else {
		e->err = -*(const int *)NLMSG_DATA(nh);
		p = (const unsigned char *)NLMSG_DATA(nh) + sizeof(int);
	}
	if (!(nh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	for (; p + NLA_HDRLEN <= end; p += NLA_ALIGN(a->nla_len)) {
		const void *d = p + NLA_HDRLEN;
		size_t l;

		a = (const struct nlattr *)p;
		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			break;
		l = a->nla_len - NLA_HDRLEN;
		switch (a->nla_type & NLA_TYPE_MASK) {
		case ERRATTR_MSG:
			snprintf(e->msg, sizeof(e->msg), "%.*s", (int)l,
				 (const char *)d);
			break;
		case ERRATTR_OFFS:
			if (l >= 4) {
				e->has_off = 1;
				memcpy(&e->off, d, 4);
			}
			break;
		case ERRATTR_MISS_TYPE:
			if (l >= 4) {
				e->has_miss = 1;
				memcpy(&e->miss_type, d, 4);
			}
			break;
		case ERRATTR_MISS_NEST:
			if (l >= 4) {
				e->has_miss_nest = 1;
				memcpy(&e->miss_nest, d, 4);
			}
			break;
		}
	}
}

static void print_error(const struct nl_error *e, const struct nlbuf *req)
{
	char extra[64] = "";
	const char *path;

	if (e->has_miss)
		snprintf(extra, sizeof(extra), "%smissing attribute %u",
			 e->msg[0] ? "; " : "", e->miss_type);
	if (e->msg[0] || extra[0])
		fprintf(stderr, "error: %s (%s%s)\n", strerror(e->err), e->msg,
			extra);
	else
		fprintf(stderr, "error: %s\n", strerror(e->err));
	if (e->has_off) {
		path = nb_path_at(req, e->off);
		fprintf(stderr, "bad attribute: %s (offset %u)\n",
			path ? path : "?", e->off);
	}
	if (e->has_miss_nest) {
		path = nb_path_at(req, e->miss_nest);
		fprintf(stderr, "missing in: %s (offset %u)\n",
			path ? path : "?", e->miss_nest);
	}
}

/*
 * Wait for the ack of the last request.  Returns 0 or a positive errno
 * (with *e filled in).
 */
static int nl_wait_ack(struct nl_error *e)
{
	for (;;) {
		size_t n = nl_recv();
		struct nlmsghdr *nh;

		for (nh = (struct nlmsghdr *)rxbuf; NLMSG_OK(nh, n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != nl_seq)
				continue;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				parse_error(nh, e);
				return e->err;
			}
		}
	}
}

/*
 * Run a dump; @cb sees every message of type @family.  Returns 0 or a
 * positive errno.
 */
static int nl_dump(struct nl_error *e, uint16_t family,
		   void (*cb)(const struct nlmsghdr *, void *), void *arg)
{
	for (;;) {
		size_t n = nl_recv();
		struct nlmsghdr *nh;

		for (nh = (struct nlmsghdr *)rxbuf; NLMSG_OK(nh, n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != nl_seq)
				continue;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				parse_error(nh, e);
				if (e->err)
					return e->err;
				continue;
			}
			if (nh->nlmsg_type == NLMSG_DONE) {
				if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) &&
				    *(int *)NLMSG_DATA(nh) < 0) {
					parse_error(nh, e);
					return e->err;
				}
				return 0;
			}
			if (nh->nlmsg_type == family && cb)
				cb(nh, arg);
		}
	}
}

struct attr_iter {
	const unsigned char *pos, *end;
};

static struct attr_iter attr_iter_init(const void *p, size_t len)
{
	struct attr_iter it = { p, (const unsigned char *)p + len };

	return it;
}

/* Point *a at the next attribute; 0 once that is not a whole one. */
static int attr_iter_next(struct attr_iter *it, const struct nlattr **a)
{
	const struct nlattr *n = (const struct nlattr *)it->pos;

	*a = n;
	if (it->pos + NLA_HDRLEN > it->end || n->nla_len < NLA_HDRLEN ||
	    it->pos + n->nla_len > it->end)
		return 0;
	it->pos += NLA_ALIGN(n->nla_len);
	return 1;
}

/* Iterate the attributes in [p, p + len), evaluating p and len once. */
#define for_each_attr(a, p, len)					\
	for (struct attr_iter __attr_it = attr_iter_init((p), (len));	\
	     attr_iter_next(&__attr_it, &(a));)

#define ATTR_DATA(a) ((const unsigned char *)(a) + NLA_HDRLEN)
#define ATTR_LEN(a) ((size_t)((a)->nla_len - NLA_HDRLEN))

static uint16_t resolve_family(const char *name)
{
	const struct nlattr *a;
	struct nl_error e;
	struct nlbuf b;
	uint16_t id = 0;

	nb_init(&b, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	nb_put(&b, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1,
	       "family-name");
	nl_send(&b);
	for (;;) {
		size_t n = nl_recv();
		struct nlmsghdr *nh;

		for (nh = (struct nlmsghdr *)rxbuf; NLMSG_OK(nh, n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != nl_seq)
				continue;
			if (nh->nlmsg_type == GENL_ID_CTRL) {
				const unsigned char *p =
					(unsigned char *)NLMSG_DATA(nh) + GENL_HDRLEN;

				for_each_attr(a, p, nh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN)
					if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID &&
					    ATTR_LEN(a) >= 2)
						memcpy(&id, ATTR_DATA(a), 2);
				continue;
			}
			if (nh->nlmsg_type != NLMSG_ERROR)
				continue;
			parse_error(nh, &e);
			if (e.err == ENOENT) {
				fprintf(stderr,
					"error: generic netlink family \"%s\" not found (is the module loaded?)\n",
					name);
				exit(1);
			}
			if (e.err) {
				print_error(&e, &b);
				exit(1);
			}
			nb_free(&b);
			if (!id)
				die("no family id in the CTRL_CMD_GETFAMILY reply");
			return id;
		}
	}
}

/* --- value parsing ---------------------------------------------------- */

static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* A 32-byte key in the wg tool's base64 (44 characters, one '='). */
static void parse_key(const char *s, unsigned char *key)
{
	uint32_t acc = 0;
	int i, bits = 0, o = 0, v;

	if (strlen(s) != 44 || s[43] != '=')
		die("bad key '%s': want 44 characters of base64", s);
	for (i = 0; i < 43; i++) {
		v = b64_val(s[i]);
		if (v < 0)
			die("bad key '%s'", s);
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			key[o++] = acc >> bits;
		}
	}
}

static void print_key(FILE *f, const unsigned char *k)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int i, bits = 0;

	for (i = 0; i < WG_KEY_LEN; i++) {
		acc = (acc << 8) | k[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			fputc(tbl[(acc >> bits) & 63], f);
		}
	}
	fputc(tbl[(acc << (6 - bits)) & 63], f);
	fputc('=', f);
}

static unsigned long long parse_num(const char *s, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end || v > max)
		die("bad number '%s' (at most %llu)", s, max);
	return v;
}

static size_t parse_hex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;
	unsigned int v;

	if (!strcmp(s, "-"))
		return 0;
	if (strlen(s) % 2)
		die("bad hex '%s'", s);
	for (; *s; s += 2) {
		if (n == max || sscanf(s, "%2x", &v) != 1)
			die("bad or too long hex string");
		out[n++] = v;
	}
	return n;
}

/* --- the request model ------------------------------------------------ */

struct raw {
	uint16_t type;
	size_t len;
	unsigned char data[512];
};

struct raws {
	int n;
	struct raw r[MAX_RAW];
};

struct aip {
	int family;		/* -1: omit */
	int addr_len;		/* -1: omit */
	unsigned char addr[16];
	int cidr;		/* -1: omit */
	long long flags;	/* -1: omit */
	struct raws raw;
};

struct peer {
	int has_key, key_len;
	unsigned char key[WG_KEY_LEN];
	int psk_len;		/* -1: omit */
	unsigned char psk[WG_KEY_LEN];
	long long flags;
	int ep_len;		/* -1: omit */
	int ep_family;		/* -1: as parsed */
	unsigned char ep[sizeof(struct sockaddr_in6)];
	int keepalive;
	long long version;
	struct raws raw;
	int naips;
	struct aip *aips;
};

struct device {
	const char *ifname;
	long long ifindex;
	int priv_len;		/* -1: omit */
	unsigned char priv[WG_KEY_LEN];
	int pub_len;
	unsigned char pub[WG_KEY_LEN];
	long long flags, port, fwmark;
	struct raws raw;
	int npeers;
	struct peer *peers;
};

static void fill_bytes(unsigned char *dst, const unsigned char *src,
		       size_t have, size_t want)
{
	memcpy(dst, src, have < want ? have : want);
	if (want > have)
		memset(dst + have, 0x42, want - have);
}

static void put_raws(struct nlbuf *b, const struct raws *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		nb_put(b, r->r[i].type, r->r[i].data, r->r[i].len, "raw");
}

static void put_key(struct nlbuf *b, uint16_t type, const unsigned char *key,
		    int len, const char *name)
{
	unsigned char tmp[512];

	if (len > (int)sizeof(tmp))
		die("key length %d too large", len);
	fill_bytes(tmp, key, WG_KEY_LEN, len);
	nb_put(b, type, tmp, len, name);
}

static void build_aip(struct nlbuf *b, const struct aip *a)
{
	unsigned char tmp[64];

	if (a->family >= 0)
		nb_u16(b, WGALLOWEDIP_A_FAMILY, a->family, "family");
	if (a->addr_len >= 0) {
		if (a->addr_len > (int)sizeof(tmp))
			die("address length too large");
		fill_bytes(tmp, a->addr, 16, a->addr_len);
		nb_put(b, WGALLOWEDIP_A_IPADDR, tmp, a->addr_len, "ipaddr");
	}
	if (a->cidr >= 0)
		nb_u8(b, WGALLOWEDIP_A_CIDR_MASK, a->cidr, "cidr-mask");
	if (a->flags >= 0)
		nb_u32(b, WGALLOWEDIP_A_FLAGS, a->flags, "flags");
	put_raws(b, &a->raw);
}

static void build_peer(struct nlbuf *b, const struct peer *p)
{
	unsigned char ep[256];
	char name[32];
	int i;

	if (p->has_key)
		put_key(b, WGPEER_A_PUBLIC_KEY, p->key, p->key_len,
			"public-key");
	if (p->psk_len >= 0)
		put_key(b, WGPEER_A_PRESHARED_KEY, p->psk, p->psk_len,
			"preshared-key");
	if (p->flags >= 0)
		nb_u32(b, WGPEER_A_FLAGS, p->flags, "flags");
	if (p->ep_len >= 0) {
		if (p->ep_len > (int)sizeof(ep))
			die("endpoint length too large");
		fill_bytes(ep, p->ep, sizeof(p->ep), p->ep_len);
		if (p->ep_family >= 0 && p->ep_len >= 2)
			*(uint16_t *)ep = p->ep_family;
		nb_put(b, WGPEER_A_ENDPOINT, ep, p->ep_len, "endpoint");
	}
	if (p->keepalive >= 0)
		nb_u16(b, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->keepalive,
		       "persistent-keepalive");
	if (p->version >= 0)
		nb_u32(b, WGPEER_A_PROTOCOL_VERSION, p->version,
		       "protocol-version");
	put_raws(b, &p->raw);
	if (!p->naips)
		return;
	nb_nest_begin(b, WGPEER_A_ALLOWEDIPS, "allowedips");
	for (i = 0; i < p->naips; i++) {
		snprintf(name, sizeof(name), "%d", i);
		nb_nest_begin(b, i, name);
		build_aip(b, &p->aips[i]);
		nb_nest_end(b);
	}
	nb_nest_end(b);
}

static void build_device(struct nlbuf *b, const struct device *d)
{
	char name[32];
	int i;

	if (d->ifindex >= 0)
		nb_u32(b, WGDEVICE_A_IFINDEX, d->ifindex, "ifindex");
	if (d->ifname)
		nb_put(b, WGDEVICE_A_IFNAME, d->ifname, strlen(d->ifname) + 1,
		       "ifname");
	if (d->priv_len >= 0)
		put_key(b, WGDEVICE_A_PRIVATE_KEY, d->priv, d->priv_len,
			"private-key");
	if (d->pub_len >= 0)
		put_key(b, WGDEVICE_A_PUBLIC_KEY, d->pub, d->pub_len,
			"public-key");
	if (d->flags >= 0)
		nb_u32(b, WGDEVICE_A_FLAGS, d->flags, "flags");
	if (d->port >= 0)
		nb_u16(b, WGDEVICE_A_LISTEN_PORT, d->port, "listen-port");
	if (d->fwmark >= 0)
		nb_u32(b, WGDEVICE_A_FWMARK, d->fwmark, "fwmark");
	put_raws(b, &d->raw);
	if (!d->npeers)
		return;
	nb_nest_begin(b, WGDEVICE_A_PEERS, "peers");
	for (i = 0; i < d->npeers; i++) {
		snprintf(name, sizeof(name), "%d", i);
		nb_nest_begin(b, i, name);
		build_peer(b, &d->peers[i]);
		nb_nest_end(b);
	}
	nb_nest_end(b);
}

static void parse_endpoint(const char *s, struct peer *p)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)p->ep;
	struct sockaddr_in *s4 = (struct sockaddr_in *)p->ep;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned long port;
	size_t hl;

	memset(p->ep, 0, sizeof(p->ep));
	colon = strrchr(s, ':');
	if (!colon)
		die("bad endpoint '%s'", s);
	port = parse_num(colon + 1, 65535);
	hl = colon - s;
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']' || hl - 2 >= sizeof(host))
			die("bad endpoint '%s'", s);
		memcpy(host, s + 1, hl - 2);
		host[hl - 2] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			die("bad endpoint '%s'", s);
		p->ep_len = sizeof(*s6);
	} else {
		if (hl >= sizeof(host))
			die("bad endpoint '%s'", s);
		memcpy(host, s, hl);
		host[hl] = '\0';
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			die("bad endpoint '%s'", s);
		p->ep_len = sizeof(*s4);
	}
}

static void parse_prefix(const char *s, struct aip *a)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);

	if (hl >= sizeof(host))
		die("bad prefix '%s'", s);
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(a->addr, 0, sizeof(a->addr));
	if (inet_pton(AF_INET, host, a->addr) == 1) {
		a->family = AF_INET;
		a->addr_len = 4;
		a->cidr = slash ? (int)parse_num(slash + 1, 255) : 32;
	} else if (inet_pton(AF_INET6, host, a->addr) == 1) {
		a->family = AF_INET6;
		a->addr_len = 16;
		a->cidr = slash ? (int)parse_num(slash + 1, 255) : 128;
	} else {
		die("bad prefix '%s'", s);
	}
}

static void add_raw(struct raws *r, char **argv, int *i, int argc)
{
	if (*i + 2 >= argc)
		die("--attr wants TYPE HEX");
	if (r->n == MAX_RAW)
		die("too many --attr");
	r->r[r->n].type = parse_num(argv[*i + 1], 0xffff);
	r->r[r->n].len = parse_hex(argv[*i + 2], r->r[r->n].data,
				   sizeof(r->r[r->n].data));
	r->n++;
	*i += 2;
}

static const char *next_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		die("%s wants an argument", argv[*i]);
	return argv[++*i];
}

/* set [IFNAME] ...: see the usage at the top. */
static void parse_set(int argc, char **argv, struct device *d)
{
	struct peer *p = NULL;
	struct aip *a = NULL;
	const char *arg;
	int i = 0;

	memset(d, 0, sizeof(*d));
	d->ifindex = -1;
	d->flags = -1;
	d->port = -1;
	d->fwmark = -1;
	d->priv_len = -1;
	d->pub_len = -1;
	if (argc > 0 && argv[0][0] != '-' && strcmp(argv[0], "peer") &&
	    strcmp(argv[0], "private-key") && strcmp(argv[0], "public-key") &&
	    strcmp(argv[0], "listen-port") && strcmp(argv[0], "fwmark") &&
	    strcmp(argv[0], "replace-peers"))
		d->ifname = argv[i++];
	for (; i < argc; i++) {
		arg = argv[i];
		if (!strcmp(arg, "peer")) {
			d->peers = xrealloc(d->peers,
					    (d->npeers + 1) * sizeof(*p));
			p = &d->peers[d->npeers++];
			memset(p, 0, sizeof(*p));
			p->psk_len = -1;
			p->ep_len = -1;
			p->ep_family = -1;
			p->flags = -1;
			p->version = -1;
			p->keepalive = -1;
			p->key_len = WG_KEY_LEN;
			a = NULL;
			arg = next_arg(argc, argv, &i);
			if (strcmp(arg, "none")) {
				parse_key(arg, p->key);
				p->has_key = 1;
			}
		} else if (!strcmp(arg, "allowedip")) {
			if (!p)
				die("allowedip outside a peer");
			p->aips = xrealloc(p->aips,
					   (p->naips + 1) * sizeof(*a));
			a = &p->aips[p->naips++];
			memset(a, 0, sizeof(*a));
			a->flags = -1;
			parse_prefix(next_arg(argc, argv, &i), a);
		} else if (!strcmp(arg, "--attr")) {
			add_raw(a ? &a->raw : p ? &p->raw : &d->raw, argv, &i,
				argc);
		} else if (a) {
			if (!strcmp(arg, "remove"))
				a->flags = (a->flags < 0 ? 0 : a->flags) |
					   WGALLOWEDIP_F_REMOVE_ME;
			else if (!strcmp(arg, "--allowedip-flags"))
				a->flags = parse_num(next_arg(argc, argv, &i),
						     UINT32_MAX);
			else if (!strcmp(arg, "--cidr"))
				a->cidr = parse_num(next_arg(argc, argv, &i),
						    255);
			else if (!strcmp(arg, "--family"))
				a->family = parse_num(next_arg(argc, argv, &i),
						      0xffff);
			else if (!strcmp(arg, "--addr-len"))
				a->addr_len = parse_num(next_arg(argc, argv, &i),
							64);
			else if (!strcmp(arg, "--no-family"))
				a->family = -1;
			else if (!strcmp(arg, "--no-addr"))
				a->addr_len = -1;
			else if (!strcmp(arg, "--no-cidr"))
				a->cidr = -1;
			else
				die("unknown allowed-IP option '%s'", arg);
		} else if (p) {
			long long f = p->flags < 0 ? 0 : p->flags;

			if (!strcmp(arg, "remove")) {
				p->flags = f | WGPEER_F_REMOVE_ME;
			} else if (!strcmp(arg, "replace-allowed-ips")) {
				p->flags = f | WGPEER_F_REPLACE_ALLOWEDIPS;
			} else if (!strcmp(arg, "update-only")) {
				p->flags = f | WGPEER_F_UPDATE_ONLY;
			} else if (!strcmp(arg, "--peer-flags")) {
				p->flags = parse_num(next_arg(argc, argv, &i),
						     UINT32_MAX);
			} else if (!strcmp(arg, "preshared-key")) {
				parse_key(next_arg(argc, argv, &i), p->psk);
				if (p->psk_len < 0)
					p->psk_len = WG_KEY_LEN;
			} else if (!strcmp(arg, "--psk-len")) {
				p->psk_len = parse_num(next_arg(argc, argv, &i),
						       512);
			} else if (!strcmp(arg, "endpoint")) {
				parse_endpoint(next_arg(argc, argv, &i), p);
			} else if (!strcmp(arg, "--endpoint-len")) {
				if (p->ep_len < 0) /* default 127.0.0.1:1 */
					parse_endpoint("127.0.0.1:1", p);
				p->ep_len = parse_num(next_arg(argc, argv, &i),
						      256);
			} else if (!strcmp(arg, "--endpoint-family")) {
				if (p->ep_len < 0)
					parse_endpoint("127.0.0.1:1", p);
				p->ep_family = parse_num(next_arg(argc, argv, &i),
							 0xffff);
			} else if (!strcmp(arg, "persistent-keepalive")) {
				p->keepalive = parse_num(next_arg(argc, argv, &i),
							 0xffff);
			} else if (!strcmp(arg, "--protocol-version")) {
				p->version = parse_num(next_arg(argc, argv, &i),
						       UINT32_MAX);
			} else if (!strcmp(arg, "--key-len")) {
				p->key_len = parse_num(next_arg(argc, argv, &i),
						       512);
			} else {
				die("unknown peer option '%s'", arg);
			}
		} else {
			long long f = d->flags < 0 ? 0 : d->flags;

			if (!strcmp(arg, "--ifindex")) {
				d->ifindex = parse_num(next_arg(argc, argv, &i),
						       UINT32_MAX);
			} else if (!strcmp(arg, "private-key")) {
				parse_key(next_arg(argc, argv, &i), d->priv);
				if (d->priv_len < 0)
					d->priv_len = WG_KEY_LEN;
			} else if (!strcmp(arg, "public-key")) {
				parse_key(next_arg(argc, argv, &i), d->pub);
				d->pub_len = WG_KEY_LEN;
			} else if (!strcmp(arg, "--key-len")) {
				if (d->priv_len < 0)
					memset(d->priv, 0x11, sizeof(d->priv));
				d->priv_len = parse_num(next_arg(argc, argv, &i),
							512);
			} else if (!strcmp(arg, "listen-port")) {
				d->port = parse_num(next_arg(argc, argv, &i),
						    0xffff);
			} else if (!strcmp(arg, "fwmark")) {
				d->fwmark = parse_num(next_arg(argc, argv, &i),
						      UINT32_MAX);
			} else if (!strcmp(arg, "replace-peers")) {
				d->flags = f | WGDEVICE_F_REPLACE_PEERS;
			} else if (!strcmp(arg, "--device-flags")) {
				d->flags = parse_num(next_arg(argc, argv, &i),
						     UINT32_MAX);
			} else {
				die("unknown device option '%s'", arg);
			}
		}
	}
}

static int cmd_set(uint16_t family, int argc, char **argv, int no_nest_flag)
{
	struct nl_error e;
	struct device d;
	struct nlbuf b;
	int i;

	parse_set(argc, argv, &d);
	nb_init(&b, family, NLM_F_ACK, WG_CMD_SET_DEVICE, WG_GENL_VERSION);
	b.nested_flag = !no_nest_flag;
	build_device(&b, &d);
	nl_send(&b);
	if (nl_wait_ack(&e)) {
		print_error(&e, &b);
		return 1;
	}
	for (i = 0; i < d.npeers; i++)
		free(d.peers[i].aips);
	free(d.peers);
	nb_free(&b);
	return 0;
}

/* --- cycles ----------------------------------------------------------- */

static int rt_fd = -1;

/* An rtnetlink link request: the header and its ifinfomsg. */
static void nb_init_link(struct nlbuf *b, uint16_t type, uint16_t flags,
			 int ifindex, unsigned int ifi_flags)
{
	const size_t hdr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg));
	struct ifinfomsg *ifi;
	struct nlmsghdr *nh;

	memset(b, 0, sizeof(*b));
	nb_reserve(b, hdr);
	memset(b->data, 0, hdr);
	nh = (struct nlmsghdr *)b->data;
	nh->nlmsg_type = type;
	nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	ifi = (struct ifinfomsg *)(b->data + NLMSG_HDRLEN);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = ifi_flags;
	ifi->ifi_change = ifi_flags;
	b->len = hdr;
}

/* Sends @b on @fd and waits for its ack; 0 or a positive errno. */
static int nl_call(int fd, struct nlbuf *b, struct nl_error *e)
{
	int genl_fd = nl_fd, err;

	/* nl_send() and nl_wait_ack() use nl_fd. */
	nl_fd = fd;
	nl_send(b);
	err = nl_wait_ack(e);
	nl_fd = genl_fd;
	nb_free(b);
	return err;
}

static int cycle_failed(const char *step, unsigned long i, int err,
			struct nl_error *e)
{
	fprintf(stderr, "cycle %lu: %s failed\n", i + 1, step);
	if (err)
		print_error(e, NULL);
	return 1;
}

static int cmd_cycles(uint16_t family, int argc, char **argv)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	unsigned long n, i;
	long long port;
	struct nl_error e;
	const char *kind;
	struct device d;
	struct nlbuf b;
	int ifindex;

	if (argc < 3)
		die("cycles wants N KIND IFNAME [SET-OPTS...]");
	n = parse_num(argv[0], 1000000);
	kind = argv[1];
	parse_set(argc - 2, argv + 2, &d);
	if (!d.ifname)
		die("cycles wants an IFNAME");
	port = d.port;
	rt_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (rt_fd < 0 || bind(rt_fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("rtnetlink socket: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		nb_init_link(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, 0);
		b.nested_flag = 0;
		nb_put(&b, IFLA_IFNAME, d.ifname, strlen(d.ifname) + 1,
		       "ifname");
		nb_nest_begin(&b, IFLA_LINKINFO, "linkinfo");
		nb_put(&b, IFLA_INFO_KIND, kind, strlen(kind), "kind");
		nb_nest_end(&b);
		if (nl_call(rt_fd, &b, &e))
			return cycle_failed("create", i, e.err, &e);
		ifindex = if_nametoindex(d.ifname);
		if (!ifindex)
			return cycle_failed("if_nametoindex", i, 0, &e);

		if (port >= 0)
			d.port = (port + i % 1000) & 0xffff;
		nb_init(&b, family, NLM_F_ACK, WG_CMD_SET_DEVICE,
			WG_GENL_VERSION);
		build_device(&b, &d);
		if (nl_call(nl_fd, &b, &e))
			return cycle_failed("set", i, e.err, &e);

		nb_init_link(&b, RTM_NEWLINK, 0, ifindex, IFF_UP);
		if (nl_call(rt_fd, &b, &e))
			return cycle_failed("up", i, e.err, &e);

		nb_init_link(&b, RTM_DELLINK, 0, ifindex, 0);
		if (nl_call(rt_fd, &b, &e))
			return cycle_failed("delete", i, e.err, &e);
	}
	printf("cycles=%lu\n", n);
	return 0;
}

/* --- dump ------------------------------------------------------------- */

struct dump_state {
	int verbose;
	unsigned long messages, peers, peer_entries, allowedips;
	int intr, have_last;
	unsigned char last_key[WG_KEY_LEN];
};

static void dump_aip(const struct nlattr *nest, struct dump_state *s)
{
	char str[INET6_ADDRSTRLEN] = "?";
	const struct nlattr *a;
	int family = -1, cidr = -1;
	const void *addr = NULL;

	for_each_attr(a, ATTR_DATA(nest), ATTR_LEN(nest)) {
		switch (a->nla_type & NLA_TYPE_MASK) {
		case WGALLOWEDIP_A_FAMILY:
			if (ATTR_LEN(a) >= 2)
				family = *(uint16_t *)ATTR_DATA(a);
			break;
		case WGALLOWEDIP_A_IPADDR:
			addr = ATTR_DATA(a);
			break;
		case WGALLOWEDIP_A_CIDR_MASK:
			if (ATTR_LEN(a) >= 1)
				cidr = *ATTR_DATA(a);
			break;
		}
	}
	s->allowedips++;
	if (!s->verbose)
		return;
	if (addr && (family == AF_INET || family == AF_INET6))
		inet_ntop(family, addr, str, sizeof(str));
	printf("  allowedip %s/%d\n", str, cidr);
}

static void dump_peer(const struct nlattr *nest, struct dump_state *s)
{
	const unsigned char *key = NULL;
	const struct nlattr *a, *ai;

	for_each_attr(a, ATTR_DATA(nest), ATTR_LEN(nest))
		if ((a->nla_type & NLA_TYPE_MASK) == WGPEER_A_PUBLIC_KEY &&
		    ATTR_LEN(a) == WG_KEY_LEN)
			key = ATTR_DATA(a);
	s->peer_entries++;
	if (!key || !s->have_last || memcmp(key, s->last_key, WG_KEY_LEN)) {
		s->peers++;
		if (s->verbose) {
			printf("peer ");
			if (key)
				print_key(stdout, key);
			else
				printf("(no key)");
			printf("\n");
		}
	} else if (s->verbose) {
		printf("peer continued\n");
	}
	s->have_last = !!key;
	if (key)
		memcpy(s->last_key, key, WG_KEY_LEN);
	for_each_attr(a, ATTR_DATA(nest), ATTR_LEN(nest))
		if ((a->nla_type & NLA_TYPE_MASK) == WGPEER_A_ALLOWEDIPS)
			for_each_attr(ai, ATTR_DATA(a), ATTR_LEN(a))
				dump_aip(ai, s);
}

static void dump_cb(const struct nlmsghdr *nh, void *arg)
{
	const unsigned char *p = (const unsigned char *)NLMSG_DATA(nh) + GENL_HDRLEN;
	size_t len = nh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	struct dump_state *s = arg;
	const struct nlattr *a, *pa;

	s->messages++;
	if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
		s->intr = 1;
	for_each_attr(a, p, len) {
		uint16_t t = a->nla_type & NLA_TYPE_MASK;

		if (t == WGDEVICE_A_PEERS) {
			for_each_attr(pa, ATTR_DATA(a), ATTR_LEN(a))
				dump_peer(pa, s);
		} else if (s->verbose && t == WGDEVICE_A_LISTEN_PORT &&
			   ATTR_LEN(a) >= 2) {
			printf("listen-port %u\n", *(uint16_t *)ATTR_DATA(a));
		} else if (s->verbose && t == WGDEVICE_A_PUBLIC_KEY &&
			   ATTR_LEN(a) == WG_KEY_LEN) {
			printf("public-key ");
			print_key(stdout, ATTR_DATA(a));
			printf("\n");
		}
	}
}

static int cmd_dump(uint16_t family, int argc, char **argv)
{
	struct dump_state s = { 0 };
	const char *ifname = NULL;
	long long ifindex = -1;
	struct nl_error e;
	struct nlbuf b;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			s.verbose = 1;
		else if (!strcmp(argv[i], "--ifindex"))
			ifindex = parse_num(next_arg(argc, argv, &i), UINT32_MAX);
		else if (!ifname && argv[i][0] != '-')
			ifname = argv[i];
		else
			die("unknown dump argument '%s'", argv[i]);
	}
	nb_init(&b, family, NLM_F_DUMP, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
	if (ifindex >= 0)
		nb_u32(&b, WGDEVICE_A_IFINDEX, ifindex, "ifindex");
	if (ifname)
		nb_put(&b, WGDEVICE_A_IFNAME, ifname, strlen(ifname) + 1,
		       "ifname");
	nl_send(&b);
	if (nl_dump(&e, family, dump_cb, &s)) {
		print_error(&e, &b);
		return 1;
	}
	printf("messages=%lu peers=%lu peer_entries=%lu allowedips=%lu intr=%d\n",
	       s.messages, s.peers, s.peer_entries, s.allowedips, s.intr);
	nb_free(&b);
	return 0;
}

/* --- fuzz ------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: tiny, and good enough to pick attributes */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rn(unsigned int n)
{
	return n ? rnd() % n : 0;
}

/* true with probability pct/100 */
static int chance(unsigned int pct)
{
	return rn(100) < pct;
}

static void rnd_bytes(unsigned char *p, size_t n)
{
	while (n--)
		*p++ = rnd();
}

/* A payload of the right size for a known type most of the time. */
static void fuzz_attr(struct nlbuf *b, uint16_t type, size_t good_len,
		      const char *name)
{
	unsigned char data[80];
	size_t len = chance(80) ? good_len : rn(sizeof(data));

	rnd_bytes(data, len);
	nb_put(b, type, data, len, name);
}

static void fuzz_flags(struct nlbuf *b, uint16_t type, unsigned int all,
		       const char *name)
{
	uint32_t v = chance(85) ? rn(all + 1) : (uint32_t)rnd();

	if (chance(90))
		nb_put(b, type, &v, sizeof(v), name);
	else
		fuzz_attr(b, type, 4, name);
}

static unsigned char fuzz_keys[8][WG_KEY_LEN];

/*
 * fuzz --keep: the requests leave alone what the device's own tunnel
 * needs.  (The choices made without --keep are unchanged: the same seed
 * gives the same requests as before.)
 */
static int fuzz_keep;

/*
 * A device attribute type that --keep may send: not the private key, the
 * flags (replace-peers) or the listen port, whose random values would
 * break the tunnel or bind port 0.
 */
static uint16_t keep_dev_type(uint16_t type)
{
	if (fuzz_keep && (type == WGDEVICE_A_PRIVATE_KEY ||
			  type == WGDEVICE_A_FLAGS ||
			  type == WGDEVICE_A_LISTEN_PORT))
		return WGDEVICE_A_MAX + 1;
	return type;
}

static void fuzz_aip(struct nlbuf *b)
{
	unsigned char addr[16];
	int v6 = chance(50), i, n = rn(5);

	for (i = 0; i < n; i++) {
		switch (rn(6)) {
		case 0: {
			uint16_t f = chance(90) ? (v6 ? AF_INET6 : AF_INET) : rn(64);

			nb_u16(b, WGALLOWEDIP_A_FAMILY, f, "family");
			break;
		}
		case 1:
			rnd_bytes(addr, sizeof(addr));
			nb_put(b, WGALLOWEDIP_A_IPADDR, addr,
			       chance(85) ? (v6 ? 16 : 4) : rn(17), "ipaddr");
			break;
		case 2:
			nb_u8(b, WGALLOWEDIP_A_CIDR_MASK,
			      chance(85) ? rn(v6 ? 129 : 33) : rn(256),
			      "cidr-mask");
			break;
		case 3:
			fuzz_flags(b, WGALLOWEDIP_A_FLAGS,
				   WGALLOWEDIP_F_REMOVE_ME, "flags");
			break;
		default:
			/* the common case: a complete entry */
			nb_u16(b, WGALLOWEDIP_A_FAMILY, v6 ? AF_INET6 : AF_INET,
			       "family");
			rnd_bytes(addr, sizeof(addr));
			nb_put(b, WGALLOWEDIP_A_IPADDR, addr, v6 ? 16 : 4,
			       "ipaddr");
			nb_u8(b, WGALLOWEDIP_A_CIDR_MASK, rn(v6 ? 129 : 33),
			      "cidr-mask");
			if (chance(20))
				nb_u32(b, WGALLOWEDIP_A_FLAGS, rn(2), "flags");
			return;
		}
	}
	if (chance(5))
		fuzz_attr(b, rn(WGALLOWEDIP_A_MAX + 3), rn(9), "random");
}

static void fuzz_peer(struct nlbuf *b)
{
	unsigned char ep[sizeof(struct sockaddr_in6)] = { 0 };
	int i, j, n;

	if (chance(92))
		nb_put(b, WGPEER_A_PUBLIC_KEY, fuzz_keys[rn(8)], WG_KEY_LEN,
		       "public-key");
	else
		fuzz_attr(b, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, "public-key");
	n = rn(5);
	for (i = 0; i < n; i++) {
		switch (rn(8)) {
		case 0:
			fuzz_attr(b, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN,
				  "preshared-key");
			break;
		case 1:
			fuzz_flags(b, WGPEER_A_FLAGS, 7, "flags");
			break;
		case 2:
			if (chance(50)) {
				struct sockaddr_in *s4 = (void *)ep;

				s4->sin_family = AF_INET;
				s4->sin_port = rnd();
				s4->sin_addr.s_addr = htonl(0x7f000001);
				nb_put(b, WGPEER_A_ENDPOINT, ep,
				       chance(90) ? sizeof(*s4) : rn(sizeof(ep) + 1),
				       "endpoint");
			} else {
				struct sockaddr_in6 *s6 = (void *)ep;

				s6->sin6_family = AF_INET6;
				s6->sin6_port = rnd();
				s6->sin6_addr.s6_addr[15] = 1;
				nb_put(b, WGPEER_A_ENDPOINT, ep,
				       chance(90) ? sizeof(*s6) : rn(sizeof(ep) + 1),
				       "endpoint");
			}
			break;
		case 3:
			fuzz_attr(b, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 2,
				  "persistent-keepalive");
			break;
		case 4:
			nb_u32(b, WGPEER_A_PROTOCOL_VERSION,
			       chance(80) ? 1 : rn(4), "protocol-version");
			break;
		case 5:
			fuzz_attr(b, WGPEER_A_LAST_HANDSHAKE_TIME + rn(3),
				  rn(2) ? 16 : 8, "counters");
			break;
		case 6:
			fuzz_attr(b, rn(WGPEER_A_MAX + 3), rn(17), "random");
			break;
		default:
			b->nested_flag = !chance(5);
			nb_nest_begin(b, WGPEER_A_ALLOWEDIPS, "allowedips");
			for (j = rn(4); j > 0; j--) {
				nb_nest_begin(b, rn(4), "aip");
				fuzz_aip(b);
				nb_nest_end(b);
			}
			nb_nest_end(b);
			b->nested_flag = 1;
			break;
		}
	}
}

static void fuzz_message(struct nlbuf *b, uint16_t family, const char *ifname,
			 unsigned int ifindex)
{
	int get = chance(15), i, n;

	nb_init(b, family, get ? NLM_F_DUMP : NLM_F_ACK,
		get ? WG_CMD_GET_DEVICE : (chance(97) ? WG_CMD_SET_DEVICE : rn(5)),
		chance(97) ? WG_GENL_VERSION : rn(4));
	switch (rn(20)) {
	case 0:
		break;				/* neither */
	case 1:
		nb_u32(b, WGDEVICE_A_IFINDEX, ifindex, "ifindex");
		nb_put(b, WGDEVICE_A_IFNAME, ifname, strlen(ifname) + 1,
		       "ifname");
		break;
	case 2:
	case 3:
		nb_u32(b, WGDEVICE_A_IFINDEX, chance(50) ? ifindex : rn(64),
		       "ifindex");
		break;
	case 4:
		fuzz_attr(b, WGDEVICE_A_IFNAME, strlen(ifname) + 1, "ifname");
		break;
	default:
		nb_put(b, WGDEVICE_A_IFNAME, ifname, strlen(ifname) + 1,
		       "ifname");
		break;
	}
	if (get)
		return;
	n = rn(4);
	for (i = 0; i < n; i++) {
		switch (rn(6)) {
		case 0:
			/* --keep: the public key attribute only (ignored) */
			fuzz_attr(b, fuzz_keep ? WGDEVICE_A_PUBLIC_KEY :
				  WGDEVICE_A_PRIVATE_KEY + rn(2), WG_KEY_LEN,
				  "key");
			break;
		case 1:
			if (fuzz_keep)
				nb_u32(b, WGDEVICE_A_FLAGS, chance(80) ? 0 :
				       rnd() & ~(uint32_t)WGDEVICE_F_REPLACE_PEERS,
				       "flags");
			else
				fuzz_flags(b, WGDEVICE_A_FLAGS,
					   WGDEVICE_F_REPLACE_PEERS, "flags");
			break;
		case 2:
			/* random ports would collide; keep them in a range */
			nb_u16(b, WGDEVICE_A_LISTEN_PORT,
			       fuzz_keep || chance(90) ? 40000 + rn(64) : rnd(),
			       "listen-port");
			break;
		case 3:
			fuzz_attr(b, WGDEVICE_A_FWMARK, 4, "fwmark");
			break;
		default:
			fuzz_attr(b, keep_dev_type(rn(WGDEVICE_A_MAX + 3)),
				  rn(40), "random");
			break;
		}
	}
	if (chance(70)) {
		b->nested_flag = !chance(3);
		nb_nest_begin(b, WGDEVICE_A_PEERS, "peers");
		b->nested_flag = !chance(3);
		for (n = rn(4); n > 0; n--) {
			nb_nest_begin(b, rn(8), "peer");
			b->nested_flag = 1;
			fuzz_peer(b);
			nb_nest_end(b);
		}
		nb_nest_end(b);
		b->nested_flag = 1;
	}
	if (chance(3))
		fuzz_attr(b, keep_dev_type(rn(16)), rn(8), "trailing");
}

/*
 * Rare shapes, at most one per message: a chain of nests thousands deep, a
 * peer list or an allowed-IP list as large as a nest can hold, an attribute
 * of the maximum length.
 */
static void fuzz_deep(struct nlbuf *b, uint16_t type)
{
	unsigned int depth = 1 + rn(chance(50) ? 16 : 4000), i;
	size_t len = depth * NLA_HDRLEN + 4;
	unsigned char *blob = calloc(len, 1);

	if (!blob)
		die("out of memory");
	for (i = 0; i < depth; i++) {
		struct nlattr *a = (struct nlattr *)(blob + i * NLA_HDRLEN);

		a->nla_len = len - i * NLA_HDRLEN;
		a->nla_type = (chance(80) ? NLA_F_NESTED : 0) | rn(12);
	}
	rnd_bytes(blob + depth * NLA_HDRLEN, 4);
	nb_put(b, type | NLA_F_NESTED, blob, len, "deep");
	free(blob);
}

/* Room left in the nest opened last, keeping a margin for one entry. */
static int nest_room(const struct nlbuf *b, size_t need)
{
	return b->len - b->nest[b->depth - 1] + need < 0xffff - 64;
}

static void fuzz_aip_entry(struct nlbuf *b, int remove)
{
	unsigned char addr[16] = { 10, (unsigned char)rn(4), (unsigned char)rn(256) };
	int v6 = chance(20);

	if (v6) {
		addr[0] = 0xfd;
		rnd_bytes(addr + 2, 2);
	}
	nb_nest_begin(b, 0, "aip");
	nb_u16(b, WGALLOWEDIP_A_FAMILY, v6 ? AF_INET6 : AF_INET, "family");
	nb_put(b, WGALLOWEDIP_A_IPADDR, addr, v6 ? 16 : 4, "ipaddr");
	nb_u8(b, WGALLOWEDIP_A_CIDR_MASK,
	      chance(1) ? 200 : (v6 ? 32 + rn(97) : 16 + rn(17)), "cidr-mask");
	if (remove)
		nb_u32(b, WGALLOWEDIP_A_FLAGS, WGALLOWEDIP_F_REMOVE_ME, "flags");
	nb_nest_end(b);
}

static void fuzz_huge(struct nlbuf *b)
{
	unsigned char key[WG_KEY_LEN];
	unsigned int i, n;

	nb_nest_begin(b, WGDEVICE_A_PEERS, "peers");
	if (chance(50)) {
		/* many peers */
		n = 50 + rn(1500);
		for (i = 0; i < n && nest_room(b, 200); i++) {
			nb_nest_begin(b, 0, "peer");
			/* --keep: no replace-peers will remove them */
			if (fuzz_keep || chance(10))
				memcpy(key, fuzz_keys[rn(8)], WG_KEY_LEN);
			else
				rnd_bytes(key, WG_KEY_LEN);
			nb_put(b, WGPEER_A_PUBLIC_KEY, key, WG_KEY_LEN,
			       "public-key");
			if (chance(5))
				nb_u32(b, WGPEER_A_FLAGS, rn(8), "flags");
			if (chance(30)) {
				nb_nest_begin(b, WGPEER_A_ALLOWEDIPS,
					      "allowedips");
				fuzz_aip_entry(b, chance(10));
				nb_nest_end(b);
			}
			nb_nest_end(b);
		}
	} else {
		/* one peer, many prefixes */
		nb_nest_begin(b, 0, "peer");
		nb_put(b, WGPEER_A_PUBLIC_KEY, fuzz_keys[rn(8)], WG_KEY_LEN,
		       "public-key");
		if (chance(30))
			nb_u32(b, WGPEER_A_FLAGS, rn(8), "flags");
		nb_nest_begin(b, WGPEER_A_ALLOWEDIPS, "allowedips");
		n = 100 + rn(3000);
		for (i = 0; i < n && nest_room(b, 80); i++)
			fuzz_aip_entry(b, chance(10));
		nb_nest_end(b);
		nb_nest_end(b);
	}
	nb_nest_end(b);
}

/* --- fuzz: the model ------------------------------------------------- */

/*
 * What the device's configuration must be, given the requests the kernel
 * accepted: an accepted request is applied completely, in the documented
 * order, and a refused one changes nothing.  The device is down while the
 * model is kept, so no listen port can fail to bind, and the fuzzer's keys
 * never match the device's own public key.  With --keep the device may be
 * up: its listen port moves within 40000-40063 only, which nothing else
 * in its namespace may bind, and only the device's own tunnel carries
 * traffic (its peer's endpoint stays, the fuzzer's peers never handshake).
 */
#define M_PHASH		BIT(14)
#define M_XHASH		BIT(16)

struct mpeer {
	unsigned char key[WG_KEY_LEN], psk[WG_KEY_LEN];
	unsigned char ep[sizeof(struct sockaddr_in6)];
	size_t eplen;
	uint16_t keepalive;
	int head, hnext, npfx, alive;
};

struct mpfx {
	unsigned char family, cidr, addr[16];
	int peer, pnext, pprev, hnext;
};

static struct {
	int has_priv;
	unsigned char priv[WG_KEY_LEN];
	uint16_t port;
	uint32_t fwmark;
	struct mpeer *peers;
	int npeers, cap, free_peer, live;
	struct mpfx *pfx;
	int npfx, pcap, free_pfx, live_pfx;
	int phash[M_PHASH], xhash[M_XHASH];
} M;

static void model_init(void)
{
	memset(&M, 0, sizeof(M));
	memset(M.phash, 0xff, sizeof(M.phash));
	memset(M.xhash, 0xff, sizeof(M.xhash));
	M.free_peer = -1;
	M.free_pfx = -1;
}

static unsigned int hash_bytes(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static int m_peer_find(const unsigned char *key)
{
	int i = M.phash[hash_bytes(key, WG_KEY_LEN) % M_PHASH];

	for (; i >= 0; i = M.peers[i].hnext)
		if (!memcmp(M.peers[i].key, key, WG_KEY_LEN))
			return i;
	return -1;
}

static int m_peer_new(const unsigned char *key)
{
	unsigned int h = hash_bytes(key, WG_KEY_LEN) % M_PHASH;
	int i;

	if (M.free_peer >= 0) {
		i = M.free_peer;
		M.free_peer = M.peers[i].hnext;
	} else {
		if (M.npeers == M.cap) {
			M.cap = M.cap ? M.cap * 2 : 1024;
			M.peers = xrealloc(M.peers, M.cap * sizeof(*M.peers));
		}
		i = M.npeers++;
	}
	memset(&M.peers[i], 0, sizeof(M.peers[i]));
	memcpy(M.peers[i].key, key, WG_KEY_LEN);
	M.peers[i].head = -1;
	M.peers[i].alive = 1;
	M.peers[i].hnext = M.phash[h];
	M.phash[h] = i;
	M.live++;
	return i;
}

static unsigned int pfx_hash(const struct mpfx *x)
{
	return hash_bytes(&x->family, 18) % M_XHASH;
}

static int m_pfx_find(const struct mpfx *k)
{
	int i = M.xhash[pfx_hash(k)];

	for (; i >= 0; i = M.pfx[i].hnext)
		if (!memcmp(&M.pfx[i].family, &k->family, 18))
			return i;
	return -1;
}

static void m_pfx_unlink_peer(int i)
{
	struct mpfx *x = &M.pfx[i];
	struct mpeer *p = &M.peers[x->peer];

	if (x->pprev >= 0)
		M.pfx[x->pprev].pnext = x->pnext;
	else
		p->head = x->pnext;
	if (x->pnext >= 0)
		M.pfx[x->pnext].pprev = x->pprev;
	p->npfx--;
}

static void m_pfx_link_peer(int i, int peer)
{
	struct mpfx *x = &M.pfx[i];
	struct mpeer *p = &M.peers[peer];

	x->peer = peer;
	x->pprev = -1;
	x->pnext = p->head;
	if (p->head >= 0)
		M.pfx[p->head].pprev = i;
	p->head = i;
	p->npfx++;
}

static void m_pfx_free(int i)
{
	int *pp = &M.xhash[pfx_hash(&M.pfx[i])];

	m_pfx_unlink_peer(i);
	while (*pp != i)
		pp = &M.pfx[*pp].hnext;
	*pp = M.pfx[i].hnext;
	M.pfx[i].hnext = M.free_pfx;
	M.free_pfx = i;
	M.live_pfx--;
}

static void m_peer_clear_pfx(int peer)
{
	while (M.peers[peer].head >= 0)
		m_pfx_free(M.peers[peer].head);
}

static void m_peer_remove(int i)
{
	int *pp = &M.phash[hash_bytes(M.peers[i].key, WG_KEY_LEN) % M_PHASH];

	m_peer_clear_pfx(i);
	while (*pp != i)
		pp = &M.peers[*pp].hnext;
	*pp = M.peers[i].hnext;
	M.peers[i].alive = 0;
	M.peers[i].hnext = M.free_peer;
	M.free_peer = i;
	M.live--;
}

static void m_pfx_key(struct mpfx *k, int family, const unsigned char *addr,
		      int cidr)
{
	int len = family == AF_INET ? 4 : 16, i;

	memset(k, 0, sizeof(*k));
	k->family = family == AF_INET ? 4 : 6;
	k->cidr = cidr;
	memcpy(k->addr, addr, len);
	for (i = 0; i < len; i++) {
		int bits = cidr - i * 8;

		if (bits <= 0)
			k->addr[i] = 0;
		else if (bits < 8)
			k->addr[i] &= 0xff << (8 - bits);
	}
}

static void m_pfx_add(int peer, const struct mpfx *k)
{
	int i = m_pfx_find(k);
	unsigned int h;

	if (i >= 0) {
		if (M.pfx[i].peer != peer) {
			m_pfx_unlink_peer(i);
			m_pfx_link_peer(i, peer);
		}
		return;
	}
	if (M.free_pfx >= 0) {
		i = M.free_pfx;
		M.free_pfx = M.pfx[i].hnext;
	} else {
		if (M.npfx == M.pcap) {
			M.pcap = M.pcap ? M.pcap * 2 : 4096;
			M.pfx = xrealloc(M.pfx, M.pcap * sizeof(*M.pfx));
		}
		i = M.npfx++;
	}
	M.pfx[i] = *k;
	h = pfx_hash(k);
	M.pfx[i].hnext = M.xhash[h];
	M.xhash[h] = i;
	m_pfx_link_peer(i, peer);
	M.live_pfx++;
}

/* nla_parse: the last of several attributes of one type wins. */
static void parse_last(const struct nlattr *nest, const unsigned char *p,
		       size_t len, const struct nlattr **tb, int max)
{
	const struct nlattr *a;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (nest) {
		p = ATTR_DATA(nest);
		len = ATTR_LEN(nest);
	}
	for_each_attr(a, p, len)
		if ((a->nla_type & NLA_TYPE_MASK) <= max)
			tb[a->nla_type & NLA_TYPE_MASK] = a;
}

static uint32_t get_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, ATTR_DATA(a), 4);
	return v;
}

static uint16_t get_u16(const struct nlattr *a)
{
	uint16_t v;

	memcpy(&v, ATTR_DATA(a), 2);
	return v;
}

static void model_apply_peer(const struct nlattr *entry)
{
	const struct nlattr *tb[WGPEER_A_MAX + 1], *ai[WGALLOWEDIP_A_MAX + 1];
	const unsigned char *psk = NULL;
	const struct nlattr *a;
	uint32_t flags = 0;
	struct mpeer *p;
	struct mpfx k;
	int i;

	parse_last(entry, NULL, 0, tb, WGPEER_A_MAX);
	if (tb[WGPEER_A_FLAGS])
		flags = get_u32(tb[WGPEER_A_FLAGS]);
	if (tb[WGPEER_A_PRESHARED_KEY])
		psk = ATTR_DATA(tb[WGPEER_A_PRESHARED_KEY]);
	i = m_peer_find(ATTR_DATA(tb[WGPEER_A_PUBLIC_KEY]));
	if (i < 0) {
		if (flags & (WGPEER_F_REMOVE_ME | WGPEER_F_UPDATE_ONLY))
			return;
		i = m_peer_new(ATTR_DATA(tb[WGPEER_A_PUBLIC_KEY]));
	} else if (flags & WGPEER_F_REMOVE_ME) {
		m_peer_remove(i);
		return;
	}
	p = &M.peers[i];
	if (psk)
		memcpy(p->psk, psk, WG_KEY_LEN);
	if (tb[WGPEER_A_ENDPOINT]) {
		p->eplen = ATTR_LEN(tb[WGPEER_A_ENDPOINT]);
		memcpy(p->ep, ATTR_DATA(tb[WGPEER_A_ENDPOINT]), p->eplen);
	}
	if (flags & WGPEER_F_REPLACE_ALLOWEDIPS)
		m_peer_clear_pfx(i);
	if (tb[WGPEER_A_ALLOWEDIPS]) {
		for_each_attr(a, ATTR_DATA(tb[WGPEER_A_ALLOWEDIPS]),
			      ATTR_LEN(tb[WGPEER_A_ALLOWEDIPS])) {
			int x;

			parse_last(a, NULL, 0, ai, WGALLOWEDIP_A_MAX);
			m_pfx_key(&k, get_u16(ai[WGALLOWEDIP_A_FAMILY]),
				  ATTR_DATA(ai[WGALLOWEDIP_A_IPADDR]),
				  *ATTR_DATA(ai[WGALLOWEDIP_A_CIDR_MASK]));
			if (!ai[WGALLOWEDIP_A_FLAGS] ||
			    !(get_u32(ai[WGALLOWEDIP_A_FLAGS]) &
			      WGALLOWEDIP_F_REMOVE_ME)) {
				m_pfx_add(i, &k);
			} else {
				x = m_pfx_find(&k);
				if (x >= 0 && M.pfx[x].peer == i)
					m_pfx_free(x);
			}
		}
	}
	if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])
		p->keepalive = get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
}

/* Apply an accepted SET.  Returns -1 if it named another device. */
static int model_apply(const struct nlbuf *b, const char *ifname,
		       unsigned int ifindex)
{
	static const unsigned char zero[WG_KEY_LEN];
	const struct nlattr *tb[WGDEVICE_A_MAX + 1], *e;
	int i;

	parse_last(NULL, b->data + NLMSG_HDRLEN + GENL_HDRLEN,
		   b->len - NLMSG_HDRLEN - GENL_HDRLEN, tb, WGDEVICE_A_MAX);
	if (tb[WGDEVICE_A_IFINDEX] ? get_u32(tb[WGDEVICE_A_IFINDEX]) != ifindex :
	    strcmp((const char *)ATTR_DATA(tb[WGDEVICE_A_IFNAME]), ifname))
		return -1;
	if (tb[WGDEVICE_A_LISTEN_PORT])
		M.port = get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
	if (tb[WGDEVICE_A_FWMARK])
		M.fwmark = get_u32(tb[WGDEVICE_A_FWMARK]);
	if (tb[WGDEVICE_A_FLAGS] &&
	    (get_u32(tb[WGDEVICE_A_FLAGS]) & WGDEVICE_F_REPLACE_PEERS))
		for (i = 0; i < M.npeers; i++)
			if (M.peers[i].alive)
				m_peer_remove(i);
	if (tb[WGDEVICE_A_PRIVATE_KEY]) {
		const unsigned char *k = ATTR_DATA(tb[WGDEVICE_A_PRIVATE_KEY]);

		M.has_priv = !!memcmp(k, zero, WG_KEY_LEN);
		memcpy(M.priv, k, WG_KEY_LEN);
		M.priv[0] &= 248;
		M.priv[31] = (M.priv[31] & 127) | 64;
	}
	if (tb[WGDEVICE_A_PEERS])
		for_each_attr(e, ATTR_DATA(tb[WGDEVICE_A_PEERS]),
			      ATTR_LEN(tb[WGDEVICE_A_PEERS]))
			model_apply_peer(e);
	return 0;
}

/* fuzz --keep: the model starts as a dump of the device. */
static void load_cb(const struct nlmsghdr *nh, void *arg)
{
	const unsigned char *p = (const unsigned char *)NLMSG_DATA(nh) + GENL_HDRLEN;
	size_t len = nh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	const struct nlattr *a, *pa;
	int *intr = arg;

	if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
		*intr = 1;
	for_each_attr(a, p, len) {
		switch (a->nla_type & NLA_TYPE_MASK) {
		case WGDEVICE_A_PRIVATE_KEY:
			M.has_priv = 1;
			memcpy(M.priv, ATTR_DATA(a), WG_KEY_LEN);
			break;
		case WGDEVICE_A_LISTEN_PORT:
			M.port = get_u16(a);
			break;
		case WGDEVICE_A_FWMARK:
			M.fwmark = get_u32(a);
			break;
		case WGDEVICE_A_PEERS:
			/* a continued (split) peer adds its prefixes */
			for_each_attr(pa, ATTR_DATA(a), ATTR_LEN(a))
				model_apply_peer(pa);
			break;
		}
	}
}

static int model_load(uint16_t family, const char *ifname)
{
	struct nl_error e;
	struct nlbuf b;
	int try, err, intr = 1;

	for (try = 0; try < 5 && intr; try++) {
		model_init();
		intr = 0;
		nb_init(&b, family, NLM_F_DUMP, WG_CMD_GET_DEVICE,
			WG_GENL_VERSION);
		nb_put(&b, WGDEVICE_A_IFNAME, ifname, strlen(ifname) + 1,
		       "ifname");
		nl_send(&b);
		err = nl_dump(&e, family, load_cb, &intr);
		nb_free(&b);
		if (err) {
			printf("fuzz: dump of %s failed: %s\n", ifname,
			       strerror(err));
			return 1;
		}
	}
	if (intr) {
		printf("fuzz: every dump of %s was interrupted\n", ifname);
		return 1;
	}
	printf("fuzz: kept: %d peers, %d allowed IPs, listen port %u\n",
	       M.live, M.live_pfx, M.port);
	return 0;
}

/* --- fuzz: comparing the model with a dump --------------------------- */

struct cmp_state {
	int intr, priv_seen, port_seen, fwmark_seen, last, bad;
	unsigned char priv[WG_KEY_LEN];
	uint16_t port;
	uint32_t fwmark;
	unsigned long peers, pfx;
	int *seen;		/* per model peer: dumped prefixes, or -1 */
	char why[512];
};

static void cmp_fail(struct cmp_state *c, const char *fmt, ...)
{
	va_list ap;

	if (c->bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

static void cmp_peer(const struct nlattr *nest, struct cmp_state *c)
{
	const struct nlattr *tb[WGPEER_A_MAX + 1], *ai[WGALLOWEDIP_A_MAX + 1];
	const struct nlattr *a;
	struct mpeer *p;
	struct mpfx k;
	int i, x;

	parse_last(nest, NULL, 0, tb, WGPEER_A_MAX);
	if (!tb[WGPEER_A_PUBLIC_KEY] ||
	    ATTR_LEN(tb[WGPEER_A_PUBLIC_KEY]) != WG_KEY_LEN) {
		cmp_fail(c, "dumped peer without a public key");
		return;
	}
	i = m_peer_find(ATTR_DATA(tb[WGPEER_A_PUBLIC_KEY]));
	if (i < 0) {
		cmp_fail(c, "dumped peer %.8s... is not in the model",
			 "(key)");
		return;
	}
	p = &M.peers[i];
	if (i != c->last) {
		/* a new peer, not the continuation of a split one */
		if (c->seen[i] >= 0) {
			cmp_fail(c, "peer %d dumped twice", i);
			return;
		}
		c->seen[i] = 0;
		c->peers++;
		if (!tb[WGPEER_A_PRESHARED_KEY] ||
		    memcmp(ATTR_DATA(tb[WGPEER_A_PRESHARED_KEY]), p->psk,
			   WG_KEY_LEN))
			cmp_fail(c, "peer %d: preshared key differs", i);
		if (!!tb[WGPEER_A_ENDPOINT] != !!p->eplen)
			cmp_fail(c, "peer %d: endpoint %s", i,
				 p->eplen ? "missing" : "unexpected");
		else if (p->eplen) {
			const unsigned char *d = ATTR_DATA(tb[WGPEER_A_ENDPOINT]);
			/* family, port, address: bytes 0-7 (v4), 0-3 + 8-23 (v6) */
			if (ATTR_LEN(tb[WGPEER_A_ENDPOINT]) != p->eplen ||
			    memcmp(d, p->ep, 4) ||
			    (p->eplen == 16 ? memcmp(d + 4, p->ep + 4, 4) :
					      memcmp(d + 8, p->ep + 8, 16)))
				cmp_fail(c, "peer %d: endpoint differs", i);
		}
		if (!tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] ||
		    get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) !=
		    p->keepalive)
			cmp_fail(c, "peer %d: keepalive differs (model %u)", i,
				 p->keepalive);
	}
	c->last = i;
	if (!tb[WGPEER_A_ALLOWEDIPS])
		return;
	for_each_attr(a, ATTR_DATA(tb[WGPEER_A_ALLOWEDIPS]),
		      ATTR_LEN(tb[WGPEER_A_ALLOWEDIPS])) {
		parse_last(a, NULL, 0, ai, WGALLOWEDIP_A_MAX);
		if (!ai[WGALLOWEDIP_A_FAMILY] || !ai[WGALLOWEDIP_A_IPADDR] ||
		    !ai[WGALLOWEDIP_A_CIDR_MASK]) {
			cmp_fail(c, "peer %d: incomplete allowed IP", i);
			continue;
		}
		memset(&k, 0, sizeof(k));
		k.family = get_u16(ai[WGALLOWEDIP_A_FAMILY]) == AF_INET ? 4 : 6;
		k.cidr = *ATTR_DATA(ai[WGALLOWEDIP_A_CIDR_MASK]);
		memcpy(k.addr, ATTR_DATA(ai[WGALLOWEDIP_A_IPADDR]),
		       ATTR_LEN(ai[WGALLOWEDIP_A_IPADDR]) > 16 ? 16 :
		       ATTR_LEN(ai[WGALLOWEDIP_A_IPADDR]));
		x = m_pfx_find(&k);
		if (x < 0 || M.pfx[x].peer != i) {
			char s[INET6_ADDRSTRLEN] = "?";

			inet_ntop(k.family == 4 ? AF_INET : AF_INET6, k.addr,
				  s, sizeof(s));
			cmp_fail(c, "peer %d: dumped %s/%u, which the model %s",
				 i, s, k.cidr, x < 0 ? "does not have" :
				 "gives to another peer");
		}
		c->seen[i]++;
		c->pfx++;
	}
}

static void cmp_cb(const struct nlmsghdr *nh, void *arg)
{
	const unsigned char *p = (const unsigned char *)NLMSG_DATA(nh) + GENL_HDRLEN;
	size_t len = nh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	struct cmp_state *c = arg;
	const struct nlattr *a, *pa;

	if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
		c->intr = 1;
	for_each_attr(a, p, len) {
		switch (a->nla_type & NLA_TYPE_MASK) {
		case WGDEVICE_A_PEERS:
			for_each_attr(pa, ATTR_DATA(a), ATTR_LEN(a))
				cmp_peer(pa, c);
			break;
		case WGDEVICE_A_PRIVATE_KEY:
			c->priv_seen = 1;
			memcpy(c->priv, ATTR_DATA(a), WG_KEY_LEN);
			break;
		case WGDEVICE_A_LISTEN_PORT:
			c->port_seen = 1;
			c->port = get_u16(a);
			break;
		case WGDEVICE_A_FWMARK:
			c->fwmark_seen = 1;
			c->fwmark = get_u32(a);
			break;
		}
	}
}

/* 0 if a dump of the device equals the model, else prints why. */
static int model_compare(uint16_t family, const char *ifname,
			 unsigned long after)
{
	struct cmp_state c;
	struct nl_error e;
	struct nlbuf b;
	int try, i, err;

	for (try = 0; try < 5; try++) {
		memset(&c, 0, sizeof(c));
		c.last = -1;
		c.seen = xrealloc(NULL, (M.npeers + 1) * sizeof(int));
		memset(c.seen, 0xff, (M.npeers + 1) * sizeof(int));
		nb_init(&b, family, NLM_F_DUMP, WG_CMD_GET_DEVICE,
			WG_GENL_VERSION);
		nb_put(&b, WGDEVICE_A_IFNAME, ifname, strlen(ifname) + 1,
		       "ifname");
		nl_send(&b);
		err = nl_dump(&e, family, cmp_cb, &c);
		nb_free(&b);
		if (err) {
			printf("fuzz: dump of %s failed: %s\n", ifname,
			       strerror(err));
			return 1;
		}
		if (!c.intr)
			break;
		free(c.seen);
	}
	if (c.intr)
		cmp_fail(&c, "every dump was interrupted");
	if (c.priv_seen != M.has_priv ||
	    (M.has_priv && memcmp(c.priv, M.priv, WG_KEY_LEN)))
		cmp_fail(&c, "private key differs (model: %s)",
			 M.has_priv ? "set" : "none");
	if (!c.port_seen || c.port != M.port)
		cmp_fail(&c, "listen port %u, model %u", c.port, M.port);
	if (!c.fwmark_seen || c.fwmark != M.fwmark)
		cmp_fail(&c, "fwmark %u, model %u", c.fwmark, M.fwmark);
	if (c.peers != (unsigned long)M.live)
		cmp_fail(&c, "%lu peers dumped, model has %d", c.peers, M.live);
	for (i = 0; i < M.npeers; i++)
		if (M.peers[i].alive && c.seen[i] >= 0 &&
		    c.seen[i] != M.peers[i].npfx)
			cmp_fail(&c, "peer %d: %d allowed IPs dumped, model has %d",
				 i, c.seen[i], M.peers[i].npfx);
	free(c.seen);
	if (c.bad) {
		printf("fuzz: MISMATCH after request %lu: %s (%d differences)\n",
		       after, c.why, c.bad);
		return 1;
	}
	return 0;
}

/* --- fuzz: more sockets, dumping while the main one sets --------------- */

#define FUZZ_XSOCKS 3

static struct xsock {
	int fd, busy;
	uint32_t seq;
} xs[FUZZ_XSOCKS];
static unsigned long xs_dumps, xs_intr, xs_aborted;

static void xs_step(uint16_t family, const char *ifname)
{
	struct xsock *x = &xs[rn(FUZZ_XSOCKS)];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nh;
	struct nlbuf b;
	ssize_t n;

	if (x->fd <= 0) {
		x->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
			       NETLINK_GENERIC);
		if (x->fd < 0 || bind(x->fd, (struct sockaddr *)&sa, sizeof(sa)))
			die("extra socket: %s", strerror(errno));
		x->busy = 0;
	}
	if (x->busy && chance(3)) {
		/* leave a dump half read: the kernel must clean up */
		close(x->fd);
		x->fd = 0;
		xs_aborted++;
		return;
	}
	if (!x->busy) {
		nb_init(&b, family, NLM_F_DUMP, WG_CMD_GET_DEVICE,
			WG_GENL_VERSION);
		nb_put(&b, WGDEVICE_A_IFNAME, ifname, strlen(ifname) + 1,
		       "ifname");
		nh = (struct nlmsghdr *)b.data;
		nh->nlmsg_len = b.len;
		nh->nlmsg_seq = ++x->seq;
		if (sendto(x->fd, b.data, b.len, 0, (struct sockaddr *)&sa,
			   sizeof(sa)) < 0)
			die("extra socket sendto: %s", strerror(errno));
		nb_free(&b);
		x->busy = 1;
		xs_dumps++;
		return;
	}
	/* read one batch of the dump in progress */
	do {
		n = recv(x->fd, rxbuf, rxlen, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		die("extra socket recv: %s", strerror(errno));
	for (nh = (struct nlmsghdr *)rxbuf; NLMSG_OK(nh, (size_t)n);
	     nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
			xs_intr++;
		if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR)
			x->busy = 0;
	}
}

/* --- fuzz: the command ------------------------------------------------ */

static void fuzz_key_attr(struct nlbuf *b)
{
	unsigned char key[WG_KEY_LEN] = { 0 };

	/* all zero removes the key; else a fresh random one */
	if (!chance(10))
		rnd_bytes(key, WG_KEY_LEN);
	nb_put(b, WGDEVICE_A_PRIVATE_KEY, key, WG_KEY_LEN, "private-key");
}

static int cmd_fuzz(uint16_t family, int argc, char **argv)
{
	unsigned long count = 1000, accepted = 0, rejected = 0, sets = 0, i;
	unsigned long per_errno[256] = { 0 }, check_every = 5000, huge = 0;
	unsigned long long seed = 1;
	int a, err, refused_only = 0, model = 1, bad = 0;
	const char *ifname = NULL;
	unsigned int ifindex;
	struct nl_error e;
	struct nlbuf b;

	for (a = 0; a < argc; a++) {
		if (!strcmp(argv[a], "--seed"))
			seed = parse_num(next_arg(argc, argv, &a), UINT64_MAX);
		else if (!strcmp(argv[a], "--count"))
			count = parse_num(next_arg(argc, argv, &a), 100000000);
		else if (!strcmp(argv[a], "--check-every"))
			check_every = parse_num(next_arg(argc, argv, &a),
						100000000);
		else if (!strcmp(argv[a], "--no-model"))
			model = 0;
		else if (!strcmp(argv[a], "--keep"))
			fuzz_keep = 1;
		else if (!strcmp(argv[a], "--expect-eperm"))
			refused_only = 1;
		else if (!ifname && argv[a][0] != '-')
			ifname = argv[a];
		else
			die("unknown fuzz argument '%s'", argv[a]);
	}
	if (!ifname)
		die("fuzz wants an interface name");
	ifindex = if_nametoindex(ifname);
	rng_state = seed;
	for (a = 0; a < 8; a++)
		rnd_bytes(fuzz_keys[a], WG_KEY_LEN);
	model_init();
	/* Repeat with --seed S --count N [--check-every K] to reproduce. */
	printf("fuzz: seed %llu, count %lu%s\n", seed, count,
	       refused_only ? ", unprivileged" : "");
	fflush(stdout);
	if (fuzz_keep && !refused_only && model_load(family, ifname))
		return 1;
	if (model && !refused_only && !fuzz_keep) {
		static const unsigned char zero_key[WG_KEY_LEN];

		/* Start from an empty device, so the model knows it. */
		nb_init(&b, family, NLM_F_ACK, WG_CMD_SET_DEVICE,
			WG_GENL_VERSION);
		nb_put(&b, WGDEVICE_A_IFNAME, ifname, strlen(ifname) + 1,
		       "ifname");
		nb_u32(&b, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS, "flags");
		nb_u16(&b, WGDEVICE_A_LISTEN_PORT, 0, "listen-port");
		nb_u32(&b, WGDEVICE_A_FWMARK, 0, "fwmark");
		nb_put(&b, WGDEVICE_A_PRIVATE_KEY, zero_key, WG_KEY_LEN,
		       "private-key");
		nl_send(&b);
		err = nl_wait_ack(&e);
		if (err) {
			print_error(&e, &b);
			return 1;
		}
		nb_free(&b);
	}

	for (i = 0; i < count; i++) {
		struct nlmsghdr *nh;
		int get;

		fuzz_message(&b, family, ifname, ifindex);
		nh = (struct nlmsghdr *)b.data;
		get = nh->nlmsg_flags & NLM_F_DUMP;
		if (!get && chance(2)) {
			/* the rare shapes */
			huge++;
			switch (rn(4)) {
			case 0:
				fuzz_deep(&b, keep_dev_type(rn(WGDEVICE_A_MAX + 2)));
				break;
			case 1:
				if (fuzz_keep)
					fuzz_huge(&b);
				else
					fuzz_key_attr(&b);
				break;
			default:
				fuzz_huge(&b);
				break;
			}
		}
		nl_send(&b);
		err = get ? nl_dump(&e, family, NULL, NULL) : nl_wait_ack(&e);
		if (err) {
			rejected++;
			per_errno[err < 256 ? err : 255]++;
		} else {
			accepted++;
		}
		if (refused_only) {
			if (err != EPERM && err != EOPNOTSUPP) {
				printf("fuzz: request %lu from an unprivileged user: %s\n",
				       i, err ? strerror(err) : "accepted");
				bad = 1;
			}
		} else if (!err && !get && model) {
			sets++;
			if (model_apply(&b, ifname, ifindex)) {
				printf("fuzz: request %lu changed another device\n", i);
				bad = 1;
				model = 0;
			}
		}
		nb_free(&b);
		if (!refused_only && chance(20))
			xs_step(family, ifname);
		if (model && !refused_only && check_every &&
		    (i + 1) % check_every == 0 && model_compare(family, ifname, i)) {
			bad = 1;
			model = 0;
		}
	}
	fprintf(stdout,
		"fuzz: seed %llu, %lu requests (%lu rare shapes), %lu accepted (%lu sets), %lu rejected\n",
		seed, count, huge, accepted, sets, rejected);
	for (a = 0; a < 256; a++)
		if (per_errno[a])
			printf("fuzz: errno %d (%s): %lu\n", a, strerror(a),
			       per_errno[a]);
	if (refused_only)
		return bad;
	printf("fuzz: %lu concurrent dumps on %d more sockets, %lu interrupted, %lu abandoned\n",
	       xs_dumps, FUZZ_XSOCKS, xs_intr, xs_aborted);
	if (model && model_compare(family, ifname, count))
		bad = 1;
	printf("fuzz: model: %d peers, %d allowed IPs, private key %s: %s\n",
	       M.live, M.live_pfx, M.has_priv ? "set" : "none",
	       bad ? "MISMATCH" : (model ? "dump matches" : "not checked"));
	return bad;
}

/* --- main ------------------------------------------------------------- */

static void drop_privileges(const char *spec)
{
	unsigned long uid, gid;
	char *colon;

	uid = strtoul(spec, &colon, 10);
	gid = *colon == ':' ? strtoul(colon + 1, NULL, 10) : uid;
	if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
		die("cannot become %lu:%lu: %s", uid, gid, strerror(errno));
}

static __noreturn void usage_exit(void)
{
	fprintf(stderr,
		"usage: %s [--as-user UID[:GID]] [--no-nest-flag] set [IFNAME] [OPTS] [peer KEY|none [OPTS] [allowedip PREFIX [OPTS]]...]...\n"
		"       %s [--as-user UID[:GID]] dump [-v] [IFNAME] [--ifindex N]\n"
		"       %s fuzz [--seed S] [--count N] IFNAME\n"
		"       %s cycles N KIND IFNAME [SET-OPTS...]\n"
		"       %s --as-user UID[:GID] exec CMD [ARGS...]\n"
		"(see the comment at the top of wgnl.c)\n",
		prog, prog, prog, prog, prog);
	exit(2);
}

int main(int argc, char **argv)
{
	int no_nest_flag = 0;
	uint16_t family;
	const char *cmd;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--as-user") && i + 1 < argc)
			drop_privileges(argv[++i]);
		else if (!strcmp(argv[i], "--no-nest-flag"))
			no_nest_flag = 1;
		else if (!strcmp(argv[i], "--hexdump"))
			hexdump_only = 1;
		else
			usage_exit();
	}
	if (i >= argc)
		usage_exit();
	cmd = argv[i++];
	if (!strcmp(cmd, "exec")) {
		if (i >= argc)
			usage_exit();
		execvp(argv[i], argv + i);
		fprintf(stderr, "error: %s (exec %s)\n", strerror(errno),
			argv[i]);
		return 127;
	}
	if (strcmp(cmd, "set") && strcmp(cmd, "dump") && strcmp(cmd, "fuzz") &&
	    strcmp(cmd, "cycles"))
		usage_exit();
	if (hexdump_only) {
		family = 0x1234;
	} else {
		nl_open();
		/* another family's name, to test this tool's error decoding */
		family = resolve_family(getenv("WGNL_FAMILY") ?: WG_GENL_NAME);
	}
	if (!strcmp(cmd, "set"))
		return cmd_set(family, argc - i, argv + i, no_nest_flag);
	if (!strcmp(cmd, "dump"))
		return cmd_dump(family, argc - i, argv + i);
	if (!strcmp(cmd, "cycles"))
		return cmd_cycles(family, argc - i, argv + i);
	return cmd_fuzz(family, argc - i, argv + i);
}
