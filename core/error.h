#ifndef POOLSCOPE_ERROR_H
#define POOLSCOPE_ERROR_H
#include <stddef.h>
/*
 * Errors (STYLE.md): bad input data is counted, never reported here;
 * operational failures print "error: ..." once and return -1 through
 * error(); broken invariants call BUG(), which aborts.  Out of memory ends
 * the program in the x*alloc() wrappers.
 */

/* Exit codes, named once (documented in README and `poolscope help`). */
enum exit_code {
	EXIT_OK = 0,
	EXIT_FINDINGS = 1, /* audit threshold breached, compare regression */
	EXIT_OPERATIONAL = 2,
	EXIT_USAGE = 64
};

/* Print "error: <fmt>" to stderr; return -1. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "warning: <fmt>" to stderr. */
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "fatal: <fmt>" and exit(EXIT_OPERATIONAL). */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void bug_fl(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define BUG(...) bug_fl(__FILE__, __LINE__, __VA_ARGS__)

/* Program name shown in messages; set once from main(). */
void error_set_progname(const char *name);

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grow *p (holding *alloc elements of size sz) to at least n elements. */
void *xgrow(void *p, size_t *alloc, size_t n, size_t sz);
#define ALLOC_GROW(p, n, alloc) ((p) = xgrow((p), &(alloc), (n), sizeof(*(p))))
#endif
