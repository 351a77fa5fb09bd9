#include "core/numparse.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h"

int parse_i64_n(const char *s, size_t len, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0;
	if (len && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i++;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9)
			return -1;
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

int parse_i64(const char *s, int64_t *out)
{
	return parse_i64_n(s, strlen(s), out);
}

int parse_int(const char *s, int *out)
{
	int64_t v;
	if (parse_i64(s, &v) < 0 || v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

int parse_double_n(const char *s, size_t len, double *out)
{
	char buf[64];
	char *end;
	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] == ' ' || buf[0] == '\t')
		return -1;
	errno = 0;
	*out = strtod(buf, &end);
	if (errno || *end || !isfinite(*out))
		return -1;
	return 0;
}

int parse_double(const char *s, double *out)
{
	return parse_double_n(s, strlen(s), out);
}

int parse_duration_usec(const char *s, int64_t *out)
{
	size_t n = strlen(s), num = n;
	double v, mult = 1e6;
	if (n > 2 && !strcmp(s + n - 2, "ms"))
		num = n - 2, mult = 1e3;
	else if (n > 2 && !strcmp(s + n - 2, "us"))
		num = n - 2, mult = 1;
	else if (n > 1 && s[n - 1] == 's')
		num = n - 1;
	else if (n > 1 && s[n - 1] == 'm')
		num = n - 1, mult = 60e6;
	else if (n > 1 && s[n - 1] == 'h')
		num = n - 1, mult = 3600e6;
	if (parse_double_n(s, num, &v) < 0 || v < 0 || v * mult > 9e18)
		return -1;
	*out = (int64_t)llround(v * mult);
	return 0;
}

int parse_decimal_usec_n(const char *s, size_t len, int64_t unit_usec, int64_t *out)
{
	size_t i = 0;
	int64_t whole = 0, frac = 0, scale = 1;
	if (!len)
		return -1;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (whole > INT64_MAX / 10 / (unit_usec ? unit_usec : 1))
			return -1;
		whole = whole * 10 + (s[i++] - '0');
	}
	if (!i)
		return -1;
	if (i < len) {
		if (s[i] != '.')
			return -1;
		i++;
		if (i == len)
			return -1;
		while (i < len) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			if (scale < INT64_C(1000000000000)) {
				frac = frac * 10 + (s[i] - '0');
				scale *= 10;
			}
			i++;
		}
	}
	*out = whole * unit_usec + (frac * unit_usec + scale / 2) / scale;
	return 0;
}
