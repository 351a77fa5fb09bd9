#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "core/arena.h"
#include "core/event.h"
#include "core/json.h"
#include "core/logtime.h"
#include "core/numparse.h"
#include "core/stats.h"
#include "core/strbuf.h"
#include "core/timeline.h"

Test(logtime, civil_roundtrip)
{
	int64_t y;
	unsigned m, d;
	cr_assert_eq(days_from_civil(1970, 1, 1), 0);
	cr_assert_eq(days_from_civil(2000, 3, 1), 11017);
	cr_assert_eq(days_from_civil(1969, 12, 31), -1);
	for (int64_t z = -800000; z < 800000; z += 997) {
		civil_from_days(z, &y, &m, &d);
		cr_assert_eq(days_from_civil(y, m, d), z);
	}
}

Test(logtime, parse_python_asctime_in_utc)
{
	struct tzinfo tz;
	log_usec t;
	bool zone;
	char iso[32];
	const char *s = "2025-10-20 14:03:12,345 - app - INFO - x";
	tzinfo_utc(&tz);
	cr_assert_eq(logtime_parse(s, strlen(s), &tz, &t, &zone), 23);
	cr_assert_not(zone);
	logtime_format_iso(t, iso);
	cr_assert_str_eq(iso, "2025-10-20T14:03:12.345Z");
}

Test(logtime, parse_zones)
{
	log_usec t;
	bool zone;
	char iso[32];
	const char *pg = "2026-11-26 14:46:30.456 UTC [6589] LOG:  x";
	const char *clf = "26/Nov/2026:15:02:35 +0100] \"GET";
	const char *gun = "2026-11-26 15:02:33 -0230";
	cr_assert_eq(logtime_parse(pg, strlen(pg), NULL, &t, &zone), 27);
	cr_assert(zone);
	logtime_format_iso(t, iso);
	cr_assert_str_eq(iso, "2026-11-26T14:46:30.456Z");
	cr_assert_eq(logtime_parse(clf, strlen(clf), NULL, &t, &zone), 26);
	logtime_format_iso(t, iso);
	cr_assert_str_eq(iso, "2026-11-26T14:02:35.000Z");
	cr_assert_eq(logtime_parse(gun, strlen(gun), NULL, &t, &zone), strlen(gun));
	logtime_format_iso(t, iso);
	cr_assert_str_eq(iso, "2026-11-26T17:32:33.000Z");
	cr_assert_eq(logtime_parse("2026-13-26 15:02:33", 19, NULL, &t, &zone), 0);
	cr_assert_eq(logtime_parse("INFO:     127.0.0.1", 19, NULL, &t, &zone), 0);
}

Test(logtime, iana_zone_with_dst)
{
	struct tzinfo tz;
	log_usec t;
	char iso[32];
	if (tzinfo_load(&tz, "Europe/Berlin") < 0)
		cr_skip_test("no tzdata on this machine");
	/* summer: UTC+2; winter: UTC+1 */
	logtime_parse("2025-07-01 12:00:00", 19, &tz, &t, NULL);
	logtime_format_iso(t, iso);
	cr_assert_str_eq(iso, "2025-07-01T10:00:00.000Z");
	logtime_parse("2025-12-01 12:00:00", 19, &tz, &t, NULL);
	logtime_format_iso(t, iso);
	cr_assert_str_eq(iso, "2025-12-01T11:00:00.000Z");
	tzinfo_release(&tz);
}

Test(logtime, pg_session_time)
{
	int64_t us;
	cr_assert_eq(parse_hms_duration("0:00:00.094 user", 16, &us), 11);
	cr_assert_eq(us, 94000);
	cr_assert_eq(parse_hms_duration("123:01:02.5", 11, &us), 11);
	cr_assert_eq(us, (123 * 3600 + 62) * 1000000LL + 500000);
}

