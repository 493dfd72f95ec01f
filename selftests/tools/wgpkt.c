// SPDX-License-Identifier: GPL-2.0
/*
 * wgpkt: send, capture and fuzz WireGuard-shaped UDP datagrams for the
 * selftests.  Built static so it runs in the bare test VM:
 *
 *	gcc -O2 -Wall -static -o wgpkt ./wgpkt.c
 *
 *   wgpkt send --to ADDR:PORT [--bind ADDR] [--bind-port P]
 *		[--hex HEX | --file F] [--count N] [--rate PPS]
 *		[--set-byte OFF=VAL] [--set-le32 OFF=VAL] [--resize N]
 *		[--truncate N] [--extend N] [--recv-timeout S] [--fifo]
 *   wgpkt capture --iface IF [--port P | --sport P | --dport P] [--type T]
 *		[--len N] [--min-len N] [--max-len N] [--direction in|out]
 *		[--count N] [--timeout S] [--ready FILE] --out FILE
 *   wgpkt fuzz --to ADDR:PORT --seed S --count N [--file SEED ...]
 *		[--defaults] [--bind-port P] [--rate PPS] [--verbose]
 *   wgpkt info FILE
 *
 * ADDR:PORT is 192.0.2.1:51820 or [2001:db8::1]:51820.  Mangling options of
 * send apply in the order given, after the payload is loaded.  capture
 * with --count N > 1 writes the first packet to FILE and the others to
 * FILE.1, FILE.2, ...  fuzz ends with "sent: N".  fuzz is
 * reproducible: the same seed and seed packets give the same datagrams.
 * send --fifo runs as SCHED_FIFO: nothing of normal priority (the kernel's
 * workers included) runs on its CPU while it sends, but for the share the
 * kernel's RT throttling leaves them (50 ms a second by default).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PKT 65536
#define MAX_SEEDS 32
#define MAX_OPS 64

/* Message sizes of the WireGuard wire format (module/core/wire.h). */
enum {
	LEN_INITIATION = 148,
	LEN_RESPONSE = 92,
	LEN_COOKIE = 64,
	LEN_DATA_MIN = 32,
};

struct pkt {
	size_t len;
	uint8_t data[MAX_PKT];
};

[[gnu::format(printf, 1, 2), gnu::noreturn]]
static void die(const char *fmt, ...);

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("wgpkt: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static unsigned long long num(const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die("bad %s: '%s'", what, s);
	return v;
}

static double seconds(const char *s, const char *what)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || *end || v < 0)
		die("bad %s: '%s'", what, s);
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Parse "1.2.3.4:P" or "[v6]:P" (a bare port is also fine for --bind). */
static socklen_t parse_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			die("bad address '%s'", s);
		n = end - s - 1;
		port = end + 2;
		if (n >= sizeof(host))
			die("bad address '%s'", s);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(num(port, "port"));
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			die("bad IPv6 address '%s'", host);
		return sizeof(*sin6);
	}
	port = strrchr(s, ':');
	if (!port)
		die("address '%s' has no port", s);
	n = port - s;
	if (n >= sizeof(host))
		die("bad address '%s'", s);
	memcpy(host, s, n);
	host[n] = '\0';
	sin->sin_family = AF_INET;
	sin->sin_port = htons(num(port + 1, "port"));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		die("bad IPv4 address '%s'", host);
	return sizeof(*sin);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void load_hex(struct pkt *p, const char *hex)
{
	int hi = -1, v;

	p->len = 0;
	for (; *hex; hex++) {
		if (*hex == ' ' || *hex == ':' || *hex == '\n')
			continue;
		v = hexval(*hex);
		if (v < 0)
			die("bad hex digit '%c'", *hex);
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (p->len >= MAX_PKT)
			die("hex payload too long");
		p->data[p->len++] = hi << 4 | v;
		hi = -1;
	}
	if (hi >= 0)
		die("odd number of hex digits");
}

static void load_file(struct pkt *p, const char *path)
{
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	p->len = 0;
	while ((r = read(fd, p->data + p->len, MAX_PKT - p->len)) > 0)
		p->len += r;
	if (r < 0)
		die("%s: %s", path, strerror(errno));
	close(fd);
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		die("%s: %s", path, strerror(errno));
}

