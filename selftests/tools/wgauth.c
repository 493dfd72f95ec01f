// SPDX-License-Identifier: GPL-2.0
/*
 * wgauth: a minimal WireGuard initiator for the selftests, written from the
 * protocol description (whitepaper, Noise_IKpsk2) with OpenSSL 3's EVP API.
 * It completes a real handshake with the device under test and then sends
 * correctly encrypted transport messages whose inner packets it chooses,
 * hostile ones included.  Built static so it runs in the bare test VM:
 *
 *	gcc -O2 -Wall -static -o wgauth ./wgauth.c -lcrypto
 *
 *   wgauth --key FILE --peer-pub B64 [--psk FILE] --to ADDR:PORT
 *		[--bind-port P] [--index N] [--timeout S]
 *		send KIND [--count N] [--src ADDR] [--dst ADDR] [-6]
 *		[--spoof ADDR] [--seed S] [--interval US] [--check]
 *
 * --key: our private key, --peer-pub: the responder's public key, --psk:
 * the preshared key (files hold base64 keys as `wg genkey` writes them).
 * ADDR:PORT is 192.0.2.1:51820 or [2001:db8::1]:51820.  --src/--dst: the
 * inner addresses, an allowed source of ours and an address of the
 * responder; give each once per family (IPv4 is used unless -6).
 *
 * KIND, sent --count times (default 1) after the handshake:
 *	ping			ICMP echo from --src to --dst, padded to 16 as a
 *				real peer does; each reply is decrypted and printed
 *	keepalive		empty payload
 *	bad-version		IPv4-sized packet, version nibble 5, 0, 7 or 15
 *	short-ipv4		version 4, 1 to 19 bytes
 *	ipv4-totlen-long	echo with tot_len beyond the packet
 *	ipv4-totlen-short	echo with tot_len < ihl * 4: below 20 with ihl 5,
 *				or 20 up to ihl * 4 - 1 with ihl 6..15 (options)
 *	ipv4-bad-ihl		echo with ihl 0..4
 *	ipv6-plen-long		ICMPv6 echo with payload_len beyond the packet
 *	short-ipv6		version 6, 1 to 39 bytes
 *	src-not-allowed		valid echo from --spoof (default: --src + 1)
 *	replay			one ping (answered), then the same message again
 *	old-counter		one ping at counter 100000 (answered), then
 *				pings with counters 0, 1, ... (behind the window)
 *	random			--seed'ed inner packets: empty, random bytes, or
 *				IPv4/IPv6 headers with random fields and lengths
 *
 * --check: afterwards, one more ping on the same session must be answered.
 * Output, one line per result:
 *	handshake ok local=0xI remote=0xR
 *	reply SRC > DST echo-reply id=I seq=S counter=C
 *	sent KIND N
 *	check ok
 * Exit status: 0; 1 when the handshake, a ping or the check got no answer;
 * 2 for usage errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

enum {
	MSG_INITIATION = 1,
	MSG_RESPONSE = 2,
	MSG_COOKIE = 3,
	MSG_DATA = 4,
	LEN_INITIATION = 148,
	LEN_RESPONSE = 92,
	LEN_DATA_HDR = 16,
	LEN_TAG = 16,
	MAX_INNER = 1500,
	OLD_COUNTER_TOP = 100000,
};

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
static const char label_mac1[] = "mac1----";

struct wg {
	int fd;
	EVP_PKEY *spriv;		/* our static key */
	u8 spub[32], rpub[32], psk[32];
	u32 local, remote;
	u8 send_key[32], recv_key[32];
	u64 counter;			/* next sending counter */
};

struct inner {
	bool has4, has6, v6;
	struct in_addr src4, dst4, spoof4;
	struct in6_addr src6, dst6, spoof6;
	bool spoof_set;
	u16 id;
};

