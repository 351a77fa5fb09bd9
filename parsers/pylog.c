#define _GNU_SOURCE /* memmem */
#include "parsers/pylog.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/arena.h"
#include "core/error.h"
#include "core/numparse.h"
#include "parsers/format.h"
#include "parsers/formats.h"
#include "core/banned.h"

/*
 * Python application logs.  Reading and parsing are two steps (STYLE.md):
 * continues() decides from the header table alone whether a physical line
 * starts a record; parse() classifies the record's message with a table of
 * prefixes after cheap substring prefilters (find_lit()), because almost every line of an
 * application log is uninteresting.
 *
 * Reference: ../shared/reference/sqlalchemy-pool.md sections 2-5.
 */

/*
 * Substring search for the short literals of this file.  glibc's memmem()
 * prepares a shift table on every call, and this file calls it several times
 * per record: it was a quarter of the instructions of an app-log parse.
 * Instead: memchr() (vectorised) for one byte of the literal, lit[k], picked
 * to be rare in log text, and a memcmp() around each hit.  Candidates are
 * tried left to right, so the result is memmem()'s: the first occurrence.
 */
static const char *find_lit(const char *s, size_t len, const char *lit, size_t ll, size_t k)
{
	const char *p, *end;
	if (ll > len)
		return NULL;
	p = s + k;
	end = s + len - ll + k + 1; /* one past the last place lit[k] can be */
	while (p < end && (p = memchr(p, lit[k], (size_t)(end - p)))) {
		if (!memcmp(p - k, lit, ll))
			return p - k;
		p++;
	}
	return NULL;
}

/* find_lit() on a string literal, keyed on byte K of it. */
#define FIND_LIT(s, len, lit, k) find_lit((s), (len), (lit), sizeof(lit) - 1, (k))

/* ---- header layouts ---- */

enum layout {
	LY_NONE = 0,
	LY_DASH,        /* %(asctime)s - %(name)s - %(levelname)s - %(message)s */
	LY_DASH_NONAME, /* %(asctime)s - %(levelname)s - %(message)s */
	LY_GENERIC,     /* %(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s, and [LEVEL] */
	LY_UVICORN_TS,  /* %(asctime)s %(levelprefix)s %(message)s (uvicorn --log-config) */
	LY_ECHO,        /* %(asctime)s %(levelname)s %(name)s %(message)s (SQLAlchemy echo) */
	LY_GUNICORN,    /* [%Y-%m-%d %H:%M:%S %z] [%(process)d] [%(levelname)s] %(message)s */
	LY_CELERY,      /* [%(asctime)s: %(levelname)s/%(processName)s] %(message)s */
	LY_UVICORN,     /* %(levelprefix)s %(message)s: "INFO:     msg", no time */
	LY_BASIC,       /* basicConfig: %(levelname)s:%(name)s:%(message)s, no time */
	LY__COUNT
};

/*
 * How header times are read: the zone for times without one, and the
 * input's time cache (NULL where there is no input, as in detection).
 */
struct hdr_time {
	const struct tzinfo *tz;     /* borrowed */
	struct logtime_cache *tc;    /* borrowed, or NULL */
};

struct hdr {
	uint8_t layout;     /* enum layout; LY_NONE: not a header */
	bool has_ts, had_zone;
	log_usec ts;
	uint32_t name_off, name_len; /* logger name, name_len 0 if the layout has none */
	uint32_t msg_off;   /* message start */
	int32_t pid;
};

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a level name at s (followed by anything), 0 if none. */
static size_t level_at(const char *s, size_t len)
{
	static const struct { const char *w; size_t n; } levels[] = {
		{ "DEBUG", 5 }, { "INFO", 4 }, { "WARNING", 7 }, { "ERROR", 5 }, { "CRITICAL", 8 },
		{ "WARN", 4 }, { "FATAL", 5 }, { "TRACE", 5 }, { "NOTSET", 6 },
	};
	if (!len || s[0] < 'C' || s[0] > 'W')
		return 0;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (len >= levels[i].n && !memcmp(s, levels[i].w, levels[i].n) &&
		    (len == levels[i].n || !(s[levels[i].n] >= 'A' && s[levels[i].n] <= 'Z')))
			return levels[i].n;
	return 0;
}

static size_t ts_at(const char *s, size_t len, const struct hdr_time *ht, struct hdr *h)
{
	size_t n;
	if (len < 19 || !is_digit(s[0]))
		return 0;
	n = logtime_parse_cached(ht->tc, s, len, ht->tz, &h->ts, &h->had_zone);
	if (n)
		h->has_ts = true;
	return n;
}

static bool starts(const char *s, size_t len, size_t i, const char *lit, size_t ll)
{
	return i + ll <= len && !memcmp(s + i, lit, ll);
}
#define STARTS(s, len, i, lit) starts((s), (len), (i), (lit), sizeof(lit) - 1)

static size_t pid_brackets(const char *s, size_t len, size_t i, int32_t *pid)
{
	size_t j = i + 1;
	int64_t v;
	if (i >= len || s[i] != '[')
		return 0;
	while (j < len && is_digit(s[j]) && j - i < 11)
		j++;
	if (j == i + 1 || j >= len || s[j] != ']' || parse_i64_n(s + i + 1, j - i - 1, &v) < 0 ||
	    v > INT32_MAX)
		return 0;
	*pid = (int32_t)v;
	return j + 1 - i;
}

/* ts - [name - ]LEVEL - msg */
static bool m_dash(const char *s, size_t len, const struct hdr_time *ht, struct hdr *h)
{
	size_t i = ts_at(s, len, ht, h), lv, j;
	const char *sep;
	if (!i || !STARTS(s, len, i, " - "))
		return false;
	i += 3;
	lv = level_at(s + i, len - i);
	if (lv && (STARTS(s, len, i + lv, " - ") || (i + lv + 2 == len && STARTS(s, len, i + lv, " -")))) {
		h->layout = LY_DASH_NONAME;
		h->msg_off = (uint32_t)(i + lv + 3 > len ? len : i + lv + 3);
		return true;
	}
	sep = FIND_LIT(s + i, len - i, " - ", 1);
	if (!sep || sep == s + i)
		return false;
	j = (size_t)(sep - s);
	h->name_off = (uint32_t)i;
	h->name_len = (uint32_t)(j - i);
	i = j + 3;
	lv = level_at(s + i, len - i);
	if (!lv)
		return false;
	if (STARTS(s, len, i + lv, " - "))
		h->msg_off = (uint32_t)(i + lv + 3);
	else if (i + lv == len || (i + lv + 2 == len && STARTS(s, len, i + lv, " -")))
		h->msg_off = (uint32_t)len;
	else
		return false;
	h->layout = LY_DASH;
	return true;
}

