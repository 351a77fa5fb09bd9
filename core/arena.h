#ifndef POOLSCOPE_ARENA_H
#define POOLSCOPE_ARENA_H
#include <stddef.h>
#include <stdint.h>
/*
 * Bump allocator: many small allocations freed at once.  Memory returned by
 * arena_alloc() is owned by the arena and valid until arena_reset() or
 * arena_release().
 */
struct arena_block;
struct arena {
	struct arena_block *head;
	size_t block_size;
	size_t used_total; /* bytes handed out since init/reset */
};
#define ARENA_INIT { NULL, 64 * 1024, 0 }

void arena_init(struct arena *a, size_t block_size);
void arena_release(struct arena *a);
/* Keep the first block, free the rest; everything handed out goes stale. */
void arena_reset(struct arena *a);
void *arena_alloc(struct arena *a, size_t n); /* 8-byte aligned */
/* Copy s[0..len) plus a NUL into the arena. */
char *arena_strndup(struct arena *a, const char *s, size_t len);

/*
 * String interning: each distinct string is stored once in the table's arena
 * and the same pointer is returned for equal strings, so callers may compare
 * interned strings by pointer.  Pointers stay valid until strtab_release().
 */
struct strtab {
	struct arena arena;
	const char **slots;
	uint32_t *hashes;
	size_t nslots;
	size_t count;
};
#define STRTAB_INIT { ARENA_INIT, NULL, NULL, 0, 0 }

void strtab_init(struct strtab *t);
void strtab_release(struct strtab *t);
const char *strtab_intern(struct strtab *t, const char *s, size_t len);
static inline const char *strtab_intern_cstr(struct strtab *t, const char *s)
{
	size_t n = 0;
	if (!s)
		return NULL;
	while (s[n])
		n++;
	return strtab_intern(t, s, n);
}
uint32_t hash_bytes(const void *p, size_t len);
#endif
