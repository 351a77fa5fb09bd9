#include "replay/workload.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/event.h"
#include "core/numparse.h"
#include "core/strbuf.h"
#include "parsers/reader.h"
#include "core/banned.h"

static const char *const evidence_names[WL_EV__COUNT] = {
	[WL_EV_NONE] = "none",
	[WL_EV_POOL_DEBUG] = "pool_debug",
	[WL_EV_ACCESS_LOG] = "access_log",
	[WL_EV_TIMEOUT] = "timeout",
	[WL_EV_BATCH_LINES] = "batch_lines",
	[WL_EV_POOL_STATS] = "pool_stats",
	[WL_EV_SYNTHETIC] = "synthetic",
	[WL_EV_USER] = "user",
};

const char *wl_evidence_name(enum wl_evidence e)
{
	return (unsigned)e < WL_EV__COUNT ? evidence_names[e] : "none";
}

enum wl_evidence wl_evidence_from_name(const char *s, size_t len)
{
	for (int i = 0; i < WL_EV__COUNT; i++)
		if (strlen(evidence_names[i]) == len && !memcmp(evidence_names[i], s, len))
			return (enum wl_evidence)i;
	return WL_EV__COUNT;
}

void workload_init(struct workload *wl)
{
	memset(wl, 0, sizeof(*wl));
	strtab_init(&wl->strings);
	wl->rec_pool_size = -1;
	wl->rec_max_overflow = INT32_MIN;
	wl->rec_timeout_usec = -1;
	wl->per_entry_usec = -1;
	wl->rec_timeouts = -1;
	wl->rec_peak_checked_out = -1;
	wl->hold_evidence = "none";
	workload_name(wl, "", 0);
}

void workload_release(struct workload *wl)
{
	free(wl->req);
	free(wl->batch);
	free(wl->holds);
	free(wl->names);
	strtab_release(&wl->strings);
	memset(wl, 0, sizeof(*wl));
}

/*
 * Names are few (endpoints, batch names), so a linear scan over the interned
 * pointers is fine; interning makes equal strings one pointer.
 */
uint32_t workload_name(struct workload *wl, const char *s, size_t len)
{
	const char *p;
	if (!s)
		len = 0;
	p = strtab_intern(&wl->strings, s ? s : "", len);
	for (size_t i = 0; i < wl->nnames; i++)
		if (wl->names[i] == p)
			return (uint32_t)i;
	ALLOC_GROW(wl->names, wl->nnames + 1, wl->names_alloc);
	wl->names[wl->nnames] = p;
	return (uint32_t)wl->nnames++;
}

struct wl_request *workload_add_request(struct workload *wl)
{
	struct wl_request *r;
	ALLOC_GROW(wl->req, wl->nreq + 1, wl->req_alloc);
	r = &wl->req[wl->nreq++];
	memset(r, 0, sizeof(*r));
	return r;
}

struct wl_batch *workload_add_batch(struct workload *wl)
{
	struct wl_batch *b;
	ALLOC_GROW(wl->batch, wl->nbatch + 1, wl->batch_alloc);
	b = &wl->batch[wl->nbatch++];
	memset(b, 0, sizeof(*b));
	b->gap = -1;
	b->entries = -1;
	b->first = (uint32_t)wl->nholds;
	return b;
}

struct wl_hold *workload_add_hold(struct workload *wl, uint32_t batch)
{
	struct wl_hold *h;
	struct wl_batch *b = &wl->batch[batch];
	if (batch + 1 != wl->nbatch || b->first + b->nholds != wl->nholds)
		BUG("workload: holds must follow their batch");
	ALLOC_GROW(wl->holds, wl->nholds + 1, wl->holds_alloc);
	h = &wl->holds[wl->nholds++];
	memset(h, 0, sizeof(*h));
	h->entries = -1;
	b->nholds++;
	return h;
}

/* A stable merge sort on indices would do; the sizes here make a simple
 * stable sort by (key, original position) with qsort just as good. */