static int timeout_s = 10;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("wgauth: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void crypto_die(const char *what)
{
	fprintf(stderr, "wgauth: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static unsigned long long num(const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end)
		die("bad %s: %s", what, s);
	return v;
}

static void put_le32(u8 *p, u32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void put_le64(u8 *p, u64 v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static u32 get_le32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static u64 get_le64(const u8 *p)
{
	return get_le32(p) | (u64)get_le32(p + 4) << 32;
}

static void put_be16(u8 *p, u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static u16 get_be16(const u8 *p)
{
	return p[0] << 8 | p[1];
}

static u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* --- primitives: BLAKE2s, HMAC-BLAKE2s, keyed BLAKE2s, X25519, AEAD ------ */

static EVP_MD *blake2s;
static EVP_MAC *hmac_alg, *b2smac_alg;

static void hash(u8 out[32], const void *a, size_t alen, const void *b,
		 size_t blen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n;

	if (!c || !EVP_DigestInit_ex(c, blake2s, NULL) ||
	    !EVP_DigestUpdate(c, a, alen) || !EVP_DigestUpdate(c, b, blen) ||
	    !EVP_DigestFinal_ex(c, out, &n) || n != 32)
		crypto_die("BLAKE2s");
	EVP_MD_CTX_free(c);
}

static void mac(EVP_MAC *alg, const OSSL_PARAM *params, u8 *out,
		size_t outlen, const u8 *key, const u8 *in, size_t len)
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(alg);
	size_t n;

	if (!c || !EVP_MAC_init(c, key, 32, params) ||
	    !EVP_MAC_update(c, in, len) || !EVP_MAC_final(c, out, &n, outlen) ||
	    n != outlen)
		crypto_die("MAC");
	EVP_MAC_CTX_free(c);
}

/* HMAC(key, in) with BLAKE2s, for the KDF. */
static void hmac(u8 out[32], const u8 key[32], const u8 *in, size_t len)
{
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 "BLAKE2S-256", 0),
		OSSL_PARAM_construct_end(),
	};

	mac(hmac_alg, p, out, 32, key, in, len);
}

/* Mac(key, in): keyed BLAKE2s with a 16-byte output, for mac1. */
static void mac16(u8 out[16], const u8 key[32], const u8 *in, size_t len)
{
	size_t size = 16;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};

	mac(b2smac_alg, p, out, 16, key, in, len);
}

/* Kdf_n(ck, in): o1 = HMAC(t0, 1), o2 = HMAC(t0, o1 || 2), ...  o1 may be ck. */
static void kdf(u8 *o1, u8 *o2, u8 *o3, const u8 ck[32], const u8 *in,
		size_t len)
{
	u8 t0[32], buf[33];

	hmac(t0, ck, in, len);
	buf[0] = 1;
	hmac(o1, t0, buf, 1);
	if (o2) {
		memcpy(buf, o1, 32);
		buf[32] = 2;
		hmac(o2, t0, buf, 33);
	}
	if (o3) {
		memcpy(buf, o2, 32);
		buf[32] = 3;
		hmac(o3, t0, buf, 33);
	}
	OPENSSL_cleanse(t0, sizeof(t0));
	OPENSSL_cleanse(buf, sizeof(buf));
}

static EVP_PKEY *x25519_private(const u8 priv[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
						   priv, 32);

	if (!k)
		crypto_die("X25519 key");
	return k;
}

static void x25519_public(u8 pub[32], EVP_PKEY *k)
{
	size_t n = 32;

	if (!EVP_PKEY_get_raw_public_key(k, pub, &n) || n != 32)
		crypto_die("X25519 public key");
}

static void dh(u8 out[32], EVP_PKEY *priv, const u8 pub[32])
{
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL,
						     pub, 32);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
	size_t n = 32;

	if (!peer || !c || EVP_PKEY_derive_init(c) <= 0 ||
	    EVP_PKEY_derive_set_peer(c, peer) <= 0 ||
	    EVP_PKEY_derive(c, out, &n) <= 0 || n != 32)
		crypto_die("X25519");
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(peer);
}

/*
 * ChaCha20-Poly1305 with nonce 0^32 || le64(counter).  Sealing writes
 * len + 16 bytes; opening takes len including the tag and writes len - 16.
 * Returns 0, or -1 when opening fails.
 */
static int aead(bool seal, u8 *out, const u8 key[32], u64 counter,
		const u8 *in, size_t len, const u8 *ad, size_t adlen)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	u8 nonce[12] = { 0 };
	int n, ok;

	if (!seal) {
		if (len < LEN_TAG)
			return -1;
		len -= LEN_TAG;
	}
	put_le64(nonce + 4, counter);
	if (!c || !EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL,
				     NULL, seal) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) ||
	    !EVP_CipherInit_ex(c, NULL, NULL, key, nonce, seal) ||
	    (adlen && !EVP_CipherUpdate(c, NULL, &n, ad, adlen)) ||
	    (!seal && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, LEN_TAG,
					   (void *)(in + len))) ||
	    (len && !EVP_CipherUpdate(c, out, &n, in, len)))
		crypto_die("ChaCha20-Poly1305");
	ok = EVP_CipherFinal_ex(c, out + len, &n);
	if (ok && seal &&
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, LEN_TAG, out + len))
		crypto_die("ChaCha20-Poly1305 tag");
	EVP_CIPHER_CTX_free(c);
	if (!ok && seal)
		crypto_die("ChaCha20-Poly1305 seal");
	return ok ? 0 : -1;
}

