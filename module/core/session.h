/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A session: the two transport keys one handshake yields, the sending
 * counter, the replay window, and the three slots a peer keeps sessions in
 * (the paper's section 5.4.5 and 6): the one that sends, the one before it
 * (still received on while packets in flight arrive) and, on the
 * responder, the next one, which waits until the initiator has used it.
 *
 * The core decides which session goes where; the caller owns their memory
 * and their references, and gets back the sessions that fell out of the
 * slots to release.
 */
#ifndef _WG_CORE_SESSION_H
#define _WG_CORE_SESSION_H

#include "wire.h"
#include "replay.h"

#include <linux/atomic.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>

struct wg_session_key {
	u8 key[WG_SYMKEY_LEN];
	u64 born;	/* the caller's clock at derivation, ns */
	bool valid;	/* cleared when the key expires or is worn out */
};

struct wg_session {
	struct wg_session_key send, recv;
	/* The next transport counter to send. */
	atomic64_t send_counter;
	struct wg_replay replay;
	/* The index the remote side gave for this session. */
	__le32 remote_index;
	bool initiator;
};

struct wg_session_slots {
	struct wg_session __rcu *cur, *prev, *next;
	/* Serialises writers of the three slots; readers use RCU. */
	spinlock_t lock;
};

/* At most this many sessions leave the slots in one call. */
#define WG_SESSION_GONE_MAX 3

void wg_session_slots_init(struct wg_session_slots *slots);
/*
 * Places a freshly derived session.  Returns how many sessions fell out,
 * stored in @gone for the caller to release.
 */
unsigned int wg_session_slots_install(struct wg_session_slots *slots,
				      struct wg_session *fresh,
				      struct wg_session *gone[WG_SESSION_GONE_MAX]);
/*
 * A transport message arrived under @s.  If @s was waiting in the next
 * slot, the initiator has confirmed it: it becomes current and true is
 * returned; *gone is set to a session that fell out, or NULL.
 */
bool wg_session_slots_confirm(struct wg_session_slots *slots,
			      struct wg_session *s, struct wg_session **gone);
/* Empties all three slots; returns how many sessions it took out. */
unsigned int wg_session_slots_clear(struct wg_session_slots *slots,
				    struct wg_session *gone[WG_SESSION_GONE_MAX]);
/* Stops the current and next sessions from sending (identity changed). */
void wg_session_slots_stop_sending(struct wg_session_slots *slots);

#endif /* _WG_CORE_SESSION_H */
