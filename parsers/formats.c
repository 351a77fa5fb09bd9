#define _GNU_SOURCE /* memmem */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "parsers/formats.h"
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/numparse.h"
#include "core/strbuf.h"
#include "core/banned.h"

/*
 * The formats file (docs/formats-file.md):
 *
 *   # comment
 *   [rule name]                  optional, starts a rule
 *   kind = batch_start           required, an event kind name
 *   pattern = REGEX              required, PCRE2, the rest of the line
 *   needle = TEXT                optional literal prefilter
 *   ts_format = %Y-%m-%d %H:%M:%S optional, for the (?<ts>...) group
 *   origin = batch               optional: api | batch
 *   text = TEXT / text2 = TEXT   optional constants for the event's strings
 *
 * and the one-line shorthand `KIND REGEX`.  Named groups map to event
 * fields (group_names[] below); unknown names are errors, names starting
 * with '_' are ignored helpers.
 */

const char user_formats_help[] =
	"The formats file (--formats FILE) maps an application's own log wording to\n"
	"events with PCRE2 patterns.  Every record is offered to its rules, in order,\n"
	"before the input's own format; the first match emits one event.\n"
	"\n"
	"  # comment\n"
	"  [worker-begin]                          a rule (the name is free text)\n"
	"  kind = batch_start                      an event kind (poolscope help formats)\n"
	"  pattern = BEGIN batch=(?<name>\\w+) size=(?<entries>\\d+)\n"
	"  needle = BEGIN batch=                   optional literal prefilter\n"
	"  ts_format = %d/%m/%Y %H:%M:%S.%f        optional, for a (?<ts>...) group\n"
	"  ts_at = end                             optional: the time is the end of dur\n"
	"  origin = batch                          optional: api | batch\n"
	"  text = LABEL                            optional constant text / text2\n"
	"\n"
	"  pool_stats in_use=(?<checked_out>\\d+)   one-line form: KIND PATTERN\n"
	"\n"
	"Groups: ts pid conn dur_s dur_ms dur_us origin text text2; pool_timeout:\n"
	"pool_size max_overflow timeout_s; pool_stats: pool_size checked_in checked_out\n"
	"overflow waiting label status; http_request: status bytes path method;\n"
	"batch_*: name entries processed connections commits; names starting with _\n"
	"are ignored.  Without a ts group the record's leading timestamp is used.\n"
	"Errors name FILE:LINE (and the offset in a bad pattern).\n"
	"Full description: docs/formats-file.md; example: fixtures/formats/example.formats\n";

/* Which union member (and so which groups) an event kind uses. */
enum payload { PL_NONE = 1, PL_TIMEOUT = 2, PL_STATS = 4, PL_HTTP = 8, PL_BATCH = 16, PL_PG = 32 };
#define PL_ANY 0x3f

enum field {
	F_TS, F_PID, F_CONN, F_DUR_S, F_DUR_MS, F_DUR_US, F_TEXT, F_TEXT2, F_ORIGIN,
	F_POOL_SIZE, F_MAX_OVERFLOW, F_TIMEOUT_S,
	F_CHECKED_IN, F_CHECKED_OUT, F_OVERFLOW, F_WAITING,
	F_HTTP_STATUS, F_BYTES,
	F_ENTRIES, F_PROCESSED, F_CONNECTIONS, F_COMMITS,
	F_BACKEND_PID, F_SQLSTATE
};

/* Group names by payload.  The first entry whose name and payload fit wins,
 * so "status" is a number for http_request and a string for pool_stats. */