struct req_key {
	log_usec t;
	size_t i;
};
static int cmp_req_key(const void *a, const void *b)
{
	const struct req_key *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

void workload_sort(struct workload *wl)
{
	bool sorted = true;
	for (size_t i = 1; i < wl->nreq && sorted; i++)
		if (wl->req[i].t < wl->req[i - 1].t)
			sorted = false;
	if (!sorted) {
		struct req_key *k = xmalloc(wl->nreq * sizeof(*k));
		struct wl_request *n = xmalloc(wl->nreq * sizeof(*n));
		for (size_t i = 0; i < wl->nreq; i++) {
			k[i].t = wl->req[i].t;
			k[i].i = i;
		}
		qsort(k, wl->nreq, sizeof(*k), cmp_req_key);
		for (size_t i = 0; i < wl->nreq; i++)
			n[i] = wl->req[k[i].i];
		free(wl->req);
		free(k);
		wl->req = n;
		wl->req_alloc = wl->nreq;
	}
	/* batches: by start (stable insertion sort: few), holds kept with them */
	sorted = true;
	for (size_t i = 1; i < wl->nbatch && sorted; i++)
		if (wl->batch[i].start < wl->batch[i - 1].start)
			sorted = false;
	if (!sorted) {
		for (size_t i = 1; i < wl->nbatch; i++) {
			struct wl_batch b = wl->batch[i];
			size_t j = i;
			while (j > 0 && wl->batch[j - 1].start > b.start) {
				wl->batch[j] = wl->batch[j - 1];
				j--;
			}
			wl->batch[j] = b;
		}
	}
	/* holds within a batch: stable by lane (insertion sort; lanes are few
	 * and usually already grouped) */
	for (size_t bi = 0; bi < wl->nbatch; bi++) {
		struct wl_hold *h;
		if (wl->batch[bi].nholds < 2)
			continue; /* also: no holds at all leaves wl->holds NULL */
		h = wl->holds + wl->batch[bi].first;
		for (uint32_t i = 1; i < wl->batch[bi].nholds; i++) {
			struct wl_hold x = h[i];
			uint32_t j = i;
			while (j > 0 && h[j - 1].lane > x.lane) {
				h[j] = h[j - 1];
				j--;
			}
			h[j] = x;
		}
	}
}

int64_t workload_batch_conn_time(const struct workload *wl, const struct wl_batch *b)
{
	int64_t sum = 0;
	for (uint32_t i = 0; i < b->nholds; i++)
		sum += wl->holds[b->first + i].hold;
	return sum;
}

int64_t workload_measure_per_entry(const struct workload *wl)
{
	int64_t t = 0, e = 0;
	for (size_t i = 0; i < wl->nbatch; i++) {
		const struct wl_batch *b = &wl->batch[i];
		if (b->entries <= 0 || !b->nholds)
			continue;
		t += workload_batch_conn_time(wl, b);
		e += b->entries;
	}
	return e ? t / e : -1;
}

log_usec workload_start(const struct workload *wl)
{
	log_usec t = LOG_USEC_NONE;
	if (wl->nreq)
		t = wl->req[0].t;
	for (size_t i = 0; i < wl->nbatch; i++)
		if (t == LOG_USEC_NONE || wl->batch[i].start < t)
			t = wl->batch[i].start;
	return t;
}

log_usec workload_end(const struct workload *wl)
{
	log_usec t = LOG_USEC_NONE;
	for (size_t i = 0; i < wl->nreq; i++)
		if (t == LOG_USEC_NONE || wl->req[i].t + wl->req[i].hold > t)
			t = wl->req[i].t + wl->req[i].hold;
	for (size_t i = 0; i < wl->nbatch; i++)
		if (t == LOG_USEC_NONE || wl->batch[i].start > t)
			t = wl->batch[i].start;
	return t;
}

/* --- the TSV file ------------------------------------------------------------ */

#define WL_MAGIC "#poolscope-workload 1"
/*
 * Rows are short (the longest field is an endpoint name); a longer line is
 * not a workload row, and reading it whole (getline) would let one crafted
 * line take all memory.  The project's reader caps it, and reads a
 * gzip-compressed workload as well.
 */
#define WL_MAX_LINE (1024 * 1024)
static const char header[] =
	"type\ttime\tpid\tengine\torigin\tname\thold_s\tgap_s\tbatch\tlane\tentries\tevidence\tflags";

static void add_iso_usec(struct strbuf *sb, log_usec t)
{
	int64_t days = t >= 0 ? t / (86400 * USEC_PER_SEC) : -((-t - 1) / (86400 * USEC_PER_SEC)) - 1;
	int64_t rem = t - days * 86400 * USEC_PER_SEC;
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	strbuf_addf(sb, "%04lld-%02u-%02uT%02u:%02u:%02u.%06uZ", (long long)y, m, d,
		    (unsigned)(rem / (3600 * USEC_PER_SEC)), (unsigned)(rem / (60 * USEC_PER_SEC) % 60),
		    (unsigned)(rem / USEC_PER_SEC % 60), (unsigned)(rem % USEC_PER_SEC));
}

static void add_secs(struct strbuf *sb, int64_t usec)
{
	if (usec < 0) {
		strbuf_addch(sb, '-');
		usec = -usec;
	}
	strbuf_addf(sb, "%lld.%06lld", (long long)(usec / USEC_PER_SEC), (long long)(usec % USEC_PER_SEC));
}

/* Tabs and newlines in names would break the row: write them as spaces. */
static void add_field(struct strbuf *sb, const char *s)
{
	if (!s || !*s) {
		strbuf_addch(sb, '-');
		return;
	}
	for (; *s; s++)
		strbuf_addch(sb, (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s);
}

static const struct {
	unsigned bit;
	const char *name;
} req_flags[] = {
	{ WL_F_IMPUTED, "imputed" },
	{ WL_F_TIMED_OUT, "timed_out" },
	{ WL_F_ARRIVAL_EST, "arrival_est" },
	{ WL_F_ORIGIN_GUESS, "origin_guess" },
	{ WL_F_COPY, "copy" },
	{ WL_F_LOCK_WAIT, "lock_wait" },
};

static void add_flags(struct strbuf *sb, unsigned flags)
{
	bool any = false;
	for (size_t i = 0; i < sizeof(req_flags) / sizeof(req_flags[0]); i++)
		if (flags & req_flags[i].bit) {
			if (any)
				strbuf_addch(sb, ',');
			strbuf_addstr(sb, req_flags[i].name);
			any = true;
		}
	if (!any)
		strbuf_addch(sb, '-');
}

int workload_write(const struct workload *wl, FILE *fp)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, WL_MAGIC "\n#config");
	if (wl->rec_pool_size >= 0)
		strbuf_addf(&sb, "\tpool_size=%d", wl->rec_pool_size);
	if (wl->rec_max_overflow != INT32_MIN)
		strbuf_addf(&sb, "\tmax_overflow=%d", wl->rec_max_overflow);
	if (wl->rec_timeout_usec >= 0) {
		strbuf_addstr(&sb, "\ttimeout_s=");
		add_secs(&sb, wl->rec_timeout_usec);
	}
	if (wl->per_entry_usec >= 0) {
		strbuf_addstr(&sb, "\tper_entry_s=");
		add_secs(&sb, wl->per_entry_usec);
	}
	if (wl->rec_timeouts >= 0)
		strbuf_addf(&sb, "\ttimeouts=%lld", (long long)wl->rec_timeouts);
	if (wl->rec_peak_checked_out >= 0)
		strbuf_addf(&sb, "\tpeak_checked_out=%d", wl->rec_peak_checked_out);
	strbuf_addf(&sb, "\thold_evidence=%s\n%s\n", wl->hold_evidence ? wl->hold_evidence : "none",
		    header);
	for (size_t i = 0; i < wl->nreq; i++) {
		const struct wl_request *r = &wl->req[i];
		strbuf_addstr(&sb, "request\t");
		add_iso_usec(&sb, r->t);
		strbuf_addf(&sb, "\t%d\t%u\t%s\t", r->pid, r->engine,
			    event_origin_name((enum event_origin)r->origin));
		add_field(&sb, workload_name_str(wl, r->name));
		strbuf_addch(&sb, '\t');
		add_secs(&sb, r->hold);
		strbuf_addf(&sb, "\t-\t-\t-\t-\t%s\t", wl_evidence_name((enum wl_evidence)r->evidence));
		add_flags(&sb, r->flags);
		strbuf_addch(&sb, '\n');
		if (sb.len > 1 << 16) {
			fwrite(sb.buf, 1, sb.len, fp);
			strbuf_reset(&sb);
		}
	}
	for (size_t i = 0; i < wl->nbatch; i++) {
		const struct wl_batch *b = &wl->batch[i];
		strbuf_addstr(&sb, "batch\t");
		add_iso_usec(&sb, b->start);
		strbuf_addf(&sb, "\t%d\t%u\tbatch\t", b->pid, b->engine);
		add_field(&sb, workload_name_str(wl, b->name));
		strbuf_addstr(&sb, "\t-\t");
		if (b->gap >= 0)
			add_secs(&sb, b->gap);
		else
			strbuf_addch(&sb, '-');
		strbuf_addf(&sb, "\t%zu\t%u\t", i + 1, b->lanes);
		if (b->entries >= 0)
			strbuf_addf(&sb, "%d", b->entries);
		else
			strbuf_addch(&sb, '-');
		strbuf_addf(&sb, "\t%s\tcommit=%s\n", wl_evidence_name((enum wl_evidence)b->evidence),
			    b->commit == WL_COMMIT_GROUP ? "group" : "once");
		for (uint32_t k = 0; k < b->nholds; k++) {
			const struct wl_hold *h = &wl->holds[b->first + k];
			strbuf_addstr(&sb, "hold\t-\t-\t-\tbatch\t-\t");
			add_secs(&sb, h->hold);
			strbuf_addch(&sb, '\t');
			add_secs(&sb, h->gap);
			strbuf_addf(&sb, "\t%zu\t%u\t", i + 1, h->lane);
			if (h->entries >= 0)
				strbuf_addf(&sb, "%d", h->entries);
			else
				strbuf_addch(&sb, '-');
			strbuf_addf(&sb, "\t%s\t-\n", wl_evidence_name((enum wl_evidence)b->evidence));
		}
		if (sb.len > 1 << 16) {
			fwrite(sb.buf, 1, sb.len, fp);
			strbuf_reset(&sb);
		}
	}
	fwrite(sb.buf, 1, sb.len, fp);
	strbuf_release(&sb);
	if (ferror(fp))
		return error("cannot write the workload: %s", strerror(errno));
	return 0;
}