Test(numparse, rejects_junk_and_overflow)
{
	int64_t v;
	cr_assert_eq(parse_i64("42", &v), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(parse_i64("-0", &v), 0);
	cr_assert_eq(parse_i64("4x", &v), -1);
	cr_assert_eq(parse_i64("", &v), -1);
	cr_assert_eq(parse_i64("99999999999999999999", &v), -1);
	cr_assert_eq(parse_decimal_usec_n("30.00", 5, 1000000, &v), 0);
	cr_assert_eq(v, 30000000);
	cr_assert_eq(parse_decimal_usec_n("1.098", 5, 1000, &v), 0);
	cr_assert_eq(v, 1098);
	cr_assert_eq(parse_decimal_usec_n("1.0.9", 5, 1000, &v), -1);
}

Test(strbuf, json_escaping_is_safe)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_add_json_escaped(&sb, "a\"b\\c\n\x01\xff\xc3\xa9", 10);
	cr_assert_str_eq(sb.buf, "a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD\xc3\xa9");
	strbuf_release(&sb);
}

Test(json, fixed_number_format)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	jw_init(&w, &sb, false);
	jw_obj_begin(&w);
	jw_knum(&w, "a", 1.5, 3);
	jw_knum(&w, "b", 30.0, 3);
	jw_kusec_s(&w, "c", 1250);
	jw_kusec_s(&w, "d", 45000000);
	jw_key(&w, "e");
	jw_arr_begin(&w);
	jw_int(&w, 1);
	jw_int(&w, 2);
	jw_arr_end(&w);
	jw_obj_end(&w);
	cr_assert_str_eq(sb.buf, "{\"a\":1.5,\"b\":30,\"c\":0.00125,\"d\":45,\"e\":[1,2]}");
	strbuf_release(&sb);
}

Test(strtab, interning_returns_same_pointer)
{
	struct strtab t;
	strtab_init(&t);
	const char *a = strtab_intern(&t, "/api/v1/health", 14);
	for (int i = 0; i < 10000; i++) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "k%d", i);
		strtab_intern(&t, buf, (size_t)n);
	}
	cr_assert_eq(strtab_intern_cstr(&t, "/api/v1/health"), a);
	cr_assert_eq(t.count, 10001);
	strtab_release(&t);
}

Test(timeline, sort_is_stable_by_time)
{
	struct timeline tl;
	struct event ev;
	timeline_init(&tl);
	for (int i = 0; i < 1000; i++) {
		event_init(&ev, EVENT_HTTP_REQUEST);
		ev.ts = (i * 7919) % 100; /* many ties */
		ev.line = (uint32_t)i;
		timeline_append(&tl, &ev);
	}
	timeline_sort(&tl);
	for (size_t i = 1; i < tl.nr; i++) {
		cr_assert_leq(tl.ev[i - 1].ts, tl.ev[i].ts);
		if (tl.ev[i - 1].ts == tl.ev[i].ts)
			cr_assert_lt(tl.ev[i - 1].line, tl.ev[i].line);
	}
	timeline_release(&tl);
}

Test(event, json_has_contract_keys)
{
	struct strbuf sb = STRBUF_INIT;
	struct event ev;
	event_init(&ev, EVENT_POOL_TIMEOUT);
	ev.ts = logtime_from_civil(2025, 10, 20, 14, 3, 12, 345000);
	ev.line = 42;
	ev.pid = 17;
	ev.u.timeout.pool_size = 10;
	ev.u.timeout.max_overflow = 20;
	ev.u.timeout.timeout_usec = 30000000;
	event_to_json(&ev, "app.log", &sb);
	cr_assert_str_eq(sb.buf, "{\"ts\":\"2025-10-20T14:03:12.345Z\",\"kind\":\"pool_timeout\","
				 "\"src\":\"app.log\",\"line\":42,\"pid\":17,\"pool_size\":10,"
				 "\"max_overflow\":20,\"timeout\":30}");
	strbuf_release(&sb);
	cr_assert_eq(event_kind_from_name("pg_lock_wait", 12), EVENT_PG_LOCK_WAIT);
	char st[6];
	event_sqlstate_unpack(event_sqlstate_pack("53300"), st);
	cr_assert_str_eq(st, "53300");
}

Test(stats, percentiles_type7)
{
	struct sample s = SAMPLE_INIT;
	for (int i = 10; i >= 1; i--)
		sample_add(&s, i);
	cr_assert_float_eq(sample_percentile(&s, 50), 5.5, 1e-9);
	cr_assert_float_eq(sample_percentile(&s, 95), 9.55, 1e-9);
	cr_assert_eq(sample_max(&s), 10);
	sample_clear(&s);
	cr_assert_float_eq(sample_percentile(&s, 50), 0, 1e-9);
}