static const struct group_name {
	const char *name;
	enum field field;
	unsigned payloads;
} group_names[] = {
	{ "ts", F_TS, PL_ANY },
	{ "pid", F_PID, PL_ANY },
	{ "conn", F_CONN, PL_ANY },
	{ "dur_s", F_DUR_S, PL_ANY },
	{ "dur_ms", F_DUR_MS, PL_ANY },
	{ "dur_us", F_DUR_US, PL_ANY },
	{ "origin", F_ORIGIN, PL_ANY },
	{ "text", F_TEXT, PL_ANY },
	{ "text2", F_TEXT2, PL_ANY },
	{ "message", F_TEXT, PL_NONE | PL_PG },
	{ "reason", F_TEXT, PL_NONE | PL_PG },
	{ "mode", F_TEXT2, PL_NONE },
	{ "result", F_TEXT2, PL_NONE },
	{ "exception", F_TEXT2, PL_NONE },
	{ "pool_class", F_TEXT, PL_TIMEOUT },
	{ "pool_size", F_POOL_SIZE, PL_TIMEOUT | PL_STATS },
	{ "max_overflow", F_MAX_OVERFLOW, PL_TIMEOUT },
	{ "timeout_s", F_TIMEOUT_S, PL_TIMEOUT },
	{ "label", F_TEXT, PL_STATS },
	{ "status", F_TEXT2, PL_STATS },
	{ "checked_in", F_CHECKED_IN, PL_STATS },
	{ "checked_out", F_CHECKED_OUT, PL_STATS },
	{ "overflow", F_OVERFLOW, PL_STATS },
	{ "waiting", F_WAITING, PL_STATS },
	{ "status", F_HTTP_STATUS, PL_HTTP },
	{ "bytes", F_BYTES, PL_HTTP },
	{ "path", F_TEXT, PL_HTTP },
	{ "method", F_TEXT2, PL_HTTP },
	{ "name", F_TEXT, PL_BATCH },
	{ "entries", F_ENTRIES, PL_BATCH },
	{ "processed", F_PROCESSED, PL_BATCH },
	{ "connections", F_CONNECTIONS, PL_BATCH },
	{ "commits", F_COMMITS, PL_BATCH },
	{ "user", F_TEXT, PL_PG },
	{ "database", F_TEXT2, PL_PG },
	{ "statement", F_TEXT, PL_PG },
	{ "severity", F_TEXT2, PL_PG },
	{ "backend_pid", F_BACKEND_PID, PL_PG },
	{ "sqlstate", F_SQLSTATE, PL_PG },
};

static unsigned kind_payload(enum event_kind k)
{
	switch (k) {
	case EVENT_POOL_TIMEOUT: return PL_TIMEOUT;
	case EVENT_POOL_STATS: return PL_STATS;
	case EVENT_HTTP_REQUEST: return PL_HTTP;
	case EVENT_BATCH_START:
	case EVENT_BATCH_END: return PL_BATCH;
	case EVENT_PG_CONNECT:
	case EVENT_PG_DISCONNECT:
	case EVENT_PG_TOO_MANY_CLIENTS:
	case EVENT_PG_SLOW_STATEMENT:
	case EVENT_PG_LOCK_WAIT:
	case EVENT_PG_CANCEL:
	case EVENT_PG_ERROR: return PL_PG;
	default: return PL_NONE;
	}
}

struct group_map {
	uint32_t number;
	enum field field;
};

struct rule {
	char *where;            /* owned: "FILE:LINE" of its pattern, for messages */
	enum event_kind kind;
	uint8_t origin;
	pcre2_code *re;         /* owned */
	bool jit;
	char *needle;           /* owned, or NULL: literal that must be in the subject */
	size_t needle_len;
	int req_char;           /* -1, or a byte that must be in the subject */
	struct group_map *groups; /* owned */
	size_t ngroups;
	char *ts_format;        /* owned, or NULL (logtime_parse) */
	char *text, *text2;     /* owned constants, or NULL */
	bool ts_at_end;         /* the time is the end of the duration: ts -= dur */
};

struct user_formats {
	struct rule *rules; /* owned */
	size_t nr, alloc;
	pcre2_match_data *md;      /* owned: one block for every rule (not thread-safe) */
	pcre2_match_context *mctx; /* owned */
	pcre2_jit_stack *jstack;   /* owned */
	uint32_t max_pairs;
};

/* ---- ts_format: a small strptime over the directives logs use ---- */

static const char *const month_abbr[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Returns NULL if fmt is valid, else the offending directive. */
static const char *ts_format_check(const char *fmt)
{
	bool year = false;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (!*p || !strchr("YmdHMSfzbyes%", *p))
			return p - 1;
		if (*p == 'Y' || *p == 'y' || *p == 's')
			year = true;
	}
	return year ? NULL : "(no %Y, %y or %s)";
}

