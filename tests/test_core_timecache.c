#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "core/logtime.h"
#include "core/strbuf.h"

/*
 * The caches and word-at-a-time scans that make `parse` fast must give what
 * the plain code gives.  Each test feeds a sequence through the fast path
 * and checks exact values, or compares with the plain path byte for byte.
 */

static void iso_of(const char *s, struct logtime_cache *c, const struct tzinfo *tz, size_t want_n,
		   const char *want_iso)
{
	log_usec t = 0;
	bool zone;
	char iso[32];
	size_t n = logtime_parse_cached(c, s, strlen(s), tz, &t, &zone);
	cr_assert_eq(n, want_n, "'%s': read %zu bytes, want %zu", s, n, want_n);
	if (!want_iso)
		return;
	logtime_format_iso(t, iso);
	cr_assert_str_eq(iso, want_iso, "'%s'", s);
}

Test(timecache, minute_hour_day_year_boundaries)
{
	struct logtime_cache c;
	logtime_cache_init(&c);
	iso_of("2025-12-31 23:58:59,999 - a", &c, NULL, 23, "2025-12-31T23:58:59.999Z");
	iso_of("2025-12-31 23:58:00,001 - a", &c, NULL, 23, "2025-12-31T23:58:00.001Z");
	iso_of("2025-12-31 23:59:00,000 - a", &c, NULL, 23, "2025-12-31T23:59:00.000Z");
	iso_of("2026-01-01 00:00:00,000 - a", &c, NULL, 23, "2026-01-01T00:00:00.000Z");
	/* back in time (interleaved writers): the old minute again */
	iso_of("2025-12-31 23:59:59.5", &c, NULL, 21, "2025-12-31T23:59:59.500Z");
	/* same minute bytes with 'T' instead of ' ' is another key, same time */
	iso_of("2025-12-31T23:59:59Z", &c, NULL, 20, "2025-12-31T23:59:59.000Z");
	/* a leap second reads as :59 */
	iso_of("2025-12-31T23:59:60Z", &c, NULL, 20, "2025-12-31T23:59:59.000Z");
	iso_of("2024-02-29 12:00:01", &c, NULL, 19, "2024-02-29T12:00:01.000Z");
	iso_of("2024-03-01 12:00:01", &c, NULL, 19, "2024-03-01T12:00:01.000Z");
}

Test(timecache, prefix_matches_but_seconds_malformed)
{
	struct logtime_cache c;
	log_usec t;
	bool zone;
	logtime_cache_init(&c);
	iso_of("2025-10-20 14:03:12,345", &c, NULL, 23, "2025-10-20T14:03:12.345Z");
	/* the cached minute must not make these valid */
	iso_of("2025-10-20 14:03:1x", &c, NULL, 0, NULL);
	iso_of("2025-10-20 14:03:61", &c, NULL, 0, NULL);
	iso_of("2025-10-20 14:03 12", &c, NULL, 0, NULL);
	iso_of("2025-10-20 14:03:", &c, NULL, 0, NULL);
	iso_of("2025-10-20 14:03", &c, NULL, 0, NULL);
	cr_assert_eq(logtime_parse_cached(&c, "2025-10-20 14:03:12", 18, NULL, &t, &zone), 0,
		     "a length that cuts the seconds");
	/* and the entry still works afterwards */
	iso_of("2025-10-20 14:03:13,000", &c, NULL, 23, "2025-10-20T14:03:13.000Z");
	/* a bad minute after a good one: nothing is reused from the cache */
	iso_of("2025-10-20 14:60:13", &c, NULL, 0, NULL);
	iso_of("2025-10-20 24:03:13", &c, NULL, 0, NULL);
	iso_of("2025-10-32 14:03:13", &c, NULL, 0, NULL);
	iso_of("2025-10-20 14:03:13", &c, NULL, 19, "2025-10-20T14:03:13.000Z");
}