/* --- keys and addresses ---------------------------------------------------- */

static void key_from_b64(u8 key[32], const char *s, const char *what)
{
	u8 buf[36];

	s += strspn(s, " \t\r\n");
	if (strcspn(s, " \t\r\n") != 44 || s[43] != '=' ||
	    EVP_DecodeBlock(buf, (const u8 *)s, 44) != 33)
		die("%s: not a base64 key", what);
	memcpy(key, buf, 32);
	OPENSSL_cleanse(buf, sizeof(buf));
}

static void key_from_file(u8 key[32], const char *path)
{
	char buf[128];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	key_from_b64(key, buf, path);
	OPENSSL_cleanse(buf, sizeof(buf));
}

static socklen_t parse_endpoint(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		port = strchr(s, ']');
		if (!port || port[1] != ':')
			die("bad endpoint %s", s);
		n = port - s - 1;
		s++;
		port += 2;
	} else {
		port = strrchr(s, ':');
		if (!port)
			die("bad endpoint %s", s);
		n = port - s;
		port++;
	}
	if (n >= sizeof(host))
		die("bad endpoint %s", s);
	memcpy(host, s, n);
	host[n] = 0;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(num(port, "port"));
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(num(port, "port"));
		return sizeof(*sin6);
	}
	die("bad endpoint address %s", host);
	return 0;
}

/* --src/--dst/--spoof: one address per family. */
static void parse_inner(struct inner *in, const char *s, int which)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		if (which == 0)
			in->src4 = a4, in->has4 = true;
		else if (which == 1)
			in->dst4 = a4;
		else
			in->spoof4 = a4, in->spoof_set = true;
	} else if (inet_pton(AF_INET6, s, &a6) == 1) {
		if (which == 0)
			in->src6 = a6, in->has6 = true;
		else if (which == 1)
			in->dst6 = a6;
		else
			in->spoof6 = a6, in->spoof_set = true;
	} else {
		die("bad address %s", s);
	}
}

/* --- messages -------------------------------------------------------------- */

static void send_msg(struct wg *wg, const u8 *msg, size_t len)
{
	if (send(wg->fd, msg, len, 0) != (ssize_t)len)
		die("send: %s", strerror(errno));
}

/*
 * Receive one datagram within @ms milliseconds.  Returns its length, or -1
 * when the time is up.  (ICMP errors for our endpoint are skipped.)
 */
static ssize_t recv_msg(struct wg *wg, u8 *buf, size_t size, u64 deadline)
{
	struct pollfd pfd = { .fd = wg->fd, .events = POLLIN };
	ssize_t n;
	u64 t;

	for (;;) {
		t = now_ms();
		if (t >= deadline)
			return -1;
		if (poll(&pfd, 1, deadline - t) <= 0)
			continue;
		n = recv(wg->fd, buf, size, MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != ECONNREFUSED && errno != EINTR)
			die("recv: %s", strerror(errno));
	}
}

/* TAI64N: big-endian seconds since 1970 + 2^62 + 10, big-endian nanoseconds. */
static void tai64n(u8 out[12])
{
	struct timespec ts;
	u64 s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = 0x400000000000000aULL + ts.tv_sec;
	for (int i = 0; i < 8; i++)
		out[i] = s >> (56 - 8 * i);
	for (int i = 0; i < 4; i++)
		out[8 + i] = (u32)ts.tv_nsec >> (24 - 8 * i);
}

/*
 * The initiator's side of the handshake (whitepaper 5.4.2 and 5.4.3).  One
 * initiation every 2 s (each with a new ephemeral key and timestamp) until
 * a response verifies or --timeout passes; then the transport keys.
 */
