/*
 * pg-json reads flat plain-ASCII records with its own scanner and hands any
 * other record to jansson (parsers/pgjson.c).  Each pair below is one record
 * written twice: plainly (scanner) and with a JSON feature the scanner
 * refuses -- an escape, a nested value, white space, a duplicate key -- that
 * decodes to the same fields (jansson).  Both must give the same events.
 * Then records both paths must reject the same way.
 */
#include "tests/pgtest.h"
#include "core/strbuf.h"

#define HEAD "{\"timestamp\":\"2026-11-26 14:46:40.097 UTC\",\"user\":\"app\",\"dbname\":\"pgbench\",\"pid\":7333,"
#define TAIL ",\"backend_type\":\"client backend\",\"query_id\":0}"

static const struct {
	const char *plain, *other;
} pairs[] = {
	{ HEAD "\"error_severity\":\"LOG\",\"message\":\"duration: 1.098 ms  statement: SELECT 1\"" TAIL,
	  HEAD "\"error_severity\":\"LOG\",\"message\":\"duration: 1.098 ms  statement: S\\u0045LECT 1\"" TAIL },
	{ HEAD "\"error_severity\":\"FATAL\",\"state_code\":\"53300\",\"message\":\"sorry, too many clients already\"" TAIL,
	  HEAD "\"error_severity\":\"FATAL\",\"state_code\":\"53300\",\"message\":\"sorry, too many clients already\",\"x\":[1,{\"a\":2.5e3}]" TAIL },
	{ HEAD "\"error_severity\":\"LOG\",\"message\":\"connection authorized: user=app database=pgbench\"" TAIL,
	  HEAD "\"error_severity\":\"LOG\",\t\"message\" : \"connection authorized: user=app database=pgbench\"" TAIL },
	{ HEAD "\"error_severity\":\"ERROR\",\"state_code\":\"57014\",\"message\":\"canceling statement due to statement timeout\"" TAIL,
	  HEAD "\"error_severity\":\"ERROR\",\"state_code\":\"57014\",\"message\":\"x\\\"\",\"message\":\"canceling statement due to statement timeout\"" TAIL },
};

/* Events of one record as JSON Lines, plus the summary counts. */
static void events_of(const char *rec, struct strbuf *out)
{
	struct timeline tl;
	struct strbuf text = STRBUF_INIT;
	strbuf_addf(&text, "%s\n", rec);
	pgt_parse_text(text.buf, ".json", NULL, NULL, &tl);
	for (size_t i = 0; i < tl.nr; i++) {
		event_to_json(&tl.ev[i], "x", out);
		strbuf_addch(out, '\n');
	}
	strbuf_addf(out, "records=%zu unparsed=%zu\n", (size_t)tl.src[0].records,
		    (size_t)tl.src[0].unparsed);
	timeline_release(&tl);
	strbuf_release(&text);
}

Test(pg_json_scan, plain_and_jansson_records_agree)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
		events_of(pairs[i].plain, &a);
		events_of(pairs[i].other, &b);
		cr_expect(strstr(a.buf, "\"kind\":\"pg_") != NULL, "pair %zu: no event: %s", i, a.buf);
		cr_expect_str_eq(a.buf, b.buf, "pair %zu:\n%s\n%s", i, a.buf, b.buf);
		strbuf_release(&a);
		strbuf_release(&b);
	}
}

/* Not JSON (leading zero, bare minus, cut record): no event from either path. */
Test(pg_json_scan, invalid_records_are_unparsed)
{
	static const char *const bad[] = {
		"{\"timestamp\":\"2026-11-26 14:46:40.097 UTC\",\"pid\":007,\"error_severity\":\"FATAL\",\"message\":\"sorry, too many clients already\"}",
		"{\"timestamp\":\"2026-11-26 14:46:40.097 UTC\",\"pid\":-,\"error_severity\":\"FATAL\",\"message\":\"sorry, too many clients already\"}",
		"{\"timestamp\":\"2026-11-26 14:46:40.097 UTC\",\"error_severity\":\"FATAL\",\"message\":\"sorry, too many clients already\"",
		"{\"timestamp\":\"2026-11-26 14:46:40.097 UTC\",\"error_severity\":\"FATAL\",\"message\":\"sorry, too many clients already\",\"x\":truex}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strbuf a = STRBUF_INIT;
		events_of(bad[i], &a);
		cr_expect_str_eq(a.buf, "records=1 unparsed=1\n", "record %zu", i);
		strbuf_release(&a);
	}
}

/* Found by fuzzing: a long integer must not overflow the scanner. */
Test(pg_json_scan, long_integer_goes_to_jansson)
{
	struct strbuf a = STRBUF_INIT;
	events_of("{\"timestamp\":\"2026-11-26 14:46:40.097 UTC\",\"pid\":36003600360036003600360036,"
		  "\"error_severity\":\"FATAL\",\"message\":\"sorry, too many clients already\"}",
		  &a);
	/* jansson refuses an integer beyond int64 */
	cr_expect_str_eq(a.buf, "records=1 unparsed=1\n");
	strbuf_release(&a);
}
