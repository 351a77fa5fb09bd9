/*
 * Hostile text end to end: the fixtures/hostile/ logs (one per family,
 * written by fixtures/hostile/make.py) carry shell, gnuplot, HTML, SQL,
 * Markdown and printf syntax, ESC and C1 sequences, NUL bytes and invalid
 * UTF-8 in endpoint names, user names, connection ids, pool names,
 * statements and messages.  None of it may change what the terminal, the
 * JSON consumer, a chart, the report or a shell does:
 *   - `parse`: every stdout line is valid JSON (jansson, strict UTF-8), the
 *     payloads arrive as data, no raw ESC/C1 on stdout or stderr
 *   - `analyze`: the review and the warnings hold no raw ESC/C1; --json parses
 *   - `report` (with real gnuplot): the .gp scripts hold none of the
 *     payloads, report.html no live markup, the SVGs are valid UTF-8, and
 *     /tmp/poolscope-pwned (what every payload tries to create) never appears
 * Later commands get their checks here as they land (workload, audit --store).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/strbuf.h"
#include "tests/testutil.h"

#define PWN "/tmp/poolscope-pwned"

struct hostile_file {
	const char *name;
	const char *format;  /* forced, or NULL: detected */
	size_t min_events;
	const char *marker;  /* must arrive in the events (as JSON), or NULL */
};

static const struct hostile_file files[] = {
	{ "pylog.log", NULL, 15, "$(touch${IFS}/tmp/poolscope-pwned)" },
	{ "uvicorn-access.log", NULL, 9, "<script>alert(1)</script>" },
	{ "gunicorn-access.log", NULL, 8, "system('touch${IFS}/tmp/poolscope-pwned')" },
	{ "nginx-access.log", NULL, 8, "DROP${IFS}TABLE" },
	{ "pg-stderr.log", NULL, 35, "`touch${IFS}/tmp/poolscope-pwned`" },
	{ "pg-csv.csv", NULL, 27, "'; DROP TABLE audit_runs; --" },
	{ "pg-json.json", NULL, 26, "\\u001b[31mRED" },
	{ "pgbouncer.log", NULL, 8, NULL }, /* its events carry no db/user text */
	{ "hikaricp.log", NULL, 16, "Hikari<script>" },
	{ "docker.log", NULL, 9, "onmouseover" },
	{ "journald.log", NULL, 8, "<script>alert(1)</script>" },
	{ "formats.log", NULL, 27, "system(\\\"touch /tmp/poolscope-pwned\\\")" },
};
#define NFILES (sizeof(files) / sizeof(files[0]))

/* a byte a terminal acts on: C0 but newline, DEL, C1 (raw or as UTF-8) */
static long terminal_control_at(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return (long)i;
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] < 0xa0)
			return (long)i;
	}
	return -1;
}

static void assert_terminal_safe(const struct strbuf *sb, const char *what)
{
	long at = terminal_control_at(sb->buf, sb->len);
	cr_assert_eq(at, -1, "%s: control byte 0x%02x at %ld: '%.60s'", what,
		     at >= 0 ? (unsigned char)sb->buf[at] : 0, at, at >= 0 ? sb->buf + at : "");
}

static bool valid_utf8_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t skip, k = utf8_printable(s + i, len - i, &skip);
		if (!k && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
			return false;
		i += k ? k : skip;
	}
	return true;
}

/* The hostile inputs as one shell-quoted argument string (paths have no
 * quotes: they are ours). */
static void hostile_args(struct strbuf *args)
{
	strbuf_addf(args, "--formats '%s'", test_path("fixtures/hostile/hostile.formats"));
	for (size_t i = 0; i < NFILES; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "fixtures/hostile/%s", files[i].name);
		strbuf_addf(args, " '%s'", test_path(rel));
	}
}

/* Run cmd with stdout into out and stderr into err; returns the status. */
static int run2(const char *cmd, struct strbuf *out, struct strbuf *err)
{
	char errpath[] = "/tmp/poolscope-hostile-err-XXXXXX";
	struct strbuf full = STRBUF_INIT;
	int fd = mkstemp(errpath), rc;
	cr_assert_geq(fd, 0);
	close(fd);
	strbuf_addf(&full, "%s 2>'%s'", cmd, errpath);
	rc = test_run(full.buf, out);
	cr_assert_eq(test_read_file(errpath, err), 0);
	unlink(errpath);
	strbuf_release(&full);
	return rc;
}

static void need_bin(void)
{
	if (!test_bin())
		cr_skip_test("POOLSCOPE_BIN not set");
	unlink(PWN);
}

