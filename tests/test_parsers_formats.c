#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/error.h"
#include "core/event.h"
#include "core/strbuf.h"
#include "parsers/formats.h"
#include "parsers/parse.h"
#include "parsers/pylog.h"
#include "tests/testutil.h"

/* The user formats file (--formats FILE, docs/formats-file.md). */

static void collect(void *data, const struct event *ev)
{
	struct strbuf *sb = data;
	event_to_json(ev, "t", sb);
	strbuf_addch(sb, '\n');
}

static struct user_formats *compile(const char *text)
{
	return user_formats_compile("t.formats", text, strlen(text));
}

/* Parse text with the rules (format forced to pylog unless NULL). */
static void run_rules(const struct user_formats *uf, const char *text, const char *format,
		      struct strbuf *out, struct source *src)
{
	struct parse_opts opts;
	struct event_sink sink = { collect, out };
	char *path = test_write_temp(text, strlen(text), ".log");
	cr_assert(path);
	parse_opts_init(&opts);
	opts.user = uf;
	opts.format = format;
	opts.quiet = true;
	source_init(src, path);
	cr_assert_eq(parse_input(path, &opts, src, 0, sink), 0);
	unlink(path);
	free(path);
	parse_opts_release(&opts);
}

static void redirect_all(void)
{
	cr_redirect_stderr();
}

/* Errors name file:line; a bad pattern gives PCRE2's offset and message. */
static const struct {
	const char *text;
	const char *err;
} bad_files[] = {
	{ "# c\n\nbatch_start Processing (?<name>\\w+ batch\n",
	  "error: t.formats:3: bad pattern at offset 28: missing closing parenthesis\n" },
	{ "[a]\nkind = batch_begin\npattern = x\n", "error: t.formats:2: unknown event kind 'batch_begin'\n" },
	{ "[a]\nkind = batch_start\npattern = (?<entrys>\\d+) entries\n",
	  "error: t.formats:3: unknown group 'entrys' (see docs/formats-file.md for the names; start a helper group's name with '_')\n" },
	{ "[a]\nkind = pool_checkout\npattern = (?<entries>\\d+)\n",
	  "error: t.formats:3: group 'entries' does not apply to kind 'pool_checkout'\n" },
	{ "[a]\nkind = batch_start\n[b]\n", "error: t.formats:1: rule has no 'pattern'\n" },
	{ "[a]\nkind = batch_start\npattern = x\npattern = y\n",
	  "error: t.formats:4: 'pattern' given twice in one rule (start the next rule with [name] or kind =)\n" },
	{ "[a]\nkind = batch_start\nregex = x\n",
	  "error: t.formats:3: unknown key 'regex' (kind, pattern, needle, ts_format, ts_at, origin, text, text2)\n" },
	{ "batch_start (?<ts>\\S+) x\n[b]\nkind = batch_end\npattern = (?<ts>\\S+)\nts_format = %Y-%q\n",
	  "error: t.formats:5: bad ts_format '%Y-%q' at '%q'\n" },
	{ "# nothing\n", "error: t.formats: no rules (see docs/formats-file.md)\n" },
};

Test(formats, errors_name_file_and_line, .init = redirect_all)
{
	struct strbuf want = STRBUF_INIT;
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		cr_assert_null(compile(bad_files[i].text), "case %zu compiled", i);
		strbuf_addstr(&want, bad_files[i].err);
	}
	fflush(stderr);
	cr_assert_stderr_eq_str(want.buf);
	strbuf_release(&want);
}

Test(formats, load_names_the_path, .init = redirect_all)
{
	const char *text = "[x]\nkind = batch_start\npattern = (unclosed\n";
	char *path = test_write_temp(text, strlen(text), ".formats");
	struct strbuf want = STRBUF_INIT;
	cr_assert_null(user_formats_load(path));
	cr_assert_null(user_formats_load("/nonexistent/x.formats"));
	strbuf_addf(&want, "error: %s:3: bad pattern at offset 9: missing closing parenthesis\n"
		    "error: cannot open formats file '/nonexistent/x.formats': No such file or directory\n",
		    path);
	fflush(stderr);
	cr_assert_stderr_eq_str(want.buf);
	unlink(path);
	free(path);
	strbuf_release(&want);
}