/* ts [pid] LEVEL name: msg; ts [LEVEL] name: msg; ts LEVEL [name] msg */
static bool m_generic(const char *s, size_t len, const struct hdr_time *ht, struct hdr *h)
{
	size_t i = ts_at(s, len, ht, h), lv, n, j;
	bool bracket_level = false, any = false;
	if (!i || !STARTS(s, len, i, " "))
		return false;
	i++;
	if ((n = pid_brackets(s, len, i, &h->pid))) {
		i += n;
		if (!STARTS(s, len, i, " "))
			return false;
		i++;
		any = true;
	}
	if (STARTS(s, len, i, "[")) {
		bracket_level = true;
		i++;
	}
	if (!(lv = level_at(s + i, len - i)))
		return false;
	i += lv;
	if (bracket_level) {
		if (!STARTS(s, len, i, "]"))
			return false;
		i++;
		any = true;
	}
	if (!STARTS(s, len, i, " "))
		return false;
	i++;
	if (STARTS(s, len, i, "[")) {
		/* [name] msg */
		const char *e = memchr(s + i, ']', len - i);
		if (!e || e == s + i + 1)
			return false;
		j = (size_t)(e - s);
		h->name_off = (uint32_t)(i + 1);
		h->name_len = (uint32_t)(j - i - 1);
		h->msg_off = (uint32_t)(j + 1 < len && s[j + 1] == ' ' ? j + 2 : j + 1);
		h->layout = LY_GENERIC;
		return true;
	}
	/* name: msg -- a name is one token */
	for (j = i; j < len && s[j] != ' ' && s[j] != ':'; j++)
		;
	if (j > i && j < len && s[j] == ':' && (j + 1 == len || s[j + 1] == ' ')) {
		h->name_off = (uint32_t)i;
		h->name_len = (uint32_t)(j - i);
		h->msg_off = (uint32_t)(j + 1 < len ? j + 2 : len);
		h->layout = LY_GENERIC;
		return true;
	}
	if (any) {
		/* ts [pid] LEVEL msg, no name */
		h->msg_off = (uint32_t)i;
		h->layout = LY_GENERIC;
		return true;
	}
	return false;
}

/* ts LEVEL:  msg (uvicorn levelprefix with an asctime) */
static bool m_uvicorn_ts(const char *s, size_t len, const struct hdr_time *ht, struct hdr *h)
{
	size_t i = ts_at(s, len, ht, h), lv;
	if (!i || !STARTS(s, len, i, " "))
		return false;
	i++;
	if (!(lv = level_at(s + i, len - i)) || !STARTS(s, len, i + lv, ": "))
		return false;
	i += lv + 1;
	while (i < len && s[i] == ' ')
		i++;
	h->msg_off = (uint32_t)i;
	h->layout = LY_UVICORN_TS;
	return true;
}

/* ts LEVEL name msg */
static bool m_echo(const char *s, size_t len, const struct hdr_time *ht, struct hdr *h)
{
	size_t i = ts_at(s, len, ht, h), lv, j;
	if (!i || !STARTS(s, len, i, " "))
		return false;
	i++;
	if (!(lv = level_at(s + i, len - i)) || !STARTS(s, len, i + lv, " "))
		return false;
	i += lv + 1;
	for (j = i; j < len && s[j] != ' '; j++)
		;
	if (j == i || s[j - 1] == ':')
		return false;
	h->name_off = (uint32_t)i;
	h->name_len = (uint32_t)(j - i);
	h->msg_off = (uint32_t)(j < len ? j + 1 : len);
	h->layout = LY_ECHO;
	return true;
}

/* [2026-11-26 15:02:33 +0000] [9156] [INFO] msg */
static bool m_gunicorn(const char *s, size_t len, const struct hdr_time *ht, struct hdr *h)
{
	size_t i, n, lv;
	if (len < 22 || s[0] != '[')
		return false;
	if (!(n = ts_at(s + 1, len - 1, ht, h)) || !STARTS(s, len, 1 + n, "] "))
		return false;
	i = 1 + n + 2;
	if (!(n = pid_brackets(s, len, i, &h->pid)) || !STARTS(s, len, i + n, " ["))
		return false;
	i += n + 2;
	if (!(lv = level_at(s + i, len - i)) || !STARTS(s, len, i + lv, "]"))
		return false;
	i += lv + 1;
	h->msg_off = (uint32_t)(i < len && s[i] == ' ' ? i + 1 : i);
	h->layout = LY_GUNICORN;
	return true;
}

/* [2026-11-26 15:02:33,123: INFO/MainProcess] msg */
static bool m_celery(const char *s, size_t len, const struct hdr_time *ht, struct hdr *h)
{
	size_t i, n, lv;
	const char *e;
	if (len < 22 || s[0] != '[')
		return false;
	if (!(n = ts_at(s + 1, len - 1, ht, h)) || !STARTS(s, len, 1 + n, ": "))
		return false;
	i = 1 + n + 2;
	if (!(lv = level_at(s + i, len - i)) || !STARTS(s, len, i + lv, "/"))
		return false;
	i += lv + 1;
	if (!(e = memchr(s + i, ']', len - i)))
		return false;
	i = (size_t)(e - s) + 1;
	h->msg_off = (uint32_t)(i < len && s[i] == ' ' ? i + 1 : i);
	h->layout = LY_CELERY;
	return true;
}

/* Skip an ANSI colour sequence "\033[...m" at s[i]. */
static size_t skip_ansi(const char *s, size_t len, size_t i)
{
	if (i + 2 < len && s[i] == '\033' && s[i + 1] == '[') {
		size_t j = i + 2;
		while (j < len && (is_digit(s[j]) || s[j] == ';'))
			j++;
		if (j < len && s[j] == 'm')
			return j + 1;
	}
	return i;
}

/* "INFO:     msg": levelprefix pads "LEVEL:" to 9 columns, then one space */
static bool m_uvicorn(const char *s, size_t len, const struct hdr_time *ht, struct hdr *h)
{
	size_t i = skip_ansi(s, len, 0), lv;
	(void)ht;
	if (!(lv = level_at(s + i, len - i)))
		return false;
	i = skip_ansi(s, len, i + lv);
	if (!STARTS(s, len, i, ": "))
		return false;
	i += 1;
	while (i < len && s[i] == ' ')
		i++;
	h->msg_off = (uint32_t)i;
	h->layout = LY_UVICORN;
	return true;
}

/* LEVEL:name:msg */
static bool m_basic(const char *s, size_t len, const struct hdr_time *ht, struct hdr *h)
{
	size_t lv = level_at(s, len), j;
	(void)ht;
	if (!lv || !STARTS(s, len, lv, ":") || lv + 1 >= len || s[lv + 1] == ' ')
		return false;
	for (j = lv + 1; j < len && s[j] != ':' && s[j] != ' '; j++)
		;
	if (j >= len || s[j] != ':')
		return false;
	h->name_off = (uint32_t)(lv + 1);
	h->name_len = (uint32_t)(j - lv - 1);
	h->msg_off = (uint32_t)(j + 1);
	h->layout = LY_BASIC;
	return true;
}

/*
 * The header table.  `lead` is the class of the first byte the layout can
 * start with ('0' digit, 'A' capital or ESC, '[' bracket), so a traceback
 * line (leading space) costs one comparison.
 */
typedef bool (*hdr_match_fn)(const char *s, size_t len, const struct hdr_time *ht,
			     struct hdr *h);
static const struct layout_def {
	const char *name;
	char lead;
	hdr_match_fn match;
} layouts[LY__COUNT] = {
	[LY_DASH] = { "asctime - name - level", '0', m_dash },
	[LY_DASH_NONAME] = { "asctime - level", '0', m_dash },
	[LY_GENERIC] = { "asctime [pid] level name:", '0', m_generic },
	[LY_UVICORN_TS] = { "asctime levelprefix", '0', m_uvicorn_ts },
	[LY_ECHO] = { "asctime level name (sqlalchemy echo)", '0', m_echo },
	[LY_GUNICORN] = { "gunicorn error log", '[', m_gunicorn },
	[LY_CELERY] = { "celery", '[', m_celery },
	[LY_UVICORN] = { "uvicorn levelprefix", 'A', m_uvicorn },
	[LY_BASIC] = { "basicConfig LEVEL:name:", 'A', m_basic },
};

static char lead_class(char c)
{
	if (is_digit(c))
		return '0';
	if ((c >= 'A' && c <= 'Z') || c == '\033')
		return 'A';
	if (c == '[')
		return '[';
	return 0;
}

