#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analysis/chart.h"
#include "analysis/compare.h"
#include "analysis/report.h"
#include "tests/analysis_synth.h"
#include "tests/testutil.h"

/*
 * Charts and the report folder: deterministic .dat/.gp, rendering with the
 * real gnuplot (PNG header and size, SVG well-formed enough), the HTML's
 * sections, and hostile log text that must stay data: a batch named like a
 * gnuplot command and an endpoint carrying markup.
 */

#define HOSTILE_GP "\"); system(\"touch /tmp/poolscope-pwned-%d"
#define HOSTILE_HTML "<script>alert(1)</script>|`x`"

static bool have_gnuplot(void)
{
	if (test_run("gnuplot --version >/dev/null 2>&1", NULL) == 0)
		return true;
	cr_assert(!getenv("CI") || strcmp(getenv("CI"), "true"), "CI must have gnuplot");
	return false;
}

/* Rename the batch and one endpoint of a synthetic run to hostile text. */
static void poison(struct timeline *tl, const char *batch_name)
{
	const char *b = strtab_intern_cstr(&tl->strings, batch_name);
	const char *p = strtab_intern_cstr(&tl->strings, "/api/" HOSTILE_HTML);
	for (size_t i = 0; i < tl->nr; i++) {
		if (tl->ev[i].kind == EVENT_BATCH_START || tl->ev[i].kind == EVENT_BATCH_END)
			tl->ev[i].text = b;
		if (tl->ev[i].kind == EVENT_HTTP_REQUEST && tl->ev[i].line == 5)
			tl->ev[i].text = p;
	}
}

struct two {
	struct timeline tb, ta;
	struct analysis b, a;
	struct comparison c;
	struct report_side sides[2];
	char marker[64];
	char batch_name[128];
};

static void two_init(struct two *t)
{
	struct analysis_opts o;
	struct compare_opts co;
	snprintf(t->marker, sizeof(t->marker), "/tmp/poolscope-pwned-%d", (int)getpid());
	snprintf(t->batch_name, sizeof(t->batch_name), HOSTILE_GP, (int)getpid());
	unlink(t->marker);
	build_run(&t->tb, false);
	build_run(&t->ta, true);
	poison(&t->tb, t->batch_name);
	analysis_opts_init(&o);
	o.bucket_usec = 0;
	cr_assert_eq(analysis_run(&t->tb, &o, &t->b), 0);
	cr_assert_eq(pool_config_parse(&o.pool, "5/5/4.5"), 0);
	cr_assert_eq(analysis_run(&t->ta, &o, &t->a), 0);
	compare_opts_init(&co);
	compare_run(&t->b, &t->a, &co, &t->c);
	t->sides[0] = (struct report_side){ "before", &t->b };
	t->sides[1] = (struct report_side){ "after", &t->a };
}

static void two_release(struct two *t)
{
	analysis_release(&t->a);
	analysis_release(&t->b);
	timeline_release(&t->ta);
	timeline_release(&t->tb);
}

static char *tmpdir_path(const char *name)
{
	char tmpl[] = "/tmp/poolscope-report-test-XXXXXX";
	char *base = mkdtemp(tmpl);
	char *out;
	cr_assert_not_null(base);
	out = malloc(strlen(base) + strlen(name) + 2);
	sprintf(out, "%s/%s", base, name);
	return out;
}

static void rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%.400s'", dir);
	test_run(cmd, NULL);
}

static void slurp(const char *dir, const char *name, struct strbuf *sb)
{
	char p[512];
	strbuf_reset(sb);
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_eq(test_read_file(p, sb), 0, "cannot read %s", p);
}