static void resize(struct pkt *p, size_t len)
{
	if (len > MAX_PKT)
		die("payload too long (%zu)", len);
	if (len > p->len)
		memset(p->data + p->len, 0, len - p->len);
	p->len = len;
}

/* Pacing: sleep until packet i is due at RATE packets per second. */
static void pace(double start, unsigned long long i, double rate)
{
	struct timespec ts;
	double due, wait;

	if (rate <= 0)
		return;
	due = start + i / rate;
	wait = due - now();
	if (wait <= 0)
		return;
	ts.tv_sec = (time_t)wait;
	ts.tv_nsec = (long)((wait - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static int udp_socket(int family, const char *bind_addr, unsigned int bind_port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!bind_addr && !bind_port)
		return fd;
	if (bind_addr) {
		char buf[128];

		if (family == AF_INET6)
			snprintf(buf, sizeof(buf), "[%s]:%u", bind_addr, bind_port);
		else
			snprintf(buf, sizeof(buf), "%s:%u", bind_addr, bind_port);
		sl = parse_addr(buf, &ss);
		if (ss.ss_family != family)
			die("--bind family differs from --to");
	} else {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = family;
		if (family == AF_INET6) {
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(bind_port);
			sl = sizeof(struct sockaddr_in6);
		} else {
			((struct sockaddr_in *)&ss)->sin_port = htons(bind_port);
			sl = sizeof(struct sockaddr_in);
		}
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		die("bind: %s", strerror(errno));
	return fd;
}

/*
 * Send one datagram; a full socket buffer (ENOBUFS, EAGAIN) is retried a
 * few times, other errors are counted by the caller.
 */
static int send_one(int fd, const void *buf, size_t len,
		    const struct sockaddr_storage *to, socklen_t tl)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		if (sendto(fd, buf, len, 0, (const struct sockaddr *)to, tl) >= 0)
			return 0;
		if (errno != ENOBUFS && errno != EAGAIN)
			return -1;
		usleep(1000);
	}
	return -1;
}

/* Count what comes back on FD until TIMEOUT seconds pass without a datagram. */
static void count_replies(int fd, double timeout)
{
	unsigned long long total = 0, by_type[256] = { 0 };
	static uint8_t buf[MAX_PKT];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int i;

	while (poll(&pfd, 1, (int)(timeout * 1000)) > 0) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r < 0)
			continue;
		total++;
		if (r > 0)
			by_type[buf[0]]++;
	}
	printf("received %llu\n", total);
	for (i = 0; i < 256; i++)
		if (by_type[i])
			printf("received type %d: %llu\n", i, by_type[i]);
}

enum op_kind { OP_SET_BYTE, OP_SET_LE32, OP_RESIZE, OP_TRUNCATE, OP_EXTEND };

struct op {
	enum op_kind kind;
	unsigned long long off, val;
};

static void parse_kv(const char *s, struct op *op, const char *what)
{
	char buf[64], *eq;

	if (strlen(s) >= sizeof(buf))
		die("bad %s '%s'", what, s);
	strcpy(buf, s);
	eq = strchr(buf, '=');
	if (!eq)
		die("%s wants OFF=VAL, got '%s'", what, s);
	*eq = '\0';
	op->off = num(buf, "offset");
	op->val = num(eq + 1, "value");
}

static void apply_ops(struct pkt *p, const struct op *ops, int nops)
{
	int i;

	for (i = 0; i < nops; i++) {
		const struct op *o = &ops[i];

		switch (o->kind) {
		case OP_SET_BYTE:
			if (o->off >= p->len)
				resize(p, o->off + 1);
			p->data[o->off] = o->val;
			break;
		case OP_SET_LE32:
			if (o->off + 4 > p->len)
				resize(p, o->off + 4);
			p->data[o->off] = o->val;
			p->data[o->off + 1] = o->val >> 8;
			p->data[o->off + 2] = o->val >> 16;
			p->data[o->off + 3] = o->val >> 24;
			break;
		case OP_RESIZE:
			resize(p, o->val);
			break;
		case OP_TRUNCATE:
			if (o->val < p->len)
				p->len = o->val;
			break;
		case OP_EXTEND:
			resize(p, p->len + o->val);
			break;
		}
	}
}