/* Match s[0..len) (one line) against the table, trying `hint` first. */
static bool header_match(const char *s, size_t len, const struct hdr_time *ht, uint8_t hint,
			 struct hdr *h)
{
	char lc;
	if (!len || !(lc = lead_class(s[0])))
		return false;
	if (hint && layouts[hint].lead == lc) {
		memset(h, 0, sizeof(*h));
		if (layouts[hint].match(s, len, ht, h))
			return true;
	}
	for (int l = 1; l < LY__COUNT; l++) {
		if (l == hint || layouts[l].lead != lc || (l == LY_DASH_NONAME))
			continue;
		memset(h, 0, sizeof(*h));
		if (layouts[l].match(s, len, ht, h))
			return true;
	}
	h->layout = LY_NONE;
	return false;
}

/*
 * What of the hint header_match() uses on s: the hint only moves one
 * layout to the front of the table order, so two hints give the same
 * answer when they give the same order.  That is the table order itself
 * (0 here) when the hint is none, of another lead class than s, or the
 * lead class's first matcher (LY_DASH_NONAME shares m_dash, the first of
 * '0'); otherwise the hint.  The pylog header cache compares these.
 */
static uint8_t match_order(uint8_t hint, const char *s, size_t len)
{
	char lc;
	if (!hint || !len || !(lc = lead_class(s[0])) || layouts[hint].lead != lc)
		return 0;
	for (int l = 1; l < LY__COUNT; l++)
		if (layouts[l].lead == lc)
			return layouts[l].match == layouts[hint].match ? 0 : hint;
	return hint;
}

size_t pylog_message_offset(const char *s, size_t len)
{
	static const struct hdr_time no_tz = { NULL, NULL };
	struct hdr h;
	const char *nl = memchr(s, '\n', len);
	if (nl)
		len = (size_t)(nl - s);
	return header_match(s, len, &no_tz, 0, &h) ? h.msg_off : 0;
}

/* ---- line classes used by continues() and detect() ---- */

/* An access-log message ("... \"GET /x HTTP/1.1\" 200"): another family's
 * record, even when a Python formatter put a header in front of it. */
static bool access_like(const char *s, size_t len)
{
	const char *h = FIND_LIT(s, len, " HTTP/", 1);
	return h && memchr(s, '"', (size_t)(h - s)) && memchr(h, '"', len - (size_t)(h - s));
}