bool workload_file_sniff(const char *path)
{
	char buf[sizeof(WL_MAGIC)];
	FILE *fp = fopen(path, "r");
	size_t n;
	struct reader *rd;
	struct line ln;
	bool yes;
	if (!fp)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	if (n == sizeof(buf) - 1 && !memcmp(buf, WL_MAGIC, n))
		return true;
	/* a gzip-compressed workload: look at its first line through the
	 * reader (only then, so a plain log costs one small read) */
	if (n < 2 || (unsigned char)buf[0] != 0x1f || (unsigned char)buf[1] != 0x8b)
		return false;
	if (!(rd = reader_open(path, WL_MAX_LINE)))
		return false;
	yes = reader_next(rd, &ln) > 0 && ln.len == sizeof(WL_MAGIC) - 1 &&
	      !memcmp(ln.s, WL_MAGIC, ln.len);
	reader_close(rd);
	return yes;
}

/* Split a row into up to max tab-separated fields (in place). */
static size_t split_tabs(char *s, char **f, size_t max)
{
	size_t n = 0;
	while (n < max) {
		char *t = strchr(s, '\t');
		f[n++] = s;
		if (!t)
			break;
		*t = '\0';
		s = t + 1;
	}
	return n;
}

static bool is_dash(const char *s)
{
	return !strcmp(s, "-") || !*s;
}

