#include "core/recstore.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include "core/atomicfile.h"
#include "core/error.h"
#include "core/banned.h"

void recstore_init(struct recstore *rs, size_t size, size_t mem_bytes)
{
	recstore_init_block(rs, size, mem_bytes, RECSTORE_BLOCK);
}

void recstore_init_block(struct recstore *rs, size_t size, size_t mem_bytes, size_t block)
{
	if (!size || size > block || block > RECSTORE_BLOCK)
		BUG("recstore record size %zu, block %zu: not 1 <= size <= block <= %zu", size, block,
		    RECSTORE_BLOCK);
	memset(rs, 0, sizeof(*rs));
	rs->size = size;
	rs->block = block;
	rs->per_block = block / size;
	if (!mem_bytes)
		mem_bytes = (size_t)16 * 1024 * 1024;
	rs->max_blocks = mem_bytes / block;
	if (rs->max_blocks < RECSTORE_MIN_BLOCKS)
		rs->max_blocks = RECSTORE_MIN_BLOCKS;
	if (rs->max_blocks > UINT32_MAX - 1) /* slot_of holds slot + 1 in 32 bits */
		rs->max_blocks = UINT32_MAX - 1;
	rs->scratch = xcalloc(1, size);
}

void recstore_release(struct recstore *rs)
{
	for (size_t k = 0; k < rs->nblocks; k++)
		free(rs->blocks[k].buf);
	free(rs->blocks);
	free(rs->slot_of);
	free(rs->scratch);
	if (rs->f)
		fclose(rs->f);
	memset(rs, 0, sizeof(*rs));
}

/* Marks the store failed; every later access gets the scratch record. */
static void fail(struct recstore *rs)
{
	rs->failed = true;
	rs->hot = NULL;
}

static void *scratch(struct recstore *rs)
{
	/* the caller may have written into it last time */
	memset(rs->scratch, 0, rs->size);
	return rs->scratch;
}

/* Writes a dirty block to its place in the file (creating the file).
 * Returns -1 after error() and fail(). */
static int write_back(struct recstore *rs, struct recstore_block *b)
{
	const char *p = b->buf;
	size_t left = rs->block;
	off_t off = (off_t)(b->id * rs->block);

	if (!rs->f && !(rs->f = tmpfile_unnamed("holds"))) {
		fail(rs); /* tmpfile_unnamed() said why */
		return -1;
	}
	while (left) {
		ssize_t w = pwrite(fileno(rs->f), p, left, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			error("cannot write a temporary file: %s", w < 0 ? strerror(errno) : "no space written");
			fail(rs);
			return -1;
		}
		p += w;
		off += w;
		left -= (size_t)w;
	}
	if (b->id + 1 > rs->file_blocks)
		rs->file_blocks = b->id + 1;
	b->dirty = false;
	return 0;
}

/* Fills b->buf with block b->id: from the file if it was ever written
 * there, else zeroes.  Returns -1 after error() and fail(). */
static int load(struct recstore *rs, struct recstore_block *b)
{
	char *p = b->buf;
	size_t left = rs->block;
	off_t off = (off_t)(b->id * rs->block);

	if (b->id >= rs->file_blocks) {
		memset(b->buf, 0, rs->block);
		return 0;
	}
	/* blocks below file_blocks that were never written read as zeroes
	 * (a hole), which is what they hold */
	while (left) {
		ssize_t r = pread(fileno(rs->f), p, left, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			error("cannot read back a temporary file: %s",
			      r < 0 ? strerror(errno) : "unexpected end of file");
			fail(rs);
			return -1;
		}
		p += r;
		off += r;
		left -= (size_t)r;
	}
	return 0;
}

/* Makes block id resident (loading it, after evicting the least recently
 * used block if memory is full) and returns it, or NULL once failed. */
static struct recstore_block *get_block(struct recstore *rs, uint64_t id)
{
	struct recstore_block *b;
	uint32_t slot = rs->slot_of[id];

	if (slot)
		return &rs->blocks[slot - 1];
	if (rs->nblocks < rs->max_blocks) {
		/* allocated whole, once: hot points into it and must not move */
		if (!rs->blocks)
			rs->blocks = xcalloc(rs->max_blocks, sizeof(*rs->blocks));
		b = &rs->blocks[rs->nblocks++];
		memset(b, 0, sizeof(*b));
		b->buf = xmalloc(rs->block);
	} else {
		/* a linear scan, but only beside a 64 KiB write and read */
		b = &rs->blocks[0];
		for (size_t k = 1; k < rs->nblocks; k++)
			if (rs->blocks[k].used < b->used)
				b = &rs->blocks[k];
		if (b->dirty && write_back(rs, b) < 0)
			return NULL;
		rs->slot_of[b->id] = 0;
		b->valid = false;
		if (rs->hot == b)
			rs->hot = NULL;
	}
	b->id = id;
	b->dirty = false;
	if (load(rs, b) < 0)
		return NULL;
	b->valid = true;
	rs->slot_of[id] = (uint32_t)(b - rs->blocks) + 1;
	return b;
}

/* Record i of a resident block, made the hot one and marked dirty. */
static void *touch(struct recstore *rs, struct recstore_block *b, uint64_t i)
{
	b->used = ++rs->clock;
	b->dirty = true;
	rs->hot = b;
	return b->buf + (i % rs->per_block) * rs->size;
}

void *recstore_at_slow(struct recstore *rs, uint64_t i)
{
	struct recstore_block *b;

	if (i >= rs->nr)
		BUG("recstore index %llu past %llu records", (unsigned long long)i,
		    (unsigned long long)rs->nr);
	if (rs->failed || !(b = get_block(rs, i / rs->per_block)))
		return scratch(rs);
	return touch(rs, b, i);
}

void *recstore_push(struct recstore *rs)
{
	uint64_t i = rs->nr++, id = i / rs->per_block;
	struct recstore_block *b;
	char *rec;

	if (i % rs->per_block == 0) {
		/* a new block: nothing of it is anywhere yet */
		ALLOC_GROW(rs->slot_of, id + 1, rs->slot_alloc);
		rs->slot_of[id] = 0;
	}
	if (rs->failed || !(b = get_block(rs, id)))
		return scratch(rs);
	rec = touch(rs, b, i);
	memset(rec, 0, rs->size);
	return rec;
}
