#ifndef POOLSCOPE_AUDIT_H
#define POOLSCOPE_AUDIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "analysis/analyze.h"
#include "core/json.h"
#include "core/strbuf.h"
/*
 * The nightly audit's judgement: thresholds over one run's analysis, giving
 * findings with file:line evidence, and the exit code (0 all hold, 1 any
 * breached).  docs/audit.md lists every threshold with its default and why.
 *
 * Thresholds come from defaults, then a config file of `key = value` lines,
 * then command-line options (same key names); "off" disables one.
 */

enum audit_level {
	AUDIT_INFO = 0,   /* worth knowing; never fails the audit */
	AUDIT_WARNING,    /* a threshold breached */
	AUDIT_CRITICAL,   /* users were (or nearly were) refused */
	AUDIT_LEVEL__COUNT
};
const char *audit_level_name(enum audit_level l);

struct audit_thresholds {
	int64_t max_timeouts;        /* pool checkout timeouts allowed (0); -1 off */
	double max_usage_pct;        /* peak usage above this warns (80, the incident's
				      * dashboard); < 0 off */
	bool exhausted;              /* usage at capacity is critical (on) */
	int64_t max_hold_p95_usec;   /* hold p95 above this warns (30 s); -1 off */
	double max_5xx_pct;          /* share of 5xx responses (1 %); < 0 off */
	int64_t min_requests;        /* ...judged only with this many requests (100) */
	int64_t max_too_many_clients; /* PostgreSQL refusals allowed (0); -1 off */
	double max_unparsed_pct;     /* per input, share of unparsed lines (5 %); < 0 off */
	int64_t min_lines;           /* ...judged only with this many lines read (20) */
	enum audit_level fail_on;    /* lowest level that fails the audit (warning) */
	struct pool_config pool;     /* pool settings when the logs do not say */
};

void audit_thresholds_init(struct audit_thresholds *t);
/*
 * Set one threshold by its key ("max-timeouts") from text ("3", "off",
 * "30s", "2.5").  Returns 0, or -1 with a one-line reason in why (no
 * "error:" prefix; the caller adds where it came from).
 */
int audit_threshold_set(struct audit_thresholds *t, const char *key, const char *value,
			struct strbuf *why);
/* True if key names a threshold. */
bool audit_threshold_known(const char *key);
/*
 * Read `key = value` lines ('#' starts a comment, blank lines ignored).
 * Returns 0, or -1 after error() naming file:line.
 */
int audit_config_load(struct audit_thresholds *t, const char *path);
/* Every key with its current value, one "key = value" line each (for
 * --show-config and the docs). */
void audit_thresholds_dump(const struct audit_thresholds *t, struct strbuf *out);

/* A file:line a finding points at; excerpt holds the raw bytes of that line
 * (may contain NUL and control characters: escape it for any output). */
#define AUDIT_MAX_REFS 5
#define AUDIT_EXCERPT_MAX 240
struct audit_ref {
	char *path;        /* owned */
	uint64_t line;
	char *excerpt;     /* owned, or NULL until audit_fill_excerpts() */
	size_t excerpt_len;
};

struct audit_finding {
	enum audit_level level;
	const char *code;  /* static: "pool_timeouts", "pool_usage", ... */
	char *message;     /* owned: one line, may quote file names */
	double value;      /* the measured figure, NaN if none */
	double threshold;  /* the limit it was held to, NaN if none */
	size_t nrefs;
	struct audit_ref refs[AUDIT_MAX_REFS];
	size_t more_refs;  /* evidence beyond the refs kept */
};

struct audit_result {
	struct audit_finding *v; /* owned */
	size_t nr, alloc;
	/* what this run read */
	uint64_t files, lines, bytes;
};

void audit_result_init(struct audit_result *r);
void audit_result_release(struct audit_result *r);
/* Add a finding; returns it for adding refs.  message is copied. */
struct audit_finding *audit_add(struct audit_result *r, enum audit_level level, const char *code,
				double value, double threshold, const char *message);
/* Add a file:line reference (counted in more_refs beyond AUDIT_MAX_REFS). */
void audit_add_ref(struct audit_finding *f, const char *path, uint64_t line);

/*
 * Judge an analysis against the thresholds: appends findings to r (in a
 * fixed order: timeouts, exhausted, usage, refusals, 5xx, holds, unparsed)
 * and fills r's read totals from the timeline's sources.
 */
void audit_evaluate(const struct analysis *a, const struct audit_thresholds *t,
		    struct audit_result *r);
/*
 * Read the excerpt of every reference from its file.  A reference into one
 * of tl's sources is read from that source's start offset (the lines this
 * run read); others from the top of the file.  Unreadable files leave the
 * excerpt NULL (evidence is a courtesy, never an error).
 */
void audit_fill_excerpts(struct audit_result *r, const struct timeline *tl);

/* The most severe level present, or -1 if there are no findings. */
int audit_worst(const struct audit_result *r);
/* EXIT_OK or EXIT_FINDINGS by t->fail_on. */
int audit_exit_code(const struct audit_result *r, const struct audit_thresholds *t);

/* The DESIGN.md audit object: the analyze fields, then "read" and
 * "findings" (each {level, code, message, value, threshold, evidence[]}). */
void audit_write_json(const struct analysis *a, const struct audit_result *r,
		      const struct audit_thresholds *t, struct jw *w);
/* For the cron mail: a summary line, then one line per finding with its
 * file:line evidence; with excerpts, each evidence line follows indented
 * (control characters shown as \xNN). */
void audit_write_text(const struct analysis *a, const struct audit_result *r,
		      const struct audit_thresholds *t, bool excerpts, struct strbuf *out);
/* Append bytes with control characters, backslash and non-UTF-8 bytes as
 * \xNN, so log text cannot move the cursor or forge a line. */
void audit_add_printable(struct strbuf *out, const char *s, size_t len);
#endif
