// SPDX-License-Identifier: GPL-2.0
/*
 * The core against known answers (kat-vectors.h, computed by
 * selftests/tools/wg-kat.py, a separate implementation from the paper),
 * and the replay window against a plain model of its rule.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "core.h"
#include "cookie.h"
#include "handshake.h"
#include "replay.h"
#include "session.h"

#include <linux/init.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/bitops.h>
#include <linux/string.h>
#include <crypto/chacha20poly1305.h>

void __init wg_core_init(void)
{
	wg_handshake_prepare();
}

#ifdef CONFIG_WG_DEBUG

#include "kat-vectors.h"

struct kat_ctx {
	struct wg_identity me_i, me_r;
	struct wg_handshake hs_i, hs_r;
	struct wg_cookie_jar jar_i, jar_r;
	struct wg_cookie_guard guard_r;
	struct wg_initiation_opened opened;
	struct wg_msg_initiation init;
	struct wg_msg_response resp;
	struct wg_msg_cookie reply;
	struct wg_session s_i, s_r;
	u8 data[sizeof(kat_data)];
	u8 plain[sizeof(kat_data_plain)];
	u8 cookie[WG_COOKIE_LEN];
	struct wg_replay replay;
	unsigned long *seen;
	unsigned int errors;
};

#define NOW_NS (1000ULL * NSEC_PER_SEC)

#define expect(ctx, cond, what)						\
	do {								\
		if (!(cond)) {						\
			pr_err("core self-test %u: %s\n", __LINE__, what);	\
			(ctx)->errors++;				\
		}							\
	} while (0)

#define same(a, b) (!memcmp(a, b, sizeof(b)))

static void kat_handshake(struct kat_ctx *c)
{
	static const u8 zero[WG_PUBLIC_LEN];
	const u8 source[] = { 192, 0, 2, 1 };

	wg_identity_set(&c->me_i, zero);
	expect(c, !c->me_i.valid &&
	       !memchr_inv(c->me_i.private, 0, WG_PUBLIC_LEN),
	       "an all-zero private key is no identity");
	wg_identity_set(&c->me_i, kat_init_static);
	wg_identity_set(&c->me_r, kat_resp_static);
	expect(c, c->me_i.valid && same(c->me_i.public, kat_init_public),
	       "initiator public key");
	expect(c, c->me_r.valid && same(c->me_r.public, kat_resp_public),
	       "responder public key");

	wg_handshake_init(&c->hs_i, c->me_r.public, kat_preshared, &c->me_i);
	wg_handshake_init(&c->hs_r, c->me_i.public, kat_preshared, &c->me_r);
	wg_cookie_jar_init(&c->jar_i, c->me_r.public);
	wg_cookie_jar_init(&c->jar_r, c->me_i.public);
	wg_cookie_guard_init(&c->guard_r);
	wg_cookie_guard_set_key(&c->guard_r, c->me_r.public);

	/* The initiation, byte for byte. */
	expect(c, wg_handshake_create_initiation(&c->hs_i, &c->me_i,
						 kat_init_ephemeral,
						 kat_timestamp,
						 cpu_to_le32(KAT_INIT_INDEX),
						 &c->init),
	       "create initiation");
	wg_cookie_jar_stamp(&c->jar_i, &c->init, sizeof(c->init), NOW_NS);
	expect(c, same(&c->init, kat_initiation), "initiation bytes");
	expect(c, wg_cookie_guard_check(&c->guard_r, &c->init,
					sizeof(c->init), NULL, 0, false,
					NOW_NS) == WG_MAC_OK,
	       "initiation mac1");

	/* The responder takes it in, once. */
	expect(c, wg_handshake_open_initiation(&c->me_r, &c->init, &c->opened),
	       "open initiation");
	expect(c, same(c->opened.remote_static, kat_init_public),
	       "initiator static key recovered");
	expect(c, wg_handshake_accept_initiation(&c->hs_r, &c->opened,
						 &c->init, NOW_NS) == WG_HS_OK,
	       "accept initiation");
	expect(c, wg_handshake_open_initiation(&c->me_r, &c->init,
					       &c->opened) &&
	       wg_handshake_accept_initiation(&c->hs_r, &c->opened, &c->init,
					      NOW_NS + NSEC_PER_SEC) ==
	       WG_HS_REPLAYED,
	       "replayed initiation refused");

	/* The response, byte for byte, and the initiator's side of it. */
	expect(c, wg_handshake_create_response(&c->hs_r, kat_resp_ephemeral,
					       cpu_to_le32(KAT_RESP_INDEX),
					       &c->resp),
	       "create response");
	wg_cookie_jar_stamp(&c->jar_r, &c->resp, sizeof(c->resp), NOW_NS);
	expect(c, same(&c->resp, kat_response), "response bytes");
	c->resp.sealed_nothing[3] ^= 1;
	expect(c, wg_handshake_consume_response(&c->hs_i, &c->me_i,
						&c->resp) == WG_HS_REJECTED,
	       "forged response refused");
	c->resp.sealed_nothing[3] ^= 1;
	expect(c, wg_handshake_consume_response(&c->hs_i, &c->me_i,
						&c->resp) == WG_HS_OK,
	       "consume response");

	/* Both transport keys, on both sides. */
	expect(c, wg_handshake_derive(&c->hs_i, &c->s_i, NOW_NS) &&
	       c->s_i.initiator, "initiator derives");
	expect(c, wg_handshake_derive(&c->hs_r, &c->s_r, NOW_NS) &&
	       !c->s_r.initiator, "responder derives");
	expect(c, same(c->s_i.send.key, kat_init_send) &&
	       same(c->s_i.recv.key, kat_init_recv), "initiator keys");
	expect(c, same(c->s_r.recv.key, kat_init_send) &&
	       same(c->s_r.send.key, kat_init_recv), "responder keys");
	expect(c, c->s_i.remote_index == cpu_to_le32(KAT_RESP_INDEX) &&
	       c->s_r.remote_index == cpu_to_le32(KAT_INIT_INDEX),
	       "remote indexes");
	expect(c, c->hs_i.stage == WG_HS_IDLE && c->hs_r.stage == WG_HS_IDLE,
	       "handshakes reset after deriving");

	/* One transport message, sealed as the data path does. */
	{
		struct wg_msg_data *hdr = (void *)c->data;

		hdr->type = cpu_to_le32(WG_MSG_DATA);
		hdr->receiver = c->s_i.remote_index;
		hdr->counter = cpu_to_le64(KAT_DATA_COUNTER);
		chacha20poly1305_encrypt(c->data + sizeof(*hdr), kat_data_plain,
					 sizeof(kat_data_plain), NULL, 0,
					 KAT_DATA_COUNTER, c->s_i.send.key);
		expect(c, same(c->data, kat_data), "transport message bytes");
		expect(c, chacha20poly1305_decrypt(c->plain,
						   kat_data + sizeof(*hdr),
						   sizeof(kat_data) - sizeof(*hdr),
						   NULL, 0, KAT_DATA_COUNTER,
						   c->s_r.recv.key) &&
		       same(c->plain, kat_data_plain),
		       "transport message opens");
	}

	/* A cookie reply to the initiation, and the mac2 it leads to. */
	wg_cookie_make(c->cookie, kat_cookie_secret, kat_cookie_source,
		       sizeof(kat_cookie_source));
	expect(c, same(c->cookie, kat_cookie), "cookie");
	wg_cookie_seal_reply(&c->reply, c->guard_r.reply_key, c->init.sender,
			     c->cookie, c->init.mac1, kat_cookie_nonce);
	expect(c, same(&c->reply, kat_cookie_reply), "cookie reply bytes");
	expect(c, wg_cookie_jar_take(&c->jar_i, &c->reply, NOW_NS),
	       "cookie reply taken");
	expect(c, !wg_cookie_jar_take(&c->jar_i, &c->reply, NOW_NS),
	       "second cookie reply refused");
	wg_cookie_jar_stamp(&c->jar_i, &c->init, sizeof(c->init), NOW_NS);
	expect(c, same(c->init.mac2, kat_initiation_mac2), "mac2");
	memcpy(c->guard_r.secret, kat_cookie_secret, WG_HASH_LEN);
	c->guard_r.secret_born = NOW_NS;
	expect(c, wg_cookie_guard_check(&c->guard_r, &c->init, sizeof(c->init),
					kat_cookie_source,
					sizeof(kat_cookie_source), true,
					NOW_NS) == WG_MAC_OK_COOKIE,
	       "mac2 checked by the guard");
	expect(c, wg_cookie_guard_check(&c->guard_r, &c->init, sizeof(c->init),
					source, sizeof(source), true,
					NOW_NS) == WG_MAC_OK,
	       "mac2 from another address");
	c->init.mac1[0] ^= 1;
	expect(c, wg_cookie_guard_check(&c->guard_r, &c->init, sizeof(c->init),
					NULL, 0, false, NOW_NS) == WG_MAC_BAD,
	       "bad mac1");
	c->init.mac1[0] ^= 1;
	c->init.sealed_static[0] ^= 1;
	expect(c, !wg_handshake_open_initiation(&c->me_r, &c->init, &c->opened),
	       "forged initiation refused");
}