Test(timecache, clf_months_and_zones)
{
	struct logtime_cache c;
	logtime_cache_init(&c);
	iso_of("20/Oct/2025:14:03:12 +0000", &c, NULL, 26, "2025-10-20T14:03:12.000Z");
	/* only the month differs from the cached key */
	iso_of("20/Nov/2025:14:03:12 +0000", &c, NULL, 26, "2025-11-20T14:03:12.000Z");
	iso_of("20/Nov/2025:14:03:12 +0130", &c, NULL, 26, "2025-11-20T12:33:12.000Z");
	iso_of("20/Xyz/2025:14:03:12 +0000", &c, NULL, 0, NULL);
	iso_of("20/Nov/2025:14:03:12", &c, NULL, 20, "2025-11-20T14:03:12.000Z");
	iso_of("20/Nov/2025:14:03:1", &c, NULL, 0, NULL);
	/* an ISO time after a CLF key, then CLF again */
	iso_of("2025-11-20 14:03:12 UTC", &c, NULL, 23, "2025-11-20T14:03:12.000Z");
	iso_of("20/Nov/2025:14:03:59 -0100", &c, NULL, 26, "2025-11-20T15:03:59.000Z");
}

Test(timecache, dst_is_applied_per_call)
{
	struct tzinfo tz;
	struct logtime_cache c;
	if (tzinfo_load(&tz, "Europe/Berlin") < 0)
		cr_skip_test("no tzdata on this machine");
	logtime_cache_init(&c);
	/* 2025-10-26 03:00 CEST -> 02:00 CET: 02:xx happens twice (read as
	 * CET, tzinfo_local_to_utc()).  The minute 02:59 is cached across the
	 * change. */
	iso_of("2025-10-26 01:59:59", &c, &tz, 19, "2025-10-25T23:59:59.000Z");
	iso_of("2025-10-26 02:59:00", &c, &tz, 19, "2025-10-26T01:59:00.000Z");
	iso_of("2025-10-26 03:00:00", &c, &tz, 19, "2025-10-26T02:00:00.000Z");
	/* spring: 02:xx does not exist; 03:00 CEST is 01:00 UTC */
	iso_of("2025-03-30 01:59:59", &c, &tz, 19, "2025-03-30T00:59:59.000Z");
	iso_of("2025-03-30 03:00:00", &c, &tz, 19, "2025-03-30T01:00:00.000Z");
	/* same minute bytes, an explicit zone: the zone wins, not the tz */
	iso_of("2025-03-30 03:00:00 +0000", &c, &tz, 25, "2025-03-30T03:00:00.000Z");
	iso_of("2025-03-30 03:00:01", &c, &tz, 19, "2025-03-30T01:00:01.000Z");
	tzinfo_release(&tz);
}

/* A small deterministic generator (xorshift64*), no libc rand state. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/*
 * Differential: a long sequence of times that share, and then do not share,
 * their minute, with single bytes changed anywhere in the text, parsed with
 * one cache and without: every result must be equal.
 */
Test(timecache, same_as_uncached_on_mutated_sequences)
{
	static const char *const bases[] = {
		"2025-10-20 14:03:12,345 - app - INFO - x", "2025-10-20T14:03:59.999999Z",
		"2025-10-20 14:04:00.000 UTC [1] LOG:", "20/Oct/2025:14:03:12 +0000] \"GET",
		"20/Oct/2025:14:03:12.5 -0230", "2025-10-20 14:03:12 +05:30 x",
		"2025-10-20 23:59:59", "2025-10-21 00:00:00 GMT+2",
	};
	static const char alphabet[] = "0123456789 -:/.,TZ+UTCOctNov";
	struct tzinfo utc, berlin, *zones[2];
	struct logtime_cache c;
	uint64_t seed = 0x5eed1234abcdULL;
	size_t nz = 1;
	tzinfo_utc(&utc);
	zones[0] = &utc;
	if (tzinfo_load(&berlin, "Europe/Berlin") == 0)
		zones[nz++] = &berlin;
	logtime_cache_init(&c);
	for (int round = 0; round < 200000; round++) {
		char buf[64];
		const char *b = bases[next_rand(&seed) % (sizeof(bases) / sizeof(bases[0]))];
		size_t len = strlen(b), n1, n2;
		const struct tzinfo *tz = zones[next_rand(&seed) % nz];
		log_usec t1 = 7, t2 = 7;
		bool z1 = false, z2 = false;
		memcpy(buf, b, len + 1);
		/* change 0-2 bytes, and sometimes cut the text */
		for (int k = (int)(next_rand(&seed) % 3); k > 0; k--)
			buf[next_rand(&seed) % len] = alphabet[next_rand(&seed) % (sizeof(alphabet) - 1)];
		if (next_rand(&seed) % 8 == 0)
			len = next_rand(&seed) % (len + 1);
		n1 = logtime_parse(buf, len, tz, &t1, &z1);
		n2 = logtime_parse_cached(&c, buf, len, tz, &t2, &z2);
		cr_assert_eq(n1, n2, "'%.*s': %zu vs %zu bytes", (int)len, buf, n1, n2);
		if (n1) {
			cr_assert_eq(t1, t2, "'%.*s'", (int)len, buf);
			cr_assert_eq(z1, z2, "'%.*s'", (int)len, buf);
		}
	}
	if (nz > 1)
		tzinfo_release(&berlin);
}

