#include "core/arena.h"
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/banned.h"

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a, size_t block_size)
{
	a->head = NULL;
	a->block_size = block_size ? block_size : 64 * 1024;
	a->used_total = 0;
}

void arena_release(struct arena *a)
{
	struct arena_block *b = a->head;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->used_total = 0;
}

void arena_reset(struct arena *a)
{
	struct arena_block *b;
	if (!a->head)
		return;
	b = a->head->next;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head->next = NULL;
	a->head->used = 0;
	a->used_total = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	n = (n + 7) & ~(size_t)7;
	if (!b || b->size - b->used < n) {
		size_t size = n > a->block_size ? n : a->block_size;
		struct arena_block *nb = xmalloc(sizeof(*nb) + size);
		nb->size = size;
		nb->used = 0;
		if (b && n > a->block_size) {
			/* oversized: keep the current block at the head */
			nb->next = b->next;
			b->next = nb;
			nb->used = n;
			a->used_total += n;
			return nb->data;
		}
		nb->next = b;
		a->head = b = nb;
	}
	b->used += n;
	a->used_total += n;
	return b->data + b->used - n;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* FNV-1a: short keys (endpoints, connection ids), cheap and good enough. */
uint32_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return h;
}

void strtab_init(struct strtab *t)
{
	arena_init(&t->arena, 64 * 1024);
	t->slots = NULL;
	t->hashes = NULL;
	t->nslots = 0;
	t->count = 0;
}

void strtab_release(struct strtab *t)
{
	arena_release(&t->arena);
	free(t->slots);
	free(t->hashes);
	t->slots = NULL;
	t->hashes = NULL;
	t->nslots = t->count = 0;
}

static void strtab_rehash(struct strtab *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 256;
	const char **slots = xcalloc(n, sizeof(*slots));
	uint32_t *hashes = xcalloc(n, sizeof(*hashes));
	for (size_t i = 0; i < t->nslots; i++) {
		size_t j;
		if (!t->slots[i])
			continue;
		j = t->hashes[i] & (n - 1);
		while (slots[j])
			j = (j + 1) & (n - 1);
		slots[j] = t->slots[i];
		hashes[j] = t->hashes[i];
	}
	free(t->slots);
	free(t->hashes);
	t->slots = slots;
	t->hashes = hashes;
	t->nslots = n;
}

const char *strtab_intern(struct strtab *t, const char *s, size_t len)
{
	uint32_t h;
	size_t i;
	char *copy;
	if (!s)
		return NULL;
	len = strnlen(s, len); /* C strings: an embedded NUL ends the string */
	if ((t->count + 1) * 4 >= t->nslots * 3)
		strtab_rehash(t);
	h = hash_bytes(s, len);
	i = h & (t->nslots - 1);
	while (t->slots[i]) {
		if (t->hashes[i] == h && !strncmp(t->slots[i], s, len) && t->slots[i][len] == '\0')
			return t->slots[i];
		i = (i + 1) & (t->nslots - 1);
	}
	copy = arena_strndup(&t->arena, s, len);
	t->slots[i] = copy;
	t->hashes[i] = h;
	t->count++;
	return copy;
}