static size_t take_digits(const char *s, size_t len, size_t i, size_t maxd, int64_t *v)
{
	size_t n = 0;
	*v = 0;
	while (i + n < len && n < maxd && s[i + n] >= '0' && s[i + n] <= '9') {
		*v = *v * 10 + (s[i + n] - '0');
		n++;
	}
	return n;
}

/* Parse s[0..len) as fmt; 0 and *out (UTC) on success, -1 if it does not fit. */
static int ts_format_parse(const char *fmt, const char *s, size_t len, const struct tzinfo *tz,
			   log_usec *out, bool *had_zone)
{
	int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, usec = 0, v;
	int32_t off = 0;
	bool zone = false, epoch = false;
	log_usec epoch_us = 0;
	size_t i = 0, n;

	for (const char *p = fmt; *p; p++) {
		if (*p == ' ') {
			if (i >= len || s[i] != ' ')
				return -1;
			while (i < len && s[i] == ' ')
				i++;
			continue;
		}
		if (*p != '%') {
			if (i >= len || s[i] != *p)
				return -1;
			i++;
			continue;
		}
		switch (*++p) {
		case 'Y':
			if ((n = take_digits(s, len, i, 4, &y)) != 4)
				return -1;
			i += n;
			break;
		case 'y':
			if ((n = take_digits(s, len, i, 2, &y)) != 2)
				return -1;
			y += 2000;
			i += n;
			break;
		case 'e':
			if (i < len && s[i] == ' ')
				i++;
			/* fall through */
		case 'm': case 'd': case 'H': case 'M': case 'S':
			if (!(n = take_digits(s, len, i, 2, &v)))
				return -1;
			i += n;
			if (*p == 'm') mo = v;
			else if (*p == 'd' || *p == 'e') d = v;
			else if (*p == 'H') h = v;
			else if (*p == 'M') mi = v;
			else sec = v;
			break;
		case 'f': {
			int64_t scale = 100000;
			if (i >= len || s[i] < '0' || s[i] > '9')
				return -1;
			for (usec = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
				usec += (s[i] - '0') * scale;
				scale /= 10;
			}
			break;
		}
		case 'z':
			if (!(n = logtime_parse_zone(s + i, len - i, &off)))
				return -1;
			zone = true;
			i += n;
			break;
		case 'b': {
			int m = -1;
			for (int k = 0; k < 12 && i + 3 <= len; k++)
				if (!memcmp(s + i, month_abbr[k], 3))
					m = k;
			if (m < 0)
				return -1;
			mo = m + 1;
			i += 3;
			break;
		}
		case 's': {
			size_t st = i;
			while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
				i++;
			if (parse_decimal_usec_n(s + st, i - st, USEC_PER_SEC, &epoch_us) < 0)
				return -1;
			epoch = zone = true;
			break;
		}
		case '%':
			if (i >= len || s[i] != '%')
				return -1;
			i++;
			break;
		default:
			return -1;
		}
	}
	if (i != len)
		return -1;
	if (epoch) {
		*out = epoch_us;
	} else {
		log_usec local;
		if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
			return -1;
		local = logtime_from_civil(y, (unsigned)mo, (unsigned)d, (unsigned)h, (unsigned)mi,
					   (unsigned)(sec > 59 ? 59 : sec), (unsigned)usec);
		*out = zone ? local - (log_usec)off * USEC_PER_SEC : tzinfo_local_to_utc(tz, local);
	}
	*had_zone = zone;
	return 0;
}

/* ---- loading ---- */

static void rule_release(struct rule *r)
{
	free(r->where);
	pcre2_code_free(r->re);
	free(r->needle);
	free(r->groups);
	free(r->ts_format);
	free(r->text);
	free(r->text2);
}

void user_formats_free(struct user_formats *uf)
{
	if (!uf)
		return;
	for (size_t i = 0; i < uf->nr; i++)
		rule_release(&uf->rules[i]);
	free(uf->rules);
	pcre2_match_data_free(uf->md);
	pcre2_match_context_free(uf->mctx);
	pcre2_jit_stack_free(uf->jstack);
	free(uf);
}

size_t user_formats_count(const struct user_formats *uf)
{
	return uf ? uf->nr : 0;
}