static int handshake(struct wg *wg)
{
	u8 msg[LEN_INITIATION], resp[LEN_INITIATION], key[32], tau[32];
	u8 c[32], h[32], ci[32], hi[32], epriv_raw[32], epub[32], dhout[32];
	u8 m1[16], mac1_key[32];
	u64 end = now_ms() + timeout_s * 1000ULL;
	EVP_PKEY *epriv = NULL;
	ssize_t n;

	while (now_ms() < end) {
		/* C = Hash(Construction), H = Hash(Hash(C || Identifier) || S_r) */
		hash(ci, construction, strlen(construction), NULL, 0);
		hash(hi, ci, 32, identifier, strlen(identifier));
		hash(hi, hi, 32, wg->rpub, 32);

		if (RAND_bytes(epriv_raw, 32) != 1)
			crypto_die("RAND_bytes");
		EVP_PKEY_free(epriv);
		epriv = x25519_private(epriv_raw);
		x25519_public(epub, epriv);

		memset(msg, 0, sizeof(msg));
		msg[0] = MSG_INITIATION;
		put_le32(msg + 4, wg->local);
		kdf(ci, NULL, NULL, ci, epub, 32);
		memcpy(msg + 8, epub, 32);
		hash(hi, hi, 32, epub, 32);
		/* es */
		dh(dhout, epriv, wg->rpub);
		kdf(ci, key, NULL, ci, dhout, 32);
		aead(true, msg + 40, key, 0, wg->spub, 32, hi, 32);
		hash(hi, hi, 32, msg + 40, 48);
		/* ss */
		dh(dhout, wg->spriv, wg->rpub);
		kdf(ci, key, NULL, ci, dhout, 32);
		{
			u8 ts[12];

			tai64n(ts);
			aead(true, msg + 88, key, 0, ts, 12, hi, 32);
		}
		hash(hi, hi, 32, msg + 88, 28);
		/* mac1 = Mac(Hash(Label-Mac1 || S_r), msg up to mac1); mac2 = 0 */
		hash(mac1_key, label_mac1, 8, wg->rpub, 32);
		mac16(msg + 116, mac1_key, msg, 116);
		send_msg(wg, msg, sizeof(msg));

		u64 retry = now_ms() + 2000;

		if (retry > end)
			retry = end;
		while ((n = recv_msg(wg, resp, sizeof(resp), retry)) >= 0) {
			if (n == 64 && resp[0] == MSG_COOKIE &&
			    get_le32(resp + 4) == wg->local) {
				printf("cookie reply: responder under load\n");
				continue;
			}
			if (n != LEN_RESPONSE || get_le32(resp) != MSG_RESPONSE ||
			    get_le32(resp + 8) != wg->local)
				continue;
			hash(mac1_key, label_mac1, 8, wg->spub, 32);
			mac16(m1, mac1_key, resp, 60);
			if (CRYPTO_memcmp(m1, resp + 60, 16)) {
				fprintf(stderr, "wgauth: response with a bad mac1\n");
				continue;
			}
			memcpy(c, ci, 32);
			memcpy(h, hi, 32);
			/* E_r, ee, se, psk */
			kdf(c, NULL, NULL, c, resp + 12, 32);
			hash(h, h, 32, resp + 12, 32);
			dh(dhout, epriv, resp + 12);
			kdf(c, NULL, NULL, c, dhout, 32);
			dh(dhout, wg->spriv, resp + 12);
			kdf(c, NULL, NULL, c, dhout, 32);
			kdf(c, tau, key, c, wg->psk, 32);
			hash(h, h, 32, tau, 32);
			if (aead(false, NULL, key, 0, resp + 44, 16, h, 32)) {
				fprintf(stderr, "wgauth: response does not decrypt\n");
				continue;
			}
			/* (T_send, T_recv) = Kdf2(C, empty) */
			kdf(wg->send_key, wg->recv_key, NULL, c, NULL, 0);
			wg->remote = get_le32(resp + 4);
			wg->counter = 0;
			printf("handshake ok local=0x%08x remote=0x%08x\n",
			       wg->local, wg->remote);
			fflush(stdout);
			EVP_PKEY_free(epriv);
			OPENSSL_cleanse(c, sizeof(c));
			OPENSSL_cleanse(ci, sizeof(ci));
			OPENSSL_cleanse(key, sizeof(key));
			OPENSSL_cleanse(dhout, sizeof(dhout));
			OPENSSL_cleanse(epriv_raw, sizeof(epriv_raw));
			return 0;
		}
	}
	EVP_PKEY_free(epriv);
	printf("handshake failed: no valid response in %d s\n", timeout_s);
	return -1;
}

/* A transport data message with @counter; returns its length. */
static size_t seal_data(struct wg *wg, u8 *out, u64 counter, const u8 *pt,
			size_t len)
{
	put_le32(out, MSG_DATA);
	put_le32(out + 4, wg->remote);
	put_le64(out + 8, counter);
	aead(true, out + LEN_DATA_HDR, wg->send_key, counter, pt, len, NULL, 0);
	return LEN_DATA_HDR + len + LEN_TAG;
}

