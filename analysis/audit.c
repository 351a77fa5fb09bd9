#include "analysis/audit.h"
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/holds.h"
#include "core/numparse.h"
#include "parsers/reader.h"
#include "core/banned.h"

static const char *const level_names[AUDIT_LEVEL__COUNT] = { "info", "warning", "critical" };

const char *audit_level_name(enum audit_level l)
{
	return (unsigned)l < AUDIT_LEVEL__COUNT ? level_names[l] : "?";
}

/*
 * Defaults (docs/audit.md says why):
 *   max-timeouts 0        a checkout timeout is a refused user request
 *   max-usage 80          the incident's own dashboard alerted above 80 %
 *   exhausted on          at capacity the next checkout waits
 *   max-hold-p95 30s      the incident's pool_timeout: a hold longer than the
 *                         checkout timeout makes a waiter behind it time out
 *   max-5xx 1 (%)         with min-requests 100, so 1 error in 3 requests at
 *                         night does not page anyone
 *   max-too-many-clients 0  PostgreSQL refused a connection
 *   max-unparsed 5 (%)    with min-lines 20: a changed log format must not
 *                         make the audit pass by seeing nothing
 */
void audit_thresholds_init(struct audit_thresholds *t)
{
	struct pool_config none = POOL_CONFIG_INIT;
	memset(t, 0, sizeof(*t));
	t->max_timeouts = 0;
	t->max_usage_pct = 80;
	t->exhausted = true;
	t->max_hold_p95_usec = 30 * USEC_PER_SEC;
	t->max_5xx_pct = 1;
	t->min_requests = 100;
	t->max_too_many_clients = 0;
	t->max_unparsed_pct = 5;
	t->min_lines = 20;
	t->fail_on = AUDIT_WARNING;
	t->pool = none;
}

enum key_type { K_COUNT, K_PCT, K_DURATION, K_ONOFF, K_LEVEL, K_POOL };

static const struct threshold_key {
	const char *name;
	enum key_type type;
	bool can_be_off;
	size_t offset;
	const char *help;
} keys[] = {
	{ "max-timeouts", K_COUNT, true, offsetof(struct audit_thresholds, max_timeouts),
	  "pool checkout timeouts allowed" },
	{ "max-usage", K_PCT, true, offsetof(struct audit_thresholds, max_usage_pct),
	  "peak pool usage (% of pool_size + max_overflow) above which to warn" },
	{ "exhausted", K_ONOFF, false, offsetof(struct audit_thresholds, exhausted),
	  "pool at capacity is critical" },
	{ "max-hold-p95", K_DURATION, true, offsetof(struct audit_thresholds, max_hold_p95_usec),
	  "95th percentile of connection hold times" },
	{ "max-5xx", K_PCT, true, offsetof(struct audit_thresholds, max_5xx_pct),
	  "share of HTTP responses with status 5xx (%)" },
	{ "min-requests", K_COUNT, false, offsetof(struct audit_thresholds, min_requests),
	  "requests needed before max-5xx is judged" },
	{ "max-too-many-clients", K_COUNT, true,
	  offsetof(struct audit_thresholds, max_too_many_clients),
	  "PostgreSQL 'too many clients' refusals allowed" },
	{ "max-unparsed", K_PCT, true, offsetof(struct audit_thresholds, max_unparsed_pct),
	  "share of lines of one input that no format understood (%)" },
	{ "min-lines", K_COUNT, false, offsetof(struct audit_thresholds, min_lines),
	  "lines an input needs before max-unparsed is judged" },
	{ "fail-on", K_LEVEL, false, offsetof(struct audit_thresholds, fail_on),
	  "lowest finding level that makes the exit code 1: warning or critical" },
	{ "pool", K_POOL, false, offsetof(struct audit_thresholds, pool),
	  "pool settings SIZE/OVERFLOW/TIMEOUT when the logs do not give them" },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct threshold_key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

bool audit_threshold_known(const char *key)
{
	return find_key(key) != NULL;
}

static int check_pool_text(const char *v)
{
	/* validate before pool_config_parse(), which reports by itself */
	char buf[64];
	char *parts[3];
	size_t n = 1, len = strlen(v);
	int64_t x;
	double d;
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len + 1);
	parts[0] = buf;
	for (char *p = buf; *p; p++)
		if (*p == '/') {
			if (n == 3)
				return -1;
			*p = '\0';
			parts[n++] = p + 1;
		}
	if (n < 2 || parse_i64(parts[0], &x) < 0 || x < 0 || x > 100000 ||
	    parse_i64(parts[1], &x) < 0 || x < -1 || x > 100000)
		return -1;
	if (n == 3 && (parse_double(parts[2], &d) < 0 || !(d >= 0) || d > 86400))
		return -1;
	return 0;
}

