#ifndef POOLSCOPE_STRVEC_H
#define POOLSCOPE_STRVEC_H
#include <stddef.h>
/* A growable array of owned, NUL-terminated strings. */
struct strvec {
	char **v;   /* owned, v[nr] == NULL */
	size_t nr, alloc;
};
#define STRVEC_INIT { NULL, 0, 0 }
void strvec_push(struct strvec *sv, const char *s);
void strvec_clear(struct strvec *sv);
void strvec_sort(struct strvec *sv);
#endif
