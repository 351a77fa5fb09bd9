#include "parsers/pgmsg.h"
#include <string.h>
#include "core/arena.h"
#include "core/numparse.h"
#include "core/banned.h"

/* ---- severities ---- */

static const char *const sev_names[PG_SEV__COUNT] = {
	[PG_SEV_NONE] = "",
	[PG_SEV_DEBUG] = "DEBUG",
	[PG_SEV_INFO] = "INFO",
	[PG_SEV_NOTICE] = "NOTICE",
	[PG_SEV_WARNING] = "WARNING",
	[PG_SEV_ERROR] = "ERROR",
	[PG_SEV_LOG] = "LOG",
	[PG_SEV_FATAL] = "FATAL",
	[PG_SEV_PANIC] = "PANIC",
	[PG_SEV_DETAIL] = "DETAIL",
	[PG_SEV_HINT] = "HINT",
	[PG_SEV_QUERY] = "QUERY",
	[PG_SEV_CONTEXT] = "CONTEXT",
	[PG_SEV_LOCATION] = "LOCATION",
	[PG_SEV_STATEMENT] = "STATEMENT",
};

const char *pg_severity_name(enum pg_severity sev)
{
	return (unsigned)sev < PG_SEV__COUNT ? sev_names[sev] : "";
}

enum pg_severity pg_severity_from(const char *s, size_t len)
{
	/* DEBUG1..DEBUG5 are the only names with a digit */
	if (len == 6 && !memcmp(s, "DEBUG", 5) && s[5] >= '1' && s[5] <= '5')
		return PG_SEV_DEBUG;
	if (len < 3 || len > 9)
		return PG_SEV_NONE;
	for (int k = 1; k < PG_SEV__COUNT; k++) {
		const char *n = sev_names[k];
		if (n[0] == s[0] && strlen(n) == len && !memcmp(n, s, len))
			return (enum pg_severity)k;
	}
	return PG_SEV_NONE;
}

void pg_message_init(struct pg_message *m)
{
	memset(m, 0, sizeof(*m));
	m->ts = LOG_USEC_NONE;
}

int32_t pg_sqlstate_pack(const char *s, size_t len)
{
	char buf[6];
	if (len != 5 || !memcmp(s, "00000", 5))
		return 0;
	memcpy(buf, s, 5);
	buf[5] = '\0';
	return event_sqlstate_pack(buf);
}

/* ---- the message table ---- */

enum action {
	ACT_CONNECT,
	ACT_DISCONNECT,
	ACT_TOO_MANY,
	ACT_DURATION,
	ACT_LOCK,
	ACT_CANCEL,
	ACT_ERROR,  /* a pg_error (if ERROR/FATAL/PANIC) whose SQLSTATE we know */
};

#define SEV(x) (1u << PG_SEV_##x)
#define ERRORISH (SEV(ERROR) | SEV(FATAL) | SEV(PANIC))
#define S(lit) lit, sizeof(lit) - 1

/*
 * Messages are matched by prefix (and, where the variable part sits in the
 * middle, by suffix), in table order, among the severities PostgreSQL logs
 * them at.  `sqlstate` is what the server uses for that message, so a
 * stderr log without %e still gets it; `reason` is pg_cancel's text.
 */
