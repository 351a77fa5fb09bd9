#include "core/timeline.h"
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/strbuf.h"
#include "core/banned.h"

static const char *const reason_names[UNPARSED__COUNT] = {
	[UNPARSED_NONE] = "none",
	[UNPARSED_UNKNOWN_LAYOUT] = "unknown_layout",
	[UNPARSED_NO_TIMESTAMP] = "no_timestamp",
	[UNPARSED_BAD_FIELD] = "bad_field",
	[UNPARSED_TOO_LONG] = "too_long",
	[UNPARSED_BINARY] = "binary",
	[UNPARSED_TRUNCATED] = "truncated",
	[UNPARSED_ORPHAN] = "orphan_continuation",
};

const char *unparsed_reason_name(enum unparsed_reason r)
{
	return (unsigned)r < UNPARSED__COUNT ? reason_names[r] : "unknown";
}

void source_init(struct source *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->path = xstrdup(path);
	s->first_ts = s->last_ts = LOG_USEC_NONE;
}

void source_release(struct source *s)
{
	free(s->path);
	free(s->format);
	free(s->read_error);
	memset(s, 0, sizeof(*s));
}

void source_note_unparsed(struct source *s, uint64_t line, enum unparsed_reason r,
			  const char *text, size_t len)
{
	struct unparsed_sample *sm;
	size_t i, n;
	s->unparsed++;
	s->by_reason[r < UNPARSED__COUNT ? r : 0]++;
	if (s->nsamples >= SOURCE_MAX_SAMPLES)
		return;
	sm = &s->samples[s->nsamples++];
	sm->line = line;
	sm->reason = r;
	/* keep excerpts printable: a terminal must not see escapes from a log
	 * (C0, DEL, C1 such as U+009B CSI, invalid UTF-8 all become '?'), and
	 * a character is copied whole or not at all */
	for (i = n = 0; i < len && n < sizeof(sm->excerpt) - 1;) {
		size_t skip, k = utf8_printable(text + i, len - i, &skip);
		if (!k) {
			sm->excerpt[n++] = '?';
			i += skip;
			continue;
		}
		if (n + k > sizeof(sm->excerpt) - 1)
			break;
		memcpy(sm->excerpt + n, text + i, k);
		n += k;
		i += k;
	}
	sm->excerpt[n] = '\0';
}

void timeline_init(struct timeline *tl)
{
	memset(tl, 0, sizeof(*tl));
	strtab_init(&tl->strings);
	tl->sorted = true;
}

void timeline_release(struct timeline *tl)
{
	for (size_t i = 0; i < tl->nsrc; i++)
		source_release(&tl->src[i]);
	free(tl->src);
	free(tl->ev);
	strtab_release(&tl->strings);
	memset(tl, 0, sizeof(*tl));
}

uint32_t timeline_add_source(struct timeline *tl, const char *path)
{
	ALLOC_GROW(tl->src, tl->nsrc + 1, tl->src_alloc);
	source_init(&tl->src[tl->nsrc], path);
	return (uint32_t)tl->nsrc++;
}

void timeline_append(struct timeline *tl, const struct event *ev)
{
	struct event *e;
	ALLOC_GROW(tl->ev, tl->nr + 1, tl->alloc);
	e = &tl->ev[tl->nr];
	*e = *ev;
	e->conn = strtab_intern_cstr(&tl->strings, ev->conn);
	e->text = strtab_intern_cstr(&tl->strings, ev->text);
	e->text2 = strtab_intern_cstr(&tl->strings, ev->text2);
	if (tl->nr && tl->sorted && ev->ts < tl->ev[tl->nr - 1].ts)
		tl->sorted = false;
	tl->nr++;
}

/* Bottom-up merge sort: stable, O(n log n) worst case, and fast on the
 * nearly sorted input that concatenated log files give. */
void timeline_sort(struct timeline *tl)
{
	struct event *a = tl->ev, *b, *tmp;
	size_t n = tl->nr;
	if (tl->sorted || n < 2) {
		tl->sorted = true;
		return;
	}
	b = xmalloc(n * sizeof(*b));
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			if (mid >= hi || a[mid - 1].ts <= a[mid].ts) {
				memcpy(b + lo, a + lo, (hi - lo) * sizeof(*a));
				continue;
			}
			while (i < mid && j < hi)
				b[k++] = a[j].ts < a[i].ts ? a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		tmp = a;
		a = b;
		b = tmp;
	}
	if (a != tl->ev) {
		memcpy(tl->ev, a, n * sizeof(*a));
		b = a;
	}
	free(b);
	tl->sorted = true;
}

log_usec timeline_start(const struct timeline *tl)
{
	for (size_t i = 0; i < tl->nr; i++)
		if (tl->ev[i].ts != LOG_USEC_NONE)
			return tl->ev[i].ts;
	return LOG_USEC_NONE;
}

log_usec timeline_end(const struct timeline *tl)
{
	return tl->nr ? tl->ev[tl->nr - 1].ts : LOG_USEC_NONE;
}
