#include "replay/pool.h"
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/numparse.h"
#include "core/banned.h"

/*
 * Section numbers ("ref 1.3") point into ../shared/reference/sqlalchemy-pool.md.
 *
 * State (ref 1.2, 7.1):
 *   overflow      = open records - pool_size; starts at -pool_size
 *   idle queue    = records checked in (Queue(maxsize=pool_size); no maximum
 *                   when pool_size == 0, in 1.4 and 2.0 alike)
 *   checked_out   = open - idle (includes a record whose connect is running)
 * The invariant checked_out + idle == pool_size + overflow holds after every
 * call; pool_check() BUG()s if it does not.
 */

enum waiter_state { W_FREE = 0, W_WAITING, W_NOTIFIED };

void pool_config_init(struct pool_config *c)
{
	memset(c, 0, sizeof(*c));
	c->pool_size = 5;
	c->max_overflow = 10;
	c->timeout_usec = 30 * USEC_PER_SEC;
	c->semantics = POOL_SQLA_20;
	c->wake_lag_usec = 5000; /* sys.getswitchinterval() */
	c->recycle_usec = -1;
}

int pool_config_from_string(struct pool_config *c, const char *s)
{
	const char *a = strchr(s, '/'), *b;
	int64_t size, ovf, t;
	char *tbuf;
	int r;
	if (!a || !(b = strchr(a + 1, '/')))
		return -1;
	if (parse_i64_n(s, (size_t)(a - s), &size) < 0 || size < 0 || size > 1000000)
		return -1;
	if (parse_i64_n(a + 1, (size_t)(b - a - 1), &ovf) < 0 || ovf < -1 || ovf > 1000000)
		return -1;
	tbuf = xstrdup(b + 1);
	r = parse_duration_usec(tbuf, &t);
	free(tbuf);
	if (r < 0 || t < 0)
		return -1;
	c->pool_size = (int32_t)size;
	c->max_overflow = (int32_t)ovf;
	c->timeout_usec = t;
	return 0;
}

const char *pool_outcome_name(enum pool_outcome o)
{
	static const char *const names[] = {
		[POOL_GOT_IDLE] = "got_idle", [POOL_MUST_CONNECT] = "must_connect",
		[POOL_CONNECT_LATE] = "connect_late", [POOL_MUST_WAIT] = "must_wait",
		[POOL_TIMEOUT] = "timeout", [POOL_QUEUED] = "queued",
		[POOL_QUEUED_NOTIFY] = "queued_notify", [POOL_HANDED] = "handed",
		[POOL_CLOSED] = "closed", [POOL_STALE] = "stale",
	};
	if ((unsigned)o >= sizeof(names) / sizeof(names[0]) || !names[o])
		return "?";
	return names[o];
}

void pool_init(struct pool *p, const struct pool_config *cfg)
{
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	if (cfg->pool_size < 0 || cfg->max_overflow < -1 || cfg->timeout_usec < 0)
		BUG("pool_init: bad config %d/%d/%lld", cfg->pool_size, cfg->max_overflow,
		    (long long)cfg->timeout_usec);
	/* ref 1.9: in 2.0 pool_size=0 forces max_overflow=-1 (2.0.52 impl.py:139) */
	if (cfg->semantics == POOL_SQLA_20 && cfg->pool_size == 0)
		p->cfg.max_overflow = -1;
	p->use_overflow = p->cfg.max_overflow > -1;
	p->overflow = -cfg->pool_size;
	p->w_head = p->w_tail = p->w_free = POOL_NIL;
	p->c.peak_overflow = p->overflow;
}

void pool_release(struct pool *p)
{
	free(p->idle);
	free(p->conn_state);
	free(p->conn_born);
	free(p->free_ids);
	free(p->w);
	memset(p, 0, sizeof(*p));
}

int32_t pool_capacity(const struct pool *p)
{
	if (!p->use_overflow)
		return -1;
	return p->cfg.pool_size + p->cfg.max_overflow;
}

static inline void pool_check(const struct pool *p)
{
	if (p->checked_out + (int32_t)p->idle_nr != p->cfg.pool_size + p->overflow)
		BUG("pool: %d out + %u idle != %d size + %d overflow", p->checked_out, p->idle_nr,
		    p->cfg.pool_size, p->overflow);
}

static inline void note_peaks(struct pool *p)
{
	if (p->checked_out > p->c.peak_checked_out)
		p->c.peak_checked_out = p->checked_out;
	if (p->overflow > p->c.peak_overflow)
		p->c.peak_overflow = p->overflow;
	if (pool_open(p) > p->c.peak_open)
		p->c.peak_open = pool_open(p);
}