Test(formats, example_file_loads)
{
	struct user_formats *uf = user_formats_load(test_path("fixtures/formats/example.formats"));
	cr_assert(uf);
	cr_assert_eq(user_formats_count(uf), 4);
	user_formats_free(uf);
}

/* The literal prefilter: given, derived from the pattern, or none. */
Test(formats, needles)
{
	static const struct {
		const char *rule;
		const char *needle; /* NULL: none */
	} c[] = {
		{ "batch_start Processing (?<name>\\w+) batch: (?<entries>\\d+) entries", "Processing " },
		{ "pool_stats ^(?<ts>\\S+) pool_gauge in_use=(?<checked_out>\\d+)", " pool_gauge in_use=" },
		{ "batch_start (?i)processing (?<name>\\w+) batch", NULL },
		{ "batch_start start|begin", NULL },
		{ "batch_start ab?c*d", NULL },
		{ "batch_start x\\.y\\[z\\]+ total", "x.y[z]" },
		{ "[n]\nkind = batch_start\nneedle = \" batch \"\npattern = (?<name>\\w+) batch \\d+", " batch " },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct user_formats *uf = compile(c[i].rule);
		const char *n;
		cr_assert(uf, "case %zu", i);
		n = user_formats_needle(uf, 0);
		if (c[i].needle)
			cr_expect(n && !strcmp(n, c[i].needle), "case %zu: needle '%s'", i, n ? n : "(none)");
		else
			cr_expect_null(n, "case %zu: needle '%s'", i, n);
		user_formats_free(uf);
	}
}

/* Every group kind of field, through the driver, on a file no format claims. */
Test(formats, groups_map_to_fields)
{
	struct user_formats *uf;
	struct strbuf out = STRBUF_INIT;
	struct source src;
	uf = user_formats_load(test_path("fixtures/formats/example.formats"));
	cr_assert(uf);
	run_rules(uf,
		  "12/10/2025 09:00:01.250 worker[311] BEGIN batch=Vitals size=100\n"
		  "2025-10-12T09:00:05Z pool_gauge in_use=17 idle=3 overflow=-7 waiting=2\n"
		  "2025-10-12T09:00:36.132Z GET /api/v1/health -> 504 in 30012.5 ms\n"
		  "12/10/2025 09:00:09.370 worker[311] END batch=vitals done=100 took=8120ms\n"
		  "12/10/2025 09:00:09.370 worker[99999999999] BEGIN batch=x size=1\n"
		  "a line no rule takes\n",
		  NULL, &out, &src);
	cr_assert_str_eq(out.buf,
		"{\"ts\":\"2025-10-12T09:00:01.250Z\",\"kind\":\"batch_start\",\"src\":\"t\",\"line\":1,\"pid\":311,\"origin\":\"batch\",\"name\":\"vitals\",\"entries\":100}\n"
		"{\"ts\":\"2025-10-12T09:00:05.000Z\",\"kind\":\"pool_stats\",\"src\":\"t\",\"line\":2,\"checked_in\":3,\"checked_out\":17,\"overflow\":-7,\"waiting\":2}\n"
		"{\"ts\":\"2025-10-12T09:00:06.119Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":3,\"origin\":\"api\",\"path\":\"/api/v1/health\",\"method\":\"GET\",\"status\":504,\"duration\":30.0125}\n"
		"{\"ts\":\"2025-10-12T09:00:09.370Z\",\"kind\":\"batch_end\",\"src\":\"t\",\"line\":4,\"pid\":311,\"origin\":\"batch\",\"name\":\"vitals\",\"entries\":100,\"processed\":100,\"duration\":8.12}\n");
	/* the pid over int32 is a bad field, the last line no rule's */
	cr_assert_eq(src.by_reason[UNPARSED_BAD_FIELD], 1);
	cr_assert_eq(src.by_reason[UNPARSED_UNKNOWN_LAYOUT], 1);
	cr_assert_eq(src.unparsed, 2);
	source_release(&src);
	strbuf_release(&out);
	user_formats_free(uf);
}

