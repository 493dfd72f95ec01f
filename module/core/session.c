// SPDX-License-Identifier: GPL-2.0
/*
 * Where sessions go.  An initiator may send as soon as it has read the
 * response, so its new session becomes current at once.  A responder must
 * not send before the initiator has shown, by sending, that it holds the
 * same keys; its new session waits in the next slot until then.
 */
#include "session.h"

#include <linux/lockdep.h>

void wg_session_slots_init(struct wg_session_slots *slots)
{
	RCU_INIT_POINTER(slots->cur, NULL);
	RCU_INIT_POINTER(slots->prev, NULL);
	RCU_INIT_POINTER(slots->next, NULL);
	spin_lock_init(&slots->lock);
}

/* One slot's session; the caller holds slots->lock. */
static struct wg_session *slot(struct wg_session_slots *slots,
			       struct wg_session __rcu **p)
{
	return rcu_dereference_protected(*p, lockdep_is_held(&slots->lock));
}

static void add_gone(struct wg_session *s, struct wg_session **gone,
		     unsigned int *n)
{
	if (s)
		gone[(*n)++] = s;
}

unsigned int wg_session_slots_install(struct wg_session_slots *slots,
				      struct wg_session *fresh,
				      struct wg_session *gone[WG_SESSION_GONE_MAX])
{
	struct wg_session *cur, *prev, *next;
	unsigned int n = 0;

	spin_lock_bh(&slots->lock);
	cur = slot(slots, &slots->cur);
	prev = slot(slots, &slots->prev);
	next = slot(slots, &slots->next);
	if (fresh->initiator) {
		/*
		 * A responder session still waiting for confirmation may
		 * already be in use by the other side: keep it as the one to
		 * receive on, and let the unconfirmed current one go.
		 */
		add_gone(prev, gone, &n);
		if (next) {
			rcu_assign_pointer(slots->prev, next);
			RCU_INIT_POINTER(slots->next, NULL);
			add_gone(cur, gone, &n);
		} else {
			rcu_assign_pointer(slots->prev, cur);
		}
		rcu_assign_pointer(slots->cur, fresh);
	} else {
		add_gone(next, gone, &n);
		rcu_assign_pointer(slots->next, fresh);
	}
	spin_unlock_bh(&slots->lock);
	return n;
}

bool wg_session_slots_confirm(struct wg_session_slots *slots,
			      struct wg_session *s, struct wg_session **gone)
{
	bool moved = false;

	*gone = NULL;
	/* The common case, a session already current, takes no lock. */
	if (s != rcu_access_pointer(slots->next))
		return false;
	spin_lock_bh(&slots->lock);
	if (s == slot(slots, &slots->next)) {
		*gone = slot(slots, &slots->prev);
		rcu_assign_pointer(slots->prev, slot(slots, &slots->cur));
		rcu_assign_pointer(slots->cur, s);
		RCU_INIT_POINTER(slots->next, NULL);
		moved = true;
	}
	spin_unlock_bh(&slots->lock);
	return moved;
}

unsigned int wg_session_slots_clear(struct wg_session_slots *slots,
				    struct wg_session *gone[WG_SESSION_GONE_MAX])
{
	unsigned int n = 0;

	spin_lock_bh(&slots->lock);
	add_gone(slot(slots, &slots->cur), gone, &n);
	add_gone(slot(slots, &slots->prev), gone, &n);
	add_gone(slot(slots, &slots->next), gone, &n);
	RCU_INIT_POINTER(slots->cur, NULL);
	RCU_INIT_POINTER(slots->prev, NULL);
	RCU_INIT_POINTER(slots->next, NULL);
	spin_unlock_bh(&slots->lock);
	return n;
}

void wg_session_slots_stop_sending(struct wg_session_slots *slots)
{
	struct wg_session *s;

	spin_lock_bh(&slots->lock);
	s = slot(slots, &slots->cur);
	if (s)
		WRITE_ONCE(s->send.valid, false);
	s = slot(slots, &slots->next);
	if (s)
		WRITE_ONCE(s->send.valid, false);
	spin_unlock_bh(&slots->lock);
}