int audit_threshold_set(struct audit_thresholds *t, const char *key, const char *value,
			struct strbuf *why)
{
	const struct threshold_key *k = find_key(key);
	char *field;
	bool off;

	if (!k) {
		strbuf_addf(why, "unknown threshold '%s' (known:", key);
		for (size_t i = 0; i < NKEYS; i++)
			strbuf_addf(why, " %s", keys[i].name);
		strbuf_addch(why, ')');
		return -1;
	}
	field = (char *)t + k->offset;
	off = !strcmp(value, "off");
	if (off && !k->can_be_off && k->type != K_ONOFF) {
		strbuf_addf(why, "%s cannot be off", key);
		return -1;
	}
	switch (k->type) {
	case K_COUNT: {
		int64_t v;
		if (off) {
			*(int64_t *)field = -1;
			return 0;
		}
		if (parse_i64(value, &v) < 0 || v < 0) {
			strbuf_addf(why, "%s wants a count (0 or more)%s, not '%s'", key,
				    k->can_be_off ? " or off" : "", value);
			return -1;
		}
		*(int64_t *)field = v;
		return 0;
	}
	case K_PCT: {
		double v;
		size_t n = strlen(value);
		char buf[64];
		if (off) {
			*(double *)field = -1;
			return 0;
		}
		/* "80" and "80%" both mean 80 % */
		if (n && n < sizeof(buf) && value[n - 1] == '%') {
			memcpy(buf, value, n - 1);
			buf[n - 1] = '\0';
			value = buf;
		}
		if (parse_double(value, &v) < 0 || !(v >= 0 && v <= 100)) {
			strbuf_addf(why, "%s wants a percentage from 0 to 100 or off, not '%s'", key,
				    value);
			return -1;
		}
		*(double *)field = v;
		return 0;
	}
	case K_DURATION: {
		int64_t v;
		if (off) {
			*(int64_t *)field = -1;
			return 0;
		}
		if (parse_duration_usec(value, &v) < 0) {
			strbuf_addf(why, "%s wants a duration (30, 30s, 1500ms, 2m) or off, not '%s'",
				    key, value);
			return -1;
		}
		*(int64_t *)field = v;
		return 0;
	}
	case K_ONOFF:
		if (!strcmp(value, "on") || !strcmp(value, "critical"))
			*(bool *)field = true;
		else if (off)
			*(bool *)field = false;
		else {
			strbuf_addf(why, "%s wants on or off, not '%s'", key, value);
			return -1;
		}
		return 0;
	case K_LEVEL:
		if (!strcmp(value, "warning"))
			*(enum audit_level *)field = AUDIT_WARNING;
		else if (!strcmp(value, "critical"))
			*(enum audit_level *)field = AUDIT_CRITICAL;
		else {
			strbuf_addf(why, "%s wants warning or critical, not '%s'", key, value);
			return -1;
		}
		return 0;
	case K_POOL:
		if (check_pool_text(value) < 0 ||
		    pool_config_parse((struct pool_config *)field, value) < 0) {
			strbuf_addf(why, "%s wants SIZE/OVERFLOW/TIMEOUT like 20/30/45, not '%s'",
				    key, value);
			return -1;
		}
		return 0;
	}
	BUG("threshold key type %d", (int)k->type);
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

int audit_config_load(struct audit_thresholds *t, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int ret = 0;
	struct strbuf why = STRBUF_INIT;

	if (!fp)
		return error("cannot read config '%s': %s", path, strerror(errno));
	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *hash, *eq, *key, *value;
		lineno++;
		if (memchr(line, '\0', (size_t)n)) {
			ret = error("%s:%zu: NUL byte in config", path, lineno);
			break;
		}
		if (n && line[n - 1] == '\n')
			line[n - 1] = '\0';
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			ret = error("%s:%zu: want 'key = value', not '%s'", path, lineno, key);
			break;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		strbuf_reset(&why);
		if (audit_threshold_set(t, key, value, &why) < 0) {
			ret = error("%s:%zu: %s", path, lineno, why.buf);
			break;
		}
	}
	free(line);
	fclose(fp);
	strbuf_release(&why);
	return ret;
}