/* User rules run before the format's own parse; without a ts group the
 * record's leading time is used; `text` sets a constant string. */
Test(formats, rules_run_before_the_format)
{
	struct user_formats *uf = compile(
		"[gauge]\n"
		"kind = pool_stats\n"
		"text = gauge\n"
		"pattern = in use (?<checked_out>\\d+) of (?<_cap>\\d+)\n"
		"[conn]\n"
		"kind = pool_checkout\n"
		"pattern = lease (?<conn>c\\d+) took (?<dur_us>\\d+)us\n");
	struct strbuf out = STRBUF_INIT;
	struct source src;
	cr_assert(uf);
	run_rules(uf,
		  "2026-11-26 14:52:24,353 - app - INFO - in use 7 of 30\n"
		  "[2026-11-26 14:52:25 +0100] [12] [INFO] lease c4 took 1500us\n"
		  "2026-11-26 14:52:26,000 - app - INFO - Processing lab batch: 5 entries\n",
		  "pylog", &out, &src);
	cr_assert_str_eq(out.buf,
		"{\"ts\":\"2026-11-26T14:52:24.353Z\",\"kind\":\"pool_stats\",\"src\":\"t\",\"line\":1,\"label\":\"gauge\",\"checked_out\":7}\n"
		"{\"ts\":\"2026-11-26T13:52:25.000Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":2,\"conn\":\"c4\",\"duration\":0.0015}\n"
		"{\"ts\":\"2026-11-26T14:52:26.000Z\",\"kind\":\"batch_start\",\"src\":\"t\",\"line\":3,\"origin\":\"batch\",\"name\":\"lab\",\"entries\":5}\n");
	cr_assert_eq(src.unparsed, 0);
	source_release(&src);
	strbuf_release(&out);
	user_formats_free(uf);
}

/* ts_format directives, and --tz for times without a zone. */
Test(formats, ts_formats)
{
	static const struct {
		const char *fmt, *in, *want;
	} c[] = {
		{ "%d/%m/%Y %H:%M:%S.%f", "12/10/2025 09:00:01.250", "2025-10-12T09:00:01.250Z" },
		{ "%Y-%m-%dT%H:%M:%S%z", "2025-10-12T09:00:01+02:00", "2025-10-12T07:00:01.000Z" },
		{ "%d/%b/%Y:%H:%M:%S %z", "20/Oct/2025:14:03:12 -0100", "2025-10-20T15:03:12.000Z" },
		{ "%s", "1760969000.123", "2025-10-20T14:03:20.123Z" },
		{ "%y%m%d %H:%M:%S", "251020 14:03:12", "2025-10-20T14:03:12.000Z" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct strbuf rules = STRBUF_INIT, out = STRBUF_INIT, want = STRBUF_INIT;
		struct user_formats *uf;
		struct source src;
		strbuf_addf(&rules, "[t]\nkind = pool_checkout\nts_format = %s\npattern = ^(?<ts>.*) CO (?<conn>\\w+)$\n",
			    c[i].fmt);
		uf = compile(rules.buf);
		cr_assert(uf, "case %zu", i);
		strbuf_addf(&rules, "x"); /* reuse as input buffer below */
		strbuf_reset(&rules);
		strbuf_addf(&rules, "%s CO c1\n", c[i].in);
		run_rules(uf, rules.buf, NULL, &out, &src);
		strbuf_addf(&want, "{\"ts\":\"%s\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":1,\"conn\":\"c1\"}\n",
			    c[i].want);
		cr_expect_str_eq(out.buf, want.buf, "case %zu: %s", i, out.buf);
		source_release(&src);
		strbuf_release(&rules);
		strbuf_release(&out);
		strbuf_release(&want);
		user_formats_free(uf);
	}
}

/* The built-in batch rules of pylog are written in this syntax and compile. */
Test(formats, pylog_batch_rules_compile)
{
	struct user_formats *uf = compile(pylog_batch_rules);
	cr_assert(uf);
	cr_assert_eq(user_formats_count(uf), 6);
	user_formats_free(uf);
}
