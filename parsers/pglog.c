#include "parsers/pglog.h"
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/numparse.h"
#include "parsers/format.h"
#include "parsers/pgmsg.h"
#include "core/banned.h"

/*
 * The prefix matcher is hand-written rather than a regex: a compiled prefix
 * is a short list of items (literal text, or one escape), matched left to
 * right against the text before the severity word.  Fixed-shape escapes
 * (times, numbers) are read in place; free-text escapes (%u, %a, %i, ...)
 * end at the next occurrence of the literal that follows them, trying later
 * occurrences only if the rest fails (backtracking, with a step budget so a
 * pathological prefix cannot make a line expensive).
 */

#define MAX_PREFIX 4096     /* the severity must appear within this many bytes */
#define MATCH_BUDGET 2000   /* backtracking steps per line and prefix */

const char *const pg_prefix_common[] = {
	"%m [%p] %q%u@%d ",                                 /* Debian/Ubuntu packages */
	"%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ", /* pgBadger's recommended */
	"%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
	"%t [%p]: user=%u,db=%d,app=%a,client=%h ",
	"%m [%p]: user=%u,db=%d,app=%a,client=%h ",
	"%m [%p-%l] %q%u@%d ",                              /* Debian before PG 10 used %t */
	"%t [%p-%l] %q%u@%d ",
	"%t:%r:%u@%d:[%p]:",                                /* Amazon RDS */
	"%m:%r:%u@%d:[%p]:",
	"%t [%p]: [%l-1] ",
	"< %m > ",                                          /* old RHEL packages */
	"%m [%p] ",                                         /* PostgreSQL's default */
	"%t [%p] ",
	NULL
};

enum op {
	OP_LIT,
	OP_TS,      /* %m %t: the line's time */
	OP_TS_SKIP, /* %s: session start, read and dropped */
	OP_EPOCH,   /* %n */
	OP_PID,     /* %p */
	OP_NUM,     /* %P %l %x: digits, possibly none */
	OP_TEXT,    /* %a %u %d %r %h %b %i %e %c %v %Q */
	OP_Q,       /* %q */
};

enum capture { CAP_NONE, CAP_USER, CAP_DB, CAP_SQLSTATE };

struct item {
	enum op op;
	enum capture cap;
	int pad;           /* log_line_prefix padding: <0 pads right, >0 pads left */
	const char *lit;   /* OP_LIT: borrowed from spec */
	size_t len;
};

struct pg_prefix {
	char *spec;        /* owned */
	struct item *items; /* owned */
	size_t n, alloc;
};

static void add_item(struct pg_prefix *p, struct item it)
{
	/* merge adjacent literals ("%%" next to text) */
	if (it.op == OP_LIT && p->n && p->items[p->n - 1].op == OP_LIT &&
	    p->items[p->n - 1].lit + p->items[p->n - 1].len == it.lit) {
		p->items[p->n - 1].len += it.len;
		return;
	}
	ALLOC_GROW(p->items, p->n + 1, p->alloc);
	p->items[p->n++] = it;
}

struct pg_prefix *pg_prefix_compile(const char *spec)
{
	struct pg_prefix *p = xcalloc(1, sizeof(*p));
	const char *s;
	p->spec = xstrdup(spec);
	s = p->spec;
	while (*s) {
		struct item it = { OP_LIT, CAP_NONE, 0, NULL, 0 };
		if (*s != '%') {
			const char *e = s;
			while (*e && *e != '%')
				e++;
			it.lit = s;
			it.len = (size_t)(e - s);
			add_item(p, it);
			s = e;
			continue;
		}
		s++;
		if (*s == '-' || (*s >= '0' && *s <= '9')) {
			int sign = 1, v = 0;
			if (*s == '-') {
				sign = -1;
				s++;
			}
			while (*s >= '0' && *s <= '9') {
				if (v < 10000)
					v = v * 10 + (*s - '0');
				s++;
			}
			it.pad = sign * v;
		}
		if (!*s)
			break;
		switch (*s) {
		case '%':
			it.lit = s;
			it.len = 1;
			break;
		case 'm': case 't': it.op = OP_TS; break;
		case 's': it.op = OP_TS_SKIP; break;
		case 'n': it.op = OP_EPOCH; break;
		case 'p': it.op = OP_PID; break;
		case 'P': case 'l': case 'x': it.op = OP_NUM; break;
		case 'u': it.op = OP_TEXT; it.cap = CAP_USER; break;
		case 'd': it.op = OP_TEXT; it.cap = CAP_DB; break;
		case 'e': it.op = OP_TEXT; it.cap = CAP_SQLSTATE; break;
		case 'a': case 'r': case 'h': case 'b': case 'i': case 'c': case 'v': case 'Q':
			it.op = OP_TEXT;
			break;
		case 'q': it.op = OP_Q; break;
		default:
			/* PostgreSQL prints nothing for an unknown escape */
			s++;
			continue;
		}
		s++;
		add_item(p, it);
	}
	return p;
}