static void send_inner(struct wg *wg, const u8 *pt, size_t len)
{
	u8 msg[LEN_DATA_HDR + MAX_INNER + LEN_TAG];

	send_msg(wg, msg, seal_data(wg, msg, wg->counter++, pt, len));
}

/* The next transport message for us before @deadline, decrypted. */
static ssize_t recv_inner(struct wg *wg, u8 *pt, u64 deadline, u64 *counter)
{
	u8 msg[LEN_DATA_HDR + 65536];
	ssize_t n;

	while ((n = recv_msg(wg, msg, sizeof(msg), deadline)) >= 0) {
		if (n < LEN_DATA_HDR + LEN_TAG || get_le32(msg) != MSG_DATA ||
		    get_le32(msg + 4) != wg->local ||
		    n - LEN_DATA_HDR - LEN_TAG > MAX_INNER)
			continue;
		*counter = get_le64(msg + 8);
		if (aead(false, pt, wg->recv_key, *counter, msg + LEN_DATA_HDR,
			 n - LEN_DATA_HDR, NULL, 0)) {
			fprintf(stderr, "wgauth: transport message does not decrypt\n");
			continue;
		}
		return n - LEN_DATA_HDR - LEN_TAG;
	}
	return -1;
}

/* --- inner packets --------------------------------------------------------- */

static u32 csum_add(u32 sum, const u8 *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get_be16(p);
	if (len)
		sum += p[0] << 8;
	return sum;
}

static u16 csum_fold(u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static void ipv4_csum(u8 *p)
{
	unsigned int hl = (p[0] & 15) * 4;

	p[10] = p[11] = 0;
	put_be16(p + 10, csum_fold(csum_add(0, p, hl < 20 ? 20 : hl)));
}

enum { ECHO_DATA = 56 };

/* ICMP echo request, IPv4 header with @ihl words (options are NOPs). */
static size_t echo4(u8 *p, const struct inner *in, struct in_addr src,
		    u16 seq, unsigned int ihl)
{
	size_t hl = ihl * 4, len = hl + 8 + ECHO_DATA;
	u8 *icmp = p + hl;

	memset(p, 0, len);
	memset(p + 20, 1, hl - 20);
	p[0] = 0x40 | ihl;
	put_be16(p + 2, len);
	put_be16(p + 4, seq);
	p[6] = 0x40;			/* DF */
	p[8] = 64;
	p[9] = IPPROTO_ICMP;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &in->dst4, 4);
	ipv4_csum(p);
	icmp[0] = 8;
	put_be16(icmp + 4, in->id);
	put_be16(icmp + 6, seq);
	for (int i = 0; i < ECHO_DATA; i++)
		icmp[8 + i] = i;
	put_be16(icmp + 2, csum_fold(csum_add(0, icmp, 8 + ECHO_DATA)));
	return len;
}

/* ICMPv6 echo request. */
static size_t echo6(u8 *p, const struct inner *in, const struct in6_addr *src,
		    u16 seq)
{
	size_t plen = 8 + ECHO_DATA;
	u8 *icmp = p + 40;
	u32 sum;

	memset(p, 0, 40 + plen);
	p[0] = 0x60;
	put_be16(p + 4, plen);
	p[6] = IPPROTO_ICMPV6;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, &in->dst6, 16);
	icmp[0] = 128;
	put_be16(icmp + 4, in->id);
	put_be16(icmp + 6, seq);
	for (int i = 0; i < ECHO_DATA; i++)
		icmp[8 + i] = i;
	/* pseudo-header: addresses, upper-layer length, next header */
	sum = csum_add(0, p + 8, 32);
	sum += plen + IPPROTO_ICMPV6;
	put_be16(icmp + 2, csum_fold(csum_add(sum, icmp, plen)));
	return 40 + plen;
}

/* A valid echo request from our source (or @spoof), padded to 16. */
static size_t echo(u8 *p, const struct inner *in, u16 seq, bool spoof)
{
	size_t len;

	if (in->v6)
		len = echo6(p, in, spoof ? &in->spoof6 : &in->src6, seq);
	else
		len = echo4(p, in, spoof ? in->spoof4 : in->src4, seq, 5);
	memset(p + len, 0, 15);
	return (len + 15) & ~15UL;
}

