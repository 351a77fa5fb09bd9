#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "core/error.h"
#include "core/numparse.h"
#include "core/strbuf.h"
#include "replay/live_pq.h"
#include "core/banned.h"

#define MAX_EVENTS 256

/* ---- messages ---------------------------------------------------------- */

static bool is_sqlstate_char(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z');
}

/*
 * With PQERRORS_VERBOSE libpq writes a server error as
 * "FATAL:  53300: sorry, too many clients already\nLOCATION: ...": the code
 * follows the severity's colon and two spaces.  This is the only way to get
 * the SQLSTATE of a failed *connect*, where there is no PGresult to ask.
 * Returns the offset of the code within msg[0..len), or -1.
 */
static long find_sqlstate(const char *msg, size_t len)
{
	for (size_t i = 0; i + 10 <= len; i++) {
		const char *q = msg + i + 3;
		int k;
		if (memcmp(msg + i, ":  ", 3))
			continue;
		for (k = 0; k < 5 && is_sqlstate_char(q[k]); k++)
			;
		if (k == 5 && q[5] == ':' && q[6] == ' ')
			return q - msg;
	}
	return -1;
}

/*
 * libpq's messages run over several lines and, between commands, pile up
 * (an earlier statement's ERROR, then the FATAL of a shutdown, then "server
 * closed the connection unexpectedly").  The line that says why is the last
 * one carrying a SQLSTATE, else the first that is not a detail, hint,
 * location or indented continuation.
 */
static const char *best_line(const char *msg, size_t *len)
{
	const char *first = NULL, *coded = NULL;
	size_t first_len = 0, coded_len = 0;
	for (const char *p = msg; *p;) {
		size_t n = strcspn(p, "\n");
		bool detail = *p == ' ' || *p == '\t' || !strncmp(p, "LOCATION:", 9) ||
			      !strncmp(p, "DETAIL:", 7) || !strncmp(p, "HINT:", 5) ||
			      !strncmp(p, "CONTEXT:", 8) || !strncmp(p, "QUERY:", 6) ||
			      !strncmp(p, "STATEMENT:", 10);
		if (n && !detail) {
			if (!first) {
				first = p;
				first_len = n;
			}
			if (find_sqlstate(p, n) >= 0) {
				coded = p;
				coded_len = n;
			}
		}
		p += n;
		if (*p)
			p++;
	}
	if (coded) {
		*len = coded_len;
		return coded;
	}
	*len = first_len;
	return first ? first : msg;
}

void live_sqlstate_from_message(const char *msg, char out[6])
{
	size_t n;
	const char *line = msg ? best_line(msg, &n) : NULL;
	long at = line ? find_sqlstate(line, n) : -1;
	out[0] = '\0';
	if (at >= 0) {
		memcpy(out, line + at, 5);
		out[5] = '\0';
	}
}

/* The line of msg that says why, without the SQLSTATE token, without
 * libpq's 'connection to server at "h", port 5432 failed: ' (the caller
 * names the server) and with "FATAL:  " spaced once, into out. */
static void one_line(const char *msg, char *out, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n;
	const char *line = best_line(msg, &n);
	long at;
	if (n > 21 && !strncmp(line, "connection to server ", 21)) {
		const char *f = strstr(line, " failed: ");
		if (f && f < line + n) {
			n -= (size_t)(f + 9 - line);
			line = f + 9;
		}
	}
	at = find_sqlstate(line, n);
	if (at >= 0) {
		strbuf_add(&sb, line, (size_t)at);
		strbuf_add(&sb, line + at + 7, n - (size_t)at - 7);
	} else {
		strbuf_add(&sb, line, n);
	}
	/* "FATAL:  x" -> "FATAL: x" */
	for (char *p = strstr(sb.buf, ":  "); p; p = strstr(p, ":  "))
		memmove(p + 1, p + 2, strlen(p + 2) + 1);
	snprintf(out, size, "%s", sb.buf);
	strbuf_release(&sb);
}

static void set_error(struct live_conn *c, const char *sqlstate, const char *msg)
{
	if (c->errmsg[0])
		return; /* keep the first, it says why */
	if (sqlstate && strlen(sqlstate) == 5)
		memcpy(c->sqlstate, sqlstate, 6);
	else
		live_sqlstate_from_message(msg, c->sqlstate);
	one_line(msg && *msg ? msg : "unknown libpq error", c->errmsg, sizeof(c->errmsg));
}

/*
 * Notices: silence libpq's default printing to stderr, but keep the FATAL
 * a server sends before it drops an idle connection ("terminating
 * connection due to administrator command", 57P01): it says why the
 * connection broke better than "server closed the connection unexpectedly".
 */