static int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "bind", required_argument, NULL, 'B' },
		{ "bind-port", required_argument, NULL, 'b' },
		{ "hex", required_argument, NULL, 'x' },
		{ "file", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "set-byte", required_argument, NULL, 's' },
		{ "set-le32", required_argument, NULL, 'l' },
		{ "resize", required_argument, NULL, 'R' },
		{ "truncate", required_argument, NULL, 'T' },
		{ "extend", required_argument, NULL, 'E' },
		{ "recv-timeout", required_argument, NULL, 'w' },
		{ "fifo", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned long long count = 1, i, sent = 0, failed = 0;
	static struct pkt p;
	const char *to = NULL, *bind_addr = NULL;
	double rate = 0, recv_timeout = -1, start;
	unsigned int bind_port = 0;
	struct sockaddr_storage ss;
	struct op ops[MAX_OPS];
	bool have_payload = false;
	int c, fd, nops = 0;
	socklen_t sl;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (strchr("slRTE", c) && nops >= MAX_OPS)
			die("too many mangling options");
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'B':
			bind_addr = optarg;
			break;
		case 'b':
			bind_port = num(optarg, "port");
			break;
		case 'x':
			load_hex(&p, optarg);
			have_payload = true;
			break;
		case 'f':
			load_file(&p, optarg);
			have_payload = true;
			break;
		case 'c':
			count = num(optarg, "count");
			break;
		case 'r':
			rate = seconds(optarg, "rate");
			break;
		case 's':
			ops[nops].kind = OP_SET_BYTE;
			parse_kv(optarg, &ops[nops++], "--set-byte"); break;
		case 'l':
			ops[nops].kind = OP_SET_LE32;
			parse_kv(optarg, &ops[nops++], "--set-le32"); break;
		case 'R':
			ops[nops].kind = OP_RESIZE;
			ops[nops++].val = num(optarg, "size"); break;
		case 'T':
			ops[nops].kind = OP_TRUNCATE;
			ops[nops++].val = num(optarg, "size"); break;
		case 'E':
			ops[nops].kind = OP_EXTEND;
			ops[nops++].val = num(optarg, "size"); break;
		case 'w':
			recv_timeout = seconds(optarg, "timeout");
			break;
		case 'F': {
			struct sched_param sp = { .sched_priority = 1 };

			if (sched_setscheduler(0, SCHED_FIFO, &sp))
				die("SCHED_FIFO: %s", strerror(errno));
			break;
		}
		default:
			return 2;
		}
	}
	if (!to || !have_payload)
		die("send needs --to and --hex or --file");
	apply_ops(&p, ops, nops);
	sl = parse_addr(to, &ss);
	fd = udp_socket(ss.ss_family, bind_addr, bind_port);
	start = now();
	for (i = 0; i < count; i++) {
		pace(start, i, rate);
		if (send_one(fd, p.data, p.len, &ss, sl))
			failed++;
		else
			sent++;
	}
	printf("sent %llu datagrams of %zu bytes to %s", sent, p.len, to);
	if (failed)
		printf(" (%llu failed: %s)", failed, strerror(errno));
	printf("\n");
	if (recv_timeout >= 0)
		count_replies(fd, recv_timeout);
	close(fd);
	return sent ? 0 : 1;
}

/* --- capture ----------------------------------------------------------- */

struct filter {
	int sport, dport, port;		/* -1: any */
	int type;			/* -1: any */
	long len, min_len, max_len;	/* -1: any */
	int direction;			/* 0 any, 1 in, 2 out */
};

/*
 * Find the UDP header and payload in a cooked (SOCK_DGRAM) AF_PACKET
 * frame, which starts at the network header.  Fragments other than a
 * whole datagram are ignored.
 */