/* A line a traceback or a multi-line exception message is made of. */
static bool traceback_like(const char *s, size_t len)
{
	size_t i = 0;
	if (!len)
		return true;
	if (s[0] == ' ' || s[0] == '\t')
		return true;
	if (STARTS(s, len, 0, "Traceback (most recent call last):") ||
	    STARTS(s, len, 0, "During handling of the above exception") ||
	    STARTS(s, len, 0, "The above exception was the direct cause"))
		return true;
	/* "sqlalchemy.exc.TimeoutError: ...", "KeyboardInterrupt" */
	while (i < len && (s[i] == '_' || s[i] == '.' || is_digit(s[i]) ||
			   (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	return i > 0 && (i == len || (s[i] == ':' && (i + 1 == len || s[i + 1] == ' ')) ||
			 (s[i] == '(' && s[len - 1] == ')'));
}

/* ---- per-input state ---- */

#define RING 16
#define DUP_WINDOW_USEC 5000 /* duplicate handlers write one record within ~5 ms */
#define MAX_REC_EVENTS 4
#define TEXT_CAP 300

struct ring_entry {
	uint64_t key;
	uint8_t layout;
	log_usec ts;    /* LOG_USEC_NONE if the record had no time */
	uint64_t recno;
};

struct held {
	size_t n;
	struct event ev[MAX_REC_EVENTS];
	struct ring_entry id;
	log_usec last_ts; /* the input's last time when it was held */
};

struct pylog {
	const struct tzinfo *tz;
	struct logtime_cache tc; /* continues() reads every line's time */
	struct hdr_time ht;      /* { tz, &tc } */
	uint8_t last_layout;
	/* header cache: continues() matched line `cache_line` */
	uint64_t cache_line;
	bool cache_valid, cache_is_hdr;
	uint8_t cache_order; /* match_order() of the hint it was matched with */
	struct hdr cache;
	/*
	 * The entry before it.  The driver asks continues() about the line
	 * after a record before it hands parse() the record, so by then the
	 * cache above holds the next record's first line and the header of
	 * this one would be matched a second time.  This slot keeps it; it is
	 * used only when make_view()'s hint gives the same match_order(), so
	 * what it gives is what matching again would.
	 */
	uint64_t prev_line;
	bool prev_valid, prev_is_hdr;
	uint8_t prev_order;
	struct hdr prev;
	uint64_t cur_line; /* record being collected, and whether it starts with a header */
	bool cur_known, cur_is_hdr;
	uint64_t nrec;
	struct ring_entry ring[RING];
	size_t ring_next;
	struct held held;
	struct arena held_strings;
	struct user_formats *batch; /* owned: the built-in batch rules */
};

const char pylog_batch_rules[] =
	"# Built-in batch rules (pylog): the incident's aggregation worker and the\n"
	"# usual 'batch start' / 'batch end' wordings.  First match wins.\n"
	"[processing]\n"
	"kind = batch_start\n"
	"origin = batch\n"
	"needle = atch\n"
	"pattern = (?i)\\b(?:processing|starting|beginning|begin|start)\\s+(?<name>[a-z][\\w-]*)\\s+batch\\b(?:\\s+(?:of|with))?[:,]?\\s*(?:(?<entries>\\d+)\\s+(?:entries|items|records|rows))?(?:.*?\\bworkers=(?<connections>\\d+))?\n"
	"[complete]\n"
	"kind = batch_end\n"
	"origin = batch\n"
	"needle = atch\n"
	"pattern = (?i)\\b(?<name>[a-z][\\w-]*)\\s+batch\\s+(?:complete|completed|done|finished|ended|end)\\b[:,]?\\s*(?:(?<processed>\\d+)\\s+(?:entries|items|records|rows)\\s+processed|(?<entries>\\d+)\\s+(?:entries|items|records|rows))?(?:\\s+in\\s+(?:(?<dur_s>\\d+(?:\\.\\d+)?)\\s*s\\b|(?<dur_ms>\\d+(?:\\.\\d+)?)\\s*ms\\b))?(?:.*?\\bworkers=(?<connections>\\d+))?(?:.*?\\bcommits=(?<commits>\\d+))?\n"
	"[name-batch-start]\n"
	"kind = batch_start\n"
	"origin = batch\n"
	"needle = atch\n"
	"pattern = (?i)\\b(?<name>[a-z][\\w-]*)\\s+batch[ _-](?:start|started|begin|begins)\\b(?:.*?\\b(?:entries|size|count)[=:]\\s*(?<entries>\\d+)|.*?\\b(?<entries>\\d+)\\s+(?:entries|items|records|rows))?\n"
	"[batch-start-name]\n"
	"kind = batch_start\n"
	"origin = batch\n"
	"needle = atch\n"
	"pattern = (?i)\\bbatch[ _-](?:start|started|begin|begins)\\b(?:[:,]?\\s*(?:(?:name|kind|type)=)?(?!(?:entries|size|count)\\b)(?<name>[a-z][\\w-]*))?(?:.*?\\b(?:entries|size|count)[=:]\\s*(?<entries>\\d+)|.*?\\b(?<entries>\\d+)\\s+(?:entries|items|records|rows))?\n"
	"[name-batch-end]\n"
	"kind = batch_end\n"
	"origin = batch\n"
	"needle = atch\n"
	"pattern = (?i)\\b(?<name>[a-z][\\w-]*)\\s+batch[ _-](?:end|ended|finished)\\b(?:.*?\\bprocessed[=:]\\s*(?<processed>\\d+))?(?:.*?\\b(?:entries|size|count)[=:]\\s*(?<entries>\\d+))?(?:.*?\\b(?:duration|elapsed|took|time)[=:]\\s*(?<dur_s>\\d+(?:\\.\\d+)?)s?\\b)?\n"
	"[batch-end-name]\n"
	"kind = batch_end\n"
	"origin = batch\n"
	"needle = atch\n"
	"pattern = (?i)\\bbatch[ _-](?:end|ended|done|finished|complete|completed)\\b(?:[:,]?\\s*(?:(?:name|kind|type)=)?(?!(?:entries|size|count|processed|duration|elapsed)\\b)(?<name>[a-z][\\w-]*))?(?:.*?\\bprocessed[=:]\\s*(?<processed>\\d+))?(?:.*?\\b(?:entries|size|count)[=:]\\s*(?<entries>\\d+))?(?:.*?\\b(?:duration|elapsed|took|time)[=:]\\s*(?<dur_s>\\d+(?:\\.\\d+)?)s?\\b)?\n";

static void *pylog_state_new(const struct parse_opts *opts)
{
	struct pylog *st = xcalloc(1, sizeof(*st));
	st->tz = &opts->tz;
	st->ht.tz = st->tz;
	st->ht.tc = &st->tc;
	arena_init(&st->held_strings, 4096);
	for (size_t i = 0; i < RING; i++)
		st->ring[i].ts = LOG_USEC_NONE;
	st->batch = user_formats_compile("pylog batch rules", pylog_batch_rules,
					 sizeof(pylog_batch_rules) - 1);
	if (!st->batch)
		BUG("built-in batch rules do not compile");
	return st;
}

static void pylog_state_free(void *state)
{
	struct pylog *st = state;
	if (!st)
		return;
	arena_release(&st->held_strings);
	user_formats_free(st->batch);
	free(st);
}

/* ---- reading: continuation lines ---- */

/* Not a header, but the start of another family's record (an access line,
 * a timestamped line of another layout): never glued into ours. */
static bool foreign_start(const char *s, size_t len, const struct hdr_time *ht)
{
	log_usec t;
	bool z;
	if (!len || s[0] == ' ' || s[0] == '\t')
		return false;
	if (access_like(s, len))
		return true;
	if (is_digit(s[0]) && logtime_parse_cached(ht->tc, s, len, ht->tz, &t, &z))
		return true;
	if (s[0] == '[' && len > 1 && is_digit(s[1]) &&
	    logtime_parse_cached(ht->tc, s + 1, len - 1, ht->tz, &t, &z))
		return true;
	return false;
}

/* Keep the header cache's entry (a record's first line) before it is replaced. */
static void remember_prev(struct pylog *st)
{
	st->prev = st->cache;
	st->prev_line = st->cache_line;
	st->prev_valid = st->cache_valid;
	st->prev_is_hdr = st->cache_is_hdr;
	st->prev_order = st->cache_order;
}

/*
 * Whether the record began with a header is remembered from the call that
 * started it; only the first record of an input (or of a resumed read) is
 * looked at in rec->s, the record so far.
 */
static bool pylog_continues(void *state, const struct record *rec, const struct line *ln)
{
	struct pylog *st = state;
	struct hdr h;
	uint8_t hint;
	if (!st->cur_known || st->cur_line != rec->line) {
		const char *nl = rec->s ? memchr(rec->s, '\n', rec->len) : NULL;
		st->cur_line = rec->line;
		st->cur_is_hdr = !rec->s || header_match(rec->s, nl ? (size_t)(nl - rec->s) : rec->len,
							 &st->ht, st->last_layout, &h);
		st->cur_known = true;
	}
	hint = st->last_layout;
	if (header_match(ln->s, ln->len, &st->ht, hint, &h)) {
		remember_prev(st);
		st->last_layout = h.layout;
		st->cache = h;
		st->cache_line = ln->no;
		st->cache_valid = st->cache_is_hdr = true;
		st->cache_order = match_order(hint, ln->s, ln->len);
		st->cur_line = ln->no;
		st->cur_is_hdr = true;
		return false;
	}
	if (st->cur_is_hdr ? !foreign_start(ln->s, ln->len, &st->ht) : traceback_like(ln->s, ln->len))
		return true;
	remember_prev(st);
	st->cache_line = ln->no;
	st->cache_valid = true;
	st->cache_is_hdr = false;
	st->cache_order = match_order(hint, ln->s, ln->len);
	st->cur_line = ln->no;
	st->cur_is_hdr = false;
	return false;
}

/* ---- detection ---- */

static int pylog_detect(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	size_t hdrs = 0, other = 0;
	struct hdr_time ht = { &opts->tz, NULL };
	for (size_t i = 0; i < n; i++) {
		struct hdr h;
		const char *s = lines[i].s;
		size_t len = lines[i].len;
		if (header_match(s, len, &ht, 0, &h)) {
			/* a uvicorn access line is the access parsers' to claim */
			if (access_like(s + h.msg_off, len - h.msg_off))
				other++;
			else
				hdrs++;
		} else if (!traceback_like(s, len)) {
			other++;
		}
	}
	if (!hdrs)
		return 0;
	return (int)(hdrs * 100 / (hdrs + other));
}

/* ---- message classification ---- */

struct view {
	const char *msg; /* message through the end of the record (traceback included) */
	size_t len;
	const char *first; /* the message's first line, trailing blanks trimmed */
	size_t flen;
	const char *name; /* logger name or NULL */
	size_t name_len;
	struct hdr h;
};

struct rec_events {
	size_t n;
	struct event ev[MAX_REC_EVENTS];
};

static struct event *add_event(struct rec_events *re, enum event_kind k, const struct view *v,
			       const struct record *rec)
{
	struct event *ev;
	if (re->n >= MAX_REC_EVENTS)
		BUG("more than %d events from one record", MAX_REC_EVENTS);
	ev = &re->ev[re->n++];
	event_init(ev, k);
	ev->ts = v->h.has_ts ? v->h.ts : LOG_USEC_NONE;
	ev->pid = v->h.pid;
	ev->line = (uint32_t)rec->line;
	return ev;
}

static bool name_is(const struct view *v, const char *prefix)
{
	size_t n = strlen(prefix);
	return v->name && v->name_len >= n && !memcmp(v->name, prefix, n);
}

/* First occurrence of lit in s, keyed on its first byte that is not a space
 * (the most common byte of log text). */
static const char *find_str(const char *s, size_t len, const char *lit)
{
	size_t ll = strlen(lit), k = 0;
	while (k + 1 < ll && lit[k] == ' ')
		k++;
	return ll ? find_lit(s, len, lit, ll, k) : s;
}

size_t pylog_conn_id(const char *repr, size_t len, char *out, size_t outsz)
{
	const char *at = FIND_LIT(repr, len, " at 0x", 5);
	size_t n = 0;
	if (!outsz)
		return 0;
	if (at) {
		/* hex digits by table: an address is up to 16 of them a line */
		static const bool hex[256] = {
			['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
			['7'] = 1, ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,
			['e'] = 1, ['f'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
			['F'] = 1,
		};
		const char *p = at + 4;
		const char *end = repr + len;
		n = 2;
		while (p + n < end && hex[(unsigned char)p[n]])
			n++;
		if (n > 2) {
			if (n >= outsz)
				n = outsz - 1;
			memcpy(out, p, n);
			out[n] = '\0';
			return n;
		}
	}
	/* no address: the repr itself, unless it may carry credentials */
	if (memmem(repr, len, "dsn", 3) || memmem(repr, len, "password", 8) ||
	    memmem(repr, len, "@", 1)) {
		int w = snprintf(out, outsz, "conn#%08x", hash_bytes(repr, len));
		return w < 0 ? 0 : (size_t)w >= outsz ? outsz - 1 : (size_t)w;
	}
	n = len < outsz ? len : outsz - 1;
	memcpy(out, repr, n);
	out[n] = '\0';
	return n;
}

static const char *conn_str(struct parse_ctx *ctx, const char *repr, size_t len)
{
	char buf[160];
	size_t n;
	while (len && repr[len - 1] == ' ')
		len--;
	if (!len)
		return NULL;
	n = pylog_conn_id(repr, len, buf, sizeof(buf));
	return parse_str(ctx, buf, n);
}

/* End of a connection repr starting at s: the matching '>' (reprs nest:
 * "<AdaptedConnection <asyncpg... at 0x..>>"); a psycopg2 repr ends at
 * ", closed: N>" because its DSN may hold any character. */
static size_t repr_end(const char *s, size_t len)
{
	int depth = 0;
	if (!len || s[0] != '<')
		return 0;
	if (STARTS(s, len, 0, "<connection object at ") && memmem(s, len, "; dsn: ", 7)) {
		const char *c = memmem(s, len, ", closed: ", 10);
		if (c) {
			size_t i = (size_t)(c - s) + 10;
			while (i < len && (is_digit(s[i]) || s[i] == '-'))
				i++;
			if (i < len && s[i] == '>')
				return i + 1;
		}
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '<')
			depth++;
		else if (s[i] == '>' && --depth == 0)
			return i + 1;
	}
	return 0;
}

enum pool_msg_type {
	PM_CONN_SUFFIX, PM_CONNECT, PM_CLOSE, PM_HARD_CLOSE, PM_INVALIDATE, PM_SOFT_INVALIDATE,
	PM_PREPING, PM_CONNECT_ERROR, PM_DISPOSED, PM_RECREATING, PM_IGNORE
};

/* Messages of the sqlalchemy.pool logger (reference 3.3), by prefix. */
static const struct pool_msg {
	const char *prefix;
	enum pool_msg_type type;
} pool_msgs[] = {
	{ "Connection ", PM_CONN_SUFFIX },
	{ "Created new connection ", PM_CONNECT },
	{ "Closing connection ", PM_CLOSE },
	{ "Hard-closing connection ", PM_HARD_CLOSE },
	{ "Invalidate connection ", PM_INVALIDATE },
	{ "Soft Invalidate connection ", PM_SOFT_INVALIDATE },
	{ "Pool pre-ping on connection ", PM_PREPING },
	{ "Error on connect(): ", PM_CONNECT_ERROR },
	{ "Pool disposed.", PM_DISPOSED },
	{ "Pool recreating", PM_RECREATING },
	/* logged after the Closing/Hard-closing line of the same connection */
	{ "Exception closing connection ", PM_IGNORE },
	{ "Exception terminating connection ", PM_IGNORE },
};

/* "Connection %r <suffix>", matched from the end of the line so that any
 * repr (a DSN with spaces) fits. */
static const struct conn_suffix {
	const char *suffix;
	enum event_kind kind;
	const char *text;
	const char *text2;
} conn_suffixes[] = {
	{ " checked out from pool", EVENT_POOL_CHECKOUT, NULL, NULL },
	{ " being returned to pool", EVENT_POOL_CHECKIN, NULL, NULL },
	{ " rollback-on-return", EVENT_POOL_RESET, "rollback", NULL },
	{ " rollback-on-return, via agent", EVENT_POOL_RESET, "rollback", NULL },
	{ " commit-on-return", EVENT_POOL_RESET, "commit", NULL },
	{ " commit-on-return, via agent", EVENT_POOL_RESET, "commit", NULL },
	{ " reset, transaction already reset", EVENT_POOL_RESET, "already", NULL },
	{ " exceeded timeout; recycling", EVENT_POOL_INVALIDATE, "recycle", "recycle" },
	{ " invalidated due to pool invalidation; recycling", EVENT_POOL_INVALIDATE,
	  "pool invalidation", "recycle" },
	{ " invalidated due to local soft invalidation; recycling", EVENT_POOL_INVALIDATE,
	  "soft invalidation", "recycle" },
	{ " is fresh, skipping pre-ping", EVENT_POOL_PREPING, NULL, "fresh" },
};

static const char *capped_str(struct parse_ctx *ctx, const char *s, size_t len)
{
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return parse_str(ctx, s, len > TEXT_CAP ? TEXT_CAP : len);
}

static bool parse_status_text(const char *s, size_t len, struct event *ev);

/* A pool debug message; true if it was one (events added, maybe none). */
static bool classify_pool(struct parse_ctx *ctx, const struct view *v, const struct record *rec,
			  struct rec_events *re)
{
	const char *s = v->first;
	size_t len = v->flen;
	const struct pool_msg *pm = NULL;
	struct event *ev;
	size_t pl;

	if (!len || (s[0] != 'C' && s[0] != 'H' && s[0] != 'I' && s[0] != 'S' && s[0] != 'P' &&
		     s[0] != 'E'))
		return false;
	for (size_t i = 0; i < sizeof(pool_msgs) / sizeof(pool_msgs[0]); i++) {
		size_t n = strlen(pool_msgs[i].prefix);
		if (len >= n && !memcmp(s, pool_msgs[i].prefix, n)) {
			pm = &pool_msgs[i];
			break;
		}
	}
	if (!pm)
		return false;
	pl = strlen(pm->prefix);
	switch (pm->type) {
	case PM_CONN_SUFFIX:
		if (len <= pl || s[pl] != '<')
			return false;
		for (size_t i = 0; i < sizeof(conn_suffixes) / sizeof(conn_suffixes[0]); i++) {
			const struct conn_suffix *cs = &conn_suffixes[i];
			size_t sl = strlen(cs->suffix);
			if (len < pl + sl || memcmp(s + len - sl, cs->suffix, sl))
				continue;
			ev = add_event(re, cs->kind, v, rec);
			ev->conn = conn_str(ctx, s + pl, len - sl - pl);
			ev->text = cs->text;
			ev->text2 = cs->text2;
			return true;
		}
		return false;
	case PM_CONNECT:
	case PM_CLOSE:
	case PM_HARD_CLOSE:
		ev = add_event(re, pm->type == PM_CONNECT ? EVENT_POOL_CONNECT : EVENT_POOL_CLOSE, v, rec);
		ev->conn = conn_str(ctx, s + pl, len - pl);
		if (pm->type == PM_HARD_CLOSE)
			ev->text2 = "hard";
		return true;
	case PM_INVALIDATE:
	case PM_SOFT_INVALIDATE: {
		size_t e = repr_end(s + pl, len - pl);
		ev = add_event(re, EVENT_POOL_INVALIDATE, v, rec);
		ev->text2 = pm->type == PM_SOFT_INVALIDATE ? "soft" : "hard";
		if (!e) {
			ev->conn = conn_str(ctx, s + pl, len - pl);
			return true;
		}
		ev->conn = conn_str(ctx, s + pl, e);
		e += pl;
		if (STARTS(s, len, e, " (reason: ")) {
			size_t rs = e + 10, rl = len - rs;
			if (rl && s[len - 1] == ')')
				rl--;
			ev->text = capped_str(ctx, s + rs, rl);
		}
		return true;
	}
	case PM_PREPING: {
		static const char failed[] = " failed, will invalidate pool";
		size_t fl = sizeof(failed) - 1;
		ev = add_event(re, EVENT_POOL_PREPING, v, rec);
		if (len >= pl + fl && !memcmp(s + len - fl, failed, fl)) {
			ev->conn = conn_str(ctx, s + pl, len - pl - fl);
			ev->text2 = "failed";
		} else {
			ev->conn = conn_str(ctx, s + pl, len - pl);
			ev->text2 = "ping";
		}
		return true;
	}
	case PM_CONNECT_ERROR:
		ev = add_event(re, EVENT_POOL_CONNECT_ERROR, v, rec);
		ev->text = capped_str(ctx, s + pl, len - pl);
		return true;
	case PM_DISPOSED:
		ev = add_event(re, EVENT_POOL_DISPOSE, v, rec);
		ev->text = "Pool disposed";
		ev = add_event(re, EVENT_POOL_STATS, v, rec);
		if (parse_status_text(s, len, ev))
			ev->text = "Pool disposed";
		else
			re->n--;
		return true;
	case PM_RECREATING:
		ev = add_event(re, EVENT_POOL_DISPOSE, v, rec);
		ev->text = "Pool recreating";
		return true;
	case PM_IGNORE:
		return true;
	}
	return false;
}

/* Read an optionally negative integer after optional spaces; returns bytes. */
static size_t read_int(const char *s, size_t len, size_t i, int32_t *out)
{
	size_t st = i, ds;
	int64_t v;
	while (i < len && s[i] == ' ')
		i++;
	ds = i;
	if (i < len && s[i] == '-')
		i++;
	while (i < len && is_digit(s[i]) && i - ds < 11)
		i++;
	if (parse_i64_n(s + ds, i - ds, &v) < 0 || v < INT32_MIN + 1 || v > INT32_MAX)
		return 0;
	*out = (int32_t)v;
	return i - st;
}

/*
 * SQLAlchemy's pool.status() (reference 4), with its two spaces after the
 * size:  "Pool size: 5  Connections in pool: 0 Current Overflow: 10 Current
 * Checked out connections: 15".  Any run of spaces is accepted.
 */
static bool parse_status_text(const char *s, size_t len, struct event *ev)
{
	static const char *const keys[4] = { "Pool size:", "Connections in pool:",
					     "Current Overflow:", "Current Checked out connections:" };
	int32_t v[4];
	const char *p = find_str(s, len, keys[0]);
	size_t i, n;
	if (!p)
		return false;
	i = (size_t)(p - s);
	for (int k = 0; k < 4; k++) {
		size_t kl = strlen(keys[k]);
		while (i < len && s[i] == ' ')
			i++;
		if (!starts(s, len, i, keys[k], kl))
			return false;
		i += kl;
		if (!(n = read_int(s, len, i, &v[k])))
			return false;
		i += n;
	}
	if (ev->u.stats.pool_size < 0)
		ev->u.stats.pool_size = v[0];
	if (ev->u.stats.checked_in < 0)
		ev->u.stats.checked_in = v[1];
	if (ev->u.stats.overflow == INT32_MIN)
		ev->u.stats.overflow = v[2];
	if (ev->u.stats.checked_out < 0)
		ev->u.stats.checked_out = v[3];
	return true;
}

/* Key names of hand-written pool-stat helpers (reference 4) and what they fill. */
enum stat_key { SK_POOL_SIZE, SK_CHECKED_IN, SK_CHECKED_OUT, SK_OVERFLOW, SK_WAITING, SK_STATUS };
static const struct { const char *key; enum stat_key sk; } stat_keys[] = {
	{ "pool_size", SK_POOL_SIZE }, { "size", SK_POOL_SIZE },
	{ "checked_in", SK_CHECKED_IN }, { "checkedin", SK_CHECKED_IN }, { "idle", SK_CHECKED_IN },
	{ "checked_out", SK_CHECKED_OUT }, { "checkedout", SK_CHECKED_OUT },
	{ "in_use", SK_CHECKED_OUT },
	{ "overflow", SK_OVERFLOW }, { "waiting", SK_WAITING }, { "status", SK_STATUS },
};

/*
 * A Python dict repr or JSON object at s ("{'checked_out': 5, 'status':
 * 'healthy'}"): fills ev, returns the number of live counters found
 * (checked in/out, overflow, waiting, or a status() text), so that a dict
 * of settings with a 'pool_size' is not taken for a sample.  Values that
 * are not numbers or strings (True, None, nested) are skipped.
 */
static int parse_stats_dict(struct parse_ctx *ctx, const char *s, size_t len, struct event *ev)
{
	size_t i = 1;
	int found = 0;
	while (i < len) {
		char q;
		size_t ks, kl, vs;
		int sk = -1;
		while (i < len && (s[i] == ' ' || s[i] == ','))
			i++;
		if (i >= len || s[i] == '}')
			break;
		q = s[i];
		if (q != '\'' && q != '"')
			return found;
		ks = ++i;
		while (i < len && s[i] != q)
			i++;
		if (i >= len)
			return found;
		kl = i - ks;
		i++;
		while (i < len && s[i] == ' ')
			i++;
		if (i >= len || s[i] != ':')
			return found;
		i++;
		while (i < len && s[i] == ' ')
			i++;
		for (size_t k = 0; k < sizeof(stat_keys) / sizeof(stat_keys[0]); k++)
			if (strlen(stat_keys[k].key) == kl && !memcmp(s + ks, stat_keys[k].key, kl))
				sk = stat_keys[k].sk;
		vs = i;
		if (i < len && (s[i] == '\'' || s[i] == '"')) {
			q = s[i++];
			vs = i;
			while (i < len && s[i] != q) {
				if (s[i] == '\\')
					i++;
				i++;
			}
			if (i > len)
				i = len;
			if (sk == SK_STATUS) {
				if (parse_status_text(s + vs, i - vs, ev))
					found++;
				else
					ev->text2 = capped_str(ctx, s + vs, i - vs);
			}
			i++;
			continue;
		}
		if (i < len && (s[i] == '{' || s[i] == '[')) {
			int depth = 0;
			for (; i < len; i++) {
				if (s[i] == '{' || s[i] == '[')
					depth++;
				else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
					break;
			}
			i++;
			continue;
		}
		while (i < len && s[i] != ',' && s[i] != '}')
			i++;
		if (sk >= 0 && sk != SK_STATUS) {
			int32_t n;
			size_t vl = i - vs;
			while (vl && s[vs + vl - 1] == ' ')
				vl--;
			if (read_int(s + vs, vl, 0, &n) == vl && vl) {
				found += sk != SK_POOL_SIZE;
				switch ((enum stat_key)sk) {
				case SK_POOL_SIZE: ev->u.stats.pool_size = n; break;
				case SK_CHECKED_IN: ev->u.stats.checked_in = n; break;
				case SK_CHECKED_OUT: ev->u.stats.checked_out = n; break;
				case SK_OVERFLOW: ev->u.stats.overflow = n; break;
				case SK_WAITING: ev->u.stats.waiting = n; break;
				case SK_STATUS: break;
				}
			}
		}
	}
	return found;
}

/* The message text before the dict, without emoji, blanks and ':' / '='. */
static const char *stats_label(struct parse_ctx *ctx, const char *s, size_t len)
{
	size_t b = 0, e = len;
	while (b < e && ((unsigned char)s[b] >= 0x80 || s[b] == ' '))
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == ':' || s[e - 1] == '=' || s[e - 1] == '-'))
		e--;
	if (e == b)
		return "stats";
	return capped_str(ctx, s + b, e - b);
}

static bool mentions_pool(const char *s, size_t len)
{
	/* FIND_LIT, not find_str(), on the per-record paths: no strlen() and
	 * key search per call (the result is the same for any key byte) */
	return FIND_LIT(s, len, "ool", 0) || FIND_LIT(s, len, "OOL", 0);
}

static uint8_t origin_of(const struct view *v, bool app_error);

static bool classify_stats(struct parse_ctx *ctx, const struct view *v, const struct record *rec,
			   struct rec_events *re)
{
	const char *s = v->first, *brace;
	size_t len = v->flen;
	struct event ev;

	if (!mentions_pool(s, len))
		return false;
	event_init(&ev, EVENT_POOL_STATS);
	brace = memchr(s, '{', len);
	if (brace && parse_stats_dict(ctx, brace, len - (size_t)(brace - s), &ev) > 0) {
		ev.text = stats_label(ctx, s, (size_t)(brace - s));
	} else if (parse_status_text(s, len, &ev)) {
		ev.text = "status";
	} else {
		return false;
	}
	ev.origin = origin_of(v, false);
	if (find_str(s, len, "before batch")) {
		ev.text = "before batch";
		ev.origin = ORIGIN_BATCH;
	} else if (find_str(s, len, "after batch")) {
		ev.text = "after batch";
		ev.origin = ORIGIN_BATCH;
	}
	{
		struct event *e = add_event(re, EVENT_POOL_STATS, v, rec);
		ev.ts = e->ts;
		ev.pid = e->pid;
		ev.line = e->line;
		*e = ev;
	}
	return true;
}

/*
 * "QueuePool limit of size 10 overflow 20 reached, connection timed out,
 * timeout 30.00" at s (reference 2.1): 1.3 prints an integer timeout,
 * 1.4+ "%.2f"; the "(Background on this error at: ...)" suffix does not
 * matter.  Fills what parses.
 */
static void parse_queuepool(const char *s, size_t len, struct event *ev)
{
	static const char p1[] = "QueuePool limit of size ", p2[] = " overflow ",
			  p3[] = " reached, connection timed out, timeout ";
	size_t i = sizeof(p1) - 1, n, ds;
	int32_t v;
	if (!(n = read_int(s, len, i, &v)))
		return;
	ev->u.timeout.pool_size = v;
	i += n;
	if (!starts(s, len, i, p2, sizeof(p2) - 1))
		return;
	i += sizeof(p2) - 1;
	if (!(n = read_int(s, len, i, &v)))
		return;
	ev->u.timeout.max_overflow = v;
	i += n;
	if (!starts(s, len, i, p3, sizeof(p3) - 1))
		return;
	i += sizeof(p3) - 1;
	ds = i;
	while (i < len && is_digit(s[i]))
		i++;
	if (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
		i++;
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i > ds)
		parse_decimal_usec_n(s + ds, i - ds, USEC_PER_SEC, &ev->u.timeout.timeout_usec);
}

/*
 * The exception line of a traceback: the last line "pkg.Error: message" at
 * column 0, or after the "| " of an exception-group frame; one naming the
 * pool timeout wins.  Returns its start and length (0 if none) and the class
 * name length.
 */
static size_t exception_line(const char *s, size_t len, const char **out, size_t *cls_len)
{
	const char *best = NULL, *p = s, *end = s + len;
	size_t best_len = 0, best_cls = 0;
	bool best_timeout = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *q = p;
		size_t i = 0, ll;
		if (q < e && *q == ' ') {
			while (q < e && *q == ' ')
				q++;
			if (q + 1 < e && (*q == '|' || *q == '+') && q[1] == ' ')
				q += 2;
			else
				q = e; /* a frame or source line */
		}
		ll = (size_t)(e - q);
		while (i < ll && (q[i] == '_' || q[i] == '.' || is_digit(q[i]) ||
				  (q[i] >= 'a' && q[i] <= 'z') || (q[i] >= 'A' && q[i] <= 'Z')))
			i++;
		if (i && i < ll && q[i] == ':' && (i + 1 == ll || q[i + 1] == ' ') &&
		    (memchr(q, '.', i) || find_str(q, i, "Error") || find_str(q, i, "Exception"))) {
			bool t = find_str(q, ll, "QueuePool limit") != NULL;
			if (t || !best_timeout) {
				best = q;
				best_len = ll;
				best_cls = i;
				best_timeout = t;
			}
		}
		p = nl ? nl + 1 : end;
	}
	*out = best;
	*cls_len = best_cls;
	return best_len;
}

static uint8_t origin_of(const struct view *v, bool app_error)
{
	const char *n = v->name;
	size_t nl = v->name_len;
	if (n && (find_str(n, nl, "worker") || find_str(n, nl, "batch") || find_str(n, nl, "celery") ||
		  find_str(n, nl, "task")))
		return ORIGIN_BATCH;
	if (find_str(v->first, v->flen, "batch") || find_str(v->first, v->flen, "aggregation"))
		return ORIGIN_BATCH;
	if (app_error || name_is(v, "uvicorn") || name_is(v, "gunicorn") || name_is(v, "fastapi") ||
	    name_is(v, "starlette") || name_is(v, "api.") ||
	    (n && (find_str(n, nl, ".api.") || (nl >= 4 && !memcmp(n + nl - 4, ".api", 4)))))
		return ORIGIN_API;
	return ORIGIN_UNKNOWN;
}

static void classify_failure(struct parse_ctx *ctx, const struct view *v, const struct record *rec,
			     struct rec_events *re)
{
	const char *qp = FIND_LIT(v->msg, v->len, "QueuePool limit of size ", 0);
	bool app_err = STARTS(v->first, v->flen, 0, "Exception in ASGI application") ||
		       STARTS(v->first, v->flen, 0, "Error handling request");
	uint8_t origin;
	if (!qp && !app_err)
		return;
	origin = origin_of(v, app_err);
	if (app_err) {
		const char *el;
		size_t cls, ell = exception_line(v->msg, v->len, &el, &cls);
		struct event *ev = add_event(re, EVENT_APP_ERROR, v, rec);
		ev->origin = origin;
		if (ell) {
			ev->text = capped_str(ctx, el, ell);
			ev->text2 = capped_str(ctx, el, cls);
		} else {
			ev->text = capped_str(ctx, v->first, v->flen);
		}
	}
	if (qp) {
		struct event *ev = add_event(re, EVENT_POOL_TIMEOUT, v, rec);
		ev->origin = origin;
		parse_queuepool(qp, v->len - (size_t)(qp - v->msg), ev);
		/* same text for the asyncio pool; its frames tell it apart
		 * (util/_concurrency_py3k.py greenlet_spawn, 1.4 and 2.0) */
		ev->text = find_str(v->msg, v->len, "greenlet_spawn") ? "AsyncAdaptedQueuePool"
								      : "QueuePool";
	}
}

/* Split rec into header and message. */
static void make_view(struct pylog *st, const struct record *rec, const struct hdr_time *ht,
		      struct view *v)
{
	const char *nl = memchr(rec->s, '\n', rec->len);
	size_t l1 = nl ? (size_t)(nl - rec->s) : rec->len;
	memset(v, 0, sizeof(*v));
	if (st && st->cache_valid && st->cache_line == rec->line) {
		if (st->cache_is_hdr)
			v->h = st->cache;
	} else if (st && st->prev_valid && st->prev_line == rec->line &&
		   st->prev_order == match_order(st->last_layout, rec->s, rec->len)) {
		/* as header_match() below would give, layout update included */
		if (st->prev_is_hdr) {
			v->h = st->prev;
			st->last_layout = v->h.layout;
		}
	} else if (header_match(rec->s, l1, ht, st ? st->last_layout : 0, &v->h) && st) {
		st->last_layout = v->h.layout;
	}
	if (v->h.layout == LY_NONE)
		memset(&v->h, 0, sizeof(v->h));
	v->msg = rec->s + v->h.msg_off;
	v->len = rec->len - v->h.msg_off;
	v->first = v->msg;
	v->flen = l1 - v->h.msg_off;
	while (v->flen && (v->first[v->flen - 1] == ' ' || v->first[v->flen - 1] == '\t'))
		v->flen--;
	if (v->h.name_len) {
		v->name = rec->s + v->h.name_off;
		v->name_len = v->h.name_len;
	}
}

/* Events of one record into re.  Returns false if the record is an access
 * line (for another family's parse_foreign). */
static bool classify(struct parse_ctx *ctx, const struct view *v, const struct record *rec,
		     struct rec_events *re)
{
	if (!v->name || name_is(v, "sqlalchemy.pool")) {
		if (classify_pool(ctx, v, rec, re))
			return true;
	}
	classify_failure(ctx, v, rec, re);
	if (re->n)
		return true;
	if (classify_stats(ctx, v, rec, re))
		return true;
	if (access_like(v->first, v->flen))
		return false;
	return true;
}

/* An access line inside the app log: offer the whole record, then just its
 * message (the part after the Python header), to the other families. */
static bool try_foreign(struct parse_ctx *ctx, const struct record *rec, const struct view *v)
{
	struct record sub = *rec;
	for (int pass = 0; pass < 2; pass++) {
		if (pass) {
			if (!v->h.msg_off)
				break;
			sub.s = v->msg;
			sub.len = v->len;
		}
		for (const struct format *const *f = format_registry; *f; f++)
			if (*f != &format_pylog && (*f)->parse_foreign &&
			    (*f)->parse_foreign(ctx, &sub) == UNPARSED_NONE)
				return true;
	}
	return false;
}

/* ---- duplicates ---- */

/*
 * A 64-bit key of the message text, 8 bytes per step: records with events
 * are hashed whole (a traceback is kilobytes), so the byte-wise
 * hash_bytes() showed up as a third of the time of a parse.
 */
static uint64_t message_key(const struct view *v)
{
	const char *s = v->msg;
	size_t len = v->len, i = 0;
	uint64_t h = 0x9e3779b97f4a7c15u ^ len, w;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\t'))
		len--;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s + i, len - i);
	h = (h ^ w ^ len) * 0xc4ceb9fe1a85ec53u;
	return h ^ (h >> 29);
}