const char *user_formats_needle(const struct user_formats *uf, size_t i)
{
	return uf && i < uf->nr ? uf->rules[i].needle : NULL;
}

/*
 * A literal every match must contain, derived from the pattern source:
 * the longest run (>= 3 bytes) of plain characters at the top level (not in
 * a group or class, not followed by a quantifier that allows zero).  Only
 * for patterns without top-level alternation or inline options, where that
 * is certain.  Returns the length written to out (0: none).
 */
static size_t derive_needle(const char *pat, char *out, size_t outsz)
{
	char run[256], best[256];
	size_t rl = 0, bl = 0;
	int depth = 0;
	bool in_class = false;

	if (strstr(pat, "(?i") || strstr(pat, "(?x") || strstr(pat, "\\Q"))
		return 0;
	for (const char *p = pat; *p; p++) {
		char c = *p, lit = 0;
		bool is_lit = false;
		if (in_class) {
			if (c == '\\' && p[1])
				p++;
			else if (c == ']')
				in_class = false;
			continue;
		}
		if (c == '\\') {
			if (!p[1])
				break;
			p++;
			/* an escaped punctuation character is that character */
			if (strchr(".[]()?*+{}|^$\\/-:#<>=,'\" ", *p)) {
				lit = *p;
				is_lit = depth == 0;
			}
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			depth--;
		} else if (c == '[') {
			in_class = true;
		} else if (c == '|' && depth == 0) {
			return 0;
		} else if (!strchr(".^$?*+{}|", c)) {
			lit = c;
			is_lit = depth == 0;
		}
		if (is_lit) {
			/* a quantifier after it: ? * {0 may drop it, + keeps one */
			char q = p[1];
			if (q == '?' || q == '*' || q == '{') {
				is_lit = false;
			} else if (rl < sizeof(run) - 1) {
				run[rl++] = lit;
				if (q == '+')
					is_lit = false; /* keep it, but end the run */
				else
					continue;
			}
		}
		if (rl > bl) {
			memcpy(best, run, rl);
			bl = rl;
		}
		rl = 0;
	}
	if (rl > bl) {
		memcpy(best, run, rl);
		bl = rl;
	}
	if (bl < 3 || bl >= outsz)
		return 0;
	memcpy(out, best, bl);
	out[bl] = '\0';
	return bl;
}

static int rule_compile(struct user_formats *uf, struct rule *r, const char *pattern,
			const char *where)
{
	int errcode;
	PCRE2_SIZE erroff;
	uint32_t namecount, entry_size, capture_count, opts;
	PCRE2_SPTR table;
	unsigned payload = kind_payload(r->kind);

	r->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_DUPNAMES, &errcode,
			      &erroff, NULL);
	if (!r->re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return error("%s: bad pattern at offset %zu: %s", where, (size_t)erroff, (char *)msg);
	}
	r->jit = pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE) == 0;
	pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &capture_count);
	if (capture_count + 1 > uf->max_pairs)
		uf->max_pairs = capture_count + 1;
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &namecount);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMETABLE, &table);
	r->groups = xcalloc(namecount + 1, sizeof(*r->groups));
	for (uint32_t i = 0; i < namecount; i++) {
		PCRE2_SPTR e = table + (size_t)i * entry_size;
		uint32_t num = ((uint32_t)e[0] << 8) | e[1];
		const char *name = (const char *)e + 2;
		const struct group_name *g = NULL;
		bool known = false;
		if (name[0] == '_')
			continue;
		for (size_t k = 0; k < sizeof(group_names) / sizeof(group_names[0]); k++) {
			if (strcmp(group_names[k].name, name))
				continue;
			known = true;
			if (group_names[k].payloads & payload) {
				g = &group_names[k];
				break;
			}
		}
		if (!known)
			return error("%s: unknown group '%s' (see docs/formats-file.md for the names; "
				     "start a helper group's name with '_')", where, name);
		if (!g)
			return error("%s: group '%s' does not apply to kind '%s'", where, name,
				     event_kind_name(r->kind));
		r->groups[r->ngroups].number = num;
		r->groups[r->ngroups].field = g->field;
		r->ngroups++;
	}
	if (!r->needle) {
		char nd[256];
		size_t nl = derive_needle(pattern, nd, sizeof(nd));
		if (nl) {
			r->needle = xstrndup(nd, nl);
			r->needle_len = nl;
		}
	}
	r->req_char = -1;
	pcre2_pattern_info(r->re, PCRE2_INFO_ALLOPTIONS, &opts);
	if (!r->needle && !(opts & PCRE2_CASELESS) && !strstr(pattern, "(?i")) {
		uint32_t have = 0, ch = 0;
		pcre2_pattern_info(r->re, PCRE2_INFO_LASTCODETYPE, &have);
		if (have == 1) {
			pcre2_pattern_info(r->re, PCRE2_INFO_LASTCODEUNIT, &ch);
			r->req_char = (int)ch;
		}
	}
	return 0;
}