static bool udp_payload(const uint8_t *buf, size_t len, uint16_t proto,
			unsigned int *sport, unsigned int *dport,
			const uint8_t **payload, size_t *plen)
{
	size_t off, ulen;

	if (proto == ETH_P_IP) {
		unsigned int ihl;

		if (len < 20 || (buf[0] >> 4) != 4)
			return false;
		ihl = (buf[0] & 0xf) * 4;
		if (ihl < 20 || len < ihl + 8 || buf[9] != IPPROTO_UDP)
			return false;
		if (((buf[6] << 8) | buf[7]) & 0x3fff)	/* MF or offset */
			return false;
		off = ihl;
	} else if (proto == ETH_P_IPV6) {
		uint8_t nh;

		if (len < 40 || (buf[0] >> 4) != 6)
			return false;
		nh = buf[6];
		off = 40;
		/* Hop-by-hop, routing and destination options only. */
		while (nh == 0 || nh == 43 || nh == 60) {
			if (len < off + 8)
				return false;
			nh = buf[off];
			off += (buf[off + 1] + 1) * 8;
		}
		if (nh != IPPROTO_UDP || len < off + 8)
			return false;
	} else {
		return false;
	}
	*sport = buf[off] << 8 | buf[off + 1];
	*dport = buf[off + 2] << 8 | buf[off + 3];
	ulen = buf[off + 4] << 8 | buf[off + 5];
	if (ulen < 8)
		return false;
	*payload = buf + off + 8;
	*plen = ulen - 8;
	if (*plen > len - off - 8)	/* snapped: keep what we have */
		*plen = len - off - 8;
	return true;
}

static bool matches(const struct filter *f, unsigned int sport,
		    unsigned int dport, const uint8_t *payload, size_t plen,
		    bool outgoing)
{
	if (f->direction == 1 && outgoing)
		return false;
	if (f->direction == 2 && !outgoing)
		return false;
	if (f->sport >= 0 && sport != (unsigned int)f->sport)
		return false;
	if (f->dport >= 0 && dport != (unsigned int)f->dport)
		return false;
	if (f->port >= 0 && sport != (unsigned int)f->port &&
	    dport != (unsigned int)f->port)
		return false;
	if (f->type >= 0 && (!plen || payload[0] != f->type))
		return false;
	if (f->len >= 0 && plen != (size_t)f->len)
		return false;
	if (f->min_len >= 0 && plen < (size_t)f->min_len)
		return false;
	if (f->max_len >= 0 && plen > (size_t)f->max_len)
		return false;
	return true;
}

static int cmd_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "sport", required_argument, NULL, 'S' },
		{ "dport", required_argument, NULL, 'D' },
		{ "type", required_argument, NULL, 'y' },
		{ "len", required_argument, NULL, 'L' },
		{ "min-len", required_argument, NULL, 'm' },
		{ "max-len", required_argument, NULL, 'M' },
		{ "direction", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "ready", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct filter f = { -1, -1, -1, -1, -1, -1, -1, 0 };
	const char *iface = NULL, *out = NULL, *ready = NULL;
	unsigned long long count = 1, got = 0;
	static uint8_t buf[MAX_PKT];
	struct sockaddr_ll sll;
	double timeout = 10, deadline;
	int c, fd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			iface = optarg;
			break;
		case 'p':
			f.port = num(optarg, "port");
			break;
		case 'S':
			f.sport = num(optarg, "port");
			break;
		case 'D':
			f.dport = num(optarg, "port");
			break;
		case 'y':
			f.type = num(optarg, "type");
			break;
		case 'L':
			f.len = num(optarg, "length");
			break;
		case 'm':
			f.min_len = num(optarg, "length");
			break;
		case 'M':
			f.max_len = num(optarg, "length");
			break;
		case 'd':
			if (!strcmp(optarg, "in"))
				f.direction = 1;
			else if (!strcmp(optarg, "out"))
				f.direction = 2;
			else if (strcmp(optarg, "any"))
				die("--direction is in, out or any");
			break;
		case 'c':
			count = num(optarg, "count");
			break;
		case 'w':
			timeout = seconds(optarg, "timeout");
			break;
		case 'r':
			ready = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!iface || !out)
		die("capture needs --iface and --out");

	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (fd < 0)
		die("AF_PACKET socket: %s", strerror(errno));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(iface);
	if (!sll.sll_ifindex)
		die("no interface '%s'", iface);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die("bind %s: %s", iface, strerror(errno));
	if (ready)
		write_file(ready, (const uint8_t *)"", 0);

	deadline = now() + timeout;
	while (got < count) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		unsigned int sport, dport;
		const uint8_t *payload;
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		double left = deadline - now();
		bool outgoing;
		size_t plen;
		ssize_t r;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (r < 0)
			continue;
		outgoing = from.sll_pkttype == PACKET_OUTGOING;
		if (!udp_payload(buf, r, ntohs(from.sll_protocol), &sport, &dport,
				 &payload, &plen))
			continue;
		if (!matches(&f, sport, dport, payload, plen, outgoing))
			continue;
		if (!got) {
			write_file(out, payload, plen);
		} else if (count > 1) {
			/* more seeds for fuzz: OUT.1, OUT.2, ... */
			char name[4096];

			snprintf(name, sizeof(name), "%s.%llu", out, got);
			write_file(name, payload, plen);
		}
		got++;
		printf("captured len=%zu type=%d sport=%u dport=%u dir=%s\n", plen,
		       plen ? payload[0] : -1, sport, dport,
		       outgoing ? "out" : "in");
		fflush(stdout);
	}
	close(fd);
	if (got < count) {
		fprintf(stderr, "wgpkt: timeout after %.1fs: %llu of %llu packets\n",
			timeout, got, count);
		return 1;
	}
	return 0;
}