/* Is `cur` the same log record as `old`, written by another handler? */
static bool same_record(const struct ring_entry *old, const struct ring_entry *cur)
{
	if (old->key != cur->key || old->layout == cur->layout || old->recno == 0)
		return false;
	if (old->ts != LOG_USEC_NONE && cur->ts != LOG_USEC_NONE)
		return cur->ts - old->ts <= DUP_WINDOW_USEC && old->ts - cur->ts <= DUP_WINDOW_USEC;
	/* one of them has no time: only the very next record can be its twin */
	return cur->recno == old->recno + 1;
}

static void flush_held(struct pylog *st, struct parse_ctx *ctx)
{
	for (size_t i = 0; i < st->held.n; i++) {
		struct event *ev = &st->held.ev[i];
		if (st->held.last_ts != LOG_USEC_NONE) {
			ev->ts = st->held.last_ts;
			ev->flags |= EVENT_F_TS_INFERRED;
		}
		parse_emit(ctx, ev);
	}
	if (st->held.n) {
		st->ring[st->ring_next++ % RING] = st->held.id;
		st->held.n = 0;
	}
	arena_reset(&st->held_strings);
}

static const char *held_str(struct pylog *st, const char *s)
{
	return s ? arena_strndup(&st->held_strings, s, strlen(s)) : NULL;
}

