/*
 * Odd and hostile input to the parsers, kept as regression tests for what
 * fuzz/ found (the fuzz seeds in fuzz/seeds/ keep the raw inputs too).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/timeline.h"
#include "parsers/formats.h"
#include "parsers/parse.h"
#include "parsers/reader.h"
#include "tests/testutil.h"

static void count_emit(void *data, const struct event *ev)
{
	(void)ev;
	(*(size_t *)data)++;
}

/* Parse `log` with the rules of `formats`; returns events, fills src. */
static size_t parse_with_rules(const char *formats, const char *log, struct source *src)
{
	char *fpath = test_write_temp(formats, strlen(formats), ".formats");
	char *lpath = test_write_temp(log, strlen(log), ".log");
	struct user_formats *uf;
	struct parse_opts opts;
	size_t n = 0;
	cr_assert_not_null(fpath);
	cr_assert_not_null(lpath);
	uf = user_formats_load(fpath);
	cr_assert_not_null(uf, "%s does not load", formats);
	parse_opts_init(&opts);
	opts.quiet = true;
	opts.user = uf;
	source_init(src, lpath);
	cr_assert_eq(parse_input(lpath, &opts, src, 0, (struct event_sink){ count_emit, &n }), 0);
	user_formats_free(uf);
	parse_opts_release(&opts);
	unlink(fpath);
	unlink(lpath);
	free(fpath);
	free(lpath);
	return n;
}

/* fuzz_formats_file: a ts group that matches the empty string was taken as
 * a time (logtime_parse() read 0 of 0 bytes) and its unset zone flag read
 * (UBSan: load of value 48 for type bool).  It is a field that does not
 * parse: bad_field, no event. */
Test(hostile_parsers, empty_ts_group_is_bad_field)
{
	static const char *const rules[] = {
		"pool_stats ^(?<ts>\\S*) gauge in_use=(?<checked_out>\\d+)\n",
		"pool_stats ^(?<ts>(*ACCEPT)\\S+) gauge in_use=(?<checked_out>\\d+)\n",
		"[r]\nkind = pool_stats\nts_format = %Y-%m-%d\n"
		"pattern = ^(?<ts>\\S*) gauge in_use=(?<checked_out>\\d+)\n",
	};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct source src;
		size_t n = parse_with_rules(rules[i], " gauge in_use=3\n", &src);
		cr_assert_eq(n, 0, "rule %zu: an event without a time", i);
		cr_assert_eq(src.by_reason[UNPARSED_BAD_FIELD], 1, "rule %zu", i);
		source_release(&src);
	}
	{
		/* and a real time still works */
		struct source src;
		size_t n = parse_with_rules(rules[0], "2025-10-20T14:00:00Z gauge in_use=3\n", &src);
		cr_assert_eq(n, 1);
		cr_assert_eq(src.unparsed, 0);
		source_release(&src);
	}
}

/* fuzz_reader: a line of exactly max_line bytes whose newline fell just
 * past the reader's 256 KB refill was cut and flagged too long; and a last
 * line of exactly max_line bytes without newline is not too long either. */
Test(hostile_parsers, line_of_exactly_max_line_across_a_refill)
{
	const size_t max_line = 256, chunk = 256 * 1024;
	struct strbuf text = STRBUF_INIT;
	struct reader *r;
	struct line ln;
	char *path;
	size_t n = 0, too_long = 0, exact = 0;
	/* short lines up to 100 bytes before the boundary, then a max_line
	 * line ending 0..2 bytes past it, for each of several alignments */
	while (text.len < chunk - 100 - max_line)
		strbuf_addstr(&text, "0123456789abcdef0123456789abcdef\n");
	while (text.len < chunk - max_line)
		strbuf_addch(&text, text.len + 1 == chunk - max_line ? '\n' : 'x');
	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < max_line; i++)
			strbuf_addch(&text, 'L');
		strbuf_addch(&text, '\n');
	}
	for (size_t i = 0; i < max_line; i++)
		strbuf_addch(&text, 'E'); /* last line, no newline */
	path = test_write_temp(text.buf, text.len, ".log");
	r = reader_open(path, max_line);
	cr_assert_not_null(r);
	while (reader_next(r, &ln) > 0) {
		n++;
		if (ln.flags & LINE_F_TOO_LONG)
			too_long++;
		if (ln.len == max_line)
			exact++;
	}
	cr_assert_eq(too_long, 0, "%zu lines of exactly max_line flagged too long", too_long);
	cr_assert_eq(exact, 4);
	cr_assert_eq(reader_offset(r), text.len);
	reader_close(r);
	unlink(path);
	free(path);
	strbuf_release(&text);
}