/* Is @p an echo reply to us for @seq?  Prints it if so. */
static bool is_reply(const u8 *p, ssize_t len, const struct inner *in, u16 seq,
		     u64 counter)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	const u8 *icmp;

	if (len >= 28 && !in->v6 && p[0] == 0x45 && p[9] == IPPROTO_ICMP &&
	    !memcmp(p + 12, &in->dst4, 4) && !memcmp(p + 16, &in->src4, 4)) {
		icmp = p + 20;
		if (icmp[0] != 0)
			return false;
		inet_ntop(AF_INET, p + 12, a, sizeof(a));
		inet_ntop(AF_INET, p + 16, b, sizeof(b));
	} else if (len >= 48 && in->v6 && (p[0] >> 4) == 6 &&
		   p[6] == IPPROTO_ICMPV6 && !memcmp(p + 8, &in->dst6, 16) &&
		   !memcmp(p + 24, &in->src6, 16)) {
		icmp = p + 40;
		if (icmp[0] != 129)
			return false;
		inet_ntop(AF_INET6, p + 8, a, sizeof(a));
		inet_ntop(AF_INET6, p + 24, b, sizeof(b));
	} else {
		return false;
	}
	if (get_be16(icmp + 4) != in->id || get_be16(icmp + 6) != seq)
		return false;
	printf("reply %s > %s echo-reply id=%u seq=%u counter=%llu\n", a, b,
	       in->id, seq, (unsigned long long)counter);
	fflush(stdout);
	return true;
}

static int wait_reply(struct wg *wg, const struct inner *in, u16 seq)
{
	u64 deadline = now_ms() + timeout_s * 1000ULL, counter;
	u8 pt[MAX_INNER];
	ssize_t n;

	while ((n = recv_inner(wg, pt, deadline, &counter)) >= 0)
		if (is_reply(pt, n, in, seq, counter))
			return 0;
	printf("no reply to seq=%u\n", seq);
	return -1;
}

static int ping(struct wg *wg, const struct inner *in, u16 seq)
{
	u8 p[MAX_INNER];

	send_inner(wg, p, echo(p, in, seq, false));
	return wait_reply(wg, in, seq);
}

/* --- random inner packets -------------------------------------------------- */

static u64 rng_state;

static u64 rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned int below(unsigned int n)
{
	return rnd() % n;
}

static void rnd_fill(u8 *p, size_t len)
{
	while (len--)
		*p++ = rnd();
}

/*
 * One random inner packet: empty (1/8), random bytes (1/8), or an IPv4 or
 * IPv6 header with mostly plausible fields (3/8 each), where the version,
 * the header and total lengths, the source and the destination each are
 * sometimes wrong, and the packet is sometimes cut short.
 */
static size_t random_inner(u8 *p, const struct inner *in)
{
	unsigned int cls = below(8), pl = below(200);
	size_t len, hl;

	if (cls == 0)
		return 0;
	if (cls == 1 || (cls < 5 && !in->has4) || (cls >= 5 && !in->has6)) {
		len = 1 + below(256);
		rnd_fill(p, len);
		return len;
	}
	if (cls < 5) {
		unsigned int ihl = below(4) ? 5 : below(16);
		static const u8 protos[] = { IPPROTO_ICMP, IPPROTO_TCP,
					     IPPROTO_UDP, 0 };

		hl = ihl < 5 ? 20 : ihl * 4;
		len = hl + pl;
		rnd_fill(p, len);
		p[0] = (below(8) ? 4 : below(16)) << 4 | ihl;
		put_be16(p + 2, below(4) ? len : (u16)rnd());
		if (below(8))
			p[6] = p[7] = 0;	/* not a fragment */
		p[8] |= 1;
		p[9] = protos[below(4)] ?: p[9];
		if (below(2))
			memcpy(p + 12, &in->src4, 4);
		if (below(4))
			memcpy(p + 16, &in->dst4, 4);
		ipv4_csum(p);
	} else {
		static const u8 nexts[] = { IPPROTO_ICMPV6, IPPROTO_TCP,
					    IPPROTO_UDP, IPPROTO_NONE, 0, 255 };

		hl = 40;
		len = hl + pl;
		rnd_fill(p, len);
		p[0] = (below(8) ? 6 : below(16)) << 4 | (p[0] & 15);
		put_be16(p + 4, below(4) ? pl : (u16)rnd());
		p[6] = nexts[below(6)];
		if (p[6] == 255)
			p[6] = rnd();
		if (below(2))
			memcpy(p + 8, &in->src6, 16);
		if (below(4))
			memcpy(p + 24, &in->dst6, 16);
	}
	if (!below(8))
		len = below(len + 1);
	return len;
}

/* --- send KIND ------------------------------------------------------------- */