static void notice_receiver(void *arg, const PGresult *res)
{
	struct live_conn *c = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char line[LIVE_ERRMSG_MAX];
	if (!sev || !msg || (strcmp(sev, "FATAL") && strcmp(sev, "PANIC")))
		return;
	snprintf(line, sizeof(line), "%s: %s", sev, msg);
	snprintf(c->notice, sizeof(c->notice), "%s", line);
	msg = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	snprintf(c->notice_state, sizeof(c->notice_state), "%s", msg ? msg : "");
}

/* ---- the loop ---------------------------------------------------------- */

int live_loop_init(struct live_loop *l, bool catch_signals)
{
	struct epoll_event ev = { 0 };
	memset(l, 0, sizeof(*l));
	l->epfd = l->tfd = l->sigfd = -1;
	live_timer_heap_init(&l->timers);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return error("epoll_create1: %s", strerror(errno));
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->tfd < 0) {
		int e = errno;
		live_loop_release(l);
		return error("timerfd_create: %s", strerror(e));
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &l->tfd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &ev) < 0) {
		int e = errno;
		live_loop_release(l);
		return error("epoll_ctl: %s", strerror(e));
	}
	if (catch_signals) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		if (sigprocmask(SIG_BLOCK, &set, &l->oldmask) < 0) {
			int e = errno;
			live_loop_release(l);
			return error("sigprocmask: %s", strerror(e));
		}
		l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
		ev.data.ptr = &l->sigfd;
		if (l->sigfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sigfd, &ev) < 0) {
			int e = errno;
			live_loop_release(l);
			return error("signalfd: %s", strerror(e));
		}
	}
	return 0;
}

static void read_signals(struct live_loop *l)
{
	struct signalfd_siginfo si;
	while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (!l->signo)
			l->signo = (int)si.ssi_signo;
}

void live_loop_release(struct live_loop *l)
{
	if (l->sigfd >= 0) {
		/* consume a signal that came after the last wait, so restoring
		 * the mask does not deliver it with its default action */
		read_signals(l);
		close(l->sigfd);
		sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
	}
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->epfd >= 0)
		close(l->epfd);
	live_timer_heap_release(&l->timers);
	l->epfd = l->tfd = l->sigfd = -1;
}

void live_loop_arm(struct live_loop *l, struct live_timer *t, mono_usec due)
{
	live_timer_arm(&l->timers, t, due);
}

void live_loop_cancel(struct live_loop *l, struct live_timer *t)
{
	live_timer_cancel(&l->timers, t);
}

static int arm_tfd(struct live_loop *l, mono_usec due)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	if (due == l->tfd_due)
		return 0;
	its.it_value.tv_sec = due / USEC_PER_SEC;
	its.it_value.tv_nsec = (long)(due % USEC_PER_SEC) * 1000;
	if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return error("timerfd_settime: %s", strerror(errno));
	l->tfd_due = due;
	return 0;
}

static void conn_io(struct live_loop *l, struct live_conn *c, uint32_t events);

