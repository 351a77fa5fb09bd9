#ifndef POOLSCOPE_NUMPARSE_H
#define POOLSCOPE_NUMPARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/*
 * Number parsing that reports junk and overflow (instead of atoi()).
 * The *_n variants read exactly len bytes (no NUL needed) and fail unless all
 * of them form the number.  Return 0 on success, -1 on junk or overflow.
 */
int parse_i64_n(const char *s, size_t len, int64_t *out);
int parse_i64(const char *s, int64_t *out);
int parse_int(const char *s, int *out);
int parse_double_n(const char *s, size_t len, double *out);
int parse_double(const char *s, double *out);
/* "1.5" seconds or "1500ms" / "2s" / "1m" / "1h" into microseconds. */
int parse_duration_usec(const char *s, int64_t *out);
/* Decimal seconds/milliseconds text ("12.345") to microseconds, exact (no float). */
int parse_decimal_usec_n(const char *s, size_t len, int64_t unit_usec, int64_t *out);
#endif
