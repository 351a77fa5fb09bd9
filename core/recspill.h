#ifndef POOLSCOPE_RECSPILL_H
#define POOLSCOPE_RECSPILL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
/*
 * A sequence of fixed-size records that is written once, in order, and then
 * read back in order any number of times, in bounded memory: the first
 * mem_max records stay in memory; past them, everything goes to an unlinked
 * temporary file in $TMPDIR (default /tmp), written and read mem_max
 * records at a time.  For the analysis' HTTP requests (analysis/analyze.c),
 * which the end of the pass walks in order twice.
 *
 * The file's name is registered with core/cleanup.h between mkstemp() and
 * unlink(), so an interrupt in between removes it; afterwards it has no name
 * and goes away with the process.  A failure to create or write it is
 * reported once (error()) and leaves the spill failed: recspill_rewind()
 * returns -1 and records are lost.
 */
struct recspill {
	size_t size;     /* bytes per record */
	size_t mem_max;  /* records kept in memory at most */
	char *buf;       /* owned: mem_max records */
	size_t nbuf;     /* records in buf (writing) */
	uint64_t nr;     /* records added */
	FILE *f;         /* owned; NULL while everything fits buf */
	bool failed;
	/* reading */
	uint64_t rpos;   /* records returned since the rewind */
	size_t rbuf, rnbuf; /* next record in buf, records in buf */
};
/* mem_max 0: 65536 records. */
void recspill_init(struct recspill *s, size_t size, size_t mem_max);
void recspill_release(struct recspill *s);
/* Appends one record (size bytes).  Only before the first rewind. */
void recspill_add(struct recspill *s, const void *rec);
/* Starts reading at the first record.  Returns -1 if the spill failed. */
int recspill_rewind(struct recspill *s);
/* The next record, or NULL at the end (or on a read error, after error()).
 * The pointer is valid until the next recspill_next()/rewind(). */
const void *recspill_next(struct recspill *s);
#endif