static const struct rule {
	const char *prefix;
	size_t prefix_len;
	const char *suffix; /* or NULL */
	unsigned sev_mask;
	enum action action;
	const char *sqlstate; /* or NULL */
	const char *reason;   /* ACT_CANCEL */
} rules[] = {
	{ S("duration: "), NULL, SEV(LOG), ACT_DURATION, NULL, NULL },
	{ S("connection authorized: "), NULL, SEV(LOG), ACT_CONNECT, NULL, NULL },
	{ S("disconnection: session time: "), NULL, SEV(LOG), ACT_DISCONNECT, NULL, NULL },
	{ S("process "), NULL, SEV(LOG), ACT_LOCK, NULL, NULL },
	/* SQLSTATE 53300, every wording since 8.x */
	{ S("sorry, too many clients already"), NULL, ERRORISH, ACT_TOO_MANY, "53300", NULL },
	/* <= 15: "...for non-replication superuser connections"; 16+: "...for roles
	 * with the SUPERUSER attribute" / "...for roles with privileges of the
	 * \"pg_use_reserved_connections\" role" */
	{ S("remaining connection slots are reserved for "), NULL, ERRORISH, ACT_TOO_MANY, "53300", NULL },
	{ S("connection limit exceeded for non-superusers"), NULL, ERRORISH, ACT_TOO_MANY, "53300", NULL },
	{ S("too many connections for role "), NULL, ERRORISH, ACT_TOO_MANY, "53300", NULL },
	{ S("too many connections for database "), NULL, ERRORISH, ACT_TOO_MANY, "53300", NULL },
	/* cancels and timeouts */
	{ S("canceling statement due to statement timeout"), NULL, ERRORISH, ACT_CANCEL, "57014", "statement timeout" },
	{ S("canceling statement due to lock timeout"), NULL, ERRORISH, ACT_CANCEL, "55P03", "lock timeout" },
	{ S("canceling statement due to user request"), NULL, ERRORISH, ACT_CANCEL, "57014", "user request" },
	{ S("canceling statement due to conflict with recovery"), NULL, ERRORISH, ACT_CANCEL, "40001", "conflict with recovery" },
	{ S("terminating connection due to idle-in-transaction timeout"), NULL, ERRORISH, ACT_CANCEL, "25P03", "idle-in-transaction timeout" },
	{ S("terminating connection due to idle-session timeout"), NULL, ERRORISH, ACT_CANCEL, "57P05", "idle-session timeout" },
	{ S("terminating connection due to transaction timeout"), NULL, ERRORISH, ACT_CANCEL, "25P04", "transaction timeout" },
	{ S("terminating connection due to administrator command"), NULL, ERRORISH, ACT_CANCEL, "57P01", "administrator command" },
	{ S("terminating connection due to conflict with recovery"), NULL, ERRORISH, ACT_CANCEL, NULL, "conflict with recovery" },
	/* errors whose SQLSTATE stderr logs do not show */
	{ S("canceling autovacuum task"), NULL, ERRORISH, ACT_ERROR, "57014", NULL },
	{ S("deadlock detected"), NULL, ERRORISH, ACT_ERROR, "40P01", NULL },
	{ S("database \""), "\" does not exist", ERRORISH, ACT_ERROR, "3D000", NULL },
	{ S("role \""), "\" does not exist", ERRORISH, ACT_ERROR, "28000", NULL },
	{ S("password authentication failed for user "), NULL, ERRORISH, ACT_ERROR, "28P01", NULL },
	{ S("no pg_hba.conf entry for "), NULL, ERRORISH, ACT_ERROR, "28000", NULL },
	{ S("the database system is "), NULL, ERRORISH, ACT_ERROR, "57P03", NULL },
	{ S("syntax error at "), NULL, ERRORISH, ACT_ERROR, "42601", NULL },
};

static const struct rule *find_rule(const struct pg_message *m)
{
	unsigned bit = 1u << m->sev;
	if (!m->msg_len)
		return NULL;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule *r = &rules[i];
		if (r->prefix[0] != m->msg[0] || !(r->sev_mask & bit) || m->msg_len < r->prefix_len ||
		    memcmp(m->msg, r->prefix, r->prefix_len))
			continue;
		if (r->suffix) {
			size_t sl = strlen(r->suffix);
			if (m->msg_len < r->prefix_len + sl ||
			    memcmp(m->msg + m->msg_len - sl, r->suffix, sl))
				continue;
		}
		return r;
	}
	return NULL;
}

/* ---- helpers ---- */

/*
 * Whether the 8 bytes at s can be copied as they are by pg_summary() (when
 * no space is pending): no tab, newline or CR, no two spaces in a row, and
 * no space last (whether it is kept depends on the next byte).  SWAR: with
 * x = v ^ c..c, (x - 0x01..01) & ~x & 0x80..80 is non-zero exactly when a
 * byte of v is c; ~(((x & 0x7f..7f) + 0x7f..7f) | x) & 0x80..80 flags each
 * such byte, without false flags, so flags & (flags >> 8) finds two in a
 * row (in either byte order).
 */
static inline bool plain8(const char *s)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080),
		       lows = UINT64_C(0x7f7f7f7f7f7f7f7f);
	uint64_t v, t, n, r, x, sp;
	memcpy(&v, s, 8);
	t = v ^ ('\t' * ones);
	n = v ^ ('\n' * ones);
	r = v ^ ('\r' * ones);
	x = v ^ (' ' * ones);
	sp = ~(((x & lows) + lows) | x) & highs;
	return !((((t - ones) & ~t) | ((n - ones) & ~n) | ((r - ones) & ~r)) & highs) &&
	       !(sp & (sp >> 8)) && s[7] != ' ';
}

/*
 * The message with each run of blanks (space, tab, newline, CR) made one
 * space, leading and trailing ones dropped, cut to max bytes with "...".
 * Statements are most of a PostgreSQL log's text, so this is hot: where 8
 * bytes hold only single spaces between words (plain8()) they are copied
 * in one step, which is what the byte loop would have written.
 */