/* --- fuzz -------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: small, fast and the same everywhere. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t rnd_below(size_t n)
{
	return n ? rnd() % n : 0;
}

static void rnd_fill(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = rnd();
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* Offset of the receiver index (or sender index for an initiation). */
static size_t index_offset(const struct pkt *p)
{
	if (p->len && p->data[0] == 2)
		return 8;
	return 4;
}

static const char *const mutation_names[] = {
	"bitflip", "truncate", "extend", "valid-header+garbage",
	"wrong-index", "type-bytes", "overwrite", "splice", "random",
	"replay",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define N_MUTATIONS ARRAY_SIZE(mutation_names)

static void mutate(struct pkt *out, const struct pkt *seeds, int nseeds,
		   unsigned int kind)
{
	const struct pkt *seed = &seeds[rnd_below(nseeds)];
	static const size_t sizes[] = { LEN_INITIATION, LEN_RESPONSE,
					LEN_COOKIE, LEN_DATA_MIN };
	size_t i, n;

	out->len = seed->len;
	memcpy(out->data, seed->data, seed->len);
	switch (kind) {
	case 0:
		n = 1 + rnd_below(8);
		for (i = 0; i < n && out->len; i++) {
			size_t bit = rnd_below(out->len * 8);

			out->data[bit / 8] ^= 1 << (bit % 8);
		}
		break;
	case 1:
		out->len = rnd_below(out->len);
		break;
	case 2:
		n = 1 + rnd_below(256);
		if (out->len + n > 1500)
			n = out->len < 1500 ? 1500 - out->len : 0;
		rnd_fill(out->data + out->len, n);
		out->len += n;
		break;
	case 3: {
		unsigned int t = 1 + rnd_below(4);

		out->len = sizes[t - 1];
		if (t == 4)
			out->len += 16 * rnd_below(90);
		rnd_fill(out->data, out->len);
		put_le32(out->data, t);
		break;
	}
	case 4:
		if (out->len < index_offset(out) + 4)
			resize(out, index_offset(out) + 4);
		put_le32(out->data + index_offset(out), rnd());
		break;
	case 5:
		if (out->len < 4)
			resize(out, 4);
		if (rnd() & 1)
			out->data[0] = rnd();
		else
			out->data[1 + rnd_below(3)] = 1 + rnd_below(255);
		break;
	case 6:
		n = 1 + rnd_below(16);
		for (i = 0; i < n && out->len; i++)
			out->data[rnd_below(out->len)] = rnd();
		break;
	case 7: {
		const struct pkt *other = &seeds[rnd_below(nseeds)];
		size_t cut = rnd_below(out->len + 1);

		n = other->len > cut ? other->len - cut : 0;
		memcpy(out->data + cut, other->data + cut, n);
		out->len = cut + n;
		break;
	}
	case 8:
		out->len = rnd_below(1501);
		rnd_fill(out->data, out->len);
		break;
	default:
		/*
		 * the seed as it is: replayed (and, seeds being picked at
		 * random, reordered) messages
		 */
		break;
	}
}

/* Without seed packets: well-formed sizes of all four types, zero bodies. */
static int default_seeds(struct pkt *seeds)
{
	static const size_t sizes[] = { LEN_INITIATION, LEN_RESPONSE,
					LEN_COOKIE, LEN_DATA_MIN + 64 };
	int t;

	for (t = 0; t < 4; t++) {
		memset(seeds[t].data, 0, sizes[t]);
		seeds[t].len = sizes[t];
		put_le32(seeds[t].data, t + 1);
	}
	return 4;
}

static int cmd_fuzz(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'f' },
		{ "bind-port", required_argument, NULL, 'b' },
		{ "rate", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "defaults", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	bool defaults = false;
	unsigned long long count = 1000, i, seed, by_kind[N_MUTATIONS] = { 0 };
	unsigned long long failed = 0;
	static struct pkt seeds[MAX_SEEDS], p;
	bool have_seed = false, verbose = false;
	unsigned int bind_port = 0;
	struct sockaddr_storage ss;
	const char *to = NULL;
	int c, fd, nseeds = 0;
	double rate = 0, start;
	socklen_t sl;

	seed = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 's':
			seed = num(optarg, "seed");
			have_seed = true;
			break;
		case 'c':
			count = num(optarg, "count");
			break;
		case 'f':
			if (nseeds >= MAX_SEEDS)
				die("too many seed packets");
			load_file(&seeds[nseeds++], optarg);
			break;
		case 'b':
			bind_port = num(optarg, "port");
			break;
		case 'r':
			rate = seconds(optarg, "rate");
			break;
		case 'v':
			verbose = true;
			break;
		case 'd':
			defaults = true;
			break;
		default:
			return 2;
		}
	}
	if (!to)
		die("fuzz needs --to");
	/*
	 * --defaults: also the four zero-bodied messages (a cookie reply
	 * among them), next to the captured seeds
	 */
	if (!nseeds || defaults) {
		if (nseeds + 4 > MAX_SEEDS)
			die("too many seed packets");
		nseeds += default_seeds(seeds + nseeds);
	}
	printf("wgpkt fuzz: seed %llu%s, %d seed packets, %llu datagrams\n",
	       seed, have_seed ? "" : " (chosen)", nseeds, count);
	fflush(stdout);
	/* xorshift must not start at zero. */
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	if (!rng_state)
		rng_state = 1;

	sl = parse_addr(to, &ss);
	fd = udp_socket(ss.ss_family, NULL, bind_port);
	start = now();
	for (i = 0; i < count; i++) {
		unsigned int kind = rnd_below(N_MUTATIONS);

		mutate(&p, seeds, nseeds, kind);
		by_kind[kind]++;
		if (verbose)
			printf("%llu %s len=%zu type=%d\n", i, mutation_names[kind],
			       p.len, p.len ? p.data[0] : -1);
		pace(start, i, rate);
		if (send_one(fd, p.data, p.len, &ss, sl))
			failed++;
	}
	for (i = 0; i < N_MUTATIONS; i++)
		printf("%s: %llu\n", mutation_names[i], by_kind[i]);
	if (failed)
		printf("failed to send: %llu\n", failed);
	printf("sent: %llu\n", count - failed);
	close(fd);
	return failed == count && count ? 1 : 0;
}

