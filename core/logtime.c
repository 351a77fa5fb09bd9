#include "core/logtime.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/error.h"
#include "core/banned.h"

mono_usec mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (mono_usec)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

/*
 * days_from_civil / civil_from_days: Howard Hinnant, "chrono-Compatible
 * Low-Level Date Algorithms".  Eras of 400 years (146097 days) make the
 * leap-year rule exact; months are counted from March so that February's
 * length only matters at the end of the year.
 */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

log_usec logtime_from_civil(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi,
			    unsigned s, unsigned usec)
{
	int64_t days = days_from_civil(y, mo, d);
	return ((days * 86400 + h * 3600 + mi * 60 + s) * USEC_PER_SEC) + usec;
}

/* "00" .. "99": two digits per copy instead of a division and a modulo */
static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static void put2(char *p, unsigned v)
{
	memcpy(p, digit_pairs + 2 * v, 2);
}

/* Hand-formatted (no snprintf): `parse` formats one of these per event. */
void logtime_format_iso(log_usec t, char out[32])
{
	int64_t secs, days, y;
	unsigned m, d, rem;
	int64_t ms;
	if (t == LOG_USEC_NONE) {
		memcpy(out, "null", 5);
		return;
	}
	if (t >= 0) {
		/* every log time: plain division (one per unit) */
		secs = t / USEC_PER_SEC;
		ms = t % USEC_PER_SEC / 1000;
		days = secs / 86400;
		rem = (unsigned)(secs % 86400);
	} else {
		/* floor division so that times before 1970 format correctly */
		ms = -((-t + 999) / 1000);
		secs = -((-ms + 999) / 1000);
		ms -= secs * 1000;
		days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
		rem = (unsigned)(secs - days * 86400);
	}
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		snprintf(out, 32, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d,
			 rem / 3600, rem / 60 % 60, rem % 60, (unsigned)ms);
		return;
	}
	put2(out, (unsigned)(y / 100));
	put2(out + 2, (unsigned)(y % 100));
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = 'T';
	put2(out + 11, rem / 3600);
	out[13] = ':';
	put2(out + 14, rem / 60 % 60);
	out[16] = ':';
	put2(out + 17, rem % 60);
	out[19] = '.';
	out[20] = (char)('0' + ms / 100);
	put2(out + 21, (unsigned)(ms % 100));
	out[23] = 'Z';
	out[24] = '\0';
}

/* ---- zones ---- */

void tzinfo_utc(struct tzinfo *tz)
{
	memset(tz, 0, sizeof(*tz));
	snprintf(tz->name, sizeof(tz->name), "UTC");
}

void tzinfo_release(struct tzinfo *tz)
{
	free(tz->trans_utc);
	free(tz->trans_off);
	tz->trans_utc = NULL;
	tz->trans_off = NULL;
	tz->ntrans = 0;
}

static int digit(char c)
{
	return c >= '0' && c <= '9';
}

size_t logtime_parse_zone(const char *s, size_t len, int32_t *offset)
{
	size_t i = 0;
	int sign, hh, mm = 0;
	if (len >= 1 && s[0] == 'Z') {
		*offset = 0;
		return 1;
	}
	if (len >= 3 && (!memcmp(s, "UTC", 3) || !memcmp(s, "GMT", 3))) {
		i = 3;
		if (i >= len || (s[i] != '+' && s[i] != '-')) {
			*offset = 0;
			return 3;
		}
	}
	if (i >= len || (s[i] != '+' && s[i] != '-'))
		return 0;
	sign = s[i] == '-' ? -1 : 1;
	i++;
	if (i + 1 > len || !digit(s[i]))
		return 0;
	hh = s[i] - '0';
	i++;
	if (i < len && digit(s[i]))
		hh = hh * 10 + (s[i++] - '0');
	if (i < len && s[i] == ':')
		i++;
	if (i + 2 <= len && digit(s[i]) && digit(s[i + 1])) {
		mm = (s[i] - '0') * 10 + (s[i + 1] - '0');
		i += 2;
	}
	if (hh > 15 || mm > 59)
		return 0;
	*offset = sign * (hh * 3600 + mm * 60);
	return i;
}