void audit_thresholds_dump(const struct audit_thresholds *t, struct strbuf *out)
{
	char num[48];
	for (size_t i = 0; i < NKEYS; i++) {
		const struct threshold_key *k = &keys[i];
		const char *field = (const char *)t + k->offset;
		if (k->type == K_POOL && ((const struct pool_config *)field)->pool_size < 0) {
			strbuf_addf(out, "# %s\n# %s = 20/30/45\n", k->help, k->name);
			continue;
		}
		strbuf_addf(out, "# %s\n%s = ", k->help, k->name);
		switch (k->type) {
		case K_COUNT: {
			int64_t v = *(const int64_t *)field;
			if (v < 0)
				strbuf_addstr(out, "off");
			else
				strbuf_addf(out, "%" PRId64, v);
			break;
		}
		case K_PCT: {
			double v = *(const double *)field;
			if (v < 0) {
				strbuf_addstr(out, "off");
			} else {
				format_num(num, sizeof(num), v, 3);
				strbuf_addstr(out, num);
			}
			break;
		}
		case K_DURATION: {
			int64_t v = *(const int64_t *)field;
			if (v < 0) {
				strbuf_addstr(out, "off");
			} else {
				format_num(num, sizeof(num), v / 1e6, 6);
				strbuf_addf(out, "%ss", num);
			}
			break;
		}
		case K_ONOFF:
			strbuf_addstr(out, *(const bool *)field ? "on" : "off");
			break;
		case K_LEVEL:
			strbuf_addstr(out, audit_level_name(*(const enum audit_level *)field));
			break;
		case K_POOL: {
			const struct pool_config *c = (const struct pool_config *)field;
			strbuf_addf(out, "%d/%d", c->pool_size, c->max_overflow);
			if (c->timeout_usec >= 0) {
				format_num(num, sizeof(num), c->timeout_usec / 1e6, 6);
				strbuf_addf(out, "/%s", num);
			}
			break;
		}
		}
		strbuf_addch(out, '\n');
	}
}

/* ---- findings ---- */

void audit_result_init(struct audit_result *r)
{
	memset(r, 0, sizeof(*r));
}

