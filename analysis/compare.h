#ifndef POOLSCOPE_COMPARE_H
#define POOLSCOPE_COMPARE_H
#include <stdbool.h>
#include <stddef.h>
#include "analysis/analyze.h"
/*
 * Before/after comparison: the incident's "Performance Improvements" table,
 * measured, and its success criteria checked from data.  Two analyses in,
 * rows and a checklist out; writers render them (text, JSON, Markdown).
 *
 * A row is "worse" when the after figure moved in the bad direction:
 *   timeouts      any increase of the count
 *   HTTP 5xx      an increase of both the count and the share of requests
 *   hold p95      more than 10 % up, same evidence on both sides; the batch
 *                 holds' p95 when both sides have batch holds, else all holds'
 * Those three are the headline rows: one of them worse is a regression
 * (compare exits 1).  Other rows are context.
 */

enum cmp_dir { CMP_NEUTRAL = 0, CMP_LOWER_BETTER, CMP_HIGHER_BETTER };
enum cmp_verdict { CMP_UNKNOWN = 0, CMP_SAME, CMP_BETTER, CMP_WORSE, CMP_CHANGED };
const char *cmp_verdict_name(enum cmp_verdict v);

struct cmp_row {
	const char *key;        /* static: JSON key ("timeouts") */
	const char *label;      /* static: "Timeout errors" */
	const char *unit;       /* static: "s", "", "%", "connections" */
	double before, after;   /* NAN if unknown */
	char before_text[48];   /* how to print it ("100-500", "10+20=30") */
	char after_text[48];
	enum cmp_dir dir;
	enum cmp_verdict verdict;
	bool headline;
	const char *note;       /* static, or NULL: why unknown, which evidence */
};

enum crit_result { CRIT_UNKNOWN = 0, CRIT_PASS, CRIT_FAIL };
const char *crit_result_name(enum crit_result r);

struct cmp_criterion {
	const char *key;        /* static: "no_timeouts" */
	const char *label;      /* static: the incident's words */
	enum crit_result result;
	char detail[256];       /* the figures it rests on */
};

struct compare_opts {
	int64_t latency_bound_usec;  /* "API responsive": p95 during batches at most
	                                this (default 1 s) */
	double usage_limit_pct;      /* "pool usage during aggregation below" (80) */
	double hold_p95_tolerance;   /* fraction (0.10) */
};
void compare_opts_init(struct compare_opts *o);

#define CMP_MAX_ROWS 32
#define CMP_MAX_CRIT 4
struct comparison {
	const struct analysis *before, *after; /* borrowed */
	struct compare_opts opts;
	struct cmp_row rows[CMP_MAX_ROWS];
	size_t nrows;
	struct cmp_criterion crit[CMP_MAX_CRIT];
	size_t ncrit;
	bool regression;           /* a headline row is worse */
};

void compare_run(const struct analysis *before, const struct analysis *after,
		 const struct compare_opts *opts, struct comparison *c);
/* JSON: {"before": {...summary}, "after": {...}, "rows": [...],
 * "criteria": [...], "regression": bool} */
void compare_write_json(const struct comparison *c, struct jw *w);
void compare_write_text(const struct comparison *c, struct strbuf *out);
void compare_write_markdown(const struct comparison *c, struct strbuf *out);
#endif
