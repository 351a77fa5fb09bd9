#ifndef POOLSCOPE_RECSTORE_H
#define POOLSCOPE_RECSTORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
/*
 * A growable array of fixed-size records, read and written by index, in
 * bounded memory: the records live in blocks of RECSTORE_BLOCK bytes, at
 * most mem_bytes of them in memory (at least RECSTORE_MIN_BLOCKS blocks,
 * least recently used evicted first); the rest wait in an unlinked
 * temporary file in $TMPDIR (core/atomicfile.h tmpfile_unnamed()),
 * written back only when changed.  While the records fit the budget, no
 * file is made.  For the analysis' holds (core/holds.h), one per checkout
 * of a run: an array whose accesses stay near each other in time.
 *
 * A pointer from recstore_push()/recstore_at() is valid until the next
 * recstore call on the same store (a later call may evict its block):
 * copy a record that must outlive another access.
 *
 * A failure to create, write or read the file is reported once (error())
 * and leaves the store failed: records read afterwards are zeroes, writes
 * are lost, and the owner says so (the analysis returns -1).
 */
#define RECSTORE_BLOCK ((size_t)64 * 1024)
#define RECSTORE_MIN_BLOCKS 8

struct recstore_block {
	uint64_t id;     /* block number: records [id * per_block, (id + 1) * per_block) */
	uint64_t used;   /* LRU clock of the last access */
	char *buf;       /* owned: the store's block bytes */
	bool dirty, valid;
};

struct recstore {
	size_t size;        /* bytes per record, at most block */
	size_t block;       /* bytes per block, RECSTORE_BLOCK unless told */
	size_t per_block;   /* records per block */
	uint64_t nr;        /* records pushed */
	struct recstore_block *blocks; /* owned: the in-memory blocks */
	size_t nblocks, max_blocks; /* blocks holds max_blocks entries, nblocks used */
	uint64_t clock;
	struct recstore_block *hot; /* the block of the last access, or NULL */
	FILE *f;            /* owned; NULL while no block was ever evicted */
	uint64_t file_blocks; /* the file's length in blocks: 1 + the highest block
	                       * written (a block past it was never written) */
	bool failed;
	char *scratch;      /* owned: size zero bytes, returned once failed */
	/* owned: for each block id, 1 + its index in blocks, or 0 when it is
	 * not in memory (ids are dense, so an array beats a hash) */
	uint32_t *slot_of;
	size_t slot_alloc;
};

/* mem_bytes 0: 16 MiB. */
void recstore_init(struct recstore *rs, size_t size, size_t mem_bytes);
/* The same with blocks of block bytes (size <= block <= RECSTORE_BLOCK):
 * smaller blocks let a test reach the file with a few records. */
void recstore_init_block(struct recstore *rs, size_t size, size_t mem_bytes, size_t block);
void recstore_release(struct recstore *rs);
/* Appends a zeroed record at index rs->nr and returns it. */
void *recstore_push(struct recstore *rs);
/* Record i (i < rs->nr; BUG() otherwise), for reading or writing. */
void *recstore_at_slow(struct recstore *rs, uint64_t i);
static inline void *recstore_at(struct recstore *rs, uint64_t i)
{
	if (rs->hot && i / rs->per_block == rs->hot->id && i < rs->nr && !rs->failed) {
		rs->hot->dirty = true;
		return rs->hot->buf + (i % rs->per_block) * rs->size;
	}
	return recstore_at_slow(rs, i);
}
/* True once records went to the temporary file (for tests and -v). */
static inline bool recstore_on_disk(const struct recstore *rs)
{
	return rs->f != NULL;
}
#endif
