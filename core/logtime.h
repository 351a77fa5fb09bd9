#ifndef POOLSCOPE_LOGTIME_H
#define POOLSCOPE_LOGTIME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/*
 * Two time types that never mix (after redis' monotonic.h):
 *   log_usec   wall-clock microseconds since the epoch, UTC, as read from a log
 *   mono_usec  CLOCK_MONOTONIC microseconds, for scheduling a live replay only
 * Conversion to UTC uses days-from-civil arithmetic plus the log's offset,
 * never TZ and mktime().
 */
typedef int64_t log_usec;
typedef int64_t mono_usec;

#define LOG_USEC_NONE INT64_MIN
#define USEC_PER_SEC INT64_C(1000000)

mono_usec mono_now(void);

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* UTC microseconds of a broken-down UTC time; no validation. */
log_usec logtime_from_civil(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi,
			    unsigned s, unsigned usec);

/* Write "2025-10-20T14:03:12.345Z" (24 chars + NUL) into out[32]. */
void logtime_format_iso(log_usec t, char out[32]);

/*
 * A time zone: "UTC", a fixed offset ("+02:00", "-0530", "UTC+2"), or an IANA
 * name read from /usr/share/zoneinfo (TZif v1/v2/v3) so local wall-clock
 * times in logs convert to UTC with the right offset for their date.
 */
struct tzinfo {
	char name[64];
	int32_t fixed_offset; /* seconds east of UTC, used when ntrans == 0 */
	size_t ntrans;
	int64_t *trans_utc;  /* owned; transition instants, UTC seconds */
	int32_t *trans_off;  /* owned; offset in force from trans_utc[i] */
	int32_t first_off;   /* offset before the first transition */
};

/* Load zone NAME; returns 0, or -1 after error(). */
int tzinfo_load(struct tzinfo *tz, const char *name);
void tzinfo_release(struct tzinfo *tz);
void tzinfo_utc(struct tzinfo *tz);
/* Convert local wall-clock microseconds to UTC in zone tz. */
log_usec tzinfo_local_to_utc(const struct tzinfo *tz, log_usec local);

/*
 * Parse a timestamp at s (len bytes), forms used by logs:
 *   2025-10-20 14:03:12,345   (Python asctime)   2025-10-20T14:03:12.345678Z
 *   2025-10-20 14:03:12.345 UTC (PostgreSQL)       2025-10-20 14:03:12 +0000
 *   20/Oct/2025:14:03:12 +0000 (access logs)     1760969000.123 (epoch, with want_epoch)
 * On success returns the number of bytes consumed and stores UTC in *out;
 * *had_zone tells whether the text carried a zone (else tz was applied).
 * Returns 0 if s does not start with a timestamp.
 */
size_t logtime_parse(const char *s, size_t len, const struct tzinfo *tz, log_usec *out,
		     bool *had_zone);
/*
 * A one-entry cache for logtime_parse_cached(): the bytes of the last date
 * and minute parsed ("2025-10-20 14:03", "20/Oct/2025:14:03") and their
 * epoch.  Keep one per input (in the parser's state); it holds no pointers
 * and needs no release.  An all-zero cache is empty.
 */
struct logtime_cache {
	char key[17];
	uint8_t key_len; /* 16 (ISO) or 17 (CLF); 0: empty */
	int64_t minute;  /* local seconds since the epoch at the key's minute */
};
void logtime_cache_init(struct logtime_cache *c);
/* logtime_parse() with the date and minute taken from c when the text
 * repeats them (same result, byte for byte); c may be NULL. */
size_t logtime_parse_cached(struct logtime_cache *c, const char *s, size_t len,
			    const struct tzinfo *tz, log_usec *out, bool *had_zone);
/* Only the "[+-]HHMM", "[+-]HH:MM", "Z", "UTC", "GMT" zone forms; returns bytes
 * consumed (0 if none) and the offset in seconds east. */
size_t logtime_parse_zone(const char *s, size_t len, int32_t *offset);
/* Parse "14:03:12.345"-style durations "H:MM:SS.mmm" (PostgreSQL session time). */
size_t parse_hms_duration(const char *s, size_t len, int64_t *usec);
#endif
