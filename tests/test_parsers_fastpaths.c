#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/arena.h"
#include "core/event.h"
#include "core/strbuf.h"
#include "parsers/parse.h"
#include "parsers/pgmsg.h"
#include "tests/testutil.h"

/*
 * The parsers' fast paths (time cache per input, the pylog header cache,
 * pg_summary's word copy) against what the plain code gives: exact events
 * for sequences built to trip a wrong cache, and a differential test.
 */

static void collect(void *data, const struct event *ev)
{
	struct strbuf *sb = data;
	event_to_json(ev, "t", sb);
	strbuf_addch(sb, '\n');
}

/* Parse each text as one input, in turn, through the whole driver. */
static void run_inputs(const char *const *texts, size_t n, const char *format, const char *tz,
		       struct strbuf *out)
{
	struct parse_opts opts;
	struct event_sink sink = { collect, out };
	parse_opts_init(&opts);
	opts.format = format;
	opts.quiet = true;
	if (tz) {
		tzinfo_release(&opts.tz);
		if (tzinfo_load(&opts.tz, tz) < 0)
			cr_skip_test("no tzdata for %s", tz);
	}
	for (size_t i = 0; i < n; i++) {
		struct source src;
		char *path = test_write_temp(texts[i], strlen(texts[i]), ".log");
		cr_assert(path);
		source_init(&src, path);
		cr_assert_eq(parse_input(path, &opts, &src, (uint32_t)i, sink), 0);
		source_release(&src);
		unlink(path);
		free(path);
	}
	parse_opts_release(&opts);
}

/*
 * Records of several layouts, tracebacks between them, a foreign access
 * line, a minute and a day boundary: each record's header (time, pid) must
 * be its own, never the cached one of its neighbour.
 */
Test(fastpaths, pylog_header_cache_keeps_each_records_header)
{
	static const char in[] =
		"2025-10-20 14:03:58,001 - sqlalchemy.pool.impl.QueuePool - DEBUG - Connection <conn at 0x7f01> checked out from pool\n"
		"2025-10-20 14:03:59,002 - app.api - ERROR - Exception in ASGI application\n"
		"Traceback (most recent call last):\n"
		"  File \"x.py\", line 1, in f\n"
		"sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00\n"
		"2025-10-20 14:04:00,003 [4242] DEBUG sqlalchemy.pool.impl.QueuePool: Connection <conn at 0x7f02> checked out from pool\n"
		"2025-10-20 14:04:00,004 [4242] DEBUG sqlalchemy.pool.impl.QueuePool: Connection <conn at 0x7f02> being returned to pool\n"
		"INFO:     127.0.0.1:50457 - \"GET /api/v1/x HTTP/1.1\" 200 OK\n"
		"2025-10-20 14:04:01,005 - sqlalchemy.pool.impl.QueuePool - DEBUG - Connection <conn at 0x7f01> being returned to pool\n"
		"2025-10-21 00:00:00,006 - DEBUG - Connection <conn at 0x7f03> checked out from pool\n"
		"2025-10-21 00:00:00,007 - sqlalchemy.pool.impl.QueuePool - DEBUG - Connection <conn at 0x7f03> being returned to pool\n";
	static const char want[] =
		"{\"ts\":\"2025-10-20T14:03:58.001Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":1,\"conn\":\"0x7f01\"}\n"
		"{\"ts\":\"2025-10-20T14:03:59.002Z\",\"kind\":\"app_error\",\"src\":\"t\",\"line\":2,\"origin\":\"api\",\"message\":\"sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00\",\"exception\":\"sqlalchemy.exc.TimeoutError\"}\n"
		"{\"ts\":\"2025-10-20T14:03:59.002Z\",\"kind\":\"pool_timeout\",\"src\":\"t\",\"line\":2,\"origin\":\"api\",\"pool_class\":\"QueuePool\",\"pool_size\":5,\"max_overflow\":10,\"timeout\":30}\n"
		"{\"ts\":\"2025-10-20T14:04:00.003Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":6,\"pid\":4242,\"conn\":\"0x7f02\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.004Z\",\"kind\":\"pool_checkin\",\"src\":\"t\",\"line\":7,\"pid\":4242,\"conn\":\"0x7f02\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.004Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":8,\"path\":\"/api/v1/x\",\"method\":\"GET\",\"status\":200,\"ts_inferred\":true}\n"
		"{\"ts\":\"2025-10-20T14:04:01.005Z\",\"kind\":\"pool_checkin\",\"src\":\"t\",\"line\":9,\"conn\":\"0x7f01\"}\n"
		"{\"ts\":\"2025-10-21T00:00:00.006Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":10,\"conn\":\"0x7f03\"}\n"
		"{\"ts\":\"2025-10-21T00:00:00.007Z\",\"kind\":\"pool_checkin\",\"src\":\"t\",\"line\":11,\"conn\":\"0x7f03\"}\n";
	const char *texts[] = { in };
	struct strbuf out = STRBUF_INIT;
	run_inputs(texts, 1, "pylog", NULL, &out);
	cr_assert_str_eq(out.buf, want);
	strbuf_release(&out);
}

