#ifndef POOLSCOPE_PYLOG_H
#define POOLSCOPE_PYLOG_H
#include <stddef.h>
#include <stdint.h>
#include "parsers/format.h"
/*
 * Python `logging` application logs (format "pylog"): the common layouts
 * (asctime - name - level - message, basicConfig's LEVEL:name:message,
 * SQLAlchemy's echo handler, uvicorn's levelprefix, gunicorn's error log,
 * Celery, asctime [pid] LEVEL name: message), traceback lines glued into
 * their record.  Events: SQLAlchemy pool debug lines, TimeoutError records
 * (once per record, duplicate handlers counted once), pool-stat lines, app
 * errors, batch start/end lines of the aggregation worker.
 */
extern const struct format format_pylog;

/*
 * The header of one Python log line: returns the offset of the message in
 * s[0..len) (the first line of a record), or 0 if no known layout fits.
 * For other parsers that meet Python-logged lines (an access line logged
 * through `uvicorn.access` with an asctime layout).
 */
size_t pylog_message_offset(const char *s, size_t len);

/*
 * The connection id of a DBAPI connection repr, as the pool log prints it:
 * the "0x..." address of `<... object at 0x...>` (the inner one of
 * `<AdaptedConnection <...>>`), never a psycopg2 DSN (which can hold a
 * password); otherwise the repr itself (`<FakeConn 3>`), or a hash of it
 * if it looks like it holds credentials.  Writes at most outsz-1 bytes and
 * a NUL into out; returns the length.
 */
size_t pylog_conn_id(const char *repr, size_t len, char *out, size_t outsz);

/* The built-in batch start/end rules, in the formats-file syntax
 * (docs/formats-file.md). */
extern const char pylog_batch_rules[];
#endif
