#include "parsers/access.h"
#include <string.h>
#include "core/numparse.h"
#include "parsers/format.h"
#include "core/banned.h"

/*
 * Access lines are scanned by hand rather than with PCRE2: they are the
 * bulk of an access log and the mixed-stream fallback runs this on every
 * line of an app log that its own parser did not take, so the common
 * "not an access line" answer must cost one memchr() for '"' plus a look at
 * the two or three bytes before it.  The shapes are documented in access.h.
 */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* memrchr() is a GNU extension */
static const char *last_byte(const char *s, int c, size_t n)
{
	while (n--)
		if (s[n] == (char)c)
			return s + n;
	return NULL;
}

static void line_init(struct access_line *al)
{
	memset(al, 0, sizeof(*al));
	al->logged = LOG_USEC_NONE;
	al->bytes = -1;
	al->dur = EVENT_NO_DURATION;
}

/* "METHOD TARGET HTTP/1.1" -> method, target (version dropped), path_len.
 * Returns true if the line had a method and an HTTP version. */
static bool split_request(const char *r, size_t n, struct access_line *al)
{
	const char *sp = memchr(r, ' ', n);
	const char *qm;
	bool version = false;

	al->method = NULL;
	al->method_len = 0;
	al->target = r;
	al->target_len = n;
	if (sp && sp > r) {
		bool token = true;
		for (const char *p = r; p < sp; p++)
			if (!((*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_')) {
				token = false;
				break;
			}
		if (token) {
			size_t i;
			al->method = r;
			al->method_len = (size_t)(sp - r);
			al->target = sp + 1;
			al->target_len = n - al->method_len - 1;
			for (i = al->target_len; i > 0; i--)
				if (al->target[i - 1] == ' ')
					break;
			if (i > 0 && al->target_len - i >= 5 && !memcmp(al->target + i, "HTTP/", 5)) {
				al->target_len = i - 1;
				version = true;
			}
		}
	}
	qm = memchr(al->target, '?', al->target_len);
	al->path_len = qm ? (size_t)(qm - al->target) : al->target_len;
	return al->method && version;
}

/* The closing '"' at or after p that is not preceded by an odd run of
 * backslashes, or NULL. */
static const char *close_quote(const char *p, const char *end)
{
	const char *start = p;
	while (p < end) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		size_t bs = 0;
		if (!q)
			return NULL;
		for (const char *b = q; b > start && b[-1] == '\\'; b--)
			bs++;
		if (!(bs & 1))
			return q;
		p = q + 1;
	}
	return NULL;
}

/* A "[1234]" token in s[0..n): the pid, else 0. */
static int32_t bracket_pid(const char *s, size_t n)
{
	for (const char *p = memchr(s, '[', n); p; p = memchr(p, '[', (size_t)(s + n - p))) {
		const char *e = memchr(p, ']', (size_t)(s + n - p));
		int64_t v;
		p++;
		if (!e)
			break;
		if (e - p >= 1 && e - p <= 9 && !parse_i64_n(p, (size_t)(e - p), &v) && v > 0)
			return (int32_t)v;
	}
	return 0;
}

/* ---- uvicorn: [PREFIX]CLIENT - "REQUEST" STATUS[ PHRASE] ---- */

static bool scan_uvicorn(const char *s, size_t len, size_t q, const struct tzinfo *tz,
			 struct logtime_cache *tc,
			 struct access_line *al)
{
	const char *close;
	size_t c, ce, cs, plen;

	/* uvicorn does not escape the raw query, but a status phrase never
	 * holds a quote: the request ends at the last '"' */
	close = last_byte(s + q + 1, '"', len - q - 1);
	if (!close)
		return false;
	c = (size_t)(close - s);
	if (c + 5 > len || s[c + 1] != ' ' || !all_digits(s + c + 2, 3) ||
	    (c + 5 < len && s[c + 5] != ' '))
		return false;
	if (!split_request(s + q + 1, c - q - 1, al))
		return false;
	al->status = (s[c + 2] - '0') * 100 + (s[c + 3] - '0') * 10 + (s[c + 4] - '0');

	/* CLIENT is "host:port" or empty */
	if (q == 2) {
		ce = cs = 0;
	} else {
		ce = q - 3;
		cs = ce;
		while (cs > 0 && s[cs - 1] != ' ')
			cs--;
	}
	if (cs < ce) {
		const char *colon = last_byte(s + cs, ':', ce - cs);
		if (!colon || !all_digits(colon + 1, (size_t)(s + ce - colon - 1)))
			return false;
	}
	plen = cs;
	if (plen) {
		size_t p0 = s[0] == '[' ? 1 : 0;
		if (plen > p0 && is_digit(s[p0]) &&
		    !logtime_parse_cached(tc, s + p0, plen - p0, tz, &al->logged, &al->had_zone))
			al->logged = LOG_USEC_NONE;
		al->pid = bracket_pid(s, plen);
	}
	al->layout = ACCESS_UVICORN;
	return true;
}

/* ---- combined: HOST IDENT USER [TIME] "REQUEST" STATUS BYTES ... ---- */

/* Duration candidates, most precise last (higher rank wins). */
enum dur_rank {
	DUR_NONE = 0,
	DUR_T,        /* gunicorn T=, whole seconds, truncated */
	DUR_M,        /* gunicorn M=, integer ms */
	DUR_RT,       /* nginx rt= / request_time=, ms resolution */
	DUR_BARE_INT, /* a bare integer: gunicorn %(D)s, µs */
	DUR_BARE_DEC, /* a bare decimal: gunicorn %(L)s or nginx $request_time */
	DUR_L,        /* gunicorn L=, "%d.%06d" seconds */
	DUR_D,        /* gunicorn D=, µs */
};

struct tail {
	enum dur_rank rank;
	int64_t dur;
	int gunicorn, nginx; /* evidence for each family */
	bool had_bare_int, had_bare_dec;
};

static void tail_pick(struct tail *t, enum dur_rank rank, int64_t usec)
{
	if (rank > t->rank) {
		t->rank = rank;
		t->dur = usec;
	}
}

/* The tail keys we know.  gunicorn's %(D)s %(L)s %(M)s %(T)s; nginx's
 * rt= request_time= and the upstream timings. */
enum tail_key { TK_OTHER, TK_D, TK_L, TK_M, TK_T, TK_RT, TK_NGINX };

/* Classify a key once, by length first (one to four compares for the
 * usual keys, where a strlen() + memcmp() per known key cost 13% of an
 * access-log parse). */
static enum tail_key tail_key_of(const char *k, size_t kn)
{
	switch (kn) {
	case 1:
		switch (k[0]) {
		case 'D': return TK_D;
		case 'L': return TK_L;
		case 'M': return TK_M;
		case 'T': return TK_T;
		}
		return TK_OTHER;
	case 2:
		return k[0] == 'r' && k[1] == 't' ? TK_RT : TK_OTHER;
	case 3:
		return k[0] == 'u' && k[2] == 't' && (k[1] == 'r' || k[1] == 'c' || k[1] == 'h')
			       ? TK_NGINX : TK_OTHER;
	case 12:
		return !memcmp(k, "request_time", 12) ? TK_RT : TK_OTHER;
	}
	return kn > 9 && !memcmp(k, "upstream_", 9) ? TK_NGINX : TK_OTHER;
}

static void tail_keyval(struct tail *t, const char *k, size_t kn, const char *v, size_t vn)
{
	enum tail_key key = tail_key_of(k, kn);
	int64_t x;
	/* "-": no upstream, or a junk value: only counted as evidence.  A
	 * value is read only if it could win (tail_pick() keeps the highest
	 * rank): gunicorn's D= comes first, and reading T= L= M= after it
	 * cost 8% of a gunicorn log for numbers nobody kept. */
	if (vn && is_digit(v[0])) {
		switch (key) {
		case TK_D:
			if (t->rank < DUR_D && !parse_i64_n(v, vn, &x))
				tail_pick(t, DUR_D, x);
			break;
		case TK_L:
			if (t->rank < DUR_L && !parse_decimal_usec_n(v, vn, USEC_PER_SEC, &x))
				tail_pick(t, DUR_L, x);
			break;
		case TK_M:
			if (t->rank < DUR_M && !parse_i64_n(v, vn, &x) && x <= INT64_MAX / 1000)
				tail_pick(t, DUR_M, x * 1000);
			break;
		case TK_T:
			if (t->rank < DUR_T && !parse_i64_n(v, vn, &x) && x <= INT64_MAX / USEC_PER_SEC)
				tail_pick(t, DUR_T, x * USEC_PER_SEC);
			break;
		case TK_RT:
			if (t->rank < DUR_RT && !parse_decimal_usec_n(v, vn, USEC_PER_SEC, &x))
				tail_pick(t, DUR_RT, x);
			break;
		case TK_NGINX:
		case TK_OTHER:
			break;
		}
	}
	if (key == TK_D || key == TK_L || key == TK_M || key == TK_T)
		t->gunicorn++;
	else if (key == TK_RT || key == TK_NGINX)
		t->nginx++;
}

static void tail_bare(struct tail *t, const char *v, size_t vn)
{
	const char *dot = memchr(v, '.', vn);
	int64_t x;
	if (!dot) {
		if (t->had_bare_int || parse_i64_n(v, vn, &x) || !is_digit(v[0]))
			return;
		t->had_bare_int = true;
		t->gunicorn++;
		tail_pick(t, DUR_BARE_INT, x);
		return;
	}
	if (t->had_bare_dec || parse_decimal_usec_n(v, vn, USEC_PER_SEC, &x))
		return;
	t->had_bare_dec = true;
	/* gunicorn's %(L)s always has 6 decimals, nginx's $request_time 3 */
	if (vn - (size_t)(dot - v) - 1 == 6)
		t->gunicorn++;
	else if (vn - (size_t)(dot - v) - 1 == 3)
		t->nginx++;
	tail_pick(t, DUR_BARE_DEC, x);
}

/* Bytes of a tail atom: TC_STOP ends it, TC_EQ splits key=value. */
enum { TC_PLAIN, TC_STOP, TC_EQ };
static const unsigned char tail_class[256] = {
	[' '] = TC_STOP, ['\t'] = TC_STOP, ['"'] = TC_STOP, ['='] = TC_EQ,
};

/* Everything after BYTES: quoted atoms (referer, user agent, more), then
 * key=value or bare duration atoms. */
static void scan_tail(const char *p, const char *end, struct tail *t, struct access_line *al)
{
	int nquoted = 0;
	bool ref_dash = false, ua_dash = false;
	while (p < end) {
		const char *start, *eq;
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (*p == '"') {
			const char *q = close_quote(p + 1, end);
			if (!q)
				return; /* cut-off line: nothing reliable after it */
			nquoted++;
			if (nquoted == 1)
				ref_dash = q - p == 2 && p[1] == '-';
			else if (nquoted == 2)
				ua_dash = q - p == 2 && p[1] == '-';
			p = q + 1;
			continue;
		}
		/* the atom ends at a blank or '"'; its first '=' is noted on the
		 * way (one table load per byte, no memchr() per atom) */
		start = p;
		eq = NULL;
		for (; p < end; p++) {
			unsigned char c = tail_class[(unsigned char)*p];
			if (c == TC_STOP)
				break;
			if (c == TC_EQ && !eq)
				eq = p;
		}
		if (eq && p < end && *p == '"' && p == eq + 1) {
			/* key="value" */
			const char *q = close_quote(p + 1, end);
			if (!q)
				return;
			tail_keyval(t, start, (size_t)(eq - start), p + 1, (size_t)(q - p - 1));
			p = q + 1;
		} else if (eq) {
			tail_keyval(t, start, (size_t)(eq - start), eq + 1, (size_t)(p - eq - 1));
		} else if (p > start) {
			tail_bare(t, start, (size_t)(p - start));
		}
	}
	al->bare_environ = nquoted >= 2 && ref_dash && ua_dash;
}

static bool scan_combined(const char *s, size_t len, size_t q, const struct tzinfo *tz,
			  struct logtime_cache *tc,
			  struct access_line *al)
{
	const char *lb, *end = s + len, *p, *close = NULL;
	size_t tl;
	struct tail t;

	/* [TIME] right before the request: the last '[' before it.  Look
	 * first where a CLF time with zone puts it ("[20/Oct/2025:14:03:12
	 * +0000] "), then make sure no later '[' follows (one memchr()); the
	 * backward byte loop only for other shapes */
	if (q >= 2 + 28 && s[q - 2 - 27] == '[' && !memchr(s + q - 2 - 26, '[', 26))
		lb = s + q - 2 - 27;
	else
		lb = last_byte(s, '[', q - 2);
	if (!lb || lb - s < 2 || lb[-1] != ' ')
		return false;
	tl = (size_t)(s + q - 2 - lb - 1);
	if (!tl || logtime_parse_cached(tc, lb + 1, tl, tz, &al->logged, &al->had_zone) != tl)
		return false;
	/* seconds end at 20 (CLF "20/Oct/2025:14:03:12") or 19 (ISO) */
	al->whole_seconds = !(tl > 20 && (lb[21] == '.' || lb[21] == ',')) &&
			    !(tl > 19 && (lb[20] == '.' || lb[20] == ','));

	/* the request ends at the first unescaped '"' followed by " STATUS " */
	for (p = s + q + 1; (p = close_quote(p, end)) != NULL; p++)
		if (end - p >= 6 && p[1] == ' ' && all_digits(p + 2, 3) && p[5] == ' ') {
			close = p;
			break;
		}
	if (!close)
		return false;
	split_request(s + q + 1, (size_t)(close - s - q - 1), al);
	al->status = (close[2] - '0') * 100 + (close[3] - '0') * 10 + (close[4] - '0');

	/* BYTES: digits or "-" */
	p = close + 6;
	{
		const char *b = p;
		int64_t v;
		while (p < end && *p != ' ')
			p++;
		if (p - b == 1 && *b == '-')
			al->bytes = -1;
		else if (b < p && is_digit(*b) && !parse_i64_n(b, (size_t)(p - b), &v))
			al->bytes = v;
		else
			return false;
	}

	memset(&t, 0, sizeof(t));
	scan_tail(p, end, &t, al);
	/* "512 0.250": beside a bare decimal a bare integer is no duration
	 * (nginx's $request_length, $bytes_sent...), so no gunicorn %(D)s */
	if (t.had_bare_int && t.had_bare_dec)
		t.gunicorn--;
	if (t.rank != DUR_NONE && t.dur >= 0)
		al->dur = t.dur;
	if (t.gunicorn > t.nginx)
		al->family = ACCESS_FAMILY_GUNICORN;
	else if (t.nginx > t.gunicorn)
		al->family = ACCESS_FAMILY_NGINX;
	al->layout = ACCESS_COMBINED;
	return true;
}

/* access_scan() with the input's time cache (tc may be NULL) */
static bool scan_line(const char *s, size_t len, const struct tzinfo *tz, struct logtime_cache *tc,
		      struct access_line *al)
{
	const char *q;
	size_t qi;

	line_init(al);
	/* "599 " (uvicorn, a code without phrase) and CRLF leave trailing junk */
	while (len && (s[len - 1] == '\r' || s[len - 1] == ' '))
		len--;
	if (len < 12)
		return false;
	q = memchr(s, '"', len);
	if (!q)
		return false;
	qi = (size_t)(q - s);
	if (qi >= 2 && s[qi - 1] == ' ' && s[qi - 2] == ']')
		return scan_combined(s, len, qi, tz, tc, al);
	if (qi >= 2 && s[qi - 1] == ' ' && s[qi - 2] == '-' && (qi == 2 || s[qi - 3] == ' '))
		return scan_uvicorn(s, len, qi, tz, tc, al);
	return false;
}

bool access_scan(const char *s, size_t len, const struct tzinfo *tz, struct access_line *al)
{
	return scan_line(s, len, tz, NULL, al);
}

bool access_line_is(const char *s, size_t len)
{
	struct access_line al;
	return access_scan(s, len, NULL, &al);
}

/* ---- events ---- */

/* Copy the path, reading gunicorn's `\"` as `"`. */
static const char *path_copy(struct parse_ctx *ctx, const char *s, size_t n)
{
	char *out, *o;
	if (!memchr(s, '\\', n))
		return parse_str(ctx, s, n);
	o = out = arena_alloc(&ctx->scratch, n + 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '"')
			i++;
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static void emit_line(struct parse_ctx *ctx, const struct access_line *al,
		      enum access_family file_family)
{
	struct event ev;
	enum access_family fam = al->family ? al->family : file_family;

	event_init(&ev, EVENT_HTTP_REQUEST);
	ev.u.http.status = al->status;
	ev.u.http.bytes = al->bytes;
	ev.dur = al->dur;
	ev.pid = al->pid;
	if (al->method) {
		ev.text = path_copy(ctx, al->target, al->path_len);
		ev.text2 = parse_str(ctx, al->method, al->method_len);
	} else {
		ev.text = path_copy(ctx, al->target, al->target_len);
	}
	if (al->logged != LOG_USEC_NONE) {
		parse_note_ts(ctx, al->logged, al->had_zone);
		ev.ts = al->logged;
		/* combined formats log at the end of the request, truncated to
		 * the second: its middle is the unbiased end (access.h) */
		if (al->layout == ACCESS_COMBINED && al->dur != EVENT_NO_DURATION)
			ev.ts += (al->whole_seconds ? USEC_PER_SEC / 2 : 0) - al->dur;
	}
	if (al->layout == ACCESS_COMBINED && fam == ACCESS_FAMILY_GUNICORN && al->status == 500 &&
	    al->dur != EVENT_NO_DURATION && al->bare_environ)
		ev.flags |= EVENT_F_DUR_PARTIAL;
	parse_emit(ctx, &ev);
}

/* Copy s without ANSI CSI sequences (uvicorn colours its access lines when
 * stdout is a terminal; `script`, `docker run -t` capture them). */
static const char *strip_ansi(struct parse_ctx *ctx, const char *s, size_t *len)
{
	char *out = arena_alloc(&ctx->scratch, *len + 1), *o = out;
	for (size_t i = 0; i < *len; i++) {
		if (s[i] == '\x1b' && i + 1 < *len && s[i + 1] == '[') {
			i += 2;
			while (i < *len && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
				i++;
			continue;
		}
		*o++ = s[i];
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}

static enum unparsed_reason parse_family(struct parse_ctx *ctx, const struct record *rec,
					 enum access_family fam)
{
	struct access_line al;
	const char *s = rec->s;
	size_t len = rec->len;

	if (rec->nlines != 1 || (rec->flags & LINE_F_NUL))
		return UNPARSED_UNKNOWN_LAYOUT;
	if (memchr(s, '\x1b', len))
		s = strip_ansi(ctx, s, &len);
	if (!scan_line(s, len, &ctx->opts->tz, &ctx->time_cache, &al))
		return UNPARSED_UNKNOWN_LAYOUT;
	emit_line(ctx, &al, fam);
	return UNPARSED_NONE;
}

enum unparsed_reason access_parse_record(struct parse_ctx *ctx, const struct record *rec)
{
	/* cheap rejection before anything else: no quote, no access line */
	if (!memchr(rec->s, '"', rec->len))
		return UNPARSED_UNKNOWN_LAYOUT;
	return parse_family(ctx, rec, ACCESS_FAMILY_UNKNOWN);
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static enum unparsed_reason parse_own(struct parse_ctx *ctx, const struct record *rec,
				      enum access_family fam)
{
	enum unparsed_reason r = parse_family(ctx, rec, fam);
	if (r != UNPARSED_NONE && rec->nlines == 1 && blank(rec->s, rec->len))
		return UNPARSED_NONE;
	return r;
}

static enum unparsed_reason parse_uvicorn(void *state, struct parse_ctx *ctx,
					  const struct record *rec)
{
	return parse_own(ctx, rec, ACCESS_FAMILY_UNKNOWN);
}

static enum unparsed_reason parse_gunicorn(void *state, struct parse_ctx *ctx,
					   const struct record *rec)
{
	return parse_own(ctx, rec, ACCESS_FAMILY_GUNICORN);
}

static enum unparsed_reason parse_nginx(void *state, struct parse_ctx *ctx,
					const struct record *rec)
{
	return parse_own(ctx, rec, ACCESS_FAMILY_NGINX);
}

/*
 * Access logs often share a stream with the server's error log (uvicorn
 * writes both to a terminal or one docker log; `gunicorn --access-logfile -`
 * too).  Glue the error log's traceback lines to the record they follow so
 * that the mixed-stream fallback hands the app-log parser whole records.
 * A line starts a record if it is an access line, starts with a timestamp
 * or '[' (gunicorn's error log), or with a Python level ("ERROR:").
 */
static bool starts_record(const char *s, size_t len)
{
	static const char *const levels[] = { "DEBUG:", "INFO:", "WARNING:", "ERROR:",
					      "CRITICAL:", "TRACE:" };
	if (!len)
		return false;
	if (is_digit(s[0]) || s[0] == '[')
		return true;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		size_t n = strlen(levels[i]);
		if (len >= n && !memcmp(s, levels[i], n))
			return true;
	}
	return false;
}

static bool access_continues(void *state, const struct record *rec, const struct line *ln)
{
	if (starts_record(ln->s, ln->len) || access_line_is(ln->s, ln->len))
		return false;
	if (rec->nlines == 1 && (blank(rec->s, rec->len) || access_line_is(rec->s, rec->len)))
		return false;
	return true;
}

/* ---- detection ---- */

extern const struct format format_uvicorn_access, format_gunicorn_access, format_nginx_access;

struct sample_counts {
	size_t lines, uvicorn, combined;
	size_t console; /* the server's own stderr lines (see console_line) */
	int gunicorn, nginx;
};

static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
	       c == '.';
}

/*
 * A line of the server's own console output, which shares the stream when
 * stdout and stderr go to one file (`docker logs`, `uvicorn ... 2>&1`):
 * uvicorn's padded level prefix ("INFO:     Started server process",
 * "ERROR:    Exception in ASGI application"; PostgreSQL pads with two
 * spaces, uvicorn to column 10), gunicorn's error-log prefix
 * ("[2026-11-26 15:02:36 +0000] [9247] [ERROR] ..."), and the traceback
 * lines that follow them.  Counted for detection only; continues() glues
 * the tracebacks and the app-log format's parse_foreign reads the records.
 */
static bool console_line(const char *s, size_t len)
{
	static const char *const levels[] = { "INFO:", "ERROR:", "WARNING:", "CRITICAL:",
					      "DEBUG:", "TRACE:" };
	size_t i;
	if (!len)
		return false;
	if (s[0] == ' ' || s[0] == '\t')
		return true;
	if ((len >= 34 && !memcmp(s, "Traceback (most recent call last):", 34)) ||
	    (len >= 38 && !memcmp(s, "During handling of the above exception", 38)) ||
	    (len >= 40 && !memcmp(s, "The above exception was the direct cause", 40)))
		return true;
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		size_t n = strlen(levels[l]);
		if (len > 10 && !memcmp(s, levels[l], n)) {
			for (i = n; i < 10 && s[i] == ' '; i++)
				;
			return i == 10 && s[10] != ' ';
		}
	}
	if (s[0] == '[' && len > 30 && is_digit(s[1])) {
		/* gunicorn: "[%Y-%m-%d %H:%M:%S %z] [pid] [LEVEL] " */
		const char *rb = memchr(s, ']', len);
		return rb && rb + 3 < s + len && rb[1] == ' ' && rb[2] == '[' && is_digit(rb[3]);
	}
	/* the exception line ending a traceback: "sqlalchemy.exc.TimeoutError: ..." */
	for (i = 0; i < len && is_ident(s[i]); i++)
		;
	if (i && (i == len || s[i] == ':')) {
		for (size_t k = 0; k + 5 <= i; k++)
			if (!memcmp(s + k, "Error", 5) || (k + 9 <= i && !memcmp(s + k, "Exception", 9)))
				return true;
	}
	return false;
}

static void count_sample(const struct line *lines, size_t n, struct sample_counts *c)
{
	char clean[4096];
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		struct access_line al;
		const char *s = lines[i].s;
		size_t len = lines[i].len;
		if (blank(s, len))
			continue;
		c->lines++;
		if (len < sizeof(clean) && memchr(s, '\x1b', len)) {
			/* coloured uvicorn lines count too (same rule as strip_ansi) */
			size_t o = 0;
			for (size_t k = 0; k < len; k++) {
				if (s[k] == '\x1b' && k + 1 < len && s[k + 1] == '[') {
					k += 2;
					while (k < len && !((unsigned char)s[k] >= 0x40 &&
							    (unsigned char)s[k] <= 0x7e))
						k++;
					continue;
				}
				clean[o++] = s[k];
			}
			s = clean;
			len = o;
		}
		if (!access_scan(s, len, NULL, &al)) {
			c->console += console_line(s, len);
			continue;
		}
		if (al.layout == ACCESS_UVICORN) {
			c->uvicorn++;
		} else {
			c->combined++;
			c->gunicorn += al.family == ACCESS_FAMILY_GUNICORN;
			c->nginx += al.family == ACCESS_FAMILY_NGINX;
		}
	}
}

/*
 * Score = pct² / 100: a pure access log scores 100 (90% -> 81), but a file
 * that is mostly something else with access lines mixed in scores low, so
 * its own format wins and access lines reach us through parse_foreign.
 */
static int score(size_t k, size_t total)
{
	size_t pct;
	if (!total || !k)
		return 0;
	pct = 100 * k / total;
	return (int)(pct * pct / 100);
}

/*
 * Every access format reads both shapes, so the score counts all access
 * lines; the shape in the majority, then the duration atoms, pick the name
 * (the others score one less).  gunicorn and nginx lines share a shape;
 * without duration atoms gunicorn wins the tie (the incident's stack).
 */
static int detect_as(const struct line *lines, size_t n, const struct format *want);

static int detect_uvicorn(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	return detect_as(lines, n, &format_uvicorn_access);
}

static int detect_gunicorn(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	return detect_as(lines, n, &format_gunicorn_access);
}

static int detect_nginx(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	return detect_as(lines, n, &format_nginx_access);
}

static int detect_as(const struct line *lines, size_t n, const struct format *want)
{
	struct sample_counts c;
	const struct format *best;
	int s;
	count_sample(lines, n, &c);
	/* with at least 20% access lines, the server's console lines count
	 * with them: such a file is an access log with stderr mixed in, and no
	 * other format reads its access lines */
	if ((c.uvicorn + c.combined) * 5 >= c.lines)
		s = score(c.uvicorn + c.combined + c.console, c.lines);
	else
		s = score(c.uvicorn + c.combined, c.lines);
	if (c.uvicorn > c.combined)
		best = &format_uvicorn_access;
	else if (c.nginx > c.gunicorn)
		best = &format_nginx_access;
	else
		best = &format_gunicorn_access;
	return want == best || !s ? s : s - 1;
}

const struct format format_uvicorn_access = {
	.name = "uvicorn-access",
	.description = "uvicorn access log, with or without a timestamp prefix (also gunicorn's UvicornWorker)",
	.detect = detect_uvicorn,
	.continues = access_continues,
	.parse = parse_uvicorn,
	/* one access format carries the fallback: the parser is shared */
	.parse_foreign = access_parse_record,
};

const struct format format_gunicorn_access = {
	.name = "gunicorn-access",
	.description = "gunicorn access log, default format, with D/L/M/T durations",
	.detect = detect_gunicorn,
	.continues = access_continues,
	.parse = parse_gunicorn,
};

const struct format format_nginx_access = {
	.name = "nginx-access",
	.description = "nginx (or Apache) combined log, with $request_time / rt= appended",
	.detect = detect_nginx,
	.continues = access_continues,
	.parse = parse_nginx,
};