/*
 * Lines two layouts read differently ("ts LEVEL [name] msg" is the generic
 * layout's [name] and also the echo layout's name "[name]", which is no
 * pool logger), so the answer depends on header_match()'s hint.  The
 * header cache may reuse a match only under the same order of layouts.
 */
Test(fastpaths, pylog_header_cache_respects_the_hint)
{
	static const char in[] =
		"2025-10-20 14:04:00,001 DEBUG sqlalchemy.pool.impl.QueuePool Connection <c at 0x1> checked out from pool\n"
		"2025-10-20 14:04:00,002 DEBUG [sqlalchemy.pool.impl.QueuePool] Connection <c at 0x2> checked out from pool\n"
		"2025-10-20 14:04:00,002 DEBUG [sqlalchemy.pool.impl.QueuePool] Connection <c at 0x2> checked out from pool\n"
		"2025-10-20 14:04:00,003 [77] DEBUG sqlalchemy.pool.impl.QueuePool: Connection <c at 0x3> checked out from pool\n"
		"2025-10-20 14:04:00,002 DEBUG [sqlalchemy.pool.impl.QueuePool] Connection <c at 0x2> checked out from pool\n"
		"2025-10-20 14:04:00,001 DEBUG sqlalchemy.pool.impl.QueuePool Connection <c at 0x1> checked out from pool\n"
		"INFO:     127.0.0.1:1 - \"GET /x HTTP/1.1\" 200 OK\n"
		"2025-10-20 14:04:00,002 DEBUG [sqlalchemy.pool.impl.QueuePool] Connection <c at 0x2> checked out from pool\n"
		"2025-10-20 14:04:00,004 - sqlalchemy.pool.impl.QueuePool - DEBUG - Connection <c at 0x4> checked out from pool\n"
		"2025-10-20 14:04:00,002 DEBUG [sqlalchemy.pool.impl.QueuePool] Connection <c at 0x2> checked out from pool\n"
		"2025-10-20 14:04:00,001 DEBUG sqlalchemy.pool.impl.QueuePool Connection <c at 0x1> checked out from pool\n"
		"2025-10-20 14:04:00,001 DEBUG sqlalchemy.pool.impl.QueuePool Connection <c at 0x1> checked out from pool\n"
		"2025-10-20 14:04:00,002 DEBUG [sqlalchemy.pool.impl.QueuePool] Connection <c at 0x2> checked out from pool\n"
		"2025-10-20 14:04:00,003 [77] DEBUG sqlalchemy.pool.impl.QueuePool: Connection <c at 0x3> checked out from pool\n"
		"2025-10-20 14:04:00,003 [77] DEBUG sqlalchemy.pool.impl.QueuePool: Connection <c at 0x3> checked out from pool\n"
		"2025-10-20 14:04:00,002 DEBUG [sqlalchemy.pool.impl.QueuePool] Connection <c at 0x2> checked out from pool\n"
		"INFO:     127.0.0.1:1 - \"GET /x HTTP/1.1\" 200 OK\n"
		"2025-10-20 14:04:00,001 DEBUG sqlalchemy.pool.impl.QueuePool Connection <c at 0x1> checked out from pool\n"
		"2025-10-20 14:04:00,002 DEBUG [sqlalchemy.pool.impl.QueuePool] Connection <c at 0x2> checked out from pool\n";
	static const char want[] =
		"{\"ts\":\"2025-10-20T14:04:00.001Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":1,\"conn\":\"0x1\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.002Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":3,\"conn\":\"0x2\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.003Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":4,\"pid\":77,\"conn\":\"0x3\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.001Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":6,\"conn\":\"0x1\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.001Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":7,\"path\":\"/x\",\"method\":\"GET\",\"status\":200,\"ts_inferred\":true}\n"
		"{\"ts\":\"2025-10-20T14:04:00.002Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":8,\"conn\":\"0x2\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.004Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":9,\"conn\":\"0x4\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.001Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":11,\"conn\":\"0x1\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.001Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":12,\"conn\":\"0x1\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.002Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":13,\"conn\":\"0x2\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.003Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":14,\"pid\":77,\"conn\":\"0x3\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.003Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":15,\"pid\":77,\"conn\":\"0x3\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.002Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":16,\"conn\":\"0x2\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.002Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":17,\"path\":\"/x\",\"method\":\"GET\",\"status\":200,\"ts_inferred\":true}\n"
		"{\"ts\":\"2025-10-20T14:04:00.001Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":18,\"conn\":\"0x1\"}\n"
		"{\"ts\":\"2025-10-20T14:04:00.002Z\",\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":19,\"conn\":\"0x2\"}\n";
	const char *texts[] = { in };
	struct strbuf out = STRBUF_INIT;
	run_inputs(texts, 1, "pylog", NULL, &out);
	cr_assert_str_eq(out.buf, want);
	strbuf_release(&out);
}