static const char *const kinds[] = {
	"ping", "keepalive", "bad-version", "short-ipv4", "ipv4-totlen-long",
	"ipv4-totlen-short", "ipv4-bad-ihl", "ipv6-plen-long", "short-ipv6",
	"src-not-allowed", "replay", "old-counter", "random",
};

/* Kinds that need an address of one family. */
static int kind_family(const char *kind)
{
	if (!strcmp(kind, "keepalive") || !strcmp(kind, "random"))
		return 0;
	if (strstr(kind, "ipv6"))
		return 6;
	if (strstr(kind, "ipv4") || !strcmp(kind, "bad-version"))
		return 4;
	return -1;		/* either, -6 chooses */
}

static int send_kind(struct wg *wg, struct inner *in, const char *kind,
		     unsigned long count, unsigned long interval_us)
{
	u8 p[MAX_INNER], msg[LEN_DATA_HDR + MAX_INNER + LEN_TAG];
	size_t len, msglen = 0;
	int ret = 0;

	if (!strcmp(kind, "replay")) {
		len = echo(p, in, 1, false);
		msglen = seal_data(wg, msg, wg->counter++, p, len);
		send_msg(wg, msg, msglen);
		if (wait_reply(wg, in, 1))
			return -1;
	} else if (!strcmp(kind, "old-counter")) {
		if (count >= OLD_COUNTER_TOP / 2)
			die("--count too large for old-counter");
		wg->counter = OLD_COUNTER_TOP;
		if (ping(wg, in, 1))
			return -1;
	}
	for (unsigned long i = 0; i < count; i++) {
		if (interval_us && i)
			usleep(interval_us);
		len = 0;
		if (!strcmp(kind, "ping")) {
			if (ping(wg, in, i + 1))
				ret = -1;
			continue;
		} else if (!strcmp(kind, "replay")) {
			send_msg(wg, msg, msglen);
			continue;
		} else if (!strcmp(kind, "old-counter")) {
			len = echo(p, in, i + 2, false);
			send_msg(wg, msg, seal_data(wg, msg, i, p, len));
			continue;
		} else if (!strcmp(kind, "keepalive")) {
			len = 0;
		} else if (!strcmp(kind, "bad-version")) {
			static const u8 versions[] = { 5, 0, 7, 15 };

			len = echo4(p, in, in->src4, i, 5);
			p[0] = versions[i % 4] << 4 | 5;
			ipv4_csum(p);
		} else if (!strcmp(kind, "short-ipv4")) {
			echo4(p, in, in->src4, i, 5);
			len = 1 + i % 19;
		} else if (!strcmp(kind, "ipv4-totlen-long")) {
			len = echo4(p, in, in->src4, i, 5);
			put_be16(p + 2, len + 1 + i % 1000);
			ipv4_csum(p);
		} else if (!strcmp(kind, "ipv4-totlen-short")) {
			if (i % 2 == 0) {
				len = echo4(p, in, in->src4, i, 5);
				put_be16(p + 2, (i / 2) % 20);
			} else {
				unsigned int ihl = 6 + (i / 2) % 10;

				len = echo4(p, in, in->src4, i, ihl);
				put_be16(p + 2, 20 + (i / 2) % (ihl * 4 - 20));
			}
			ipv4_csum(p);
		} else if (!strcmp(kind, "ipv4-bad-ihl")) {
			len = echo4(p, in, in->src4, i, 5);
			p[0] = 0x40 | i % 5;
			ipv4_csum(p);
		} else if (!strcmp(kind, "ipv6-plen-long")) {
			len = echo6(p, in, &in->src6, i);
			put_be16(p + 4, len - 40 + 1 + i % 1000);
		} else if (!strcmp(kind, "short-ipv6")) {
			echo6(p, in, &in->src6, i);
			len = 1 + i % 39;
		} else if (!strcmp(kind, "src-not-allowed")) {
			len = echo(p, in, i + 1, true);
		} else if (!strcmp(kind, "random")) {
			len = random_inner(p, in);
		}
		send_inner(wg, p, len);
	}
	printf("sent %s %lu\n", kind, count);
	fflush(stdout);
	return ret;
}