static bool exists(const char *dir, const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

Test(chart, quoting_and_data_labels)
{
	struct chart c;
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT, q = STRBUF_INIT;
	static const char *const cols[] = { "t", "y" };
	double row[2] = { 1, 2 };
	size_t b;
	gp_quote(&q, "it's\n'); system('x");
	cr_assert_str_eq(q.buf, "'it''s ''); system(''x'");
	chart_init(&c, "t-1");
	snprintf(c.title, sizeof(c.title), "a 'title'");
	b = chart_block_add(&c, "names", 2, cols);
	chart_row(&c, b, row, "\"); system(\"touch /tmp/x\") # \\ end");
	chart_series_add(&c, b, 1, 2, CHART_LABELS, NULL, "#000000")->label_col = 3;
	chart_write(&c, &dat, &gp);
	/* the label is one quoted data field, with nothing that ends it early */
	cr_assert(strstr(dat.buf, "1 2 \"'); system('touch /tmp/x') _ _ end\"\n"), "%s", dat.buf);
	cr_assert_null(strstr(gp.buf, "touch"), "log text reached the script:\n%s", gp.buf);
	cr_assert(strstr(gp.buf, "set title 'a ''title''' noenhanced"), "%s", gp.buf);
	cr_assert(strstr(gp.buf, "using 1:2:3 with labels noenhanced"), "%s", gp.buf);
	/* deterministic */
	{
		struct strbuf d2 = STRBUF_INIT, g2 = STRBUF_INIT;
		chart_write(&c, &d2, &g2);
		cr_assert_str_eq(d2.buf, dat.buf);
		cr_assert_str_eq(g2.buf, gp.buf);
		strbuf_release(&d2);
		strbuf_release(&g2);
	}
	chart_release(&c);
	strbuf_release(&dat);
	strbuf_release(&gp);
	strbuf_release(&q);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

Test(report, rendered_with_gnuplot, .timeout = 120)
{
	struct two t;
	struct report_opts ro;
	struct strbuf sb = STRBUF_INIT;
	char *dir;
	static const char *const charts[] = { "pool-usage", "failures", "hold-cdf", "latency" };
	static const char *const sections[] = { "id=\"summary\"", "id=\"criteria\"", "id=\"comparison\"",
						"id=\"charts\"", "id=\"review-before\"", "id=\"review-after\"",
						"id=\"inputs\"" };
	if (!have_gnuplot())
		cr_skip_test("gnuplot is not installed");
	two_init(&t);
	dir = tmpdir_path("report");
	report_opts_init(&ro);
	ro.outdir = dir;
	cr_assert_eq(report_write(t.sides, 2, &t.c, &ro), 0);
	for (size_t i = 0; i < 4; i++) {
		char name[64];
		const unsigned char *p;
		snprintf(name, sizeof(name), "%s.png", charts[i]);
		slurp(dir, name, &sb);
		p = (const unsigned char *)sb.buf;
		cr_assert_gt(sb.len, 8000, "%s is only %zu bytes", name, sb.len);
		cr_assert(!memcmp(p, "\x89PNG\r\n\x1a\n", 8), "%s: not a PNG", name);
		cr_assert(!memcmp(p + 12, "IHDR", 4), "%s: no IHDR first", name);
		cr_assert_eq(be32(p + 16), 1000, "%s width", name);
		cr_assert_eq(be32(p + 20), 560, "%s height", name);
		snprintf(name, sizeof(name), "%s.svg", charts[i]);
		slurp(dir, name, &sb);
		cr_assert(!strncmp(sb.buf, "<?xml", 5) || !strncmp(sb.buf, "<svg", 4), "%s start", name);
		cr_assert(strstr(sb.buf, "<svg"), "%s", name);
		cr_assert(strstr(sb.buf, "</svg>"), "%s not closed", name);
		snprintf(name, sizeof(name), "%s.gp", charts[i]);
		cr_assert(exists(dir, name));
		snprintf(name, sizeof(name), "%s.dat", charts[i]);
		cr_assert(exists(dir, name));
	}
	/* the hostile batch name was drawn as a label, never run */
	cr_assert_neq(access(t.marker, F_OK), 0, "gnuplot ran log text: %s exists", t.marker);
	slurp(dir, "pool-usage.gp", &sb);
	cr_assert_null(strstr(sb.buf, "pwned"));
	slurp(dir, "pool-usage.dat", &sb);
	cr_assert(strstr(sb.buf, "system('touch"), "the name is in the data: %s", sb.buf);

	slurp(dir, "report.html", &sb);
	cr_assert(!strncmp(sb.buf, "<!DOCTYPE html>", 15));
	cr_assert(strstr(sb.buf, "</html>\n"));
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		cr_assert(strstr(sb.buf, sections[i]), "no section %s", sections[i]);
	cr_assert_null(strstr(sb.buf, "<script"), "markup from a log in the HTML");
	cr_assert_null(strstr(sb.buf, "src=\"http"), "external asset");
	cr_assert(strstr(sb.buf, "data:image/png;base64,iVBORw0KGgo"), "charts not embedded");
	cr_assert(strstr(sb.buf, "&quot;); system(&quot;touch"), "batch name not escaped");
	slurp(dir, "report.md", &sb);
	cr_assert_null(strstr(sb.buf, "<script"), "markup from a log in the Markdown");
	cr_assert(strstr(sb.buf, "&lt;script&gt;"), "%s", sb.buf);
	slurp(dir, "report.json", &sb);
	cr_assert(strstr(sb.buf, "\"mode\": \"compare\""));
	cr_assert(strstr(sb.buf, "\"gnuplot\": \"rendered\""));

	/* a second run replaces the report in place, leaving no temp folder */
	cr_assert_eq(report_write(t.sides, 2, &t.c, &ro), 0);
	{
		char parent[512];
		DIR *d;
		struct dirent *de;
		int n = 0;
		snprintf(parent, sizeof(parent), "%s", dir);
		*strrchr(parent, '/') = '\0';
		d = opendir(parent);
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		cr_assert_eq(n, 1, "leftovers beside the report");
		rm_rf(parent);
	}
	free(dir);
	strbuf_release(&sb);
	two_release(&t);
}

Test(report, without_gnuplot_still_written)
{
	struct two t;
	struct report_opts ro;
	struct strbuf sb = STRBUF_INIT;
	char *dir;
	two_init(&t);
	dir = tmpdir_path("r");
	report_opts_init(&ro);
	ro.outdir = dir;
	ro.gnuplot = "/nonexistent/poolscope-test/gnuplot";
	cr_assert_eq(report_write(t.sides, 1, NULL, &ro), 1);
	cr_assert(exists(dir, "pool-usage.dat"));
	cr_assert(exists(dir, "pool-usage.gp"));
	cr_assert_not(exists(dir, "pool-usage.png"));
	slurp(dir, "report.html", &sb);
	cr_assert(strstr(sb.buf, "not rendered"), "the report does not say so");
	cr_assert_null(strstr(sb.buf, "id=\"criteria\""), "one side has no criteria");
	slurp(dir, "report.json", &sb);
	cr_assert(strstr(sb.buf, "\"gnuplot\": \"not_found\""));
	cr_assert(strstr(sb.buf, "\"png\": null"));
	*strrchr(dir, '/') = '\0';
	rm_rf(dir);
	free(dir);
	strbuf_release(&sb);
	two_release(&t);
}

/* A folder that is not a report is never replaced or written into. */
Test(report, refuses_a_foreign_folder)
{
	struct two t;
	struct report_opts ro;
	struct strbuf sb = STRBUF_INIT;
	char *dir, path[512];
	FILE *f;
	two_init(&t);
	dir = tmpdir_path("mine");
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	f = fopen(path, "w");
	fputs("keep me\n", f);
	fclose(f);
	report_opts_init(&ro);
	ro.outdir = dir;
	ro.render = false;
	cr_assert_eq(report_write(t.sides, 1, NULL, &ro), -1);
	cr_assert_not(exists(dir, "report.html"));
	cr_assert_eq(test_read_file(path, &sb), 0);
	cr_assert_str_eq(sb.buf, "keep me\n");
	*strrchr(dir, '/') = '\0';
	rm_rf(dir);
	free(dir);
	strbuf_release(&sb);
	two_release(&t);
}

Test(report, base64)
{
	struct strbuf sb = STRBUF_INIT;
	base64_encode((const unsigned char *)"Man", 3, &sb);
	base64_encode((const unsigned char *)"Ma", 2, &sb);
	base64_encode((const unsigned char *)"M", 1, &sb);
	cr_assert_str_eq(sb.buf, "TWFuTWE=TQ==");
	strbuf_release(&sb);
}