/*
 * Access tails: a value is read only if its rank could win, whatever the
 * order of the keys; the time's '[' is the last one before the request,
 * also when another sits where a CLF time's would.
 */
Test(fastpaths, access_tail_ranks_and_time_bracket)
{
	static const char in[] =
		"127.0.0.1 - - [26/Nov/2026:14:40:00 +0000] \"GET /a HTTP/1.1\" 200 353 \"-\" \"curl/7.88.1\" D=91236 T=0 L=0.091236 M=91\n"
		"127.0.0.1 - - [26/Nov/2026:14:40:00 +0000] \"GET /b HTTP/1.1\" 200 353 \"-\" \"curl/7.88.1\" T=3 M=3500 L=3.500123 D=3500124\n"
		"127.0.0.1 - - [26/Nov/2026:14:40:01 +0000] \"GET /c HTTP/1.1\" 200 353 \"-\" \"curl/7.88.1\" D=- L=0.5 M=7\n"
		"127.0.0.1 - - [26/Nov/2026:14:40:01 +0000] \"GET /d HTTP/1.1\" 200 353 \"-\" \"curl/7.88.1\" M=12 T=1\n"
		"127.0.0.1 - - [26/Nov/2026:14:40:02 +0000] \"GET /e HTTP/1.1\" 200 353 \"-\" \"curl/7.88.1\" rt=0.250 request_time=0.300\n"
		"127.0.0.1 - - [26/Nov/2026:14:40:02.5 +0000] \"GET /f HTTP/1.1\" 200 353 \"-\" \"c\" T=9 D=x L=0.7\n"
		"[pid 7] 127.0.0.1 - - [a[26/Nov/2026:14:40:03 +0000] \"GET /g HTTP/1.1\" 200 353 \"-\" \"c\" 0.042\n"
		"127.0.0.1 - - [aaaaa [2026-11-26 14:40:03] \"GET /h HTTP/1.1\" 200 5 \"-\" \"c\" D=5\n";
	static const char want[] =
		"{\"ts\":\"2026-11-26T14:40:00.408Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":1,\"path\":\"/a\",\"method\":\"GET\",\"status\":200,\"bytes\":353,\"duration\":0.091236}\n"
		"{\"ts\":\"2026-11-26T14:39:56.999Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":2,\"path\":\"/b\",\"method\":\"GET\",\"status\":200,\"bytes\":353,\"duration\":3.500124}\n"
		"{\"ts\":\"2026-11-26T14:40:01.000Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":3,\"path\":\"/c\",\"method\":\"GET\",\"status\":200,\"bytes\":353,\"duration\":0.5}\n"
		"{\"ts\":\"2026-11-26T14:40:01.488Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":4,\"path\":\"/d\",\"method\":\"GET\",\"status\":200,\"bytes\":353,\"duration\":0.012}\n"
		"{\"ts\":\"2026-11-26T14:40:02.250Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":5,\"path\":\"/e\",\"method\":\"GET\",\"status\":200,\"bytes\":353,\"duration\":0.25}\n"
		"{\"ts\":\"2026-11-26T14:40:01.800Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":6,\"path\":\"/f\",\"method\":\"GET\",\"status\":200,\"bytes\":353,\"duration\":0.7}\n"
		"{\"ts\":\"2026-11-26T14:40:03.499Z\",\"kind\":\"http_request\",\"src\":\"t\",\"line\":8,\"path\":\"/h\",\"method\":\"GET\",\"status\":200,\"bytes\":5,\"duration\":0.000005}\n";
	const char *texts[] = { in };
	struct strbuf out = STRBUF_INIT;
	run_inputs(texts, 1, "gunicorn-access", NULL, &out);
	cr_assert_str_eq(out.buf, want);
	strbuf_release(&out);
}