int live_loop_once(struct live_loop *l, mono_usec until)
{
	struct epoll_event evs[MAX_EVENTS];
	struct live_timer *t = live_timer_top(&l->timers);
	mono_usec now = mono_now(), due = t ? t->due : 0;
	int timeout = -1, n;

	if (until && (!due || until < due))
		due = until;
	if (due) {
		if (due <= now)
			timeout = 0;
		else if (arm_tfd(l, due) < 0)
			return -1;
	}
	l->wakeups++;
	n = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return error("epoll_wait: %s", strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		void *p = evs[i].data.ptr;
		if (p == &l->tfd) {
			uint64_t expirations;
			if (read(l->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
				return error("timerfd read: %s", strerror(errno));
			l->tfd_due = 0;
		} else if (p == &l->sigfd) {
			read_signals(l);
		} else {
			mono_usec t1 = mono_now(), d;
			conn_io(l, p, evs[i].events);
			d = mono_now() - t1;
			if (d > l->max_io_usec)
				l->max_io_usec = d;
		}
	}
	/* timers after I/O: a hold that ended on a socket frees its
	 * connection before a deadline due at the same moment decides */
	while ((t = live_timer_pop_due(&l->timers, now = mono_now()))) {
		mono_usec d;
		l->on_timer(l, t);
		d = mono_now() - now;
		if (d > l->max_timer_usec)
			l->max_timer_usec = d;
	}
	return 0;
}

/* ---- connections ------------------------------------------------------- */

void live_conn_init(struct live_conn *c, live_conn_done_fn *done, void *owner)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->done = done;
	c->owner = owner;
	c->value = -1;
}

static void unwatch(struct live_loop *l, struct live_conn *c)
{
	if (c->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL); /* may be gone with its socket */
	c->fd = -1;
	c->events = 0;
}

/*
 * Register the connection's current socket for `want`.  libpq may replace
 * the socket while connecting (one attempt per address of the host), and a
 * closed socket leaves the epoll set by itself, so while connecting the
 * registration is refreshed every time (`force`).
 */
static int watch(struct live_loop *l, struct live_conn *c, uint32_t want, bool force)
{
	int fd = PQsocket(c->pg);
	struct epoll_event ev = { 0 };
	if (fd != c->fd) {
		unwatch(l, c);
		c->fd = fd;
	}
	if (fd < 0)
		return 0;
	if (c->events == want && !force)
		return 0;
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
		if (errno != ENOENT || epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return error("epoll_ctl: %s", strerror(errno));
	}
	c->events = want;
	return 0;
}

static void reset_outcome(struct live_conn *c)
{
	c->err_seen = 0; /* libpq clears its message at each new command */
	c->notice[0] = c->notice_state[0] = '\0';
	c->sqlstate[0] = '\0';
	c->errmsg[0] = '\0';
	c->value = -1;
	c->started = mono_now();
}

/* The connection failed: report through done() (not during a start/send,
 * which report by their return value). */
static void conn_fail(struct live_loop *l, struct live_conn *c, bool callback)
{
	const char *msg = c->pg ? PQerrorMessage(c->pg) : "connection is closed";
	/* skip what an earlier command left there */
	if (c->pg && strlen(msg) >= c->err_seen)
		msg += c->err_seen;
	/* why the connection is gone outranks a statement's error before it */
	c->errmsg[0] = '\0';
	c->sqlstate[0] = '\0';
	if (c->notice[0] && !(*msg && find_sqlstate(msg, strlen(msg)) >= 0))
		set_error(c, c->notice_state, c->notice);
	else
		set_error(c, NULL, msg);
	unwatch(l, c);
	c->state = LIVE_CONN_BROKEN;
	if (callback)
		c->done(l, c, 0);
}

static void connect_step(struct live_loop *l, struct live_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		if (watch(l, c, EPOLLIN, true) < 0)
			conn_fail(l, c, true);
		return;
	case PGRES_POLLING_WRITING:
		if (watch(l, c, EPOLLOUT, true) < 0)
			conn_fail(l, c, true);
		return;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->pg, 1) < 0 || watch(l, c, EPOLLIN, true) < 0) {
			conn_fail(l, c, true);
			return;
		}
		c->state = LIVE_CONN_READY;
		c->err_seen = strlen(PQerrorMessage(c->pg));
		c->done(l, c, 1);
		return;
	default:
		conn_fail(l, c, true);
		return;
	}
}

static void collect(struct live_loop *l, struct live_conn *c)
{
	if (!PQconsumeInput(c->pg)) {
		conn_fail(l, c, true);
		return;
	}
	while (!PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);
		if (!res) {
			bool ok = !c->errmsg[0];
			if (PQstatus(c->pg) == CONNECTION_BAD) {
				conn_fail(l, c, true);
				return;
			}
			c->state = LIVE_CONN_READY;
			c->err_seen = strlen(PQerrorMessage(c->pg));
			if (c->events != EPOLLIN && watch(l, c, EPOLLIN, false) < 0) {
				conn_fail(l, c, true);
				return;
			}
			c->done(l, c, ok);
			return;
		}
		switch (PQresultStatus(res)) {
		case PGRES_TUPLES_OK:
			if (PQntuples(res) > 0 && PQnfields(res) > 0) {
				int64_t v;
				if (!parse_i64(PQgetvalue(res, 0, 0), &v))
					c->value = v;
			}
			break;
		case PGRES_COMMAND_OK:
		case PGRES_EMPTY_QUERY:
			break;
		default: {
			const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			set_error(c, PQresultErrorField(res, PG_DIAG_SQLSTATE),
				  primary ? primary : PQresultErrorMessage(res));
			break;
		}
		}
		PQclear(res);
	}
}