/*
 * Emit the record's events unless they are a duplicate handler's copy of a
 * record already seen.  A record without a time is held back for one record:
 * if the next one is its timed twin (uvicorn's own handler, then the root
 * handler), only the timed copy is kept.
 */
static void emit_events(struct pylog *st, struct parse_ctx *ctx, const struct view *v,
			struct rec_events *re)
{
	struct ring_entry cur;
	cur.key = message_key(v);
	cur.layout = v->h.layout;
	cur.ts = v->h.has_ts ? v->h.ts : ctx->hint_ts;
	cur.recno = st->nrec;

	if (st->held.n) {
		if (cur.ts != LOG_USEC_NONE && same_record(&st->held.id, &cur)) {
			st->held.n = 0; /* the timed copy replaces it */
			arena_reset(&st->held_strings);
		} else {
			flush_held(st, ctx);
		}
	}
	for (size_t i = 0; i < RING; i++)
		if (same_record(&st->ring[i], &cur))
			return;
	if (cur.ts == LOG_USEC_NONE) {
		st->held.n = re->n;
		st->held.id = cur;
		st->held.last_ts = ctx->last_ts;
		for (size_t i = 0; i < re->n; i++) {
			struct event *ev = &st->held.ev[i];
			*ev = re->ev[i];
			ev->conn = held_str(st, ev->conn);
			ev->text = held_str(st, ev->text);
			ev->text2 = held_str(st, ev->text2);
		}
		return;
	}
	for (size_t i = 0; i < re->n; i++)
		parse_emit(ctx, &re->ev[i]);
	st->ring[st->ring_next++ % RING] = cur;
}