/*
 * pg-json records whose bytes are all plain skip the per-byte checks of the
 * strict scanner; a control byte inside a string must still reject the
 * record (jansson refuses it too), junk after the closing brace must not.
 */
Test(fastpaths, pgjson_plain_record_check)
{
	static const char in[] =
		"{\"timestamp\":\"2026-11-26 14:40:00.028 UTC\",\"user\":\"app\",\"dbname\":\"app\",\"pid\":7217,\"error_severity\":\"LOG\",\"message\":\"duration: 2.5 ms  statement: SELECT 1\"}\n"
		"{\"timestamp\":\"2026-11-26 14:40:01.028 UTC\",\"pid\":7,\"error_severity\":\"LOG\",\"message\":\"duration: 3.5 ms  statement: SELECT\0112\"}\n"
		"{\"timestamp\":\"2026-11-26 14:40:02.028 UTC\",\"pid\":8,\"error_severity\":\"LOG\",\"message\":\"duration: 4.5 ms  statement: SELECT 3\"}\001\377junk\n"
		"{\"timestamp\":\"2026-11-26 14:40:03.028 UTC\",\"pid\":9,\"error_severity\":\"LOG\",\"message\":\"duration: 5.5 ms  statement: SELECT \\\"x\\\" \303\251\"}\n"
		"{\"timestamp\":\"2026-11-26 14:40:04.028 UTC\",\"pid\":10,\"error_severity\":\"LOG\",\"message\":\"duration: 6.5 ms  statement: SELECT \177\"}\n"
		"{\"timestamp\":\"2026-11-26 14:40:05.028 UTC\",\"pid\":11,\"error_severity\":\"LOG\",\"message\":\"duration: 7.5 ms  statement: SELECT 4\",\"error_severity\":\"ERROR\"}\n";
	static const char want[] =
		"{\"ts\":\"2026-11-26T14:40:00.028Z\",\"kind\":\"pg_slow_statement\",\"src\":\"t\",\"line\":1,\"pid\":7217,\"statement\":\"SELECT 1\",\"user\":\"app\",\"duration\":0.0025}\n"
		"{\"ts\":\"2026-11-26T14:40:02.028Z\",\"kind\":\"pg_slow_statement\",\"src\":\"t\",\"line\":3,\"pid\":8,\"statement\":\"SELECT 3\",\"duration\":0.0045}\n"
		"{\"ts\":\"2026-11-26T14:40:03.028Z\",\"kind\":\"pg_slow_statement\",\"src\":\"t\",\"line\":4,\"pid\":9,\"statement\":\"SELECT \\\"x\\\" \303\251\",\"duration\":0.0055}\n"
		"{\"ts\":\"2026-11-26T14:40:04.028Z\",\"kind\":\"pg_slow_statement\",\"src\":\"t\",\"line\":5,\"pid\":10,\"statement\":\"SELECT \\u007f\",\"duration\":0.0065}\n"
		"{\"ts\":\"2026-11-26T14:40:05.028Z\",\"kind\":\"pg_error\",\"src\":\"t\",\"line\":6,\"pid\":11,\"message\":\"duration: 7.5 ms statement: SELECT 4\",\"severity\":\"ERROR\"}\n";
	const char *texts[] = { in };
	struct strbuf out = STRBUF_INIT;
	run_inputs(texts, 1, "pg-json", NULL, &out);
	cr_assert_str_eq(out.buf, want);
	strbuf_release(&out);
}