static void conn_io(struct live_loop *l, struct live_conn *c, uint32_t events)
{
	switch (c->state) {
	case LIVE_CONN_CONNECTING:
		connect_step(l, c);
		return;
	case LIVE_CONN_BUSY:
		if (events & EPOLLOUT) {
			int r = PQflush(c->pg);
			if (r < 0) {
				conn_fail(l, c, true);
				return;
			}
			if (!r && watch(l, c, EPOLLIN, false) < 0) {
				conn_fail(l, c, true);
				return;
			}
		}
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			collect(l, c);
		return;
	case LIVE_CONN_READY:
		/* nothing was asked: the server is telling us it is going away.
		 * PQconsumeInput() only reads; PQisBusy() parses, which hands
		 * the server's FATAL to notice_receiver(). */
		if (!PQconsumeInput(c->pg)) {
			conn_fail(l, c, true);
			return;
		}
		PQisBusy(c->pg);
		if (PQstatus(c->pg) == CONNECTION_BAD)
			conn_fail(l, c, true);
		return;
	case LIVE_CONN_CLOSED:
	case LIVE_CONN_BROKEN:
		return; /* a stale event from this wakeup's batch */
	}
}

int live_conn_start(struct live_loop *l, struct live_conn *c, const char *const *keys,
		    const char *const *vals)
{
	if (c->pg)
		BUG("live_conn_start on an open connection");
	reset_outcome(c);
	c->pg = PQconnectStartParams(keys, vals, 0);
	if (!c->pg)
		die("out of memory (PQconnectStartParams)");
	l->open_conns++;
	PQsetNoticeReceiver(c->pg, notice_receiver, c);
	/* the SQLSTATE of a refused connect appears only in verbose text */
	PQsetErrorVerbosity(c->pg, PQERRORS_VERBOSE);
	c->state = LIVE_CONN_CONNECTING;
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_fail(l, c, false);
		return -1;
	}
	/* as if PQconnectPoll had said PGRES_POLLING_WRITING */
	if (watch(l, c, EPOLLOUT, true) < 0) {
		conn_fail(l, c, false);
		return -1;
	}
	return 0;
}

int live_conn_send(struct live_loop *l, struct live_conn *c, const char *sql)
{
	int r;
	if (c->state != LIVE_CONN_READY)
		BUG("live_conn_send on a connection in state %d", (int)c->state);
	reset_outcome(c);
	if (!PQsendQuery(c->pg, sql)) {
		conn_fail(l, c, false);
		return -1;
	}
	c->state = LIVE_CONN_BUSY;
	r = PQflush(c->pg);
	if (r < 0 || watch(l, c, r ? EPOLLIN | EPOLLOUT : EPOLLIN, false) < 0) {
		conn_fail(l, c, false);
		return -1;
	}
	return 0;
}

void live_conn_close(struct live_loop *l, struct live_conn *c)
{
	unwatch(l, c);
	if (c->pg) {
		PQfinish(c->pg);
		c->pg = NULL;
		l->open_conns--;
	}
	c->state = LIVE_CONN_CLOSED;
}

PGTransactionStatusType live_conn_txn(const struct live_conn *c)
{
	if (!c->pg || c->state == LIVE_CONN_BROKEN)
		return PQTRANS_UNKNOWN;
	return PQtransactionStatus(c->pg);
}

/* ---- where to connect -------------------------------------------------- */

/* Span of the password in a DSN: keyword form "password = 'x y'" or
 * "password=x", URI form "scheme://user:secret@host" and "?password=x".
 * Returns 1 and sets *off and *len for the first one at or after `from`. */
static int find_password(const char *s, size_t from, size_t *off, size_t *len)
{
	const char *scheme = strstr(s, "://");
	if (scheme && (size_t)(scheme - s) + 3 >= from) {
		const char *auth = scheme + 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = NULL;
		for (size_t i = 0; i < alen; i++)
			if (auth[i] == '@')
				at = auth + i;
		if (at) {
			const char *colon = memchr(auth, ':', (size_t)(at - auth));
			if (colon && (size_t)(colon + 1 - s) >= from) {
				*off = (size_t)(colon + 1 - s);
				*len = (size_t)(at - colon - 1);
				return 1;
			}
		}
	}
	for (const char *p = strstr(s + from, "password"); p; p = strstr(p + 1, "password")) {
		const char *q = p + 8;
		bool uri = scheme != NULL;
		if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=')
			continue;
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		*off = (size_t)(q - s);
		if (*q == '\'') {
			const char *e = q + 1;
			while (*e && *e != '\'') {
				if (*e == '\\' && e[1])
					e++;
				e++;
			}
			*len = (size_t)(e - q) + (*e == '\'');
		} else {
			*len = uri ? strcspn(q, "&# \t") : strcspn(q, " \t\n");
		}
		return 1;
	}
	return 0;
}

char *live_dsn_mask(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	size_t from = 0, off, len;
	if (!s)
		return xstrdup("");
	while (find_password(s, from, &off, &len)) {
		strbuf_add(&sb, s + from, off - from);
		strbuf_addstr(&sb, "****");
		from = off + len;
	}
	strbuf_addstr(&sb, s + from);
	return strbuf_detach(&sb, NULL);
}