static int64_t be_int(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

/*
 * TZif (RFC 8536): header "TZif", version, 15 reserved bytes, six 32-bit
 * counts (isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt), then the
 * v1 data block with 4-byte times; v2+ repeat header and data with 8-byte
 * times.  We need only transition times, their type indexes and each type's
 * utoff.
 */
static int tzif_parse(struct tzinfo *tz, const unsigned char *buf, size_t n)
{
	const unsigned char *p = buf;
	int tsize = 4;
	for (int pass = 0; pass < 2; pass++) {
		int64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
		size_t need;
		if ((size_t)(p - buf) + 44 > n || memcmp(p, "TZif", 4))
			return -1;
		isutcnt = be_int(p + 20, 4);
		isstdcnt = be_int(p + 24, 4);
		leapcnt = be_int(p + 28, 4);
		timecnt = be_int(p + 32, 4);
		typecnt = be_int(p + 36, 4);
		charcnt = be_int(p + 40, 4);
		if (isutcnt < 0 || isstdcnt < 0 || leapcnt < 0 || timecnt < 0 || typecnt <= 0 ||
		    charcnt < 0 || timecnt > 100000 || typecnt > 256)
			return -1;
		need = 44 + (size_t)timecnt * (tsize + 1) + (size_t)typecnt * 6 + (size_t)charcnt +
		       (size_t)leapcnt * (tsize + 4) + (size_t)isstdcnt + (size_t)isutcnt;
		if ((size_t)(p - buf) + need > n)
			return -1;
		if (pass == 0 && p[4] >= '2') {
			p += need;
			tsize = 8;
			continue;
		}
		{
			const unsigned char *times = p + 44;
			const unsigned char *idx = times + timecnt * tsize;
			const unsigned char *types = idx + timecnt;
			tz->ntrans = (size_t)timecnt;
			tz->trans_utc = xcalloc((size_t)timecnt + 1, sizeof(int64_t));
			tz->trans_off = xcalloc((size_t)timecnt + 1, sizeof(int32_t));
			for (int64_t i = 0; i < timecnt; i++) {
				unsigned t = idx[i];
				if (t >= typecnt)
					return -1;
				tz->trans_utc[i] = be_int(times + i * tsize, tsize);
				tz->trans_off[i] = (int32_t)be_int(types + t * 6, 4);
			}
			/* the first non-DST type, or type 0, rules before the first transition */
			tz->first_off = (int32_t)be_int(types, 4);
			for (int64_t t = 0; t < typecnt; t++)
				if (!types[t * 6 + 4]) {
					tz->first_off = (int32_t)be_int(types + t * 6, 4);
					break;
				}
			tz->fixed_offset = tz->ntrans ? tz->trans_off[tz->ntrans - 1] : tz->first_off;
		}
		return 0;
	}
	return -1;
}

int tzinfo_load(struct tzinfo *tz, const char *name)
{
	int32_t off;
	size_t n = strlen(name);
	char path[512];
	FILE *f;
	unsigned char *buf;
	size_t got;

	tzinfo_utc(tz);
	if (!n)
		return error("empty time zone name");
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	if (logtime_parse_zone(name, n, &off) == n) {
		tz->fixed_offset = off;
		return 0;
	}
	if (strstr(name, "..") || name[0] == '/')
		return error("unknown time zone '%s'", name);
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	f = fopen(path, "rb");
	if (!f)
		return error("unknown time zone '%s' (no %s; install tzdata, or give an offset like +02:00)",
			     name, path);
	buf = xmalloc(1 << 20);
	got = fread(buf, 1, 1 << 20, f);
	fclose(f);
	if (tzif_parse(tz, buf, got) < 0) {
		free(buf);
		tzinfo_release(tz);
		return error("cannot read time zone file '%s'", path);
	}
	free(buf);
	return 0;
}

static int32_t tz_offset_at_utc(const struct tzinfo *tz, int64_t utc_sec)
{
	size_t lo = 0, hi = tz->ntrans;
	if (!tz->ntrans)
		return tz->fixed_offset;
	if (utc_sec < tz->trans_utc[0])
		return tz->first_off;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (tz->trans_utc[mid] <= utc_sec)
			lo = mid;
		else
			hi = mid;
	}
	return tz->trans_off[lo];
}