/* Seconds with up to 6 decimals, possibly negative; "-" not allowed. */
static int parse_secs(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	int64_t v;
	if (neg)
		s++;
	if (!*s || parse_decimal_usec_n(s, strlen(s), USEC_PER_SEC, &v) < 0)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

static int parse_config(struct workload *wl, char *line, const char *path, size_t lno)
{
	char *f[32];
	size_t n = split_tabs(line, f, 32);
	for (size_t i = 1; i < n; i++) {
		char *eq = strchr(f[i], '=');
		int64_t v;
		if (!eq)
			return error("%s:%zu: config item '%s' is not key=value", path, lno, f[i]);
		*eq++ = '\0';
		if (!strcmp(f[i], "pool_size") && !parse_i64(eq, &v) && v >= 0 && v < INT32_MAX)
			wl->rec_pool_size = (int32_t)v;
		else if (!strcmp(f[i], "max_overflow") && !parse_i64(eq, &v) && v >= -1 && v < INT32_MAX)
			wl->rec_max_overflow = (int32_t)v;
		else if (!strcmp(f[i], "timeout_s") && !parse_secs(eq, &v) && v >= 0)
			wl->rec_timeout_usec = v;
		else if (!strcmp(f[i], "per_entry_s") && !parse_secs(eq, &v) && v >= 0)
			wl->per_entry_usec = v;
		else if (!strcmp(f[i], "timeouts") && !parse_i64(eq, &v) && v >= 0)
			wl->rec_timeouts = v;
		else if (!strcmp(f[i], "peak_checked_out") && !parse_i64(eq, &v) && v >= 0 && v < INT32_MAX)
			wl->rec_peak_checked_out = (int32_t)v;
		else if (!strcmp(f[i], "hold_evidence"))
			wl->hold_evidence = strtab_intern_cstr(&wl->strings, eq);
		else
			return error("%s:%zu: bad config item '%s=%s'", path, lno, f[i], eq);
	}
	return 0;
}

static int parse_flags(const char *s, uint8_t *out)
{
	*out = 0;
	if (is_dash(s))
		return 0;
	while (*s) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		size_t i;
		for (i = 0; i < sizeof(req_flags) / sizeof(req_flags[0]); i++)
			if (strlen(req_flags[i].name) == len && !memcmp(req_flags[i].name, s, len))
				break;
		if (i == sizeof(req_flags) / sizeof(req_flags[0]))
			return -1;
		*out |= (uint8_t)req_flags[i].bit;
		s += len + (e ? 1 : 0);
	}
	return 0;
}

