/*
 * Hostile text in the writers of analysis/: the text (terminal), Markdown
 * and HTML escapers, and the chart writer plus a real gnuplot run.  The
 * payloads are the ones of fixtures/hostile/make.py; everything that could
 * run a command targets /tmp/poolscope-pwned-analysis.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analysis/chart.h"
#include "analysis/textfmt.h"
#include "tests/testutil.h"

#define PWN "/tmp/poolscope-pwned-analysis"

static const char *const payloads[] = {
	"$(touch " PWN ")",
	"`touch " PWN "`",
	"system(\"touch " PWN "\")",
	"x' . system('touch " PWN "') . '",
	"\" ; system(\"touch " PWN "\") ; print \"",
	"<script>alert(1)</script>",
	"'; DROP TABLE audit_runs; --",
	"|a|b|*[x](javascript:alert(1))",
	"\x1b[31mred\x1b]0;pwned\x07\xc2\x9b" "2J\xff\xfe",
	"line\nset output '" PWN "'\nplot x",
	"# comment \\ escape \\\" quote",
	"%s%n%x",
};
#define NPAYLOADS (sizeof(payloads) / sizeof(payloads[0]))

static bool has_terminal_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return true;
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] < 0xa0)
			return true;
	}
	return false;
}

Test(hostile_analysis, tf_clean_keeps_terminals_safe)
{
	for (size_t i = 0; i < NPAYLOADS; i++) {
		struct strbuf o = STRBUF_INIT;
		tf_clean(&o, payloads[i], 200);
		cr_assert_not(has_terminal_control(o.buf, o.len), "payload %zu: '%s'", i, o.buf);
		cr_assert_null(strchr(o.buf, '\n'), "payload %zu: a newline would fake a row", i);
		strbuf_release(&o);
	}
}

Test(hostile_analysis, tf_md_and_tf_html_neutralise_markup)
{
	for (size_t i = 0; i < NPAYLOADS; i++) {
		struct strbuf md = STRBUF_INIT, html = STRBUF_INIT;
		tf_md(&md, payloads[i], 200);
		tf_html(&html, payloads[i], 200);
		cr_assert_not(has_terminal_control(md.buf, md.len), "payload %zu md: '%s'", i, md.buf);
		cr_assert_null(strchr(md.buf, '\n'), "payload %zu md", i);
		cr_assert_null(strchr(md.buf, '<'), "payload %zu md: raw '<' is HTML in Markdown", i);
		/* a pipe would end a table cell, $ starts math on GitHub, a
		 * backtick a code span: escaped */
		for (const char *p = md.buf; (p = strpbrk(p, "|$`")); p++)
			cr_assert(p > md.buf && p[-1] == '\\', "payload %zu md: bare '%c' in '%s'", i,
				  *p, md.buf);
		cr_assert_null(strpbrk(html.buf, "<>\"'"), "payload %zu html: '%s'", i, html.buf);
		cr_assert_not(has_terminal_control(html.buf, html.len), "payload %zu html", i);
		strbuf_release(&md);
		strbuf_release(&html);
	}
}

/* The chart writer: log text only as a data label; the script holds none of
 * it, the data file keeps each label one field; gnuplot runs it harmlessly. */
Test(hostile_analysis, chart_labels_stay_data)
{
	static const char *const cols[] = { "x", "y" };
	struct chart c;
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	char dir[] = "/tmp/poolscope-hostile-chart-XXXXXX";
	char path[256];
	FILE *f;
	size_t blk;
	int rc;

	unlink(PWN);
	chart_init(&c, "hostile");
	snprintf(c.title, sizeof(c.title), "hostile labels");
	blk = chart_block_add(&c, "batches", 2, cols);
	for (size_t i = 0; i < NPAYLOADS; i++) {
		double v[2] = { (double)i, (double)(i % 3) };
		chart_row(&c, blk, v, payloads[i]);
	}
	chart_series_add(&c, blk, 1, 2, CHART_LABELS, "", "#000000")->label_col = 3;
	chart_series_add(&c, blk, 1, 2, CHART_POINTS, "points", "#ff0000");
	chart_write(&c, &dat, &gp);

	cr_assert_null(strstr(gp.buf, "touch"), "a payload reached the script:\n%s", gp.buf);
	cr_assert_null(strstr(gp.buf, "<script>"));
	cr_assert_null(strstr(gp.buf, "DROP TABLE"));
	cr_assert_null(strchr(gp.buf, '`'), "backticks are command substitution in gnuplot");
	/* data: every row is "x y "label"": exactly two quotes, nothing after */
	{
		size_t rows = 0;
		for (char *ln = dat.buf, *e; *ln; ln = e + 1) {
			size_t q = 0;
			e = strchr(ln, '\n');
			if (!e)
				break;
			if (*ln == '#' || ln == e)
				continue;
			for (char *p = ln; p < e; p++) {
				q += *p == '"';
				cr_assert(*p != '\\' && (*p != '#' || q == 1) && (unsigned char)*p >= 0x20,
					  "row '%.*s'", (int)(e - ln), ln);
			}
			cr_assert_eq(q, 2, "row '%.*s'", (int)(e - ln), ln);
			cr_assert_eq(e[-1], '"', "row '%.*s'", (int)(e - ln), ln);
			rows++;
		}
		cr_assert_eq(rows, NPAYLOADS);
	}

	/* and gnuplot itself, if installed (CI has it) */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hostile.dat", dir);
	f = fopen(path, "w");
	fwrite(dat.buf, 1, dat.len, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/hostile.gp", dir);
	f = fopen(path, "w");
	fwrite(gp.buf, 1, gp.len, f);
	fclose(f);
	rc = chart_render(dir, "hostile", "gnuplot");
	if (rc == 1 && !getenv("CI"))
		cr_log_warn("gnuplot not installed: render not checked");
	else
		cr_assert_eq(rc, 0, "gnuplot failed on the hostile chart");
	cr_assert_neq(access(PWN, F_OK), 0, "gnuplot ran a payload: " PWN " exists");
	if (rc == 0) {
		/* the SVG must stay well-formed XML: valid UTF-8, no controls
		 * (an invalid byte from a label made browsers refuse it) */
		struct strbuf svg = STRBUF_INIT;
		snprintf(path, sizeof(path), "%s/hostile.svg", dir);
		cr_assert_eq(test_read_file(path, &svg), 0);
		for (size_t i = 0; i < svg.len;) {
			size_t skip, k = utf8_printable(svg.buf + i, svg.len - i, &skip);
			char ch = svg.buf[i];
			cr_assert(k || ch == '\n' || ch == '\t' || ch == '\r',
				  "hostile.svg byte %zu (0x%02x) is not valid XML text", i,
				  (unsigned char)ch);
			i += k ? k : skip;
		}
		strbuf_release(&svg);
	}
	{
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		cr_assert_eq(system(cmd), 0);
	}
	chart_release(&c);
	strbuf_release(&dat);
	strbuf_release(&gp);
}