/*
 * Two inputs in one run: the second starts in the minute the first ended
 * in, in another shape (CLF) and with an offset; then a zoneless time read
 * in --tz across the autumn DST change.  Every time must be its own.
 */
Test(fastpaths, time_cache_across_inputs_and_dst)
{
	const char *texts[] = {
		"2025-10-26 02:59:58.100 CEST [7] LOG:  duration: 1.000 ms  statement: SELECT 1\n"
		"2025-10-26 02:59:59.200 [7] LOG:  duration: 2.000 ms  statement: SELECT 2\n"
		"2025-10-26 02:59:59.300 +0000 [7] LOG:  duration: 3.000 ms  statement: SELECT 3\n"
		"2025-10-26 03:00:00.400 [7] LOG:  duration: 4.000 ms  statement: SELECT 4\n",
		"127.0.0.1 - - [26/Oct/2025:02:59:59 +0100] \"GET /a HTTP/1.1\" 200 5 \"-\" \"c\"\n"
		"127.0.0.1 - - [26/Oct/2025:02:59:59 -0100] \"GET /b HTTP/1.1\" 200 5 \"-\" \"c\"\n"
		"127.0.0.1 - - [26/Oct/2025:03:00:00 +0100] \"GET /c HTTP/1.1\" 200 5 \"-\" \"c\"\n",
	};
	struct strbuf pg = STRBUF_INIT, acc = STRBUF_INIT;
	run_inputs(texts, 1, "pg-stderr", "Europe/Berlin", &pg);
	run_inputs(texts + 1, 1, "nginx-access", "Europe/Berlin", &acc);
	/* "CEST" is a word read in --tz; 02:59 of the repeated hour reads as CET */
	cr_assert(strstr(pg.buf, "\"ts\":\"2025-10-26T01:59:58.100Z\""), "%s", pg.buf);
	cr_assert(strstr(pg.buf, "\"ts\":\"2025-10-26T01:59:59.200Z\""), "%s", pg.buf);
	cr_assert(strstr(pg.buf, "\"ts\":\"2025-10-26T02:59:59.300Z\""), "%s", pg.buf);
	cr_assert(strstr(pg.buf, "\"ts\":\"2025-10-26T02:00:00.400Z\""), "%s", pg.buf);
	/* no duration logged: ts is the logged time */
	cr_assert(strstr(acc.buf, "\"ts\":\"2025-10-26T01:59:59.000Z\""), "%s", acc.buf);
	cr_assert(strstr(acc.buf, "\"ts\":\"2025-10-26T03:59:59.000Z\""), "%s", acc.buf);
	cr_assert(strstr(acc.buf, "\"ts\":\"2025-10-26T02:00:00.000Z\""), "%s", acc.buf);
	strbuf_release(&pg);
	strbuf_release(&acc);
	{
		/* both inputs in one run, in either order: the same events */
		const char *both[] = { texts[0], texts[1] };
		struct strbuf one = STRBUF_INIT;
		run_inputs(both, 2, NULL, "Europe/Berlin", &one);
		cr_assert(strstr(one.buf, "\"ts\":\"2025-10-26T02:00:00.400Z\""), "%s", one.buf);
		cr_assert(strstr(one.buf, "\"ts\":\"2025-10-26T03:59:59.000Z\""), "%s", one.buf);
		strbuf_release(&one);
	}
}