enum { F_TYPE, F_TIME, F_PID, F_ENGINE, F_ORIGIN, F_NAME, F_HOLD, F_GAP, F_BATCH, F_LANE,
       F_ENTRIES, F_EVIDENCE, F_FLAGS, F__COUNT };

static int read_row(struct workload *wl, char **f, const char *path, size_t lno)
{
	int64_t v;
	log_usec t;
	bool zone;
	enum wl_evidence ev = wl_evidence_from_name(f[F_EVIDENCE], strlen(f[F_EVIDENCE]));
	if (is_dash(f[F_EVIDENCE]))
		ev = WL_EV_USER;
	if (ev == WL_EV__COUNT)
		return error("%s:%zu: unknown evidence '%s'", path, lno, f[F_EVIDENCE]);
	if (!strcmp(f[F_TYPE], "request")) {
		struct wl_request *r;
		enum event_origin o = event_origin_from_name(f[F_ORIGIN], strlen(f[F_ORIGIN]));
		/* an empty field is 0 of 0 bytes parsed, and no time */
		if (!*f[F_TIME] ||
		    logtime_parse(f[F_TIME], strlen(f[F_TIME]), NULL, &t, &zone) != strlen(f[F_TIME]))
			return error("%s:%zu: bad time '%s'", path, lno, f[F_TIME]);
		r = workload_add_request(wl);
		r->t = t;
		if (parse_secs(f[F_HOLD], &r->hold) < 0 || r->hold < 0)
			return error("%s:%zu: bad hold_s '%s'", path, lno, f[F_HOLD]);
		if (is_dash(f[F_PID]))
			r->pid = 0;
		else if (parse_i64(f[F_PID], &v) < 0 || v < 0 || v > INT32_MAX)
			return error("%s:%zu: bad pid '%s'", path, lno, f[F_PID]);
		else
			r->pid = (int32_t)v;
		if (!is_dash(f[F_ENGINE]) && (parse_i64(f[F_ENGINE], &v) < 0 || v < 0 || v > 255))
			return error("%s:%zu: bad engine '%s'", path, lno, f[F_ENGINE]);
		r->engine = is_dash(f[F_ENGINE]) ? 0 : (uint8_t)v;
		r->origin = (uint8_t)o;
		r->name = is_dash(f[F_NAME]) ? 0 : workload_name(wl, f[F_NAME], strlen(f[F_NAME]));
		r->evidence = (uint8_t)ev;
		if (parse_flags(f[F_FLAGS], &r->flags) < 0)
			return error("%s:%zu: bad flags '%s'", path, lno, f[F_FLAGS]);
		return 0;
	}
	if (!strcmp(f[F_TYPE], "batch")) {
		struct wl_batch *b;
		if (parse_i64(f[F_BATCH], &v) < 0 || (size_t)v != wl->nbatch + 1)
			return error("%s:%zu: batch number '%s' should be %zu (batches are numbered in order)",
				     path, lno, f[F_BATCH], wl->nbatch + 1);
		/* an empty field is 0 of 0 bytes parsed, and no time */
		if (!*f[F_TIME] ||
		    logtime_parse(f[F_TIME], strlen(f[F_TIME]), NULL, &t, &zone) != strlen(f[F_TIME]))
			return error("%s:%zu: bad time '%s'", path, lno, f[F_TIME]);
		b = workload_add_batch(wl);
		b->start = t;
		if (!is_dash(f[F_GAP]) && (parse_secs(f[F_GAP], &b->gap) < 0 || b->gap < 0))
			return error("%s:%zu: bad gap_s '%s'", path, lno, f[F_GAP]);
		if (!is_dash(f[F_PID]) && (parse_i64(f[F_PID], &v) < 0 || v < 0 || v > INT32_MAX))
			return error("%s:%zu: bad pid '%s'", path, lno, f[F_PID]);
		b->pid = is_dash(f[F_PID]) ? 0 : (int32_t)v;
		if (!is_dash(f[F_ENGINE]) && (parse_i64(f[F_ENGINE], &v) < 0 || v < 0 || v > 255))
			return error("%s:%zu: bad engine '%s'", path, lno, f[F_ENGINE]);
		b->engine = is_dash(f[F_ENGINE]) ? 0 : (uint8_t)v;
		b->name = is_dash(f[F_NAME]) ? 0 : workload_name(wl, f[F_NAME], strlen(f[F_NAME]));
		if (!is_dash(f[F_ENTRIES]) && (parse_i64(f[F_ENTRIES], &v) < 0 || v < 0 || v > INT32_MAX))
			return error("%s:%zu: bad entries '%s'", path, lno, f[F_ENTRIES]);
		b->entries = is_dash(f[F_ENTRIES]) ? -1 : (int32_t)v;
		if (parse_i64(f[F_LANE], &v) < 0 || v < 0 || v > UINT16_MAX)
			return error("%s:%zu: bad lane count '%s'", path, lno, f[F_LANE]);
		b->lanes = (uint16_t)v;
		b->evidence = (uint8_t)ev;
		if (!strcmp(f[F_FLAGS], "commit=group"))
			b->commit = WL_COMMIT_GROUP;
		else if (!strcmp(f[F_FLAGS], "commit=once") || is_dash(f[F_FLAGS]))
			b->commit = WL_COMMIT_ONCE;
		else
			return error("%s:%zu: bad batch flags '%s' (commit=once|group)", path, lno,
				     f[F_FLAGS]);
		return 0;
	}
	if (!strcmp(f[F_TYPE], "hold")) {
		struct wl_hold *h;
		if (!wl->nbatch || parse_i64(f[F_BATCH], &v) < 0 || (size_t)v != wl->nbatch)
			return error("%s:%zu: a hold row must follow its batch (batch %s)", path, lno,
				     f[F_BATCH]);
		h = workload_add_hold(wl, (uint32_t)(wl->nbatch - 1));
		if (parse_secs(f[F_HOLD], &h->hold) < 0 || h->hold < 0)
			return error("%s:%zu: bad hold_s '%s'", path, lno, f[F_HOLD]);
		if (is_dash(f[F_GAP]))
			h->gap = 0;
		else if (parse_secs(f[F_GAP], &h->gap) < 0 || h->gap < 0)
			return error("%s:%zu: bad gap_s '%s'", path, lno, f[F_GAP]);
		if (parse_i64(f[F_LANE], &v) < 0 || v < 0 || v >= UINT16_MAX)
			return error("%s:%zu: bad lane '%s'", path, lno, f[F_LANE]);
		h->lane = (uint16_t)v;
		if (!is_dash(f[F_ENTRIES]) && (parse_i64(f[F_ENTRIES], &v) < 0 || v < 0 || v > INT32_MAX))
			return error("%s:%zu: bad entries '%s'", path, lno, f[F_ENTRIES]);
		h->entries = is_dash(f[F_ENTRIES]) ? -1 : (int32_t)v;
		return 0;
	}
	return error("%s:%zu: unknown row type '%s' (request, batch, hold)", path, lno, f[F_TYPE]);
}