log_usec tzinfo_local_to_utc(const struct tzinfo *tz, log_usec local)
{
	int64_t lsec, guess;
	int32_t off;
	if (!tz->ntrans)
		return local - (log_usec)tz->fixed_offset * USEC_PER_SEC;
	/*
	 * Two rounds: the offset at (local - offset_at(local)) is right except in
	 * the hour a clock skips or repeats; there we take the earlier reading,
	 * as Python's naive datetimes and most log readers do.
	 */
	lsec = local >= 0 ? local / USEC_PER_SEC : -((-local + USEC_PER_SEC - 1) / USEC_PER_SEC);
	off = tz_offset_at_utc(tz, lsec);
	guess = lsec - off;
	off = tz_offset_at_utc(tz, guess);
	return local - (log_usec)off * USEC_PER_SEC;
}

/* ---- parsing ---- */

static int num2(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!digit(s[i]))
			return 0;
	return 1;
}

/* The first byte of every zone logtime_parse_zone() reads. */
static bool zone_lead(char c)
{
	return c == 'Z' || c == 'U' || c == 'G' || c == '+' || c == '-';
}

static const char *const month_abbr[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Fraction ".123" / ",123456" at s: microseconds; returns bytes consumed. */
static size_t parse_fraction(const char *s, size_t len, unsigned *usec)
{
	size_t i = 1;
	unsigned v = 0, scale = 100000;
	*usec = 0;
	if (len < 2 || (s[0] != '.' && s[0] != ',') || !digit(s[1]))
		return 0;
	while (i < len && digit(s[i])) {
		if (scale) {
			v += (unsigned)(s[i] - '0') * scale;
			scale /= 10;
		}
		i++;
	}
	*usec = v;
	return i;
}

static int valid_civil(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s)
{
	return y >= 1900 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 &&
	       mi <= 59 && s <= 60;
}

/*
 * The date and minute at s: "2025-10-20 14:03" (ISO, 'T' or ' ') or
 * "20/Oct/2025:14:03" (CLF).  Returns the bytes they take (16 or 17; the
 * seconds ":SS" follow) and the local seconds since the epoch of that
 * minute, or 0 if s does not start with a valid one.  The two shapes differ
 * in s[2] (digit or '/'), so at most one can match.
 */
static size_t parse_minute(const char *s, size_t len, int64_t *minute)
{
	int64_t y;
	unsigned mo, d, h, mi;
	size_t n;

	if (len >= 16 && all_digits(s, 4) && s[4] == '-' && all_digits(s + 5, 2) && s[7] == '-' &&
	    all_digits(s + 8, 2) && (s[10] == ' ' || s[10] == 'T') && all_digits(s + 11, 2) &&
	    s[13] == ':' && all_digits(s + 14, 2)) {
		/* ISO-like: 2025-10-20 14:03:12[,.]fff[ zone] */
		y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + num2(s + 2);
		mo = (unsigned)num2(s + 5);
		d = (unsigned)num2(s + 8);
		h = (unsigned)num2(s + 11);
		mi = (unsigned)num2(s + 14);
		n = 16;
	} else if (len >= 17 && digit(s[0]) && digit(s[1]) && s[2] == '/' && s[6] == '/' &&
		   all_digits(s + 7, 4) && s[11] == ':' && all_digits(s + 12, 2) && s[14] == ':' &&
		   all_digits(s + 15, 2)) {
		/* CLF: 20/Oct/2025:14:03:12 +0000 */
		int m = -1;
		for (int k = 0; k < 12; k++)
			if (!memcmp(s + 3, month_abbr[k], 3))
				m = k;
		if (m < 0)
			return 0;
		d = (unsigned)num2(s);
		mo = (unsigned)m + 1;
		y = (s[7] - '0') * 1000 + (s[8] - '0') * 100 + num2(s + 9);
		h = (unsigned)num2(s + 12);
		mi = (unsigned)num2(s + 15);
		n = 17;
	} else {
		return 0;
	}
	if (!valid_civil(y, mo, d, h, mi, 0))
		return 0;
	*minute = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
	return n;
}

void logtime_cache_init(struct logtime_cache *c)
{
	memset(c, 0, sizeof(*c));
}

size_t logtime_parse(const char *s, size_t len, const struct tzinfo *tz, log_usec *out,
		     bool *had_zone)
{
	return logtime_parse_cached(NULL, s, len, tz, out, had_zone);
}

size_t logtime_parse_cached(struct logtime_cache *c, const char *s, size_t len,
			    const struct tzinfo *tz, log_usec *out, bool *had_zone)
{
	int64_t minute;
	unsigned sec, usec = 0;
	size_t i;
	int32_t off = 0;
	size_t zl;
	bool zone = false;
	log_usec local;

	/*
	 * Lines of a log come in time order, so most of them repeat the date
	 * and minute of the line before: compare those bytes with the last
	 * ones parsed and reuse their epoch, and read only the seconds,
	 * fraction and zone.  The key is every byte the minute was computed
	 * from (separators and month name included) and is stored only after
	 * the full checks passed, so a hit gives exactly what parse_minute()
	 * would.  The zone is applied below on every call: it is not part of
	 * the key, and a DST offset depends on the whole time.
	 */
	if (c && c->key_len && len >= c->key_len && !memcmp(s, c->key, 16) &&
	    (c->key_len == 16 || s[16] == c->key[16])) {
		i = c->key_len;
		minute = c->minute;
	} else {
		i = parse_minute(s, len, &minute);
		if (!i)
			return 0;
		if (c) {
			memcpy(c->key, s, i);
			c->key_len = (uint8_t)i;
			c->minute = minute;
		}
	}
	/* ":SS": a bad second rejects the whole text, as the other shape's
	 * checks cannot match where this one's minute did */
	if (len < i + 3 || s[i] != ':' || !digit(s[i + 1]) || !digit(s[i + 2]))
		return 0;
	sec = (unsigned)num2(s + i + 1);
	if (sec > 60)
		return 0;
	i += 3;
	i += parse_fraction(s + i, len - i, &usec);
	/* optional zone, directly ("Z", "+00:00") or after one space ("UTC",
	 * "+0000"); logtime_parse_zone() takes nothing that does not start
	 * with one of zone_lead()'s bytes, so most zoneless lines (" - name")
	 * skip both calls */
	zl = i < len && zone_lead(s[i]) ? logtime_parse_zone(s + i, len - i, &off) : 0;
	if (zl) {
		i += zl;
		zone = true;
	} else if (i + 1 < len && s[i] == ' ' && zone_lead(s[i + 1])) {
		zl = logtime_parse_zone(s + i + 1, len - i - 1, &off);
		/* a bare "+N" after a space must look like a zone, not a number */
		if (zl >= 3) {
			i += 1 + zl;
			zone = true;
		}
	}
	/* a leap second (":60") reads as :59 */
	local = (minute + (sec > 59 ? 59 : sec)) * USEC_PER_SEC + usec;
	if (zone)
		*out = local - (log_usec)off * USEC_PER_SEC;
	else
		*out = tz ? tzinfo_local_to_utc(tz, local) : local;
	if (had_zone)
		*had_zone = zone;
	return i;
}

size_t parse_hms_duration(const char *s, size_t len, int64_t *usec)
{
	size_t i = 0;
	int64_t h = 0;
	unsigned frac = 0;
	while (i < len && digit(s[i]) && i < 12)
		h = h * 10 + (s[i++] - '0');
	if (!i || i + 6 > len || s[i] != ':' || !all_digits(s + i + 1, 2) || s[i + 3] != ':' ||
	    !all_digits(s + i + 4, 2))
		return 0;
	int64_t mm = num2(s + i + 1), ss = num2(s + i + 4);
	i += 6;
	i += parse_fraction(s + i, len - i, &frac);
	*usec = ((h * 3600 + mm * 60 + ss) * USEC_PER_SEC) + frac;
	return i;
}