Test(hostile_cli, parse_gives_valid_json_and_safe_stderr)
{
	need_bin();
	for (size_t i = 0; i < NFILES; i++) {
		struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
		char rel[128];
		size_t events = 0;
		snprintf(rel, sizeof(rel), "fixtures/hostile/%s", files[i].name);
		strbuf_addf(&cmd, "'%s' parse --formats '%s' ", test_bin(),
			    test_path("fixtures/hostile/hostile.formats"));
		if (files[i].format)
			strbuf_addf(&cmd, "--format %s ", files[i].format);
		strbuf_addf(&cmd, "'%s'", test_path(rel));
		cr_assert_eq(run2(cmd.buf, &out, &err), 0, "%s: %s", files[i].name, err.buf);
		for (char *ln = out.buf, *e; ln < out.buf + out.len; ln = e + 1) {
			json_error_t jerr;
			json_t *j;
			e = memchr(ln, '\n', out.len - (size_t)(ln - out.buf));
			cr_assert_not_null(e, "%s: output does not end in a newline", files[i].name);
			j = json_loadb(ln, (size_t)(e - ln), 0, &jerr);
			cr_assert_not_null(j, "%s: not JSON (%s): %.*s", files[i].name, jerr.text,
					   (int)(e - ln), ln);
			cr_assert(json_is_string(json_object_get(j, "kind")), "%s: no kind", files[i].name);
			json_decref(j);
			events++;
		}
		cr_assert_geq(events, files[i].min_events, "%s: %zu events", files[i].name, events);
		if (files[i].marker)
			cr_assert_not_null(strstr(out.buf, files[i].marker),
					   "%s: payload '%s' not in the events", files[i].name,
					   files[i].marker);
		assert_terminal_safe(&out, files[i].name);
		assert_terminal_safe(&err, files[i].name);
		strbuf_release(&cmd);
		strbuf_release(&out);
		strbuf_release(&err);
	}
	cr_assert_neq(access(PWN, F_OK), 0, PWN " was created");
}

Test(hostile_cli, analyze_text_and_json)
{
	struct strbuf args = STRBUF_INIT, cmd = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
	json_error_t jerr;
	json_t *j;
	need_bin();
	hostile_args(&args);
	strbuf_addf(&cmd, "'%s' analyze %s", test_bin(), args.buf);
	cr_assert_eq(run2(cmd.buf, &out, &err), 0, "%s", err.buf);
	cr_assert_gt(out.len, 500);
	/* the payloads reached the review (as text), and nothing in it acts */
	cr_assert_not_null(strstr(out.buf, "pg-stderr.log"));
	cr_assert_not_null(strstr(err.buf, "not parsed"), "the unparsed excerpts are checked too");
	assert_terminal_safe(&out, "analyze stdout");
	assert_terminal_safe(&err, "analyze stderr");

	strbuf_reset(&cmd);
	strbuf_reset(&out);
	strbuf_reset(&err);
	strbuf_addf(&cmd, "'%s' analyze -q --json %s", test_bin(), args.buf);
	cr_assert_eq(run2(cmd.buf, &out, &err), 0, "%s", err.buf);
	j = json_loadb(out.buf, out.len, 0, &jerr);
	cr_assert_not_null(j, "analyze --json: %s at %d", jerr.text, jerr.position);
	cr_assert(json_is_object(json_object_get(j, "pool")));
	json_decref(j);
	assert_terminal_safe(&out, "analyze --json");
	cr_assert_neq(access(PWN, F_OK), 0, PWN " was created");
	strbuf_release(&args);
	strbuf_release(&cmd);
	strbuf_release(&out);
	strbuf_release(&err);
}

static const char *const gp_forbidden[] = {
	"pwned", "<script", "system(", "`", "DROP", "onerror", "%n", "javascript:",
};

Test(hostile_cli, report_keeps_payloads_out_of_scripts_and_markup, .timeout = 120)
{
	struct strbuf args = STRBUF_INIT, cmd = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
	char dir[] = "/tmp/poolscope-hostile-report-XXXXXX";
	char rdir[256], path[512];
	DIR *d;
	struct dirent *de;
	size_t ngp = 0, nsvg = 0;
	need_bin();
	cr_assert_not_null(mkdtemp(dir));
	snprintf(rdir, sizeof(rdir), "%s/r", dir);
	hostile_args(&args);
	strbuf_addf(&cmd, "'%s' report -q --single -o '%s' %s", test_bin(), rdir, args.buf);
	cr_assert_eq(run2(cmd.buf, &out, &err), 0, "%s", err.buf);
	assert_terminal_safe(&out, "report stdout");
	assert_terminal_safe(&err, "report stderr");

	d = opendir(rdir);
	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		struct strbuf f = STRBUF_INIT;
		const char *ext = strrchr(de->d_name, '.');
		if (!ext || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", rdir, de->d_name);
		cr_assert_eq(test_read_file(path, &f), 0);
		if (!strcmp(ext, ".gp")) {
			ngp++;
			for (size_t k = 0; k < sizeof(gp_forbidden) / sizeof(gp_forbidden[0]); k++)
				cr_assert_null(strstr(f.buf, gp_forbidden[k]), "%s holds '%s'",
					       de->d_name, gp_forbidden[k]);
		} else if (!strcmp(ext, ".svg")) {
			nsvg++;
			cr_assert(valid_utf8_text(f.buf, f.len), "%s: not valid UTF-8 text", de->d_name);
			cr_assert_null(strstr(f.buf, "<script"), "%s: live script", de->d_name);
		} else if (!strcmp(ext, ".html")) {
			cr_assert_null(strstr(f.buf, "<script>alert"), "report.html: live <script>");
			cr_assert_null(strstr(f.buf, "<img src=x"), "report.html: live <img>");
			cr_assert_null(strstr(f.buf, "onmouseover=\"alert"), "report.html: live attribute");
			/* also no control characters but blanks (utf8_printable) */
			cr_assert(valid_utf8_text(f.buf, f.len), "report.html: not valid UTF-8 text");
		} else if (!strcmp(ext, ".md")) {
			cr_assert_null(strstr(f.buf, "<script"), "report.md: raw <script>");
			cr_assert_null(strstr(f.buf, "<img"), "report.md: raw <img>");
			cr_assert(valid_utf8_text(f.buf, f.len), "report.md: not valid UTF-8 text");
		} else if (!strcmp(ext, ".json")) {
			json_error_t jerr;
			json_t *j = json_loadb(f.buf, f.len, 0, &jerr);
			cr_assert_not_null(j, "report.json: %s", jerr.text);
			json_decref(j);
		}
		strbuf_release(&f);
	}
	closedir(d);
	cr_assert_eq(ngp, 4, "four chart scripts");
	if (nsvg == 0 && !getenv("CI"))
		cr_log_warn("gnuplot not installed: charts not rendered");
	else
		cr_assert_eq(nsvg, 4, "four SVG charts rendered");
	cr_assert_neq(access(PWN, F_OK), 0, PWN " was created: a payload ran");
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	cr_assert_eq(system(path), 0);
	strbuf_release(&args);
	strbuf_release(&cmd);
	strbuf_release(&out);
	strbuf_release(&err);
}

