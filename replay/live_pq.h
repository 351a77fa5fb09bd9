#ifndef POOLSCOPE_LIVE_PQ_H
#define POOLSCOPE_LIVE_PQ_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "core/logtime.h"
#include "replay/live_timer.h"
/*
 * The engine under the live replay: one single-threaded event loop over
 * non-blocking libpq connections (after redis' ae.c).  No thread per
 * connection: every socket sits in one epoll set, timers live in a binary
 * heap (replay/live_timer.h) and wake the loop through one timerfd armed at
 * microsecond precision (epoll_wait's own timeout is whole milliseconds,
 * too coarse to hold a schedule to 2 ms), and SIGINT/SIGTERM arrive as
 * readable data on a signalfd, so an interrupt is just another event.
 *
 * A connection runs one thing at a time: a connect, or one command (which
 * may hold several statements).  When it finishes, its `done` callback runs
 * with ok = 1 (connected; every result of the command was fine) or ok = 0
 * (connect refused, a statement failed, or the connection broke), with the
 * SQLSTATE and a one-line message kept in the connection.  An idle
 * connection that the server drops (restart, pg_terminate_backend) also
 * calls `done` with ok = 0 and state LIVE_CONN_BROKEN.
 */

struct live_loop;
struct live_conn;

/* Called from inside live_loop_once(); may start, send on or close any
 * connection, including c (but must not free c before returning). */
typedef void live_conn_done_fn(struct live_loop *loop, struct live_conn *c, int ok);
typedef void live_timer_fn(struct live_loop *loop, struct live_timer *t);

enum live_conn_state {
	LIVE_CONN_CLOSED = 0, /* no PGconn */
	LIVE_CONN_CONNECTING,
	LIVE_CONN_READY,      /* connected, nothing in flight */
	LIVE_CONN_BUSY,       /* a command in flight */
	LIVE_CONN_BROKEN      /* failed or dropped; only live_conn_close() is left */
};

#define LIVE_ERRMSG_MAX 200

struct live_conn {
	PGconn *pg;                /* owned; NULL when CLOSED */
	int fd;                    /* socket registered in the loop, -1 if none */
	uint32_t events;           /* epoll interest registered for fd */
	enum live_conn_state state;
	live_conn_done_fn *done;   /* borrowed function */
	void *owner;               /* borrowed: the caller's object */
	mono_usec started;         /* when the connect or command began */
	char sqlstate[6];          /* of the first failure, "" if none or unknown */
	char errmsg[LIVE_ERRMSG_MAX]; /* one line, "" if none */
	int64_t value;             /* column 1 of row 1 of the last result with rows, or -1 */
	size_t err_seen;           /* length of PQerrorMessage() already reported */
	char notice[LIVE_ERRMSG_MAX]; /* last FATAL the server sent outside a command */
	char notice_state[6];
};

struct live_loop {
	int epfd;                  /* owned */
	int tfd;                   /* owned: timerfd (CLOCK_MONOTONIC, absolute) */
	int sigfd;                 /* owned: signalfd, -1 if signals are not caught */
	sigset_t oldmask;          /* mask to restore at release */
	mono_usec tfd_due;         /* what tfd is armed for, 0 if disarmed */
	struct live_timer_heap timers;
	live_timer_fn *on_timer;   /* borrowed function: runs each due timer */
	void *data;                /* borrowed: the caller's context */
	int signo;                 /* first SIGINT/SIGTERM caught, 0 if none */
	size_t open_conns;         /* connections holding a PGconn */
	uint64_t wakeups;          /* loop iterations (for the benchmark) */
	int64_t max_io_usec;       /* longest single socket callback */
	int64_t max_timer_usec;    /* longest single timer callback */
};

/*
 * Set up the loop.  With catch_signals, SIGINT and SIGTERM are blocked and
 * read from a signalfd until live_loop_release() restores the old mask.
 * Returns 0, or -1 after error().
 */
int live_loop_init(struct live_loop *l, bool catch_signals);
void live_loop_release(struct live_loop *l);
/*
 * Wait until a socket is ready, a timer is due, a signal arrived, or `until`
 * (0 = no limit) passed, then run the callbacks.  Returns 0, or -1 after
 * error() if the loop itself failed (epoll, timerfd).
 */
int live_loop_once(struct live_loop *l, mono_usec until);
void live_loop_arm(struct live_loop *l, struct live_timer *t, mono_usec due);
void live_loop_cancel(struct live_loop *l, struct live_timer *t);

void live_conn_init(struct live_conn *c, live_conn_done_fn *done, void *owner);
/*
 * Start connecting with libpq keywords/values (NULL-terminated arrays, as
 * PQconnectStartParams takes them; PG* environment variables fill what is
 * missing).  Returns 0 when the attempt is under way (done() reports its
 * end), or -1 if it failed at once (errmsg set, state BROKEN, no callback).
 */
int live_conn_start(struct live_loop *l, struct live_conn *c, const char *const *keys,
		    const char *const *vals);
/* Send sql (one or more statements) on a READY connection.  Returns 0, or -1
 * if libpq refused it (errmsg set, state BROKEN, no callback). */
int live_conn_send(struct live_loop *l, struct live_conn *c, const char *sql);
/* PQfinish and deregister; state CLOSED.  Safe on a closed connection. */
void live_conn_close(struct live_loop *l, struct live_conn *c);
/* PQTRANS_* of the connection (PQTRANS_UNKNOWN when closed or broken). */
PGTransactionStatusType live_conn_txn(const struct live_conn *c);

/*
 * Where to connect: --live DSN (a libpq keyword string or a postgresql://
 * URI; SQLAlchemy's "postgresql+driver://" is accepted too), or, for NULL
 * or "-", DATABASE_URL if it is set, else libpq's own PG* variables.
 * application_name is appended so it overrides the DSN's.
 */
struct live_dsn {
	PQconninfoOption *opts;    /* owned (PQconninfoFree) */
	const char **keys;         /* owned array, NULL-terminated; strings borrowed from opts */
	const char **vals;         /* owned array, parallel to keys */
	char *where;               /* owned: "user@host:port/dbname" for messages; never the password */
};
/* Returns 0, or -1 after error() (the message never shows the password). */
int live_dsn_init(struct live_dsn *d, const char *dsn, const char *application_name);
void live_dsn_release(struct live_dsn *d);
/*
 * A copy of s (owned by the caller) with a DSN's password replaced by ****:
 * the "password=..." value of a keyword string and the ":secret@" of a URI.
 */
char *live_dsn_mask(const char *s);

/* Pull "53300" out of a libpq message like "FATAL:  53300: sorry, ..." (as
 * written with PQERRORS_VERBOSE); out is "" if there is none. */
void live_sqlstate_from_message(const char *msg, char out[6]);
#endif
