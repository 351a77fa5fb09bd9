#ifndef POOLSCOPE_ACCESS_H
#define POOLSCOPE_ACCESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/logtime.h"
#include "parsers/parse.h"
/*
 * HTTP access logs: one http_request event per access line.
 *
 * Two line shapes are recognised, whatever format the file was detected as:
 *
 *   uvicorn  [PREFIX]CLIENT - "METHOD TARGET HTTP/V" STATUS[ PHRASE]
 *            PREFIX is empty (gunicorn's UvicornWorker, a plain %(message)s),
 *            uvicorn's "INFO:     " levelprefix, or any logging prefix that
 *            starts with a timestamp ("2026-11-26 14:52:24,353 INFO:     ",
 *            "2026-11-26 14:52:24,353 - uvicorn.access - INFO - ").  CLIENT
 *            is "host:port" or empty.  uvicorn logs when the response
 *            *starts* and never logs a duration, so ts is the logged time
 *            (or none: the driver places the line by its neighbours).
 *
 *   combined HOST IDENT USER [TIME] "REQUEST" STATUS BYTES ["REFERER" "UA"] [EXTRA...]
 *            gunicorn's default access format and nginx/Apache combined or
 *            common.  TIME is the request's *end*, truncated to the second,
 *            so when a duration is found in EXTRA the start is estimated as
 *            ts = TIME + 0.5 s - duration (the middle of the second the
 *            request ended in: unbiased, error within +-0.5 s; plain
 *            TIME - duration is 0.5 s early on average, measured on
 *            fixtures/incident/gunicorn).  A TIME with a fraction is used
 *            as is.  Without a duration ts is TIME.  Durations:
 *              gunicorn  D=µs  L=s.µs  M=ms  T=s  (key=value), or a bare
 *                        %(D)s (integer, read as µs) / %(L)s (decimal s)
 *              nginx     rt= / request_time= (s.ms), or a bare decimal
 *                        $request_time (a bare $upstream_response_time after
 *                        it is ignored); values may be quoted (rt="0.052")
 *            When several are present the most precise wins (D, L, bare
 *            decimal, bare integer, rt, M, T).  A bare *integer* is taken as
 *            %(D)s: a bare %(M)s or %(T)s cannot be told from it, so such
 *            formats should use the key=value form.
 *
 * The path (text) is the target as logged up to its '?': the query string
 * is stripped so endpoints group; `\"` (gunicorn's escape) reads as `"`.
 * text2 is the method (NULL when the request line has none, e.g. nginx's
 * "-" or TLS bytes on a plain port; the path is then the raw request).
 *
 * gunicorn gotcha (sqlalchemy-pool.md 5.3): on a 500 from an unhandled
 * exception gunicorn restarts the request clock and logs a bare environ
 * (referer and user agent both "-"); its D/L/M/T then exclude the pool
 * wait.  Such lines get EVENT_F_DUR_PARTIAL: the duration is a lower bound.
 */

enum access_layout {
	ACCESS_NONE = 0,
	ACCESS_UVICORN,
	ACCESS_COMBINED,
};

/* Which server the line's duration fields point to, if any. */
enum access_family {
	ACCESS_FAMILY_UNKNOWN = 0,
	ACCESS_FAMILY_GUNICORN,
	ACCESS_FAMILY_NGINX,
};

/* One recognised access line.  Pointers borrow the scanned text. */
struct access_line {
	enum access_layout layout;
	enum access_family family;
	log_usec logged;         /* the line's own time, LOG_USEC_NONE if none */
	bool had_zone;
	bool whole_seconds;      /* logged has no fraction (truncated to 1 s) */
	int32_t pid;             /* from a "[1234]" in a uvicorn prefix, else 0 */
	const char *method;      /* NULL if the request line has no method */
	size_t method_len;
	const char *target;      /* request target as logged, query included */
	size_t target_len;
	size_t path_len;         /* bytes of target before its '?' */
	int status;
	int64_t bytes;           /* -1 unknown ("-", or uvicorn) */
	int64_t dur;             /* µs, EVENT_NO_DURATION if unknown */
	bool bare_environ;       /* referer and user agent both "-" */
};

/*
 * Recognise one physical line (no trailing newline; a trailing '\r' is
 * ignored).  Timestamps without a zone are read in tz (NULL = UTC).
 * Allocates nothing; cheap on lines that are not access lines (a memchr
 * for '"' rejects most).  Returns true and fills *out if it is one.
 * Lines holding ANSI colour codes must be cleaned first (access_parse_record
 * does that).
 */
bool access_scan(const char *s, size_t len, const struct tzinfo *tz, struct access_line *out);

/* True if the line is an access line of either shape (for other formats'
 * continues(): an access line never continues a traceback). */
bool access_line_is(const char *s, size_t len);

/*
 * Parse a one-line record as an access line and emit its http_request.
 * Returns UNPARSED_NONE if taken, UNPARSED_UNKNOWN_LAYOUT if it is not an
 * access line.  This is the `parse_foreign` of the access formats, so an
 * app-log parser gets access lines mixed into its file for free.
 */
enum unparsed_reason access_parse_record(struct parse_ctx *ctx, const struct record *rec);
#endif