/* ---- parse ---- */

static enum unparsed_reason pylog_parse(void *state, struct parse_ctx *ctx,
					const struct record *rec)
{
	struct pylog *st = state;
	struct view v;
	struct rec_events re;
	bool mine;

	st->nrec++;
	make_view(st, rec, &st->ht, &v);
	if (v.h.has_ts)
		parse_note_ts(ctx, v.h.ts, v.h.had_zone);
	re.n = 0;
	mine = classify(ctx, &v, rec, &re);
	if (re.n) {
		emit_events(st, ctx, &v, &re);
		return UNPARSED_NONE;
	}
	if (st->held.n) /* its twin would have come right after it */
		flush_held(st, ctx);
	if (!mine) {
		if (try_foreign(ctx, rec, &v))
			return UNPARSED_NONE;
		return UNPARSED_UNKNOWN_LAYOUT;
	}
	/* batch lines: the built-in rules, on the message's first line */
	/* keyed on 'c'/'C': rarer in messages than 'a' */
	if (FIND_LIT(v.first, v.flen, "atch", 2) || FIND_LIT(v.first, v.flen, "ATCH", 2)) {
		struct user_match_defaults d = { v.h.has_ts ? v.h.ts : LOG_USEC_NONE, v.h.pid,
						 ORIGIN_BATCH };
		if (user_formats_match(st->batch, ctx, v.first, v.flen, &d))
			return UNPARSED_NONE;
	}
	if (v.h.layout == LY_NONE)
		return UNPARSED_UNKNOWN_LAYOUT;
	return UNPARSED_NONE;
}

