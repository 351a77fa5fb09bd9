#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/numparse.h"
#include "parsers/format.h"
#include "core/banned.h"

/*
 * Pools other than SQLAlchemy's (postgresql-and-other-pools.md section 7):
 *
 * hikaricp   a Java application log (logback/log4j/Spring Boot prefixes,
 *            stack traces glued to their record) read for HikariCP's lines:
 *              "<pool> - Connection is not available, request timed out
 *               after 30002ms." (and the newer "...ms (total=10, active=10,
 *               idle=0, waiting=10)")  -> pool_timeout, text = pool name,
 *               timeout = the *measured* elapsed time; one per record, so a
 *               wrapped exception with its "Caused by:" counts once
 *              "<pool> - <phase>stats (total=, active=, idle=, waiting=)"
 *               -> pool_stats, label = pool name, status = phase ("pool",
 *               "before cleanup", "after cleanup", "timeout failure", ...),
 *               checked_out = active, checked_in = idle, waiting; pool_size
 *               unknown (total is the current count, not the maximum)
 *
 * pgbouncer  PgBouncer's log ("2019-11-27 17:06:53.870 109039 LOG ..." or
 *            "2021-04-08 15:05:48.921 UTC [1] LOG ...")
 *              "stats:"/"Stats:" lines, all three historical layouts ->
 *               pool_stats, label "pgbouncer", dur = "wait N us" (the
 *               average client wait for a server connection in the period;
 *               the <=1.7 layout has none)
 *              query_wait_timeout ("closing because:" or "pooler error:")
 *               -> pool_timeout, text "pgbouncer": a client waited for a
 *               server connection and gave up, the same fact as
 *               SQLAlchemy's TimeoutError
 *              "no more connections allowed (max_client_conn)" and "client
 *               connections exceeded (max_*_client_connections)" ->
 *               pg_too_many_clients (message, user, SQLSTATE 08P01): a
 *               refusal at connect time at a hard limit, like PostgreSQL's
 *               "too many clients", not a wait that timed out
 *            PgBouncer logs one refusal twice (a "pooler error:" WARNING
 *            and a "closing because:" LOG line for the same C-0x client);
 *            the second is dropped (same client within 10 s).
 */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* memmem() is a GNU extension */
static const char *find(const char *s, size_t n, const char *lit)
{
	size_t ln = strlen(lit);
	const char *end = s + n;
	if (ln > n)
		return NULL;
	for (const char *p = memchr(s, lit[0], n - ln + 1); p;
	     p = memchr(p + 1, lit[0], (size_t)(end - ln - p))) {
		if (!memcmp(p, lit, ln))
			return p;
		if (p + 1 > end - ln)
			break;
	}
	return NULL;
}

/* Leading digits at s (at most 18): their value and count, 0 if none. */
static size_t read_uint(const char *s, size_t n, int64_t *v)
{
	size_t i = 0;
	*v = 0;
	while (i < n && i < 18 && is_digit(s[i])) {
		*v = *v * 10 + (s[i] - '0');
		i++;
	}
	return i;
}

/* ---- HikariCP ---- */

/*
 * A Java log record starts with a timestamp (optionally after '['), or
 * logback's default time-only "12:00:00.123 [main] ..." (no date: the
 * record gets no time of its own and is placed by its neighbours).
 * Spring Boot's "2024-01-01T12:00:00.123+00:00  INFO 12345 --- [main]"
 * gives a pid.
 */