/* The escaping as a byte loop, the way it was before the word scan. */
static void escape_ref(struct strbuf *sb, const unsigned char *s, size_t len)
{
	char tmp[8];
	for (size_t i = 0; i < len; i++) {
		/* one byte at a time through the real code: no runs to skip */
		size_t n = (size_t)(json_escape_to(tmp, (const char *)s + i, 1) - tmp);
		if (s[i] >= 0x80) {
			/* multi-byte sequences need their whole text: compare those
			 * separately (below); here, only ASCII reaches this */
			cr_assert_fail("escape_ref got a non-ASCII byte");
		}
		strbuf_add(sb, tmp, n);
	}
}

Test(timecache, json_word_scan_escapes_what_the_byte_loop_does)
{
	/* every special ASCII byte at every position of a 1..24 byte text */
	static const unsigned char specials[] = { 0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, '"', '\\', 0x7f };
	for (size_t len = 1; len <= 24; len++)
		for (size_t pos = 0; pos < len; pos++)
			for (size_t k = 0; k < sizeof(specials); k++) {
				unsigned char in[32];
				char out[32 * JSON_ESCAPE_MAX];
				struct strbuf want = STRBUF_INIT;
				size_t n;
				memset(in, 'a' + (int)(len % 26), len);
				in[pos] = specials[k];
				escape_ref(&want, in, len);
				n = (size_t)(json_escape_to(out, (const char *)in, len) - out);
				cr_assert_eq(n, want.len, "len %zu pos %zu byte %02x", len, pos, specials[k]);
				cr_assert(!memcmp(out, want.buf, n), "len %zu pos %zu byte %02x", len, pos,
					  specials[k]);
				strbuf_release(&want);
			}
	/* UTF-8 (kept), invalid bytes (U+FFFD) and C1 controls (escaped) after
	 * and across 8-byte words */
	{
		const char *in = "abcdefg\xc3\xa9hijklmn\xc2\x9bopqrstu\xffvwxyz01\xe2\x82\xac!";
		const char *want = "abcdefg\xc3\xa9hijklmn\\u009bopqrstu\xef\xbf\xbdvwxyz01\xe2\x82\xac!";
		char out[256];
		size_t n = (size_t)(json_escape_to(out, in, strlen(in)) - out);
		cr_assert_eq(n, strlen(want));
		cr_assert(!memcmp(out, want, n));
	}
}

/* floor(a / b) for b > 0 */
static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* logtime_format_iso() written the slow, obvious way */
static void iso_ref(log_usec t, char out[40])
{
	int64_t ms = floor_div(t, 1000), secs = floor_div(ms, 1000), days = floor_div(secs, 86400);
	int64_t y;
	unsigned m, d, rem = (unsigned)(secs - days * 86400);
	civil_from_days(days, &y, &m, &d);
	snprintf(out, 40, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d, rem / 3600,
		 rem / 60 % 60, rem % 60, (unsigned)(ms - secs * 1000));
}

Test(timecache, iso_format_same_as_obvious_code)
{
	static const log_usec fixed[] = {
		0, 1, 999, 1000, 999999, 1000000, 86399999999, 86400000000, -1, -999, -1000, -1001,
		-86400000000, -86400000001, INT64_C(253402300799999999), /* 9999-12-31T23:59:59.999999 */
		INT64_C(-2208988800000000),                            /* 1900-01-01 */
		INT64_C(1761000000123456),
	};
	uint64_t seed = 0x1234567;
	char a[32], b[40];
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		logtime_format_iso(fixed[i], a);
		iso_ref(fixed[i], b);
		cr_assert_str_eq(a, b, "t=%lld", (long long)fixed[i]);
	}
	for (int i = 0; i < 300000; i++) {
		/* 1900 .. 9999, both sides of 1970 */
		log_usec t = (log_usec)(next_rand(&seed) % UINT64_C(255611289600000000)) -
			     INT64_C(2208988800000000);
		logtime_format_iso(t, a);
		iso_ref(t, b);
		cr_assert_str_eq(a, b, "t=%lld", (long long)t);
	}
}
