#ifndef POOLSCOPE_TEXTFMT_H
#define POOLSCOPE_TEXTFMT_H
#include <stdbool.h>
#include <stddef.h>
#include "analysis/analyze.h"
#include "core/strbuf.h"
/*
 * Formatting shared by the text, Markdown and HTML writers.  Everything
 * that may carry log text goes through tf_clean() (text), tf_md() (Markdown)
 * or tf_html() (HTML): control characters never reach a terminal, and
 * markup from a log never becomes markup.
 */

/* "14:03:12.345" (UTC) */
void tf_time(struct strbuf *o, log_usec t);
/* "2025-10-20 14:03:12 UTC" */
void tf_iso(struct strbuf *o, log_usec t);
/* "85 ms", "3.21 s", "1m39s", "2h05m" for a duration in usec */
void tf_dur(struct strbuf *o, double usec);
/* A time step: "10 s", "1 min", "2 h", "0.5 s" */
void tf_step(struct strbuf *o, int64_t usec);
/* "3.0-12.1 s" */
void tf_dur_range(struct strbuf *o, double lo_usec, double hi_usec);
/* "path:line"; in Markdown as a code span */
void tf_ref(struct strbuf *o, const struct analysis *a, uint32_t src, uint32_t line, bool md);
/* Up to max bytes of s with control characters as '?' (and "..." if cut). */
void tf_clean(struct strbuf *o, const char *s, size_t max);
/* 'name' (text) or `name` (Markdown, escaped) */
void tf_quoted(struct strbuf *o, const char *s, bool md);
/* Markdown-escaped text (also safe inside a table cell). */
void tf_md(struct strbuf *o, const char *s, size_t max);
/* HTML-escaped text (& < > " '), control characters as '?'. */
void tf_html(struct strbuf *o, const char *s, size_t max);
/* "size 10 + overflow 20, timeout 30 s" (unknown parts left out) */
void tf_pool_config(struct strbuf *o, const struct pool_config *c);
#endif
