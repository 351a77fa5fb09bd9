#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "analysis/analyze.h"
#include "core/json.h"
#include "parsers/parse.h"
#include "tests/testutil.h"

/*
 * One analysis, two drivers: analysis_run() over a parsed timeline and
 * analysis_run_inputs() streaming the inputs without one (with run buffers
 * small enough that every input spills to disk, and with the default).
 * Every figure of the JSON, the text review and the holds TSV must be the
 * same, byte for byte, on the real fixtures.  The small buffers also send
 * the HTTP requests to a temporary file (analysis_opts.req_memory), read
 * back at the end for the hold matching and the HTTP figures, and the holds
 * (analysis_opts.hold_memory: a store of one-record blocks, so nearly every
 * access reads or writes the file, and their sorts in one-record runs).
 */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t inputs_of(char **paths, size_t max, const char *rel)
{
	char dir[4096];
	DIR *d;
	struct dirent *de;
	size_t n = 0;
	snprintf(dir, sizeof(dir), "%s", test_path(rel));
	d = opendir(dir);
	cr_assert_not_null(d, "cannot open %s", dir);
	while ((de = readdir(d)) && n < max) {
		char p[8192];
		struct stat sb;
		if (de->d_name[0] == '.' || strstr(de->d_name, ".py") ||
		    strstr(de->d_name, ".formats"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		paths[n++] = strdup(p);
	}
	closedir(d);
	qsort(paths, n, sizeof(*paths), cmp_str);
	return n;
}

static void render(const struct analysis *a, struct strbuf *out)
{
	struct jw w;
	jw_init(&w, out, true);
	analysis_write_json(a, &w);
	analysis_write_text(a, out);
	analysis_write_markdown(a, out);
	analysis_write_holds_tsv(a, out);
}

static void same_analysis(const char *rel, int64_t bucket, size_t run_events)
{
	char *paths[32];
	size_t n = inputs_of(paths, 32, rel);
	struct parse_opts po;
	struct analysis_opts ao;
	struct timeline tl, sources;
	struct analysis a, b;
	struct strbuf x = STRBUF_INIT, y = STRBUF_INIT;

	cr_assert_gt(n, 0);
	parse_opts_init(&po);
	po.quiet = true;
	analysis_opts_init(&ao);
	ao.bucket_usec = bucket;
	timeline_init(&tl);
	timeline_init(&sources);
	parse_into_timeline((const char *const *)paths, n, &po, &tl);
	cr_assert_eq(analysis_run(&tl, &ao, &a), 0);
	/* with run_events, the requests go to a temp file past run_events too,
	 * and the holds past the smallest store there is (one record a block) */
	ao.req_memory = run_events;
	ao.hold_memory = run_events ? 1 : 0;
	cr_assert_eq(analysis_run_inputs((const char *const *)paths, n, &po, &ao, &sources, &b, run_events), 0);
	cr_assert_eq(sources.nr, 0);
	if (run_events && b.holds.nr > 4 * RECSTORE_MIN_BLOCKS)
		cr_assert(recstore_on_disk(&b.holds.store), "%s: %zu holds, none on disk", rel, b.holds.nr);
	render(&a, &x);
	render(&b, &y);
	cr_assert_gt(x.len, 1000);
	if (strcmp(x.buf, y.buf)) {
		size_t i = 0;
		while (x.buf[i] == y.buf[i])
			i++;
		cr_assert_fail("%s (run_events %zu): outputs differ at byte %zu:\n--- timeline:\n%.300s\n--- stream:\n%.300s",
			       rel, run_events, i, x.buf + (i > 100 ? i - 100 : 0), y.buf + (i > 100 ? i - 100 : 0));
	}
	analysis_release(&a);
	analysis_release(&b);
	strbuf_release(&x);
	strbuf_release(&y);
	timeline_release(&tl);
	timeline_release(&sources);
	parse_opts_release(&po);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
}

Test(analysis_stream, incident_before)
{
	same_analysis("fixtures/incident/before", 60 * USEC_PER_SEC, 0);
	same_analysis("fixtures/incident/before", 60 * USEC_PER_SEC, 11);
}

Test(analysis_stream, incident_after_auto_buckets)
{
	same_analysis("fixtures/incident/after", 0, 0);
	same_analysis("fixtures/incident/after", 0, 500);
}

Test(analysis_stream, gunicorn)
{
	same_analysis("fixtures/incident/gunicorn", 10 * USEC_PER_SEC, 3);
}

Test(analysis_stream, postgres_duplicates_across_formats)
{
	/* stderr, csvlog and jsonlog of one server: the duplicates window */
	same_analysis("fixtures/pg", 60 * USEC_PER_SEC, 2);
}

Test(analysis_stream, hostile)
{
	same_analysis("fixtures/hostile", 60 * USEC_PER_SEC, 4);
}

/* With no usable $TMPDIR, a run whose holds pass their store (one-hold
 * blocks) fails: analysis_finish() returns -1 after one error line (the
 * store's; the sorts that follow are not tried). */
Test(analysis_stream, hold_store_without_tmpdir)
{
	char *paths[32];
	size_t n = inputs_of(paths, 32, "fixtures/incident/before");
	struct parse_opts po;
	struct analysis_opts ao;
	struct timeline sources;
	struct analysis a;
	struct test_capture c;
	char *text;
	int rc;
	parse_opts_init(&po);
	po.quiet = true;
	analysis_opts_init(&ao);
	ao.hold_memory = 1;
	timeline_init(&sources);
	test_capture_start(&c, "/nonexistent/poolscope");
	rc = analysis_run_inputs((const char *const *)paths, n, &po, &ao, &sources, &a, 0);
	text = test_capture_end(&c);
	cr_assert_eq(rc, -1);
	cr_assert_eq(test_count_lines(text), 1, "want one error line, got:\n%.500s", text);
	cr_assert(strstr(text, "error: cannot create a temporary file"), "%s", text);
	free(text);
	analysis_release(&a);
	timeline_release(&sources);
	parse_opts_release(&po);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
}