/* Hide every copy of the DSN's password in a libpq message about it. */
static char *mask_message(const char *dsn, const char *msg)
{
	struct strbuf sb = STRBUF_INIT;
	size_t off, len;
	char *secret;
	const char *p = msg;
	if (!find_password(dsn, 0, &off, &len) || !len)
		return live_dsn_mask(msg);
	secret = xstrndup(dsn + off, len);
	for (const char *hit; (hit = strstr(p, secret));) {
		strbuf_add(&sb, p, (size_t)(hit - p));
		strbuf_addstr(&sb, "****");
		p = hit + len;
	}
	strbuf_addstr(&sb, p);
	free(secret);
	{
		char *once = strbuf_detach(&sb, NULL), *twice = live_dsn_mask(once);
		free(once);
		return twice;
	}
}

static const char *opt_or_env(const PQconninfoOption *opts, const char *key, const char *env,
			      const char *dflt)
{
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, key) && o->val && *o->val)
			return o->val;
	if (env && getenv(env) && *getenv(env))
		return getenv(env);
	return dflt;
}

int live_dsn_init(struct live_dsn *d, const char *dsn, const char *application_name)
{
	const char *src = dsn, *what = "the --live connection string";
	struct strbuf norm = STRBUF_INIT;
	char *err = NULL;
	size_t n = 0;

	memset(d, 0, sizeof(*d));
	if (!dsn || !strcmp(dsn, "-")) {
		src = getenv("DATABASE_URL");
		what = "DATABASE_URL";
		if (!src)
			src = ""; /* libpq's PG* variables and defaults */
	}
	/* SQLAlchemy URLs name the driver: postgresql+psycopg2://, postgres+asyncpg:// */
	if (!strncmp(src, "postgresql+", 11) || !strncmp(src, "postgres+", 9)) {
		const char *rest = strstr(src, "://");
		strbuf_addstr(&norm, "postgresql");
		strbuf_addstr(&norm, rest ? rest : src + strcspn(src, "+"));
	} else if (*src && !strchr(src, '=') && !strstr(src, "://")) {
		/* a bare database name, as psql takes it */
		strbuf_addstr(&norm, "dbname='");
		for (const char *p = src; *p; p++) {
			if (*p == '\\' || *p == '\'')
				strbuf_addch(&norm, '\\');
			strbuf_addch(&norm, *p);
		}
		strbuf_addch(&norm, '\'');
	} else {
		strbuf_addstr(&norm, src);
	}
	d->opts = PQconninfoParse(norm.buf, &err);
	if (!d->opts) {
		char *masked = mask_message(norm.buf, err ? err : "out of memory");
		size_t l = strlen(masked);
		while (l && masked[l - 1] == '\n')
			masked[--l] = '\0';
		error("cannot parse %s: %s", what, masked);
		free(masked);
		PQfreemem(err);
		strbuf_release(&norm);
		return -1;
	}
	strbuf_release(&norm);
	for (PQconninfoOption *o = d->opts; o->keyword; o++)
		if (o->val)
			n++;
	d->keys = xcalloc(n + 2, sizeof(*d->keys));
	d->vals = xcalloc(n + 2, sizeof(*d->vals));
	n = 0;
	for (PQconninfoOption *o = d->opts; o->keyword; o++) {
		if (!o->val || !strcmp(o->keyword, "application_name"))
			continue;
		d->keys[n] = o->keyword;
		d->vals[n++] = o->val;
	}
	if (application_name) {
		d->keys[n] = "application_name";
		d->vals[n++] = application_name;
	}
	{
		struct strbuf w = STRBUF_INIT;
		const char *user = opt_or_env(d->opts, "user", "PGUSER", NULL);
		const char *host = opt_or_env(d->opts, "host", "PGHOST",
					      opt_or_env(d->opts, "hostaddr", "PGHOSTADDR", "localhost"));
		const char *port = opt_or_env(d->opts, "port", "PGPORT", "5432");
		const char *db = opt_or_env(d->opts, "dbname", "PGDATABASE", user ? user : "");
		if (user)
			strbuf_addf(&w, "%s@", user);
		strbuf_addf(&w, "%s:%s/%s", host, port, db);
		d->where = strbuf_detach(&w, NULL);
	}
	return 0;
}

void live_dsn_release(struct live_dsn *d)
{
	if (d->opts)
		PQconninfoFree(d->opts);
	free(d->keys);
	free(d->vals);
	free(d->where);
	memset(d, 0, sizeof(*d));
}