/* Is the idle queue full?  Queue(maxsize=0) has no maximum (ref 1.4, 1.9). */
static inline bool queue_full(const struct pool *p)
{
	return p->cfg.pool_size > 0 && p->idle_nr >= (uint32_t)p->cfg.pool_size;
}

static void idle_put(struct pool *p, uint32_t conn)
{
	if (p->idle_nr == p->idle_alloc) {
		/* grow the ring and unwrap it */
		uint32_t na = p->idle_alloc ? p->idle_alloc * 2 : 16;
		uint32_t *n = xmalloc(na * sizeof(*n));
		for (uint32_t i = 0; i < p->idle_nr; i++)
			n[i] = p->idle[(p->idle_head + i) & (p->idle_alloc - 1)];
		free(p->idle);
		p->idle = n;
		p->idle_alloc = na;
		p->idle_head = 0;
	}
	p->idle[(p->idle_head + p->idle_nr) & (p->idle_alloc - 1)] = conn;
	p->idle_nr++;
	p->conn_state[conn] = POOL_CONN_IDLE;
}

/* Queue.get(): popleft() for FIFO, pop() for LifoQueue (the record returned last). */
static uint32_t idle_get(struct pool *p)
{
	uint32_t conn;
	if (!p->idle_nr)
		BUG("pool: get from an empty idle queue");
	if (p->cfg.use_lifo) {
		conn = p->idle[(p->idle_head + p->idle_nr - 1) & (p->idle_alloc - 1)];
	} else {
		conn = p->idle[p->idle_head];
		p->idle_head = (p->idle_head + 1) & (p->idle_alloc - 1);
	}
	p->idle_nr--;
	if (p->conn_state[conn] != POOL_CONN_IDLE)
		BUG("pool: idle queue held connection %u in state %d", conn, p->conn_state[conn]);
	p->conn_state[conn] = POOL_CONN_OUT;
	return conn;
}

static uint32_t conn_new(struct pool *p, log_usec now)
{
	uint32_t id;
	if (p->nfree) {
		id = p->free_ids[--p->nfree];
	} else {
		if (p->nconn == UINT32_MAX - 1)
			BUG("pool: out of connection ids");
		id = p->nconn++;
		if (p->nconn > p->conn_alloc) {
			/* same start, same n: both arrays get the same new size */
			size_t a = p->conn_alloc;
			p->conn_state = xgrow(p->conn_state, &a, p->nconn, sizeof(*p->conn_state));
			a = p->conn_alloc;
			p->conn_born = xgrow(p->conn_born, &a, p->nconn, sizeof(*p->conn_born));
			p->conn_alloc = a;
		}
	}
	p->conn_state[id] = POOL_CONN_CONNECTING;
	p->conn_born[id] = now;
	return id;
}

static void conn_free(struct pool *p, uint32_t id)
{
	p->conn_state[id] = POOL_CONN_FREE;
	ALLOC_GROW(p->free_ids, p->nfree + 1, p->free_alloc);
	p->free_ids[p->nfree++] = id;
}

static void check_conn(const struct pool *p, uint32_t conn, enum pool_conn_state want,
		       const char *what)
{
	if (conn >= p->nconn || p->conn_state[conn] != want)
		BUG("pool: %s of connection %u in state %d", what, conn,
		    conn < p->nconn ? p->conn_state[conn] : -1);
}

/* _inc_overflow() (ref 1.3): reserve a slot if overflow < max_overflow. */
static inline bool inc_overflow(struct pool *p)
{
	if (p->use_overflow && p->overflow >= p->cfg.max_overflow)
		return false;
	p->overflow++;
	return true;
}

static inline bool at_cap(const struct pool *p)
{
	return p->use_overflow && p->overflow >= p->cfg.max_overflow;
}

/* The slot is reserved (overflow already counted): hand out a new record. */
static uint32_t start_connect(struct pool *p, log_usec now)
{
	uint32_t conn = conn_new(p, now);
	p->checked_out++;
	p->c.connects++;
	p->c.checkouts++;
	note_peaks(p);
	return conn;
}