/* pg_summary() as a byte loop, the way it was before the word copy. */
static size_t summary_ref(const char *s, size_t len, size_t max, char *out)
{
	size_t o = 0, i = 0;
	bool space = false;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	for (; i < len; i++) {
		char c = s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = true;
			continue;
		}
		if (space) {
			if (o + 1 > max)
				break;
			out[o++] = ' ';
			space = false;
		}
		if (o + 1 > max)
			break;
		out[o++] = c;
	}
	if (i < len) {
		while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0xC0)
			o--;
		while (o > 0 && out[o - 1] == ' ')
			o--;
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

Test(fastpaths, pg_summary_same_as_byte_loop)
{
	/* blanks of every kind in runs, words across 8-byte steps, UTF-8 at
	 * the cut, and caps that fall inside words and on blanks */
	static const char alphabet[] = "ab  \t\n\r  xyz.,()=\xc3\xa9\xe2\x82\xac'\"";
	struct parse_ctx ctx;
	uint64_t seed = 0xfeedfacecafeULL;
	memset(&ctx, 0, sizeof(ctx));
	arena_init(&ctx.scratch, 4096);
	for (int round = 0; round < 100000; round++) {
		char in[300], want[320];
		size_t len = next_rand(&seed) % 260, max = 1 + next_rand(&seed) % 220, wl;
		const char *got;
		for (size_t i = 0; i < len; i++) {
			/* long plain stretches now and then, so the word copy runs */
			if (next_rand(&seed) % 4)
				in[i] = (char)('a' + next_rand(&seed) % 26);
			else
				in[i] = alphabet[next_rand(&seed) % (sizeof(alphabet) - 1)];
		}
		wl = summary_ref(in, len, max, want);
		got = pg_summary(&ctx, in, len, max);
		cr_assert_eq(strlen(got), wl, "round %d: len %zu max %zu", round, len, max);
		cr_assert(!memcmp(got, want, wl), "round %d:\n got '%s'\nwant '%s'", round, got, want);
		arena_reset(&ctx.scratch);
	}
	{
		/* the real shape: a statement over continuation lines */
		const char *sql = "SELECT vitals.id, vitals.user_id, vitals.value\n\t  FROM vitals\n\t WHERE vitals.user_id = 81406  ";
		cr_assert_str_eq(pg_summary(&ctx, sql, strlen(sql), PG_SUMMARY_MAX),
				 "SELECT vitals.id, vitals.user_id, vitals.value FROM vitals WHERE vitals.user_id = 81406");
		cr_assert_str_eq(pg_summary(&ctx, sql, strlen(sql), 16), "SELECT vitals.id...");
		cr_assert_str_eq(pg_summary(&ctx, sql, strlen(sql), 17), "SELECT vitals.id,...");
	}
	arena_release(&ctx.scratch);
}