/* --- info -------------------------------------------------------------- */

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static int cmd_info(int argc, char **argv)
{
	static struct pkt p;

	if (argc != 2)
		die("usage: wgpkt info FILE");
	load_file(&p, argv[1]);
	printf("len=%zu", p.len);
	if (p.len >= 4)
		printf(" type=%u reserved=%02x%02x%02x", p.data[0], p.data[1],
		       p.data[2], p.data[3]);
	if (p.len >= 8)
		printf(" %s=0x%08x", p.data[0] == 4 || p.data[0] == 3 ?
		       "receiver" : "sender", get_le32(p.data + 4));
	if (p.len >= 12 && p.data[0] == 2)
		printf(" receiver=0x%08x", get_le32(p.data + 8));
	if (p.len >= 16 && p.data[0] == 4)
		printf(" counter=%llu", (unsigned long long)get_le32(p.data + 8) |
		       (unsigned long long)get_le32(p.data + 12) << 32);
	printf("\n");
	return 0;
}

static void print_usage(void)
{
	fputs("usage: wgpkt send|capture|fuzz|info [OPTIONS]\n"
	      "  (see the comment at the top of wgpkt.c)\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		print_usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "capture"))
		return cmd_capture(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fuzz"))
		return cmd_fuzz(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	print_usage();
}