static void got_idle(struct pool *p, log_usec now, struct pool_result *res)
{
	uint32_t conn = idle_get(p);
	p->checked_out++;
	p->c.checkouts++;
	res->outcome = POOL_GOT_IDLE;
	res->conn = conn;
	res->recycled = false;
	/* ref 1.7: recycle is checked after the record left the queue; the
	 * reconnect adds to this checkout's hold */
	if (p->cfg.recycle_usec >= 0 && now - p->conn_born[conn] > p->cfg.recycle_usec) {
		res->recycled = true;
		p->conn_born[conn] = now;
		p->c.recycles++;
	}
	note_peaks(p);
}

/* --- waiters: a FIFO of slots, linked through prev/next ------------------- */

static uint32_t waiter_new(struct pool *p)
{
	uint32_t s;
	if (p->w_free != POOL_NIL) {
		s = p->w_free;
		p->w_free = p->w[s].next;
	} else {
		size_t a = p->w_alloc;
		ALLOC_GROW(p->w, p->nw + 1, a);
		p->w_alloc = (uint32_t)a;
		s = p->nw++;
		p->w[s].seq = 0;
	}
	p->w[s].seq++;
	return s;
}

static void waiter_link_tail(struct pool *p, uint32_t s)
{
	p->w[s].state = W_WAITING;
	p->w[s].next = POOL_NIL;
	p->w[s].prev = p->w_tail;
	if (p->w_tail != POOL_NIL)
		p->w[p->w_tail].next = s;
	else
		p->w_head = s;
	p->w_tail = s;
}

static void waiter_unlink(struct pool *p, uint32_t s)
{
	struct pool_waiter *w = &p->w[s];
	if (w->prev != POOL_NIL)
		p->w[w->prev].next = w->next;
	else
		p->w_head = w->next;
	if (w->next != POOL_NIL)
		p->w[w->next].prev = w->prev;
	else
		p->w_tail = w->prev;
	w->prev = w->next = POOL_NIL;
}

static void waiter_free(struct pool *p, uint32_t s)
{
	if (p->w[s].state == W_WAITING)
		waiter_unlink(p, s);
	p->w[s].state = W_FREE;
	p->w[s].next = p->w_free;
	p->w_free = s;
	p->waiters--;
	if (p->waiters < 0)
		BUG("pool: negative waiter count");
}

static bool handle_live(const struct pool *p, struct pool_wait h)
{
	return h.slot < p->nw && p->w[h.slot].seq == h.seq && p->w[h.slot].state != W_FREE;
}

/* --- the rules ------------------------------------------------------------ */

/*
 * _do_get() (ref 1.3, 7.2):
 *   wait = use_overflow and overflow >= max_overflow   (decided once, at arrival)
 *   get(block=wait, timeout)                           (idle record first)
 *   not waiting and Empty: inc_overflow() and connect   (slot reserved first)
 * Without barging, an idle record never sits in the queue while someone
 * waits (checkin hands it over), so a newcomer finding one is fair either
 * way; with barging it is exactly the newcomer overtaking a notified waiter.
 * A newcomer that finds a free slot connects at once even while older
 * waiters wait (ref 1.4: they overtake waiters left asleep by a close or a
 * failed connect, which wake nobody).
 */
void pool_checkout(struct pool *p, log_usec now, uint64_t waiter_id, struct pool_result *res)
{
	uint32_t s;
	res->recycled = false;
	if (p->idle_nr) {
		got_idle(p, now, res);
		return;
	}
	if (inc_overflow(p)) {
		res->outcome = POOL_MUST_CONNECT;
		res->conn = start_connect(p, now);
		pool_check(p);
		return;
	}
	/* at the cap on arrival: block with one total deadline */
	if (p->cfg.timeout_usec == 0) {
		/* ref 1.3: timeout=0 fails immediately when at the cap */
		p->c.timeouts++;
		res->outcome = POOL_TIMEOUT;
		return;
	}
	s = waiter_new(p);
	p->w[s].id = waiter_id;
	p->w[s].deadline = now + p->cfg.timeout_usec;
	waiter_link_tail(p, s);
	p->waiters++;
	p->c.waits++;
	if (p->waiters > p->c.peak_waiters)
		p->c.peak_waiters = p->waiters;
	res->outcome = POOL_MUST_WAIT;
	res->wait.slot = s;
	res->wait.seq = p->w[s].seq;
	res->deadline = p->w[s].deadline;
}

void pool_connect_done(struct pool *p, log_usec now, uint32_t conn)
{
	check_conn(p, conn, POOL_CONN_CONNECTING, "connect_done");
	p->conn_state[conn] = POOL_CONN_OUT;
	p->conn_born[conn] = now; /* starttime is set at connect (ref 1.7) */
}