/* A Python record inside another family's file: stateless (no duplicate
 * check, no batch rules).  A bare traceback line naming the pool timeout
 * ("sqlalchemy.exc.TimeoutError: QueuePool limit ...") is taken too, since
 * the other family does not glue tracebacks into records. */
static enum unparsed_reason pylog_parse_foreign(struct parse_ctx *ctx, const struct record *rec)
{
	struct view v;
	struct rec_events re;
	struct hdr_time ht = { &ctx->opts->tz, &ctx->time_cache };
	make_view(NULL, rec, &ht, &v);
	if (v.h.layout == LY_NONE && !find_str(rec->s, rec->len, "QueuePool limit of size "))
		return UNPARSED_UNKNOWN_LAYOUT;
	if (v.h.has_ts)
		parse_note_ts(ctx, v.h.ts, v.h.had_zone);
	re.n = 0;
	if (!classify(ctx, &v, rec, &re))
		return UNPARSED_UNKNOWN_LAYOUT;
	for (size_t i = 0; i < re.n; i++)
		parse_emit(ctx, &re.ev[i]);
	return UNPARSED_NONE;
}

static void pylog_finish(void *state, struct parse_ctx *ctx)
{
	struct pylog *st = state;
	if (st->held.n)
		flush_held(st, ctx);
}

const struct format format_pylog = {
	.name = "pylog",
	.description = "Python logging (app, SQLAlchemy pool, uvicorn, gunicorn error, celery)",
	.detect = pylog_detect,
	.state_new = pylog_state_new,
	.state_free = pylog_state_free,
	.continues = pylog_continues,
	.parse = pylog_parse,
	.parse_foreign = pylog_parse_foreign,
	.finish = pylog_finish,
};