static bool java_start(const char *s, size_t len, const struct tzinfo *tz, log_usec *ts,
		       bool *zone, int32_t *pid)
{
	size_t p0 = len && s[0] == '[' ? 1 : 0, n, i;
	*ts = LOG_USEC_NONE;
	*zone = false;
	*pid = 0;
	if (len > p0 && is_digit(s[p0]) && (n = logtime_parse(s + p0, len - p0, tz, ts, zone))) {
		int64_t v;
		size_t k;
		i = p0 + n;
		while (i < len && s[i] == ' ')
			i++;
		k = i;
		while (i < len && is_upper(s[i]))
			i++;
		if (i > k && i < len && s[i] == ' ') {
			while (i < len && s[i] == ' ')
				i++;
			k = read_uint(s + i, len - i, &v);
			if (k && k <= 9 && i + k + 4 <= len && !memcmp(s + i + k, " ---", 4))
				*pid = (int32_t)v;
		}
		return true;
	}
	if (len >= 13 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':' && is_digit(s[3]) &&
	    is_digit(s[4]) && s[5] == ':' && is_digit(s[6]) && is_digit(s[7]) &&
	    (s[8] == '.' || s[8] == ',') && is_digit(s[9]) && is_digit(s[10]) && is_digit(s[11]) &&
	    s[12] == ' ')
		return true;
	return false;
}

/* Stack-trace-shaped continuation lines, for detection only. */
static bool java_trace_line(const char *s, size_t len)
{
	return (len >= 4 && !memcmp(s, "\tat ", 4)) || (len >= 5 && !memcmp(s, "\t... ", 5)) ||
	       (len >= 10 && !memcmp(s, "Caused by:", 10));
}

static const char HIKARI_TIMEOUT[] = " - Connection is not available, request timed out after ";
static const char HIKARI_STATS[] = "stats (total=";

/* The pool name: the token that ends at s[end) (before " - "). */
static const char *pool_name_before(const char *s, size_t end, size_t *len)
{
	size_t b = end;
	while (b > 0 && s[b - 1] != ' ' && s[b - 1] != '\t' && s[b - 1] != '\n' && s[b - 1] != '[')
		b--;
	*len = end - b;
	return s + b;
}

static bool hikari_marker(const char *s, size_t len)
{
	return find(s, len, "HikariPool") || find(s, len, "com.zaxxer.hikari") ||
	       find(s, len, HIKARI_TIMEOUT) || find(s, len, HIKARI_STATS);
}

/* "total=10, active=10, idle=0, waiting=5)": field value or -1 */
static int32_t stat_field(const char *s, size_t n, const char *key)
{
	const char *p = find(s, n, key);
	int64_t v;
	size_t k;
	if (!p)
		return -1;
	p += strlen(key);
	k = read_uint(p, (size_t)(s + n - p), &v);
	return k && k <= 9 ? (int32_t)v : -1;
}

static bool hikari_timeout(struct parse_ctx *ctx, const char *s, size_t len, log_usec ts,
			   int32_t pid)
{
	const char *p = find(s, len, HIKARI_TIMEOUT), *name, *num;
	size_t nlen, k;
	int64_t ms;
	struct event ev;
	if (!p)
		return false;
	name = pool_name_before(s, (size_t)(p - s), &nlen);
	num = p + sizeof(HIKARI_TIMEOUT) - 1;
	k = read_uint(num, (size_t)(s + len - num), &ms);
	event_init(&ev, EVENT_POOL_TIMEOUT);
	ev.ts = ts;
	ev.pid = pid;
	ev.text = nlen ? parse_str(ctx, name, nlen) : "HikariPool";
	if (k && num + k + 2 <= s + len && !memcmp(num + k, "ms", 2))
		ev.u.timeout.timeout_usec = ms * 1000;
	parse_emit(ctx, &ev);
	return true;
}