static void usage(void)
{
	fputs("usage: wgauth --key FILE --peer-pub B64 [--psk FILE] --to ADDR:PORT\n"
	      "\t[--bind-port P] [--index N] [--timeout S] send KIND [--count N]\n"
	      "\t[--src ADDR] [--dst ADDR] [-6] [--spoof ADDR] [--seed S]\n"
	      "\t[--interval US] [--check]\n"
	      "  (see the comment at the top of wgauth.c)\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "peer-pub", required_argument, NULL, 'p' },
		{ "psk", required_argument, NULL, 'P' },
		{ "to", required_argument, NULL, 't' },
		{ "bind-port", required_argument, NULL, 'b' },
		{ "index", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "count", required_argument, NULL, 'c' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "spoof", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 'r' },
		{ "interval", required_argument, NULL, 'I' },
		{ "check", no_argument, NULL, 'C' },
		{ "ipv6", no_argument, NULL, '6' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL, *peer_pub = NULL, *pskfile = NULL;
	const char *to = NULL, *kind;
	unsigned long count = 1, interval_us = 0, bind_port = 0;
	struct inner in = { 0 };
	struct sockaddr_storage ss, bs;
	struct wg wg = { 0 };
	bool check = false, index_set = false;
	u64 seed = 1;
	u8 priv[32];
	socklen_t sl;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "6", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 'p': peer_pub = optarg; break;
		case 'P': pskfile = optarg; break;
		case 't': to = optarg; break;
		case 'b': bind_port = num(optarg, "--bind-port"); break;
		case 'i':
			wg.local = num(optarg, "--index");
			index_set = true;
			break;
		case 'T': timeout_s = num(optarg, "--timeout"); break;
		case 'c': count = num(optarg, "--count"); break;
		case 's': parse_inner(&in, optarg, 0); break;
		case 'd': parse_inner(&in, optarg, 1); break;
		case 'S': parse_inner(&in, optarg, 2); break;
		case 'r': seed = num(optarg, "--seed"); break;
		case 'I': interval_us = num(optarg, "--interval"); break;
		case 'C': check = true; break;
		case '6': in.v6 = true; break;
		default: usage();
		}
	}
	if (optind + 2 != argc || strcmp(argv[optind], "send") || !keyfile ||
	    !peer_pub || !to)
		usage();
	kind = argv[optind + 1];
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i]))
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		die("unknown KIND %s", kind);
	switch (kind_family(kind)) {
	case 4: in.v6 = false; break;
	case 6: in.v6 = true; break;
	}
	if ((kind_family(kind) || check) && !(in.v6 ? in.has6 : in.has4))
		die("%s needs --src and --dst (IPv%d)", kind, in.v6 ? 6 : 4);
	if (!in.spoof_set) {
		/* the next address after --src */
		in.spoof4.s_addr = htonl(ntohl(in.src4.s_addr) + 1);
		in.spoof6 = in.src6;
		in.spoof6.s6_addr[15]++;
	}
	in.id = getpid();
	/* splitmix64 of the seed, never 0 for xorshift */
	rng_state = seed + 0x9e3779b97f4a7c15ULL;
	rng_state = (rng_state ^ (rng_state >> 30)) * 0xbf58476d1ce4e5b9ULL;
	rng_state = (rng_state ^ (rng_state >> 27)) * 0x94d049bb133111ebULL;
	rng_state ^= rng_state >> 31;
	rng_state |= 1;

	blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	b2smac_alg = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	if (!blake2s || !hmac_alg || !b2smac_alg)
		crypto_die("fetching BLAKE2s");

	key_from_file(priv, keyfile);
	wg.spriv = x25519_private(priv);
	OPENSSL_cleanse(priv, sizeof(priv));
	x25519_public(wg.spub, wg.spriv);
	key_from_b64(wg.rpub, peer_pub, "--peer-pub");
	if (pskfile)
		key_from_file(wg.psk, pskfile);
	if (!index_set && RAND_bytes((u8 *)&wg.local, 4) != 1)
		crypto_die("RAND_bytes");

	sl = parse_endpoint(to, &ss);
	wg.fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (wg.fd < 0)
		die("socket: %s", strerror(errno));
	memset(&bs, 0, sizeof(bs));
	bs.ss_family = ss.ss_family;
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&bs)->sin6_port = htons(bind_port);
	else
		((struct sockaddr_in *)&bs)->sin_port = htons(bind_port);
	if (bind(wg.fd, (struct sockaddr *)&bs, sl) ||
	    connect(wg.fd, (struct sockaddr *)&ss, sl))
		die("%s: %s", to, strerror(errno));

	if (handshake(&wg))
		return 1;
	if (send_kind(&wg, &in, kind, count, interval_us))
		return 1;
	if (check) {
		if (ping(&wg, &in, 0xffff))
			return 1;
		printf("check ok\n");
	}
	return 0;
}