const char *pg_summary(struct parse_ctx *ctx, const char *s, size_t len, size_t max)
{
	char *out = arena_alloc(&ctx->scratch, (len < max ? len : max) + 4);
	size_t o = 0, i = 0;
	bool space = false;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	while (i < len) {
		size_t stop = len;
		/* o <= i (blanks only shrink), so o + 8 <= len: within out */
		if (!space && i + 8 <= len && o + 8 <= max) {
			if (plain8(s + i)) {
				memcpy(out + o, s + i, 8);
				o += 8;
				i += 8;
				continue;
			}
			/* these 8 bytes one by one, then the word test again:
			 * retrying it at every byte cost more than the byte loop */
			stop = i + 8;
		}
		for (; i < stop; i++) {
			char c = s[i];
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
				space = true;
				continue;
			}
			if (space) {
				if (o + 1 > max)
					goto cut;
				out[o++] = ' ';
				space = false;
			}
			if (o + 1 > max)
				goto cut;
			out[o++] = c;
		}
	}
cut:
	if (i < len) {
		/* cut: do not leave half a UTF-8 character behind */
		while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0xC0)
			o--;
		while (o > 0 && out[o - 1] == ' ')
			o--;
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* Value of "key=" in s (up to the next space), or NULL. */
static const char *field_value(const char *s, size_t len, const char *key, size_t *vlen)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i + kl <= len; i++) {
		if ((i == 0 || s[i - 1] == ' ') && !memcmp(s + i, key, kl)) {
			size_t j = i + kl;
			while (j < len && s[j] != ' ')
				j++;
			*vlen = j - i - kl;
			return s + i + kl;
		}
	}
	return NULL;
}

static const char *str_or_null(struct parse_ctx *ctx, const char *s, size_t len)
{
	return s ? parse_str(ctx, s, len) : NULL;
}

/* "after 803.035 ms" / "duration: 1.5 ms": the number before " ms" at s. */
static bool parse_ms(const char *s, size_t len, int64_t *usec, size_t *used)
{
	size_t i = 0;
	while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
		i++;
	if (!i || i + 3 > len || memcmp(s + i, " ms", 3))
		return false;
	if (parse_decimal_usec_n(s, i, 1000, usec) < 0)
		return false;
	*used = i + 3;
	return true;
}

static bool find_last(const char *s, size_t len, const char *needle, size_t *at)
{
	size_t nl = strlen(needle);
	if (len < nl)
		return false;
	for (size_t i = len - nl + 1; i-- > 0;)
		if (!memcmp(s + i, needle, nl)) {
			*at = i;
			return true;
		}
	return false;
}

/* ---- actions ---- */

static bool do_duration(struct parse_ctx *ctx, const struct pg_message *m, struct event *ev)
{
	const char *s = m->msg + 10, *end = m->msg + m->msg_len;
	size_t used;
	int64_t usec;
	if (!parse_ms(s, (size_t)(end - s), &usec, &used))
		return false;
	ev->dur = usec;
	s += used;
	/*
	 * "duration: %s ms  statement: %s", "...  parse %s: %s",
	 * "...  bind %s%s%s: %s", "...  execute %s%s%s: %s",
	 * "...  execute fetch from %s%s%s: %s", or a bare "duration: %s ms"
	 * (log_duration).  Statement and portal names do not hold ": ".
	 */
	if (end - s >= 2 && s[0] == ' ' && s[1] == ' ') {
		const char *colon = memchr(s, ':', (size_t)(end - s));
		while (colon && colon + 1 < end && colon[1] != ' ')
			colon = memchr(colon + 1, ':', (size_t)(end - colon - 1));
		if (colon && colon + 1 < end)
			ev->text = pg_summary(ctx, colon + 2, (size_t)(end - colon - 2), PG_SUMMARY_MAX);
	}
	ev->text2 = str_or_null(ctx, m->user, m->user_len);
	return true;
}

static const struct {
	const char *word;
	size_t len;
	const char *state;
} lock_words[] = {
	{ S("still waiting for "), "waiting" },
	{ S("acquired "), "acquired" },
	{ S("detected deadlock while waiting for "), "deadlock" },
	{ S("avoided deadlock for "), "avoided" },
};