static bool hikari_stats(struct parse_ctx *ctx, const char *s, size_t len, log_usec ts,
			 int32_t pid)
{
	const char *p = find(s, len, HIKARI_STATS), *dash = NULL, *name, *eol;
	size_t nlen, i;
	char phase[40];
	size_t np = 0;
	struct event ev;
	if (!p)
		return false;
	/* "<pool> - <Phase >stats (": the last " - " before it on its line */
	for (size_t q = (size_t)(p - s); q >= 3 && s[q - 1] != '\n'; q--)
		if (!memcmp(s + q - 3, " - ", 3)) {
			dash = s + q - 3;
			break;
		}
	if (!dash)
		return false;
	name = pool_name_before(s, (size_t)(dash - s), &nlen);
	for (const char *q = dash + 3; q < p && np + 1 < sizeof(phase); q++) {
		char c = *q;
		if (c == ' ' && (!np || phase[np - 1] == ' '))
			continue; /* "After cleanup  " has two spaces */
		phase[np++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	while (np && phase[np - 1] == ' ')
		np--;
	phase[np] = '\0';
	eol = memchr(p, '\n', (size_t)(s + len - p));
	i = (size_t)((eol ? eol : s + len) - p);
	event_init(&ev, EVENT_POOL_STATS);
	ev.ts = ts;
	ev.pid = pid;
	ev.text = nlen ? parse_str(ctx, name, nlen) : "HikariPool";
	ev.text2 = np ? parse_str(ctx, phase, np) : "pool";
	ev.u.stats.checked_out = stat_field(p, i, "active=");
	ev.u.stats.checked_in = stat_field(p, i, "idle=");
	ev.u.stats.waiting = stat_field(p, i, "waiting=");
	parse_emit(ctx, &ev);
	return true;
}

static bool hikari_continues(void *state, const struct record *rec, const struct line *ln)
{
	log_usec ts;
	bool zone;
	int32_t pid;
	/* glue stack traces to a prefixed record; a file without prefixes is
	 * one record per line */
	if (java_start(ln->s, ln->len, NULL, &ts, &zone, &pid))
		return false;
	return java_start(rec->s, rec->len, NULL, &ts, &zone, &pid);
}

static enum unparsed_reason hikari_parse(void *state, struct parse_ctx *ctx,
					 const struct record *rec)
{
	log_usec ts;
	bool zone, took;
	int32_t pid;
	bool start = java_start(rec->s, rec->len, &ctx->opts->tz, &ts, &zone, &pid);

	if (ts != LOG_USEC_NONE)
		parse_note_ts(ctx, ts, zone);
	took = hikari_timeout(ctx, rec->s, rec->len, ts, pid);
	took |= hikari_stats(ctx, rec->s, rec->len, ts, pid);
	return start || took ? UNPARSED_NONE : UNPARSED_UNKNOWN_LAYOUT;
}

static int hikari_detect(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	size_t total = 0, java = 0;
	bool marker = false, javaish = false;
	for (size_t i = 0; i < n; i++) {
		log_usec ts;
		bool zone;
		int32_t pid;
		const char *s = lines[i].s;
		size_t len = lines[i].len;
		if (!len)
			continue;
		total++;
		if (java_start(s, len, NULL, &ts, &zone, &pid)) {
			java++;
			if (find(s, len, " --- [") || find(s, len, "] INFO ") ||
			    find(s, len, "] DEBUG ") || find(s, len, "] WARN ") ||
			    find(s, len, "] ERROR "))
				javaish = true;
		} else if (java_trace_line(s, len)) {
			java++;
			javaish = true;
		} else if (len > 1 && s[0] == '\t') {
			java++;
		}
		if (!marker && hikari_marker(s, len))
			marker = true;
	}
	if (!total)
		return 0;
	/* any Java log is ours at half weight; with HikariCP in it, fully */
	if (marker)
		return (int)(100 * java / total);
	return javaish ? (int)(50 * java / total) : 0;
}

const struct format format_hikaricp = {
	.name = "hikaricp",
	.description = "Java application log (logback, log4j, Spring Boot) with HikariCP pool lines",
	.detect = hikari_detect,
	.continues = hikari_continues,
	.parse = hikari_parse,
};

/* ---- PgBouncer ---- */

struct pgb_prefix {
	log_usec ts;
	bool zone;
	int32_t pid;
	const char *msg;
	size_t msg_len;
};

/* "2019-11-27 17:06:53.870 109039 LOG " or "... UTC [1] WARNING " */
static bool pgb_prefix(const char *s, size_t len, const struct tzinfo *tz, struct pgb_prefix *pp)
{
	static const char *const levels[] = { "LOG ", "WARNING ", "ERROR ", "FATAL ",
					      "DEBUG ", "NOISE ", "PANIC " };
	size_t i, k;
	int64_t v;
	bool br = false;
	if (!len || !is_digit(s[0]))
		return false;
	i = logtime_parse(s, len, tz, &pp->ts, &pp->zone);
	if (!i || i + 1 >= len || s[i] != ' ')
		return false;
	i++;
	/* a zone abbreviation logtime does not know ("CEST"): the time is
	 * then read in --tz */
	if (is_upper(s[i])) {
		size_t k0 = i;
		while (i < len && is_upper(s[i]))
			i++;
		if (i - k0 > 5 || i >= len || s[i] != ' ')
			return false;
		i++;
	}
	if (i >= len)
		return false;
	if (s[i] == '[') {
		br = true;
		i++;
	}
	k = read_uint(s + i, len - i, &v);
	if (!k || k > 9)
		return false;
	i += k;
	if (br) {
		if (i >= len || s[i] != ']')
			return false;
		i++;
	}
	if (i >= len || s[i] != ' ')
		return false;
	i++;
	pp->pid = (int32_t)v;
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		size_t ln = strlen(levels[l]);
		if (len - i >= ln && !memcmp(s + i, levels[l], ln)) {
			pp->msg = s + i + ln;
			pp->msg_len = len - i - ln;
			return true;
		}
	}
	return false;
}

#define PGB_RECENT 32
struct pgb_state {
	struct {
		char client[32];
		log_usec ts;
		int kind;
	} recent[PGB_RECENT];
	size_t next;
};

static void *pgb_state_new(const struct parse_opts *opts)
{
	return xcalloc(1, sizeof(struct pgb_state));
}

static void pgb_state_free(void *state)
{
	free(state);
}

/* True if this client's failure of this kind was already counted. */
static bool pgb_seen(struct pgb_state *st, const char *client, size_t n, log_usec ts, int kind)
{
	if (!n || n >= sizeof(st->recent[0].client))
		return false;
	for (size_t i = 0; i < PGB_RECENT; i++)
		if (st->recent[i].kind == kind && strlen(st->recent[i].client) == n &&
		    !memcmp(st->recent[i].client, client, n) &&
		    (ts == LOG_USEC_NONE || st->recent[i].ts == LOG_USEC_NONE ||
		     (ts - st->recent[i].ts < 10 * USEC_PER_SEC &&
		      st->recent[i].ts - ts < 10 * USEC_PER_SEC)))
			return true;
	memcpy(st->recent[st->next].client, client, n);
	st->recent[st->next].client[n] = '\0';
	st->recent[st->next].ts = ts;
	st->recent[st->next].kind = kind;
	st->next = (st->next + 1) % PGB_RECENT;
	return false;
}

static void pgb_stats(struct parse_ctx *ctx, const struct pgb_prefix *pp)
{
	const char *m = pp->msg, *p;
	size_t n = pp->msg_len;
	struct event ev;
	int64_t v;
	event_init(&ev, EVENT_POOL_STATS);
	ev.ts = pp->ts;
	ev.pid = pp->pid;
	ev.text = "pgbouncer";
	/* ", wait 12 us" (1.8+), or Greenplum's " wait time 181 us" */
	if ((p = find(m, n, " wait time ")) != NULL)
		p += 11;
	else if ((p = find(m, n, ", wait ")) != NULL)
		p += 7;
	if (p) {
		size_t k = read_uint(p, (size_t)(m + n - p), &v);
		if (k && p + k + 3 <= m + n && !memcmp(p + k, " us", 3))
			ev.dur = v;
	}
	parse_emit(ctx, &ev);
}

enum { PGB_TIMEOUT = 1, PGB_REFUSED };

static void pgb_client_event(struct parse_ctx *ctx, struct pgb_state *st,
			     const struct pgb_prefix *pp, const char *reason, size_t rlen)
{
	const char *m = pp->msg, *client = NULL, *user = NULL;
	size_t n = pp->msg_len, clen = 0, ulen = 0;
	int kind;
	struct event ev;

	if (rlen >= 18 && !memcmp(reason, "query_wait_timeout", 18))
		kind = PGB_TIMEOUT;
	else if ((rlen >= 27 && !memcmp(reason, "no more connections allowed", 27)) ||
		 (rlen >= 27 && !memcmp(reason, "client connections exceeded", 27)))
		kind = PGB_REFUSED;
	else
		return;
	/* "C-0x7f828e6b34c0: db/user@172.18.0.60:39630 ..." */
	if (n > 4 && !memcmp(m, "C-0x", 4)) {
		const char *colon = memchr(m, ':', n), *slash, *at;
		if (colon) {
			client = m;
			clen = (size_t)(colon - m);
			slash = memchr(colon, '/', (size_t)(m + n - colon));
			at = slash ? memchr(slash, '@', (size_t)(m + n - slash)) : NULL;
			if (at && !memchr(slash, ' ', (size_t)(at - slash))) {
				user = slash + 1;
				ulen = (size_t)(at - slash - 1);
			}
		}
	}
	if (client && pgb_seen(st, client, clen, pp->ts, kind))
		return;
	if (kind == PGB_TIMEOUT) {
		event_init(&ev, EVENT_POOL_TIMEOUT);
		ev.text = "pgbouncer";
	} else {
		const char *close = memchr(reason, ')', rlen);
		event_init(&ev, EVENT_PG_TOO_MANY_CLIENTS);
		ev.text = parse_str(ctx, reason, close ? (size_t)(close - reason) + 1 : rlen);
		if (user && !(ulen == 8 && !memcmp(user, "(nouser)", 8)))
			ev.text2 = parse_str(ctx, user, ulen);
		ev.u.pg.sqlstate = event_sqlstate_pack("08P01");
	}
	/* no conn: C-0x... names PgBouncer's client object, not a pool connection */
	ev.ts = pp->ts;
	ev.pid = pp->pid;
	parse_emit(ctx, &ev);
}

static enum unparsed_reason pgb_parse(void *state, struct parse_ctx *ctx,
				      const struct record *rec)
{
	struct pgb_state *st = state;
	struct pgb_prefix pp;
	const char *p;
	static const char *const markers[] = { "closing because: ", "pooler error: " };

	if (!pgb_prefix(rec->s, rec->len, &ctx->opts->tz, &pp))
		return UNPARSED_UNKNOWN_LAYOUT;
	parse_note_ts(ctx, pp.ts, pp.zone);
	if (pp.msg_len > 7 && (!memcmp(pp.msg, "stats: ", 7) || !memcmp(pp.msg, "Stats: ", 7))) {
		pgb_stats(ctx, &pp);
		return UNPARSED_NONE;
	}
	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
		if ((p = find(pp.msg, pp.msg_len, markers[i])) != NULL) {
			p += strlen(markers[i]);
			pgb_client_event(ctx, st, &pp, p, (size_t)(pp.msg + pp.msg_len - p));
			return UNPARSED_NONE;
		}
	if ((p = find(pp.msg, pp.msg_len, "client connections exceeded")) != NULL)
		pgb_client_event(ctx, st, &pp, p, (size_t)(pp.msg + pp.msg_len - p));
	return UNPARSED_NONE;
}

static int pgb_detect(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	size_t total = 0, hits = 0;
	for (size_t i = 0; i < n; i++) {
		struct pgb_prefix pp;
		if (!lines[i].len)
			continue;
		total++;
		hits += pgb_prefix(lines[i].s, lines[i].len, NULL, &pp);
	}
	return total ? (int)(100 * hits / total) : 0;
}

const struct format format_pgbouncer = {
	.name = "pgbouncer",
	.description = "PgBouncer log: stats lines (all layouts), query_wait_timeout, client limits",
	.detect = pgb_detect,
	.state_new = pgb_state_new,
	.state_free = pgb_state_free,
	.parse = pgb_parse,
};