void pg_prefix_free(struct pg_prefix *p)
{
	if (!p)
		return;
	free(p->spec);
	free(p->items);
	free(p);
}

const char *pg_prefix_spec(const struct pg_prefix *p)
{
	return p->spec;
}

/* ---- matching ---- */

struct matcher {
	const struct pg_prefix *p;
	const char *s;
	size_t end;
	const struct tzinfo *tz;
	struct logtime_cache *tc; /* borrowed, or NULL */
	struct pg_prefix_fields *f;
	int budget;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t skip_spaces(const char *s, size_t pos, size_t end)
{
	while (pos < end && s[pos] == ' ')
		pos++;
	return pos;
}

/* A zone abbreviation PostgreSQL printed that logtime_parse() did not take
 * ("CET", "EDT"): its time was read in --tz; step over the word. */
static size_t skip_zone_word(const char *s, size_t pos, size_t end)
{
	size_t q = pos + 1;
	if (pos >= end || s[pos] != ' ' || q >= end ||
	    !((s[q] >= 'A' && s[q] <= 'Z') || s[q] == '+' || s[q] == '-'))
		return pos;
	while (q < end && s[q] != ' ' && s[q] != ']' && s[q] != ':' && s[q] != ',')
		q++;
	return q;
}

static void capture(struct matcher *m, enum capture cap, size_t a, size_t b)
{
	const char *v = m->s + a;
	size_t n = b - a;
	while (n && *v == ' ') {
		v++;
		n--;
	}
	while (n && v[n - 1] == ' ')
		n--;
	if (cap != CAP_SQLSTATE && (!n || (n == 9 && !memcmp(v, "[unknown]", 9))))
		v = NULL, n = 0;
	switch (cap) {
	case CAP_USER: m->f->user = v; m->f->user_len = n; break;
	case CAP_DB: m->f->db = v; m->f->db_len = n; break;
	case CAP_SQLSTATE:
		m->f->sqlstate = n ? v : NULL;
		m->f->sqlstate_len = n;
		break;
	case CAP_NONE: break;
	}
}

static bool match_from(struct matcher *m, size_t k, size_t pos)
{
	const struct pg_prefix *p = m->p;
	const char *s = m->s;
	size_t end = m->end;

	for (; k < p->n; k++) {
		const struct item *it = &p->items[k];
		if (--m->budget < 0)
			return false;
		switch (it->op) {
		case OP_LIT:
			if (end - pos < it->len || memcmp(s + pos, it->lit, it->len))
				return false;
			pos += it->len;
			break;
		case OP_Q:
			/* non-session processes stop printing the prefix here */
			if (pos == end)
				return true;
			break;
		case OP_TS:
		case OP_TS_SKIP: {
			log_usec t;
			bool zone;
			size_t n;
			if (it->pad > 0)
				pos = skip_spaces(s, pos, end);
			n = logtime_parse_cached(m->tc, s + pos, end - pos, m->tz, &t, &zone);
			if (!n)
				return false;
			pos += n;
			if (!zone)
				pos = skip_zone_word(s, pos, end);
			if (it->pad < 0)
				pos = skip_spaces(s, pos, end);
			if (it->op == OP_TS) {
				m->f->ts = t;
				m->f->had_zone = zone;
			}
			break;
		}
		case OP_EPOCH: {
			size_t a = pos;
			int64_t us;
			while (pos < end && (is_digit(s[pos]) || s[pos] == '.'))
				pos++;
			if (pos == a || parse_decimal_usec_n(s + a, pos - a, USEC_PER_SEC, &us) < 0)
				return false;
			m->f->ts = us;
			m->f->had_zone = true;
			break;
		}
		case OP_PID:
		case OP_NUM: {
			size_t a;
			int64_t v = 0;
			if (it->pad)
				pos = skip_spaces(s, pos, end);
			a = pos;
			while (pos < end && is_digit(s[pos]) && pos - a < 10)
				v = v * 10 + (s[pos++] - '0');
			if (pos < end && is_digit(s[pos]))
				return false;
			if (it->op == OP_PID) {
				if (pos == a || v > INT32_MAX)
					return false;
				m->f->pid = (int32_t)v;
			}
			if (it->pad)
				pos = skip_spaces(s, pos, end);
			break;
		}
		case OP_TEXT: {
			size_t min = pos + (size_t)(it->pad < 0 ? -it->pad : it->pad);
			const struct item *next = k + 1 < p->n ? &p->items[k + 1] : NULL;
			if (min > end)
				min = end;
			if (!next) {
				capture(m, it->cap, pos, end);
				return true;
			}
			if (next->op == OP_LIT) {
				/* end at each occurrence of the next literal, shortest first */
				for (size_t q = min; q + next->len <= end; q++) {
					if (s[q] != next->lit[0] || memcmp(s + q, next->lit, next->len))
						continue;
					capture(m, it->cap, pos, q);
					if (match_from(m, k + 1, q))
						return true;
					if (m->budget < 0)
						return false;
				}
				return false;
			}
			for (size_t q = min; q <= end; q++) {
				capture(m, it->cap, pos, q);
				if (match_from(m, k + 1, q))
					return true;
				if (m->budget < 0)
					return false;
			}
			return false;
		}
		}
	}
	return pos == end;
}

static void fields_init(struct pg_prefix_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->ts = LOG_USEC_NONE;
}

/* pg_prefix_match() with a time cache (the parser's, per input) */
static bool prefix_match(const struct pg_prefix *p, const char *s, size_t len,
			 const struct tzinfo *tz, struct logtime_cache *tc,
			 struct pg_prefix_fields *out)
{
	struct matcher m = { p, s, len, tz, tc, out, MATCH_BUDGET };
	fields_init(out);
	if (!match_from(&m, 0, 0)) {
		fields_init(out);
		return false;
	}
	return true;
}

bool pg_prefix_match(const struct pg_prefix *p, const char *s, size_t len,
		     const struct tzinfo *tz, struct pg_prefix_fields *out)
{
	return prefix_match(p, s, len, tz, NULL, out);
}

/*
 * The generic matcher for prefixes we do not know: a time at the start (or
 * no prefix at all, as in the lines the postmaster writes before the
 * logging collector takes over), a pid as the first "[digits" or the first
 * all-digit word, user/db from "user=X" "db=X" or "X@Y".
 */
static bool generic_match(const char *s, size_t len, const struct tzinfo *tz,
			  struct logtime_cache *tc, struct pg_prefix_fields *f)
{
	size_t pos, n;
	fields_init(f);
	if (!len)
		return true;
	n = logtime_parse_cached(tc, s, len, tz, &f->ts, &f->had_zone);
	if (!n) {
		/* "< 2026-... >" and other one-character openers */
		if (len > 2 && (s[0] == '<' || s[0] == '[') && s[1] == ' ')
			n = logtime_parse_cached(tc, s + 2, len - 2, tz, &f->ts, &f->had_zone);
		else if (len > 1 && s[0] == '[')
			n = logtime_parse_cached(tc, s + 1, len - 1, tz, &f->ts, &f->had_zone);
		if (!n)
			return false;
		n += s[1] == ' ' ? 2 : 1;
	}
	pos = f->had_zone ? n : skip_zone_word(s, n, len);
	for (size_t i = pos; i < len; i++) {
		if (s[i] == '[' && i + 1 < len && is_digit(s[i + 1])) {
			int64_t v = 0;
			size_t j = i + 1;
			while (j < len && is_digit(s[j]) && j - i < 10)
				v = v * 10 + (s[j++] - '0');
			if (j < len && (s[j] == ']' || s[j] == '-' || s[j] == ':')) {
				f->pid = (int32_t)v;
				break;
			}
		}
	}
	if (!f->pid) {
		/* first all-digit word */
		size_t i = pos;
		while (i < len) {
			size_t j;
			i = skip_spaces(s, i, len);
			j = i;
			while (j < len && s[j] != ' ')
				j++;
			if (j > i && j - i < 10) {
				int64_t v = 0;
				size_t k = i;
				while (k < j && is_digit(s[k]))
					v = v * 10 + (s[k++] - '0');
				if (k == j) {
					f->pid = (int32_t)v;
					break;
				}
			}
			i = j;
		}
	}
	for (size_t i = pos; i < len; i++) {
		if (i + 5 <= len && !memcmp(s + i, "user=", 5) && !f->user) {
			size_t j = i + 5;
			while (j < len && s[j] != ',' && s[j] != ' ')
				j++;
			f->user = s + i + 5;
			f->user_len = j - i - 5;
		} else if (i + 3 <= len && !memcmp(s + i, "db=", 3) && !f->db &&
			   (i == 0 || s[i - 1] == ',' || s[i - 1] == ' ')) {
			size_t j = i + 3;
			while (j < len && s[j] != ',' && s[j] != ' ')
				j++;
			f->db = s + i + 3;
			f->db_len = j - i - 3;
		}
	}
	if (!f->user) {
		const char *at = memchr(s + pos, '@', len - pos);
		if (at) {
			const char *a = at, *b = at + 1;
			while (a > s + pos && a[-1] != ' ' && a[-1] != ':' && a[-1] != ']')
				a--;
			while (b < s + len && *b != ' ' && *b != ':')
				b++;
			f->user = a;
			f->user_len = (size_t)(at - a);
			f->db = at + 1;
			f->db_len = (size_t)(b - at - 1);
		}
	}
	if (f->user && (!f->user_len || (f->user_len == 9 && !memcmp(f->user, "[unknown]", 9))))
		f->user = NULL, f->user_len = 0;
	if (f->db && (!f->db_len || (f->db_len == 9 && !memcmp(f->db, "[unknown]", 9))))
		f->db = NULL, f->db_len = 0;
	return true;
}

int pg_stderr_find_severity(const char *s, size_t len, size_t *sev_at, size_t *msg_at)
{
	size_t lim = len < MAX_PREFIX ? len : MAX_PREFIX;
	const char *p = s, *end = s + len;
	while ((p = memchr(p, ':', (size_t)(s + lim - p))) != NULL) {
		if (end - p >= 3 && p[1] == ' ' && p[2] == ' ') {
			const char *w = p;
			enum pg_severity sev;
			while (w > s && ((w[-1] >= 'A' && w[-1] <= 'Z') || is_digit(w[-1])))
				w--;
			sev = pg_severity_from(w, (size_t)(p - w));
			if (sev != PG_SEV_NONE) {
				*sev_at = (size_t)(w - s);
				*msg_at = (size_t)(p + 3 - s);
				return sev;
			}
		}
		p++;
		if (p >= s + lim)
			break;
	}
	return PG_SEV_NONE;
}

/* ---- the format ---- */

struct pglog_state {
	const struct tzinfo *tz;       /* borrowed from the options */
	struct logtime_cache tc;       /* the last line's date and minute */
	struct pg_prefix *given;       /* --pg-prefix, or NULL; owned */
	struct pg_prefix **common;     /* owned; pg_prefix_common compiled */
	size_t ncommon;
	const struct pg_prefix *cur;   /* the prefix in use, or NULL (generic) */
	uint64_t switches;             /* times the prefix in use changed */
};

static void *pglog_state_new(const struct parse_opts *opts)
{
	struct pglog_state *st = xcalloc(1, sizeof(*st));
	size_t n = 0;
	st->tz = &opts->tz;
	if (opts->pg_prefix)
		st->given = pg_prefix_compile(opts->pg_prefix);
	while (pg_prefix_common[n])
		n++;
	st->common = xcalloc(n, sizeof(*st->common));
	for (size_t i = 0; i < n; i++)
		st->common[i] = pg_prefix_compile(pg_prefix_common[i]);
	st->ncommon = n;
	st->cur = st->given;
	return st;
}

static void pglog_state_free(void *data)
{
	struct pglog_state *st = data;
	if (!st)
		return;
	pg_prefix_free(st->given);
	for (size_t i = 0; i < st->ncommon; i++)
		pg_prefix_free(st->common[i]);
	free(st->common);
	free(st);
}

/*
 * The prefix of s[0..len): the one in use if it still fits, else the given
 * one, else the first common one that fits (it becomes the one in use),
 * else the generic matcher.  Returns 2 for a known prefix, 1 for the
 * generic matcher, 0 if nothing fits.
 */
static int recognise(struct pglog_state *st, const char *s, size_t len,
		      struct pg_prefix_fields *f)
{
	if (st->cur && prefix_match(st->cur, s, len, st->tz, &st->tc, f))
		return 2;
	if (st->given && st->cur != st->given && prefix_match(st->given, s, len, st->tz, &st->tc, f)) {
		st->cur = st->given;
		st->switches++;
		return 2;
	}
	for (size_t i = 0; i < st->ncommon; i++) {
		if (st->common[i] == st->cur)
			continue;
		if (prefix_match(st->common[i], s, len, st->tz, &st->tc, f)) {
			if (st->cur)
				st->switches++;
			st->cur = st->common[i];
			return 2;
		}
	}
	return generic_match(s, len, st->tz, &st->tc, f) ? 1 : 0;
}

static bool pglog_continues(void *data, const struct record *rec, const struct line *line)
{
	(void)data;
	(void)rec;
	/* PostgreSQL writes an embedded newline as newline + TAB */
	return line->len && line->s[0] == '\t';
}

/*
 * stderr appends the error position to the message (" at character 12");
 * csvlog and jsonlog keep it in a column of its own (query_pos,
 * cursor_position).  Drop it so the three formats give the same text.
 */
static size_t strip_cursor_pos(const char *s, size_t len)
{
	static const char tail[] = " at character ";
	size_t i = len;
	while (i > 0 && is_digit(s[i - 1]))
		i--;
	if (i == len || i < sizeof(tail) - 1 ||
	    memcmp(s + i - (sizeof(tail) - 1), tail, sizeof(tail) - 1))
		return len;
	return i - (sizeof(tail) - 1);
}

static enum unparsed_reason pglog_parse(void *data, struct parse_ctx *ctx,
					const struct record *rec)
{
	struct pglog_state *st = data;
	struct pg_prefix_fields f;
	struct pg_message m;
	size_t sev_at, msg_at;
	int sev;

	if (rec->len && rec->s[0] == '{')
		return UNPARSED_UNKNOWN_LAYOUT; /* a jsonlog record: pg-json's parse_foreign */
	sev = pg_stderr_find_severity(rec->s, rec->len, &sev_at, &msg_at);
	if (sev == PG_SEV_NONE)
		return rec->len && rec->s[0] == '\t' ? UNPARSED_ORPHAN : UNPARSED_UNKNOWN_LAYOUT;
	if (!recognise(st, rec->s, sev_at, &f))
		return UNPARSED_UNKNOWN_LAYOUT;
	if (f.ts != LOG_USEC_NONE)
		parse_note_ts(ctx, f.ts, f.had_zone);
	/* DETAIL/HINT/CONTEXT/STATEMENT/QUERY/LOCATION belong to the message
	 * before them; nothing in them is an event of its own */
	if (pg_severity_is_aux((enum pg_severity)sev))
		return UNPARSED_NONE;
	pg_message_init(&m);
	m.ts = f.ts;
	m.pid = f.pid;
	m.sev = (enum pg_severity)sev;
	m.msg = rec->s + msg_at;
	m.msg_len = strip_cursor_pos(m.msg, rec->len - msg_at);
	m.user = f.user;
	m.user_len = f.user_len;
	m.db = f.db;
	m.db_len = f.db_len;
	if (f.sqlstate)
		m.sqlstate = pg_sqlstate_pack(f.sqlstate, f.sqlstate_len);
	pg_message_emit(ctx, &m);
	return UNPARSED_NONE;
}

static int pglog_detect(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	struct pglog_state *st = pglog_state_new(opts);
	size_t considered = 0, matched = 0, known = 0;
	for (size_t i = 0; i < n; i++) {
		const struct line *ln = &lines[i];
		struct pg_prefix_fields f;
		size_t sev_at, msg_at;
		/* continuation lines, and jsonlog records (pg-json's parse_foreign
		 * takes them from a stderr file), are neither for nor against */
		if (!ln->len || ln->s[0] == '\t' || ln->s[0] == '{')
			continue;
		considered++;
		if (pg_stderr_find_severity(ln->s, ln->len, &sev_at, &msg_at) == PG_SEV_NONE)
			continue;
		/* an empty prefix gives no time: uvicorn's "INFO:     ..." lines
		 * must not make an access log look like PostgreSQL's */
		if (sev_at == 0)
			continue;
		switch (recognise(st, ln->s, sev_at, &f)) {
		case 2: known++; /* fall through */
		case 1: matched++; break;
		default: break;
		}
	}
	pglog_state_free(st);
	if (!considered || !matched)
		return 0;
	/* lines only the generic matcher took are a weaker sign */
	return (int)((matched * 90 + known * 10) / considered);
}

const struct format format_pg_stderr = {
	.name = "pg-stderr",
	.description = "PostgreSQL stderr log, any log_line_prefix (--pg-prefix or recognised)",
	.detect = pglog_detect,
	.state_new = pglog_state_new,
	.state_free = pglog_state_free,
	.continues = pglog_continues,
	.parse = pglog_parse,
	.parse_foreign = NULL,
	.finish = NULL,
};