static bool do_lock(struct parse_ctx *ctx, const struct pg_message *m, struct event *ev)
{
	/* "process %d still waiting for %s on %s after %ld.%03d ms" and kin */
	const char *s = m->msg + 8, *end = m->msg + m->msg_len;
	size_t at, used;
	int64_t usec;
	while (s < end && *s >= '0' && *s <= '9')
		s++;
	if (s == m->msg + 8 || s >= end || *s != ' ')
		return false;
	s++;
	for (size_t i = 0; i < sizeof(lock_words) / sizeof(lock_words[0]); i++) {
		if ((size_t)(end - s) < lock_words[i].len ||
		    memcmp(s, lock_words[i].word, lock_words[i].len))
			continue;
		s += lock_words[i].len;
		if (!find_last(s, (size_t)(end - s), " after ", &at))
			return false;
		if (!parse_ms(s + at + 7, (size_t)(end - s) - at - 7, &usec, &used))
			return false;
		/* "avoided deadlock ... by rearranging queue order after": lock before " by " */
		if (lock_words[i].state[0] == 'a' && lock_words[i].state[1] == 'v') {
			size_t by;
			if (find_last(s, at, " by ", &by))
				at = by;
		}
		ev->dur = usec;
		ev->text = parse_str(ctx, s, at);
		ev->text2 = lock_words[i].state;
		return true;
	}
	return false;
}

enum event_kind pg_message_emit(struct parse_ctx *ctx, const struct pg_message *m)
{
	const struct rule *r;
	struct event ev;
	enum event_kind kind = EVENT_NONE;
	const char *v;
	size_t vl;
	bool errorish = m->sev == PG_SEV_ERROR || m->sev == PG_SEV_FATAL || m->sev == PG_SEV_PANIC;

	if (pg_severity_is_aux(m->sev) || m->sev == PG_SEV_NONE)
		return EVENT_NONE;
	r = find_rule(m);
	if (!r && !errorish)
		return EVENT_NONE;

	event_init(&ev, EVENT_PG_ERROR); /* kind fixed below */
	ev.ts = m->ts;
	ev.pid = m->pid;
	ev.u.pg.backend_pid = m->pid;
	ev.u.pg.sqlstate = m->sqlstate;
	if (!ev.u.pg.sqlstate && r && r->sqlstate)
		ev.u.pg.sqlstate = event_sqlstate_pack(r->sqlstate);

	switch (r ? r->action : ACT_ERROR) {
	case ACT_CONNECT:
		kind = EVENT_PG_CONNECT;
		v = field_value(m->msg, m->msg_len, "user=", &vl);
		ev.text = v ? parse_str(ctx, v, vl) : str_or_null(ctx, m->user, m->user_len);
		v = field_value(m->msg, m->msg_len, "database=", &vl);
		ev.text2 = v ? parse_str(ctx, v, vl) : str_or_null(ctx, m->db, m->db_len);
		break;
	case ACT_DISCONNECT: {
		size_t off = sizeof("disconnection: session time: ") - 1;
		int64_t usec;
		kind = EVENT_PG_DISCONNECT;
		if (parse_hms_duration(m->msg + off, m->msg_len - off, &usec))
			ev.dur = usec;
		v = field_value(m->msg, m->msg_len, "user=", &vl);
		ev.text = v ? parse_str(ctx, v, vl) : str_or_null(ctx, m->user, m->user_len);
		v = field_value(m->msg, m->msg_len, "database=", &vl);
		ev.text2 = v ? parse_str(ctx, v, vl) : str_or_null(ctx, m->db, m->db_len);
		break;
	}
	case ACT_TOO_MANY:
		kind = EVENT_PG_TOO_MANY_CLIENTS;
		ev.text = pg_summary(ctx, m->msg, m->msg_len, PG_SUMMARY_MAX);
		ev.text2 = str_or_null(ctx, m->user, m->user_len);
		break;
	case ACT_DURATION:
		if (!do_duration(ctx, m, &ev))
			return EVENT_NONE;
		kind = EVENT_PG_SLOW_STATEMENT;
		break;
	case ACT_LOCK:
		if (!do_lock(ctx, m, &ev))
			return EVENT_NONE;
		kind = EVENT_PG_LOCK_WAIT;
		break;
	case ACT_CANCEL:
		kind = EVENT_PG_CANCEL;
		ev.text = r->reason;
		ev.text2 = str_or_null(ctx, m->user, m->user_len);
		break;
	case ACT_ERROR:
		if (!errorish)
			return EVENT_NONE;
		if (!r && m->sqlstate == event_sqlstate_pack("53300")) {
			/* a wording the table does not know yet, but the code says it */
			kind = EVENT_PG_TOO_MANY_CLIENTS;
			ev.text = pg_summary(ctx, m->msg, m->msg_len, PG_SUMMARY_MAX);
			ev.text2 = str_or_null(ctx, m->user, m->user_len);
			break;
		}
		kind = EVENT_PG_ERROR;
		ev.text = pg_summary(ctx, m->msg, m->msg_len, PG_SUMMARY_MAX);
		ev.text2 = pg_severity_name(m->sev);
		break;
	}
	ev.kind = (uint16_t)kind;
	parse_emit(ctx, &ev);
	return kind;
}