enum rkey { K_KIND, K_PATTERN, K_NEEDLE, K_TS_FORMAT, K_ORIGIN, K_TEXT, K_TEXT2, K_TS_AT, K__COUNT };
static const char *const rkey_names[K__COUNT] = { "kind", "pattern", "needle", "ts_format",
						  "origin", "text", "text2", "ts_at" };

/* A rule being read: its keys' values and where each was set. */
struct pending_rule {
	char *val[K__COUNT];
	unsigned line[K__COUNT];
	unsigned start;
	bool open;
};

static void pending_clear(struct pending_rule *p)
{
	for (int k = 0; k < K__COUNT; k++) {
		free(p->val[k]);
		p->val[k] = NULL;
		p->line[k] = 0;
	}
	p->open = false;
}

static int pending_finish(struct user_formats *uf, struct pending_rule *p, const char *name)
{
	struct rule r;
	char where[512];
	unsigned pl;
	const char *bad;

	if (!p->open)
		return 0;
	memset(&r, 0, sizeof(r));
	if (!p->val[K_KIND])
		return error("%s:%u: rule has no 'kind'", name, p->start);
	if (!p->val[K_PATTERN])
		return error("%s:%u: rule has no 'pattern'", name, p->start);
	r.kind = event_kind_from_name(p->val[K_KIND], strlen(p->val[K_KIND]));
	if (r.kind == EVENT_NONE)
		return error("%s:%u: unknown event kind '%s'", name, p->line[K_KIND], p->val[K_KIND]);
	if (p->val[K_ORIGIN]) {
		r.origin = (uint8_t)event_origin_from_name(p->val[K_ORIGIN], strlen(p->val[K_ORIGIN]));
		if (r.origin == ORIGIN_UNKNOWN && strcmp(p->val[K_ORIGIN], "unknown"))
			return error("%s:%u: unknown origin '%s' (api, batch or unknown)", name,
				     p->line[K_ORIGIN], p->val[K_ORIGIN]);
	}
	if (p->val[K_TS_FORMAT] && (bad = ts_format_check(p->val[K_TS_FORMAT])))
		return error("%s:%u: bad ts_format '%s' at '%.2s'", name, p->line[K_TS_FORMAT],
			     p->val[K_TS_FORMAT], bad);
	if (p->val[K_TS_AT]) {
		if (!strcmp(p->val[K_TS_AT], "end"))
			r.ts_at_end = true;
		else if (strcmp(p->val[K_TS_AT], "start"))
			return error("%s:%u: ts_at is 'start' or 'end', not '%s'", name,
				     p->line[K_TS_AT], p->val[K_TS_AT]);
	}
	pl = p->line[K_PATTERN];
	snprintf(where, sizeof(where), "%s:%u", name, pl);
	r.where = xstrdup(where);
	if (p->val[K_NEEDLE] && *p->val[K_NEEDLE]) {
		r.needle = xstrdup(p->val[K_NEEDLE]);
		r.needle_len = strlen(r.needle);
	}
	r.ts_format = p->val[K_TS_FORMAT] ? xstrdup(p->val[K_TS_FORMAT]) : NULL;
	r.text = p->val[K_TEXT] ? xstrdup(p->val[K_TEXT]) : NULL;
	r.text2 = p->val[K_TEXT2] ? xstrdup(p->val[K_TEXT2]) : NULL;
	if (rule_compile(uf, &r, p->val[K_PATTERN], where) < 0) {
		rule_release(&r);
		return -1;
	}
	ALLOC_GROW(uf->rules, uf->nr + 1, uf->alloc);
	uf->rules[uf->nr++] = r;
	pending_clear(p);
	return 0;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int parse_text(struct user_formats *uf, const char *name, const char *text, size_t len)
{
	struct pending_rule p;
	unsigned lineno = 0;
	size_t pos = 0;
	int ret = 0;

	memset(&p, 0, sizeof(p));
	while (pos < len && !ret) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *buf = xstrndup(text + pos, ll), *s = trim(buf), *eq;
		size_t wl;
		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (!*s || *s == '#' || *s == ';') {
			free(buf);
			continue;
		}
		if (*s == '[') {
			if (s[strlen(s) - 1] != ']') {
				ret = error("%s:%u: section header without ']'", name, lineno);
			} else if (!(ret = pending_finish(uf, &p, name))) {
				p.open = true;
				p.start = lineno;
			}
			free(buf);
			continue;
		}
		wl = strcspn(s, " \t=");
		eq = s + wl;
		while (*eq == ' ' || *eq == '\t')
			eq++;
		if (*eq == '=') {
			int k;
			char *val = trim(eq + 1);
			for (k = 0; k < K__COUNT; k++)
				if (strlen(rkey_names[k]) == wl && !memcmp(s, rkey_names[k], wl))
					break;
			if (k == K__COUNT) {
				ret = error("%s:%u: unknown key '%.*s' (kind, pattern, needle, ts_format, "
					    "ts_at, origin, text, text2)", name, lineno, (int)wl, s);
			} else {
				/* `kind =` after a complete rule starts the next one */
				if (k == K_KIND && p.open && p.val[K_KIND] && p.val[K_PATTERN])
					ret = pending_finish(uf, &p, name);
				if (!ret && p.val[k])
					ret = error("%s:%u: '%s' given twice in one rule (start the next "
						    "rule with [name] or kind =)", name, lineno, rkey_names[k]);
				/* "..." keeps blanks at the ends of a needle or text */
				if (!ret && k != K_PATTERN && strlen(val) >= 2 && val[0] == '"' &&
				    val[strlen(val) - 1] == '"') {
					val[strlen(val) - 1] = '\0';
					val++;
				}
				if (!ret) {
					if (!p.open) {
						p.open = true;
						p.start = lineno;
					}
					p.val[k] = xstrdup(val);
					p.line[k] = lineno;
				}
			}
		} else {
			/* shorthand: KIND REGEX */
			char *re = trim(s + wl);
			if (!(ret = pending_finish(uf, &p, name))) {
				s[wl] = '\0';
				if (!*re) {
					ret = error("%s:%u: expected 'key = value' or 'KIND REGEX', got '%s'",
						    name, lineno, s);
				} else {
					p.open = true;
					p.start = lineno;
					p.val[K_KIND] = xstrdup(s);
					p.line[K_KIND] = lineno;
					p.val[K_PATTERN] = xstrdup(re);
					p.line[K_PATTERN] = lineno;
					ret = pending_finish(uf, &p, name);
				}
			}
		}
		free(buf);
	}
	if (!ret)
		ret = pending_finish(uf, &p, name);
	pending_clear(&p);
	return ret;
}