/* ref 1.6: safe_reraise -> _dec_overflow(); a counter change, no notify. */
void pool_connect_failed(struct pool *p, log_usec now, uint32_t conn)
{
	check_conn(p, conn, POOL_CONN_CONNECTING, "connect_failed");
	conn_free(p, conn);
	p->checked_out--;
	p->overflow--;
	p->c.checkouts--; /* counted at start_connect(); this checkout failed */
	p->c.connect_failures++;
	pool_check(p);
}

/*
 * _do_return_conn() (ref 1.4, 7.3):
 *   put(rec, block=False): queue not full -> keep idle, notify ONE waiter
 *   Full                : close it, overflow -= 1, notify NOBODY
 */
void pool_checkin(struct pool *p, log_usec now, uint32_t conn, struct pool_result *res)
{
	check_conn(p, conn, POOL_CONN_OUT, "checkin");
	res->conn = conn;
	res->recycled = false;
	if (queue_full(p)) {
		p->checked_out--;
		p->overflow--;
		conn_free(p, conn);
		p->c.closes++;
		res->outcome = POOL_CLOSED;
		pool_check(p);
		return;
	}
	if (p->w_head != POOL_NIL) {
		uint32_t s = p->w_head;
		res->waiter_id = p->w[s].id;
		res->wait.slot = s;
		res->wait.seq = p->w[s].seq;
		if (!p->cfg.barging) {
			/* idealised: the oldest waiter takes it; the record stays out */
			if (p->idle_nr)
				BUG("pool: %u idle while a waiter waits (no barging)", p->idle_nr);
			waiter_free(p, s);
			p->c.handoffs++;
			p->c.checkouts++;
			res->outcome = POOL_HANDED;
			/* the waiter's checkout goes through get_connection() too */
			if (p->cfg.recycle_usec >= 0 &&
			    now - p->conn_born[conn] > p->cfg.recycle_usec) {
				res->recycled = true;
				p->conn_born[conn] = now;
				p->c.recycles++;
			}
			pool_check(p);
			return;
		}
		/* Condition.notify(): waiters[0] leaves the waiter list; it runs later */
		waiter_unlink(p, s);
		p->w[s].state = W_NOTIFIED;
		p->c.notifies++;
		p->checked_out--;
		idle_put(p, conn);
		res->outcome = POOL_QUEUED_NOTIFY;
		pool_check(p);
		return;
	}
	p->checked_out--;
	idle_put(p, conn);
	res->outcome = POOL_QUEUED;
	pool_check(p);
}

/*
 * The blocking get gave up (ref 1.3, 7.4).  Queue.get loops "while not
 * qsize: if remaining <= 0: raise Empty", so a record in the queue is taken
 * even at the deadline.  Then: at the cap -> TimeoutError; else inc_overflow()
 * and connect: a late success after exactly `timeout`.
 */
void pool_deadline(struct pool *p, log_usec now, struct pool_wait h, struct pool_result *res)
{
	res->recycled = false;
	if (!handle_live(p, h)) {
		res->outcome = POOL_STALE;
		return;
	}
	waiter_free(p, h.slot);
	if (p->idle_nr) {
		if (!p->cfg.barging)
			BUG("pool: %u idle at a deadline (no barging)", p->idle_nr);
		got_idle(p, now, res);
		return;
	}
	if (at_cap(p)) {
		p->c.timeouts++;
		res->outcome = POOL_TIMEOUT;
		return;
	}
	if (!inc_overflow(p))
		BUG("pool: no slot below the cap");
	p->c.late++;
	res->outcome = POOL_CONNECT_LATE;
	res->conn = start_connect(p, now);
	pool_check(p);
}

/* A notified waiter gets the GIL back (ref 1.5): take a record, or wait again
 * at the back of the list with the remaining time (the deadline is kept). */
void pool_wakeup(struct pool *p, log_usec now, struct pool_wait h, struct pool_result *res)
{
	res->recycled = false;
	if (!handle_live(p, h) || p->w[h.slot].state != W_NOTIFIED) {
		res->outcome = POOL_STALE;
		return;
	}
	if (p->idle_nr) {
		waiter_free(p, h.slot);
		got_idle(p, now, res);
		return;
	}
	p->c.robbed++;
	waiter_link_tail(p, h.slot);
	res->outcome = POOL_MUST_WAIT;
	res->wait = h;
	res->deadline = p->w[h.slot].deadline;
}

void pool_cancel_wait(struct pool *p, struct pool_wait h)
{
	if (handle_live(p, h))
		waiter_free(p, h.slot);
}