void audit_result_release(struct audit_result *r)
{
	for (size_t i = 0; i < r->nr; i++) {
		struct audit_finding *f = &r->v[i];
		free(f->message);
		for (size_t j = 0; j < f->nrefs; j++) {
			free(f->refs[j].path);
			free(f->refs[j].excerpt);
		}
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

struct audit_finding *audit_add(struct audit_result *r, enum audit_level level, const char *code,
				double value, double threshold, const char *message)
{
	struct audit_finding *f;
	ALLOC_GROW(r->v, r->nr + 1, r->alloc);
	f = &r->v[r->nr++];
	memset(f, 0, sizeof(*f));
	f->level = level;
	f->code = code;
	f->message = xstrdup(message);
	f->value = value;
	f->threshold = threshold;
	return f;
}

void audit_add_ref(struct audit_finding *f, const char *path, uint64_t line)
{
	if (f->nrefs >= AUDIT_MAX_REFS) {
		f->more_refs++;
		return;
	}
	f->refs[f->nrefs].path = xstrdup(path);
	f->refs[f->nrefs].line = line;
	f->refs[f->nrefs].excerpt = NULL;
	f->refs[f->nrefs].excerpt_len = 0;
	f->nrefs++;
}

_Static_assert(ANALYSIS_BOOK_REFS == AUDIT_MAX_REFS, "a book keeps the refs a finding shows");

/* A book's refs as the finding's evidence, the rest counted. */
static void add_book_refs(struct audit_finding *f, const struct analysis *a, const struct analysis_book *b)
{
	for (size_t i = 0; i < b->nrefs; i++)
		audit_add_ref(f, analysis_src_name(a, b->refs[i].src), b->refs[i].line);
	f->more_refs += b->n - b->nrefs;
}

/* Evidence of the peak: the pool-stat samples at or above `out` (the first
 * few of all those books, in feed order), else the checkout at the moment
 * of the peak (pool debug: the first hold begun then). */
static void add_peak_refs(struct audit_finding *f, const struct analysis *a, int32_t out)
{
	struct analysis_book m;
	memset(&m, 0, sizeof(m));
	for (size_t k = 0; k < a->nbook_out; k++) {
		const struct analysis_book *b = &a->book_out[k].b;
		if (a->book_out[k].out < out)
			continue;
		m.n += b->n;
		/* merge b's refs into m's, both in feed order, keeping the first */
		for (size_t i = 0; i < b->nrefs; i++) {
			size_t at = m.nrefs;
			while (at > 0 && m.seq[at - 1] > b->seq[i])
				at--;
			if (at == ANALYSIS_BOOK_REFS)
				continue;
			if (m.nrefs == ANALYSIS_BOOK_REFS)
				m.nrefs--;
			memmove(m.refs + at + 1, m.refs + at, (m.nrefs - at) * sizeof(*m.refs));
			memmove(m.seq + at + 1, m.seq + at, (m.nrefs - at) * sizeof(*m.seq));
			m.refs[at] = b->refs[i];
			m.seq[at] = b->seq[i];
			m.nrefs++;
		}
	}
	add_book_refs(f, a, &m);
	if (m.n || a->peak_at == LOG_USEC_NONE)
		return;
	for (size_t i = holds_lower_bound(&a->holds, a->peak_at); i < a->holds.nr; i++) {
		const struct hold *h = hold_at(&a->holds, i);
		if (hold_key(h) != a->peak_at)
			break;
		if (h->evidence == HOLD_EV_POOL_DEBUG && h->start == a->peak_at) {
			audit_add_ref(f, analysis_src_name(a, h->src), h->line);
			break;
		}
	}
}

/* A hold over the limit, as evidence: the longest come first. */
struct long_hold {
	int64_t dur;
	uint32_t src, line;
};

static int cmp_long_hold(const struct long_hold *a, const struct long_hold *b)
{
	if (a->dur != b->dur)
		return a->dur > b->dur ? -1 : 1;
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static void pool_text(struct strbuf *sb, const struct analysis *a)
{
	if (a->config.pool_size < 0)
		return;
	strbuf_addf(sb, " (pool %d", a->config.pool_size);
	if (a->config.max_overflow != INT32_MIN)
		strbuf_addf(sb, "/%d", a->config.max_overflow);
	if (a->config.timeout_usec >= 0) {
		char num[48];
		format_num(num, sizeof(num), a->config.timeout_usec / 1e6, 3);
		strbuf_addf(sb, ", timeout %s s", num);
	}
	strbuf_addch(sb, ')');
}

void audit_evaluate(const struct analysis *a, const struct audit_thresholds *t,
		    struct audit_result *r)
{
	const struct timeline *tl = a->tl;
	struct strbuf sb = STRBUF_INIT;
	struct audit_finding *f;
	char ts[32];

	r->files = tl->nsrc;
	for (size_t i = 0; i < tl->nsrc; i++) {
		r->lines += tl->src[i].lines;
		r->bytes += tl->src[i].end_offset - tl->src[i].start_offset;
	}

	if (t->max_timeouts >= 0 && (int64_t)a->timeouts > t->max_timeouts) {
		logtime_format_iso(a->first_timeout, ts);
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%zu pool checkout timeout%s (allowed %" PRId64 ")%s", a->timeouts,
			    a->timeouts == 1 ? "" : "s", t->max_timeouts,
			    a->first_timeout != LOG_USEC_NONE ? ", first at " : "");
		if (a->first_timeout != LOG_USEC_NONE)
			strbuf_addstr(&sb, ts);
		pool_text(&sb, a);
		f = audit_add(r, AUDIT_CRITICAL, "pool_timeouts", (double)a->timeouts,
			      (double)t->max_timeouts, sb.buf);
		add_book_refs(f, a, &a->book_timeouts);
	}

	if (a->capacity > 0 && a->peak_out >= 0) {
		bool exhausted = a->peak_out >= a->capacity;
		logtime_format_iso(a->peak_at, ts);
		if (exhausted && t->exhausted) {
			strbuf_reset(&sb);
			strbuf_addf(&sb, "pool exhausted: %d of %d connections checked out at %s",
				    a->peak_out, a->capacity, ts);
			pool_text(&sb, a);
			f = audit_add(r, AUDIT_CRITICAL, "pool_exhausted", (double)a->peak_out,
				      (double)a->capacity, sb.buf);
			add_peak_refs(f, a, a->capacity);
		} else if (t->max_usage_pct >= 0 && a->peak_usage_pct > t->max_usage_pct) {
			int32_t above = (int32_t)floor(t->max_usage_pct * a->capacity / 100.0) + 1;
			strbuf_reset(&sb);
			strbuf_addf(&sb, "peak pool usage %.1f%% (%d of %d connections) at %s, above %g%%",
				    a->peak_usage_pct, a->peak_out, a->capacity, ts, t->max_usage_pct);
			f = audit_add(r, AUDIT_WARNING, "pool_usage", a->peak_usage_pct,
				      t->max_usage_pct, sb.buf);
			add_peak_refs(f, a, above);
		}
	} else if (a->peak_out >= 0 && (t->max_usage_pct >= 0 || t->exhausted)) {
		strbuf_reset(&sb);
		strbuf_addf(&sb, "pool usage not judged: the logs do not give pool_size and "
				 "max_overflow (peak %d checked out); set pool = SIZE/OVERFLOW/TIMEOUT",
			    a->peak_out);
		audit_add(r, AUDIT_INFO, "pool_capacity_unknown", (double)a->peak_out, NAN, sb.buf);
	}

	if (t->max_too_many_clients >= 0 && (int64_t)a->pg_too_many > t->max_too_many_clients) {
		strbuf_reset(&sb);
		strbuf_addf(&sb, "PostgreSQL refused %zu connection%s: too many clients (allowed %" PRId64
				 ")", a->pg_too_many, a->pg_too_many == 1 ? "" : "s",
			    t->max_too_many_clients);
		f = audit_add(r, AUDIT_CRITICAL, "pg_too_many_clients", (double)a->pg_too_many,
			      (double)t->max_too_many_clients, sb.buf);
		add_book_refs(f, a, &a->book_too_many);
	}

	if (t->max_5xx_pct >= 0 && a->http.requests > 0 &&
	    (int64_t)a->http.requests >= t->min_requests) {
		double pct = 100.0 * (double)a->http.errors_5xx / (double)a->http.requests;
		if (pct > t->max_5xx_pct) {
			strbuf_reset(&sb);
			strbuf_addf(&sb, "%zu of %zu HTTP responses were 5xx (%.2f%%, allowed %g%%)",
				    a->http.errors_5xx, a->http.requests, pct, t->max_5xx_pct);
			f = audit_add(r, AUDIT_WARNING, "http_5xx_rate", pct, t->max_5xx_pct, sb.buf);
			add_book_refs(f, a, &a->book_5xx);
		}
	}

	if (t->max_hold_p95_usec >= 0 && a->hold.count > 0 &&
	    a->hold.p95 > (double)t->max_hold_p95_usec) {
		struct long_hold top[AUDIT_MAX_REFS];
		size_t n = 0, ntop = 0;
		strbuf_reset(&sb);
		strbuf_addf(&sb, "connection hold p95 %.1f s above %.1f s (%zu holds from %s, max %.1f s)",
			    a->hold.p95 / 1e6, t->max_hold_p95_usec / 1e6, a->hold.count,
			    hold_evidence_describe(a->holds.best), a->hold.max / 1e6);
		f = audit_add(r, AUDIT_WARNING, "hold_p95", a->hold.p95 / 1e6,
			      t->max_hold_p95_usec / 1e6, sb.buf);
		/* evidence: the longest holds over the limit (the refs a finding
		 * keeps; the rest are counted) */
		for (size_t i = 0; i < a->holds.nr; i++) {
			const struct hold *h = hold_at(&a->holds, i);
			struct long_hold l = { h->dur, h->src, h->line };
			size_t k;
			if (h->evidence != a->holds.best || !hold_complete(h) || h->dur <= t->max_hold_p95_usec)
				continue;
			n++;
			for (k = ntop; k > 0 && cmp_long_hold(&l, &top[k - 1]) < 0; k--)
				if (k < AUDIT_MAX_REFS)
					top[k] = top[k - 1];
			if (k < AUDIT_MAX_REFS) {
				top[k] = l;
				if (ntop < AUDIT_MAX_REFS)
					ntop++;
			}
		}
		for (size_t i = 0; i < ntop; i++)
			audit_add_ref(f, analysis_src_name(a, top[i].src), top[i].line);
		f->more_refs += n - ntop;
	}

	for (size_t i = 0; t->max_unparsed_pct >= 0 && i < tl->nsrc; i++) {
		const struct source *s = &tl->src[i];
		double pct;
		if (!s->lines || (int64_t)s->lines < t->min_lines)
			continue;
		pct = 100.0 * (double)s->unparsed / (double)s->lines;
		if (pct <= t->max_unparsed_pct)
			continue;
		strbuf_reset(&sb);
		strbuf_addf(&sb, "'%s': %" PRIu64 " of %" PRIu64 " lines (%.1f%%) not understood", s->path,
			    s->unparsed, s->lines, pct);
		if (!s->format)
			strbuf_addstr(&sb, ", no known log format");
		else
			strbuf_addf(&sb, " as %s", s->format);
		strbuf_addstr(&sb, " (");
		for (int k = 1, first = 1; k < UNPARSED__COUNT; k++) {
			if (!s->by_reason[k])
				continue;
			strbuf_addf(&sb, "%s%s %" PRIu64, first ? "" : ", ",
				    unparsed_reason_name((enum unparsed_reason)k), s->by_reason[k]);
			first = 0;
		}
		strbuf_addstr(&sb, "); did the log format change?");
		f = audit_add(r, AUDIT_WARNING, "unparsed_lines", pct, t->max_unparsed_pct, sb.buf);
		for (size_t k = 0; k < s->nsamples; k++)
			audit_add_ref(f, s->path, s->samples[k].line);
		if (s->unparsed > s->nsamples)
			f->more_refs += s->unparsed - s->nsamples;
	}
	strbuf_release(&sb);
}

/* ---- evidence excerpts ---- */

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

static void fill_path(struct audit_result *r, const char *path, uint64_t offset,
		      uint64_t first_line)
{
	uint64_t *want = NULL;
	size_t n = 0, alloc = 0, k = 0;
	struct reader *rd;
	struct line ln;

	for (size_t i = 0; i < r->nr; i++)
		for (size_t j = 0; j < r->v[i].nrefs; j++) {
			const struct audit_ref *ref = &r->v[i].refs[j];
			if (ref->excerpt || strcmp(ref->path, path))
				continue;
			if (ref->line < first_line)
				continue; /* before this run's part: a later pass reads from the top */
			ALLOC_GROW(want, n + 1, alloc);
			want[n++] = ref->line;
		}
	if (!n)
		return;
	qsort(want, n, sizeof(*want), cmp_u64);
	/* evidence is a courtesy: an unreadable file leaves the excerpts out */
	rd = reader_open(path, 1 << 20);
	if (!rd) {
		free(want);
		return;
	}
	if ((offset || first_line > 1) && reader_seek(rd, offset, first_line) < 0) {
		reader_close(rd);
		free(want);
		return;
	}
	while (k < n && reader_next(rd, &ln) > 0) {
		if (ln.no < want[k])
			continue;
		while (k < n && want[k] < ln.no)
			k++;
		if (k < n && want[k] == ln.no) {
			size_t len = ln.len < AUDIT_EXCERPT_MAX ? ln.len : AUDIT_EXCERPT_MAX;
			for (size_t i = 0; i < r->nr; i++)
				for (size_t j = 0; j < r->v[i].nrefs; j++) {
					struct audit_ref *ref = &r->v[i].refs[j];
					if (ref->excerpt || ref->line != ln.no || strcmp(ref->path, path))
						continue;
					ref->excerpt = xmalloc(len + 1);
					memcpy(ref->excerpt, ln.s, len);
					ref->excerpt[len] = '\0';
					ref->excerpt_len = len;
				}
			while (k < n && want[k] == ln.no)
				k++;
		}
	}
	reader_close(rd);
	free(want);
}

void audit_fill_excerpts(struct audit_result *r, const struct timeline *tl)
{
	/* first from where this run read each file (cheap: the refs are early
	 * lines of the new part), then whatever is left from the top */
	for (size_t i = 0; i < tl->nsrc; i++) {
		const struct source *s = &tl->src[i];
		uint64_t first = s->end_line + 1 - s->lines;
		fill_path(r, s->path, s->start_offset, first);
	}
	for (size_t i = 0; i < r->nr; i++)
		for (size_t j = 0; j < r->v[i].nrefs; j++)
			if (!r->v[i].refs[j].excerpt)
				fill_path(r, r->v[i].refs[j].path, 0, 1);
}

int audit_worst(const struct audit_result *r)
{
	int worst = -1;
	for (size_t i = 0; i < r->nr; i++)
		if ((int)r->v[i].level > worst)
			worst = (int)r->v[i].level;
	return worst;
}

int audit_exit_code(const struct audit_result *r, const struct audit_thresholds *t)
{
	return audit_worst(r) >= (int)t->fail_on ? EXIT_FINDINGS : EXIT_OK;
}

/* ---- writers ---- */

static void knum_or_null(struct jw *w, const char *key, double v)
{
	jw_key(w, key);
	if (isnan(v))
		jw_null(w);
	else
		jw_num(w, v, 6);
}

void audit_write_json(const struct analysis *a, const struct audit_result *r,
		      const struct audit_thresholds *t, struct jw *w)
{
	jw_obj_begin(w);
	analysis_write_json_fields(a, w);
	jw_key(w, "read");
	jw_obj_begin(w);
	jw_kint(w, "files", (int64_t)r->files);
	jw_kint(w, "lines", (int64_t)r->lines);
	jw_kint(w, "bytes", (int64_t)r->bytes);
	jw_obj_end(w);
	jw_kstr(w, "result", audit_exit_code(r, t) == EXIT_OK ? "ok" : "breached");
	jw_key(w, "findings");
	jw_arr_begin(w);
	for (size_t i = 0; i < r->nr; i++) {
		const struct audit_finding *f = &r->v[i];
		jw_obj_begin(w);
		jw_kstr(w, "level", audit_level_name(f->level));
		jw_kstr(w, "code", f->code);
		jw_kstr(w, "message", f->message);
		knum_or_null(w, "value", f->value);
		knum_or_null(w, "threshold", f->threshold);
		jw_key(w, "evidence");
		jw_arr_begin(w);
		for (size_t j = 0; j < f->nrefs; j++) {
			const struct audit_ref *ref = &f->refs[j];
			jw_obj_begin(w);
			jw_kstr(w, "src", ref->path);
			jw_kint(w, "line", (int64_t)ref->line);
			jw_key(w, "text");
			if (ref->excerpt)
				jw_strn(w, ref->excerpt, ref->excerpt_len);
			else
				jw_null(w);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_kint(w, "more_evidence", (int64_t)f->more_refs);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

void audit_add_printable(struct strbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '\\' || c >= 0x80)
			strbuf_addf(out, "\\x%02x", c);
		else
			strbuf_addch(out, (char)c);
	}
}

void audit_write_text(const struct analysis *a, const struct audit_result *r,
		      const struct audit_thresholds *t, bool excerpts, struct strbuf *out)
{
	size_t by_level[AUDIT_LEVEL__COUNT] = { 0 };
	char s[32], e[32];

	for (size_t i = 0; i < r->nr; i++)
		by_level[r->v[i].level]++;
	strbuf_addf(out, "poolscope audit: %s",
		    audit_exit_code(r, t) == EXIT_OK ? "ok" : "BREACHED");
	if (by_level[AUDIT_CRITICAL] || by_level[AUDIT_WARNING])
		strbuf_addf(out, " (%zu critical, %zu warning)", by_level[AUDIT_CRITICAL],
			    by_level[AUDIT_WARNING]);
	strbuf_addf(out, "; read %" PRIu64 " new line%s (%" PRIu64 " bytes) from %" PRIu64 " file%s",
		    r->lines, r->lines == 1 ? "" : "s", r->bytes, r->files, r->files == 1 ? "" : "s");
	if (a->start != LOG_USEC_NONE) {
		logtime_format_iso(a->start, s);
		logtime_format_iso(a->end, e);
		strbuf_addf(out, ", %s to %s", s, e);
	}
	strbuf_addch(out, '\n');
	for (size_t i = 0; i < r->nr; i++) {
		const struct audit_finding *f = &r->v[i];
		strbuf_addf(out, "%s %s: ", audit_level_name(f->level), f->code);
		audit_add_printable(out, f->message, strlen(f->message));
		if (f->nrefs) {
			strbuf_addstr(out, " [");
			for (size_t j = 0; j < f->nrefs; j++) {
				if (j)
					strbuf_addch(out, ' ');
				audit_add_printable(out, f->refs[j].path, strlen(f->refs[j].path));
				strbuf_addf(out, ":%" PRIu64, f->refs[j].line);
			}
			if (f->more_refs)
				strbuf_addf(out, " +%zu more", f->more_refs);
			strbuf_addch(out, ']');
		}
		strbuf_addch(out, '\n');
		for (size_t j = 0; excerpts && j < f->nrefs; j++) {
			const struct audit_ref *ref = &f->refs[j];
			if (!ref->excerpt)
				continue;
			strbuf_addstr(out, "    ");
			audit_add_printable(out, ref->path, strlen(ref->path));
			strbuf_addf(out, ":%" PRIu64 ": ", ref->line);
			audit_add_printable(out, ref->excerpt, ref->excerpt_len);
			strbuf_addch(out, '\n');
		}
	}
}