struct user_formats *user_formats_compile(const char *name, const char *text, size_t len)
{
	struct user_formats *uf = xcalloc(1, sizeof(*uf));
	if (parse_text(uf, name, text, len) < 0) {
		user_formats_free(uf);
		return NULL;
	}
	if (!uf->nr) {
		error("%s: no rules (see docs/formats-file.md)", name);
		user_formats_free(uf);
		return NULL;
	}
	uf->md = pcre2_match_data_create(uf->max_pairs, NULL);
	uf->mctx = pcre2_match_context_create(NULL);
	/* bound backtracking so one hostile line cannot stall a run */
	pcre2_set_match_limit(uf->mctx, 1000000);
	uf->jstack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	if (!uf->md || !uf->mctx)
		die("out of memory");
	if (uf->jstack)
		pcre2_jit_stack_assign(uf->mctx, NULL, uf->jstack);
	return uf;
}

struct user_formats *user_formats_load(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	size_t n;
	struct user_formats *uf;
	FILE *f = fopen(path, "rb");
	if (!f) {
		error("cannot open formats file '%s': %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		strbuf_add(&sb, buf, n);
		if (sb.len > (1 << 20)) {
			fclose(f);
			strbuf_release(&sb);
			error("formats file '%s' is over 1 MiB", path);
			return NULL;
		}
	}
	fclose(f);
	uf = user_formats_compile(path, sb.buf, sb.len);
	strbuf_release(&sb);
	return uf;
}

/* ---- matching ---- */

static int rule_match(const struct user_formats *uf, const struct rule *r, const char *s,
		      size_t len)
{
	if (r->needle) {
		if (len < r->needle_len || !memmem(s, len, r->needle, r->needle_len))
			return 0;
	} else if (r->req_char >= 0 && !memchr(s, r->req_char, len)) {
		return 0;
	}
	if (r->jit)
		return pcre2_jit_match(r->re, (PCRE2_SPTR)s, len, 0, 0, uf->md, uf->mctx) > 0;
	return pcre2_match(r->re, (PCRE2_SPTR)s, len, 0, 0, uf->md, uf->mctx) > 0;
}

static int num_field(const char *v, size_t vl, int64_t lo, int64_t hi, int64_t *out)
{
	if (parse_i64_n(v, vl, out) < 0 || *out < lo || *out > hi)
		return -1;
	return 0;
}

/* Fill ev from the groups of the last match; -1 if a field does not parse. */
static int fill_event(const struct user_formats *uf, const struct rule *r, struct parse_ctx *ctx,
		      const char *s, struct event *ev, bool *ts_set)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(uf->md);
	for (size_t i = 0; i < r->ngroups; i++) {
		uint32_t g = r->groups[i].number;
		const char *v;
		size_t vl;
		int64_t n;
		bool zone;
		if (ov[2 * g] == PCRE2_UNSET)
			continue;
		v = s + ov[2 * g];
		vl = ov[2 * g + 1] - ov[2 * g];
		switch (r->groups[i].field) {
		case F_TS:
			/* an empty ts group (`\S*`, `(*ACCEPT)`) is no time: logtime_parse()
			 * would take 0 of 0 bytes and leave ts and zone unset */
			if (!vl)
				return -1;
			if (r->ts_format) {
				if (ts_format_parse(r->ts_format, v, vl, &ctx->opts->tz, &ev->ts, &zone) < 0)
					return -1;
			} else if (logtime_parse(v, vl, &ctx->opts->tz, &ev->ts, &zone) != vl) {
				return -1;
			}
			parse_note_ts(ctx, ev->ts, zone);
			*ts_set = true;
			break;
		case F_PID:
			if (num_field(v, vl, 0, INT32_MAX, &n) < 0)
				return -1;
			ev->pid = (int32_t)n;
			break;
		case F_CONN: ev->conn = parse_str(ctx, v, vl); break;
		case F_TEXT: ev->text = parse_str(ctx, v, vl); break;
		case F_TEXT2: ev->text2 = parse_str(ctx, v, vl); break;
		case F_ORIGIN: ev->origin = (uint8_t)event_origin_from_name(v, vl); break;
		case F_DUR_S:
			if (parse_decimal_usec_n(v, vl, USEC_PER_SEC, &ev->dur) < 0)
				return -1;
			break;
		case F_DUR_MS:
			if (parse_decimal_usec_n(v, vl, 1000, &ev->dur) < 0)
				return -1;
			break;
		case F_DUR_US:
			if (parse_decimal_usec_n(v, vl, 1, &ev->dur) < 0)
				return -1;
			break;
		case F_TIMEOUT_S:
			if (parse_decimal_usec_n(v, vl, USEC_PER_SEC, &ev->u.timeout.timeout_usec) < 0)
				return -1;
			break;
		case F_SQLSTATE:
			if (vl != 5)
				return -1;
			{
				char st[6];
				memcpy(st, v, 5);
				st[5] = '\0';
				ev->u.pg.sqlstate = event_sqlstate_pack(st);
			}
			break;
		default:
			if (num_field(v, vl, INT32_MIN + 1, INT32_MAX, &n) < 0)
				return -1;
			switch (r->groups[i].field) {
			case F_POOL_SIZE:
				if (ev->kind == EVENT_POOL_TIMEOUT)
					ev->u.timeout.pool_size = (int32_t)n;
				else
					ev->u.stats.pool_size = (int32_t)n;
				break;
			case F_MAX_OVERFLOW: ev->u.timeout.max_overflow = (int32_t)n; break;
			case F_CHECKED_IN: ev->u.stats.checked_in = (int32_t)n; break;
			case F_CHECKED_OUT: ev->u.stats.checked_out = (int32_t)n; break;
			case F_OVERFLOW: ev->u.stats.overflow = (int32_t)n; break;
			case F_WAITING: ev->u.stats.waiting = (int32_t)n; break;
			case F_HTTP_STATUS: ev->u.http.status = (int32_t)n; break;
			case F_BYTES: ev->u.http.bytes = n; break;
			case F_ENTRIES: ev->u.batch.entries = (int32_t)n; break;
			case F_PROCESSED: ev->u.batch.processed = (int32_t)n; break;
			case F_CONNECTIONS: ev->u.batch.connections = (int32_t)n; break;
			case F_COMMITS: ev->u.batch.commits = (int32_t)n; break;
			case F_BACKEND_PID: ev->u.pg.backend_pid = (int32_t)n; break;
			default: BUG("unhandled field %d", (int)r->groups[i].field);
			}
		}
	}
	return 0;
}