/* The rule, stated plainly over a bitmap of every counter below @limit. */
static bool model(struct kat_ctx *c, u64 *next, u64 n)
{
	if (n + WG_REPLAY_WINDOW < *next || test_bit(n, c->seen))
		return false;
	__set_bit(n, c->seen);
	if (n >= *next)
		*next = n + 1;
	return true;
}

#define MODEL_LIMIT (256 * WG_REPLAY_RING_BITS)

static void replay_window(struct kat_ctx *c)
{
	u64 next = 0, n, i;
	u32 x = 1;

	wg_replay_init(&c->replay);
	expect(c, wg_replay_check(&c->replay, 0), "first counter");
	expect(c, !wg_replay_check(&c->replay, 0), "repeat of 0");
	expect(c, wg_replay_check(&c->replay, 2) &&
	       wg_replay_check(&c->replay, 1) &&
	       !wg_replay_check(&c->replay, 1), "out of order");
	n = WG_REPLAY_WINDOW + 10;
	expect(c, wg_replay_check(&c->replay, n), "jump ahead");
	expect(c, !wg_replay_check(&c->replay, 10), "just out of window");
	expect(c, wg_replay_check(&c->replay, 11), "just inside window");
	expect(c, wg_replay_check(&c->replay, n + WG_REPLAY_RING_BITS) &&
	       !wg_replay_check(&c->replay, n + 1), "whole ring ahead");
	expect(c, wg_replay_check(&c->replay, WG_REJECT_AFTER_MSGS - 1) &&
	       !wg_replay_check(&c->replay, WG_REJECT_AFTER_MSGS) &&
	       !wg_replay_check(&c->replay, U64_MAX), "worn-out counters");

	/* Mostly forward with jitter, some repeats, some big jumps. */
	wg_replay_init(&c->replay);
	for (i = 0; i < 20000; i++) {
		x = x * 1103515245 + 12345;
		switch ((x >> 16) % 32) {
		case 0:
			n = next + (x >> 4) % (2 * WG_REPLAY_RING_BITS);
			break;
		case 1:
		case 2:
			n = next > 5 ? next - 5 : 0;
			break;
		case 3:
			n = next > WG_REPLAY_WINDOW ? next - WG_REPLAY_WINDOW : 0;
			break;
		default:
			n = next + (x >> 4) % 300;
			n = n > 150 ? n - 150 : 0;
			break;
		}
		if (n >= MODEL_LIMIT)
			break;
		if (wg_replay_check(&c->replay, n) != model(c, &next, n)) {
			expect(c, false, "replay window against the model");
			break;
		}
	}
}

bool __init wg_core_selftest(void)
{
	struct kat_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);
	bool ok;

	if (!c)
		return false;
	c->seen = kvcalloc(BITS_TO_LONGS(MODEL_LIMIT), sizeof(long), GFP_KERNEL);
	if (!c->seen) {
		kfree(c);
		return false;
	}
	kat_handshake(c);
	replay_window(c);
	ok = !c->errors;
	if (ok)
		pr_info("core self-tests: pass\n");
	else
		pr_err("core self-tests: FAIL (%u errors)\n", c->errors);
	kvfree(c->seen);
	kfree_sensitive(c);
	return ok;
}

#endif /* CONFIG_WG_DEBUG */