int workload_read(struct workload *wl, const char *path)
{
	struct reader *rd = reader_open(path, WL_MAX_LINE);
	struct strbuf buf = STRBUF_INIT;
	struct line ln;
	int ret = 0, r;
	if (!rd)
		return -1;
	while ((r = reader_next(rd, &ln)) > 0) {
		char *f[F__COUNT + 1];
		char *line;
		size_t len = ln.len, lno = (size_t)ln.no;
		if (ln.flags & LINE_F_TOO_LONG) {
			ret = error("%s:%zu: line longer than %d bytes", path, lno, WL_MAX_LINE);
			break;
		}
		if (ln.flags & LINE_F_NUL) {
			ret = error("%s:%zu: NUL byte in a workload line", path, lno);
			break;
		}
		strbuf_reset(&buf);
		strbuf_add(&buf, ln.s, ln.len);
		line = buf.buf;
		while (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (lno == 1) {
			if (strcmp(line, WL_MAGIC)) {
				ret = error("%s: not a poolscope workload (first line must be '%s')", path,
					    WL_MAGIC);
				break;
			}
			continue;
		}
		if (!len)
			continue;
		if (!strncmp(line, "#config", 7)) {
			if ((ret = parse_config(wl, line, path, lno)) < 0)
				break;
			continue;
		}
		if (line[0] == '#' || !strncmp(line, "type\t", 5))
			continue;
		if (split_tabs(line, f, F__COUNT + 1) != F__COUNT) {
			ret = error("%s:%zu: expected %d tab-separated fields", path, lno, F__COUNT);
			break;
		}
		if ((ret = read_row(wl, f, path, lno)) < 0)
			break;
	}
	if (!ret && r < 0)
		ret = error("cannot read '%s': %s", path, reader_error(rd));
	strbuf_release(&buf);
	reader_close(rd);
	if (ret < 0)
		return -1;
	for (size_t i = 0; i < wl->nbatch; i++) {
		struct wl_batch *b = &wl->batch[i];
		uint16_t maxlane = 0;
		for (uint32_t k = 0; k < b->nholds; k++)
			if (wl->holds[b->first + k].lane + 1 > maxlane)
				maxlane = (uint16_t)(wl->holds[b->first + k].lane + 1);
		if (maxlane > b->lanes)
			b->lanes = maxlane;
	}
	if (wl->per_entry_usec < 0)
		wl->per_entry_usec = workload_measure_per_entry(wl);
	for (size_t i = 0; i < wl->nreq; i++) {
		wl->imputed += !!(wl->req[i].flags & WL_F_IMPUTED);
		wl->arrival_est += !!(wl->req[i].flags & WL_F_ARRIVAL_EST);
		wl->origin_guess += !!(wl->req[i].flags & WL_F_ORIGIN_GUESS);
	}
	workload_sort(wl);
	return 0;
}