/*
 * Batch names pair start and end lines ("Processing vitals batch" ...
 * "Vitals batch complete"), so they are kept in lower case.  "N entries
 * processed" at the end of a batch is also its size when nothing else is.
 */
static void normalize_event(struct event *ev)
{
	if (ev->kind != EVENT_BATCH_START && ev->kind != EVENT_BATCH_END)
		return;
	if (ev->text)
		for (char *p = (char *)ev->text; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	if (ev->kind == EVENT_BATCH_END && ev->u.batch.entries < 0)
		ev->u.batch.entries = ev->u.batch.processed;
}

static int try_rules(const struct user_formats *uf, struct parse_ctx *ctx, const char *s,
		     size_t len, const struct user_match_defaults *d, bool ts_from_record)
{
	for (size_t i = 0; i < uf->nr; i++) {
		const struct rule *r = &uf->rules[i];
		struct event ev;
		bool ts_set = false;
		if (!rule_match(uf, r, s, len))
			continue;
		event_init(&ev, r->kind);
		ev.origin = r->origin;
		if (r->text)
			ev.text = parse_str(ctx, r->text, strlen(r->text));
		if (r->text2)
			ev.text2 = parse_str(ctx, r->text2, strlen(r->text2));
		if (fill_event(uf, r, ctx, s, &ev, &ts_set) < 0) {
			parse_unparsed(ctx, UNPARSED_BAD_FIELD);
			return 1;
		}
		if (!ts_set) {
			if (d) {
				ev.ts = d->ts;
			} else if (ts_from_record) {
				/* the record's own leading timestamp, "[...]" or bare */
				size_t off = len && s[0] == '[' ? 1 : 0;
				bool zone;
				if (logtime_parse(s + off, len - off, &ctx->opts->tz, &ev.ts, &zone))
					parse_note_ts(ctx, ev.ts, zone);
			}
		}
		/* event times are starts (core/event.h): a line written when the
		 * request ended moves back by its duration */
		if (r->ts_at_end && ev.ts != LOG_USEC_NONE && ev.dur != EVENT_NO_DURATION)
			ev.ts -= ev.dur;
		if (d) {
			if (!ev.pid)
				ev.pid = d->pid;
			if (!ev.origin)
				ev.origin = d->origin;
		}
		normalize_event(&ev);
		parse_emit(ctx, &ev);
		return 1;
	}
	return 0;
}

int user_formats_apply(const struct user_formats *uf, struct parse_ctx *ctx,
		       const struct record *rec)
{
	if (!uf)
		return 0;
	return try_rules(uf, ctx, rec->s, rec->len, NULL, true);
}

int user_formats_match(const struct user_formats *uf, struct parse_ctx *ctx, const char *s,
		       size_t len, const struct user_match_defaults *d)
{
	if (!uf)
		return 0;
	return try_rules(uf, ctx, s, len, d, false);
}