/* audit: the text (with -v evidence lines) and --json of the hostile logs */
Test(hostile_cli, audit_text_and_json)
{
	struct strbuf args = STRBUF_INIT, cmd = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
	json_error_t jerr;
	json_t *j;
	need_bin();
	hostile_args(&args);
	strbuf_addf(&cmd, "'%s' audit -v %s", test_bin(), args.buf);
	cr_assert_eq(run2(cmd.buf, &out, &err), 1, "findings: exit 1; %s", err.buf);
	cr_assert_not_null(strstr(out.buf, "poolscope-pwned"), "evidence lines are shown");
	assert_terminal_safe(&out, "audit -v stdout");
	assert_terminal_safe(&err, "audit -v stderr");
	strbuf_reset(&cmd);
	strbuf_reset(&out);
	strbuf_reset(&err);
	strbuf_addf(&cmd, "'%s' audit -q --json %s", test_bin(), args.buf);
	cr_assert_eq(run2(cmd.buf, &out, &err), 1, "%s", err.buf);
	j = json_loadb(out.buf, out.len, 0, &jerr);
	cr_assert_not_null(j, "audit --json: %s", jerr.text);
	cr_assert(json_is_array(json_object_get(j, "findings")));
	json_decref(j);
	assert_terminal_safe(&out, "audit --json");
	cr_assert_neq(access(PWN, F_OK), 0, PWN " was created");
	strbuf_release(&args);
	strbuf_release(&cmd);
	strbuf_release(&out);
	strbuf_release(&err);
}

/* audit --store of every hostile log, with a hostile host tag: the run is
 * stored, the schema is intact and the trend charts it (the byte-for-byte
 * round trip of evidence is test_cli_audit_store's) */
#define EVIL_TAG "x'\\''); DROP SCHEMA poolscope CASCADE; --" /* shell-quoted */
Test(hostile_cli, audit_store_keeps_schema, .timeout = 120)
{
	const char *dsn = getenv("POOLSCOPE_TEST_DSN");
	struct strbuf args = STRBUF_INIT, cmd = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
	char dir[] = "/tmp/poolscope-hostile-trend-XXXXXX";
	need_bin();
	if (!dsn || !*dsn) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			cr_assert_fail("POOLSCOPE_TEST_DSN not set and CI=true");
		cr_skip_test("POOLSCOPE_TEST_DSN not set (scripts/test.sh starts a server)");
	}
	cr_assert_not_null(mkdtemp(dir));
	hostile_args(&args);
	strbuf_addf(&cmd, "'%s' audit -q --store '%s' --host-tag '" EVIL_TAG "' %s", test_bin(), dsn,
		    args.buf);
	cr_assert_eq(run2(cmd.buf, &out, &err), 1, "%s", err.buf);
	strbuf_reset(&cmd);
	strbuf_reset(&out);
	strbuf_addf(&cmd, "'%s' audit --trend --store '%s' -o '%s/t' --host-tag '" EVIL_TAG "'",
		    test_bin(), dsn, dir);
	cr_assert_eq(run2(cmd.buf, &out, &err), 0, "the stored run is there to chart: %s", err.buf);
	cr_assert_not_null(strstr(out.buf, "runs"), "%s", out.buf);
	assert_terminal_safe(&out, "audit --trend");
	strbuf_reset(&cmd);
	strbuf_addf(&cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd.buf), 0);
	cr_assert_neq(access(PWN, F_OK), 0, PWN " was created");
	strbuf_release(&args);
	strbuf_release(&cmd);
	strbuf_release(&out);
	strbuf_release(&err);
}
