#include "parsers/incremental.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "core/error.h"
#include "core/numparse.h"
#include "core/strbuf.h"
#include "parsers/stream.h"
#include "core/banned.h"

#define STATE_MAGIC "poolscope-audit-state"
#define STATE_VERSION 1
#define STATE_FIELDS 13

static const char *const kind_names[] = {
	[INC_LIVE] = "live",
	[INC_ROTATED] = "rotated",
	[INC_IGNORED] = "ignored",
};

static const char *const why_names[] = {
	[INC_WHY_NEW] = "new",
	[INC_WHY_CONTINUE] = "continue",
	[INC_WHY_RESTART] = "restart",
	[INC_WHY_ROTATED] = "rotated",
	[INC_WHY_GAP] = "gap",
};

const char *inc_why_name(enum inc_why w)
{
	return (unsigned)w < sizeof(why_names) / sizeof(why_names[0]) ? why_names[w] : "?";
}

uint64_t inc_hash(const void *p, size_t len)
{
	/* FNV-1a: the head hash only tells streams apart, it guards nothing */
	const unsigned char *s = p;
	uint64_t h = UINT64_C(14695981039346656037);
	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static void entry_release(struct inc_entry *e)
{
	free(e->path);
	free(e->origin);
	e->path = e->origin = NULL;
}

static struct inc_entry entry_dup(const struct inc_entry *e)
{
	struct inc_entry c = *e;
	c.path = xstrdup(e->path);
	c.origin = e->origin ? xstrdup(e->origin) : NULL;
	return c;
}

void inc_state_init(struct inc_state *st, const char *path)
{
	memset(st, 0, sizeof(*st));
	st->path = xstrdup(path);
	st->lock_fd = -1;
}

static void state_clear_entries(struct inc_state *st)
{
	for (size_t i = 0; i < st->nr; i++)
		entry_release(&st->v[i]);
	st->nr = 0;
}

void inc_state_release(struct inc_state *st)
{
	state_clear_entries(st);
	free(st->v);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	free(st->path);
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
}

/* ---- lock ---- */

static void split_path(const char *path, struct strbuf *dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	strbuf_reset(dir);
	if (!slash) {
		strbuf_addstr(dir, ".");
		*base = path;
	} else if (slash == path) {
		strbuf_addstr(dir, "/");
		*base = slash + 1;
	} else {
		strbuf_add(dir, path, (size_t)(slash - path));
		*base = slash + 1;
	}
}

/* Temp files "<state>.tmp.<pid>" of killed runs: stale once we hold the lock. */
static void remove_stale_temps(const char *state_path)
{
	struct strbuf dir = STRBUF_INIT, prefix = STRBUF_INIT, p = STRBUF_INIT;
	const char *base;
	DIR *d;
	struct dirent *de;

	split_path(state_path, &dir, &base);
	strbuf_addf(&prefix, "%s.tmp.", base);
	d = opendir(dir.buf);
	if (d) {
		while ((de = readdir(d))) {
			if (strncmp(de->d_name, prefix.buf, prefix.len))
				continue;
			strbuf_reset(&p);
			strbuf_addf(&p, "%s/%s", dir.buf, de->d_name);
			if (unlink(p.buf) == 0)
				warning("removed '%s' left by an interrupted audit", p.buf);
		}
		closedir(d);
	}
	strbuf_release(&dir);
	strbuf_release(&prefix);
	strbuf_release(&p);
}

int inc_state_lock(struct inc_state *st, int wait_ms)
{
	struct strbuf lp = STRBUF_INIT;
	int fd, waited = 0;
	char pid[32];

	strbuf_addf(&lp, "%s.lock", st->path);
	fd = open(lp.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		error("cannot open lock file '%s': %s", lp.buf, strerror(errno));
		strbuf_release(&lp);
		return -1;
	}
	for (;;) {
		if (flock(fd, wait_ms < 0 ? LOCK_EX : LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			error("cannot lock '%s': %s", lp.buf, strerror(errno));
			goto fail;
		}
		if (waited >= wait_ms) {
			char holder[32] = "";
			ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
			holder[n > 0 ? n : 0] = '\0';
			holder[strcspn(holder, "\n")] = '\0';
			error("another audit%s%s%s holds the lock '%s' (use --wait to wait for it)",
			      *holder ? " (pid " : "", holder, *holder ? ")" : "", lp.buf);
			goto fail;
		}
		{
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			waited += 50;
		}
	}
	/* record the holder for the message above; advisory only */
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, strlen(pid), 0) < 0) {
		/* the pid is a courtesy for the message; the flock is the lock */
	}
	st->lock_fd = fd;
	remove_stale_temps(st->path);
	strbuf_release(&lp);
	return 0;
fail:
	close(fd);
	strbuf_release(&lp);
	return -1;
}

/* ---- state file ---- */

/* Paths are stored with \\, \t, \n, \r escaped so one entry is one line. */
static void add_escaped(struct strbuf *sb, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '\\': strbuf_addstr(sb, "\\\\"); break;
		case '\t': strbuf_addstr(sb, "\\t"); break;
		case '\n': strbuf_addstr(sb, "\\n"); break;
		case '\r': strbuf_addstr(sb, "\\r"); break;
		default: strbuf_addch(sb, *s);
		}
	}
}

static int unescape(const char *s, size_t len, struct strbuf *out)
{
	strbuf_reset(out);
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\\') {
			strbuf_addch(out, s[i]);
			continue;
		}
		if (++i >= len)
			return -1;
		switch (s[i]) {
		case '\\': strbuf_addch(out, '\\'); break;
		case 't': strbuf_addch(out, '\t'); break;
		case 'n': strbuf_addch(out, '\n'); break;
		case 'r': strbuf_addch(out, '\r'); break;
		default: return -1;
		}
	}
	return 0;
}

static int parse_u64_field(const char *s, size_t len, uint64_t *out)
{
	int64_t v;
	if (parse_i64_n(s, len, &v) < 0 || v < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int parse_hex64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 16)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int d;
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

static int parse_entry(const char *line, size_t len, struct inc_entry *e, const char **why)
{
	const char *f[STATE_FIELDS];
	size_t fl[STATE_FIELDS];
	size_t nf = 0, start = 0;
	uint64_t gz, head_len, mt, seen;
	struct strbuf sb = STRBUF_INIT;
	int k;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || line[i] == '\t') {
			if (nf == STATE_FIELDS) {
				*why = "too many fields";
				return -1;
			}
			f[nf] = line + start;
			fl[nf++] = i - start;
			start = i + 1;
		}
	}
	if (nf != STATE_FIELDS) {
		*why = "too few fields";
		return -1;
	}
	memset(e, 0, sizeof(*e));
	for (k = 0; k < 3; k++)
		if (strlen(kind_names[k]) == fl[0] && !memcmp(kind_names[k], f[0], fl[0]))
			break;
	if (k == 3) {
		*why = "unknown entry kind";
		return -1;
	}
	e->kind = (enum inc_kind)k;
	*why = "bad number";
	if (parse_u64_field(f[1], fl[1], &e->dev) < 0 || parse_u64_field(f[2], fl[2], &e->ino) < 0 ||
	    parse_u64_field(f[3], fl[3], &gz) < 0 || gz > 1 ||
	    parse_u64_field(f[4], fl[4], &e->fsize) < 0 || parse_u64_field(f[5], fl[5], &mt) < 0 ||
	    parse_u64_field(f[6], fl[6], &head_len) < 0 || head_len > INC_HEAD_MAX ||
	    parse_hex64(f[7], fl[7], &e->head_hash) < 0 ||
	    parse_u64_field(f[8], fl[8], &e->offset) < 0 || parse_u64_field(f[9], fl[9], &e->line) < 0 ||
	    parse_u64_field(f[10], fl[10], &seen) < 0)
		return -1;
	e->gz = gz;
	e->mtime_ns = (int64_t)mt;
	e->head_len = (uint32_t)head_len;
	e->seen = (int64_t)seen;
	if (!fl[11] || unescape(f[11], fl[11], &sb) < 0) {
		*why = "bad path";
		strbuf_release(&sb);
		return -1;
	}
	e->path = strbuf_detach(&sb, NULL);
	if (fl[12]) {
		if (unescape(f[12], fl[12], &sb) < 0) {
			*why = "bad origin path";
			strbuf_release(&sb);
			free(e->path);
			return -1;
		}
		e->origin = strbuf_detach(&sb, NULL);
	}
	strbuf_release(&sb);
	return 0;
}

int inc_state_load(struct inc_state *st)
{
	FILE *fp = fopen(st->path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int ret = 0;

	state_clear_entries(st);
	st->last_run = 0;
	if (!fp) {
		if (errno == ENOENT)
			return 0;
		return error("cannot read state file '%s': %s", st->path, strerror(errno));
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		size_t len = (size_t)n;
		const char *why = NULL;
		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else {
			ret = error("state file '%s':%zu: last line incomplete (not written by "
				    "poolscope?)", st->path, lineno);
			break;
		}
		if (lineno == 1) {
			char want[64];
			snprintf(want, sizeof(want), "%s\t%d", STATE_MAGIC, STATE_VERSION);
			if (strcmp(line, want)) {
				ret = error("state file '%s':1: not a poolscope audit state (version %d)",
					    st->path, STATE_VERSION);
				break;
			}
			continue;
		}
		if (!len || line[0] == '#')
			continue;
		if (!strncmp(line, "run\t", 4)) {
			int64_t t;
			if (parse_i64(line + 4, &t) < 0) {
				ret = error("state file '%s':%zu: bad run time", st->path, lineno);
				break;
			}
			st->last_run = t;
			continue;
		}
		ALLOC_GROW(st->v, st->nr + 1, st->alloc);
		if (parse_entry(line, len, &st->v[st->nr], &why) < 0) {
			ret = error("state file '%s':%zu: %s", st->path, lineno, why);
			break;
		}
		st->nr++;
	}
	if (!ret && ferror(fp))
		ret = error("cannot read state file '%s': %s", st->path, strerror(errno));
	if (!ret && lineno == 0)
		ret = error("state file '%s' is empty (not written by poolscope?)", st->path);
	free(line);
	fclose(fp);
	if (ret)
		state_clear_entries(st);
	return ret;
}

static int fsync_dir(const char *path)
{
	struct strbuf dir = STRBUF_INIT;
	const char *base;
	int fd, ret = 0;
	split_path(path, &dir, &base);
	fd = open(dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) < 0 && errno != EINVAL)
			ret = error("cannot sync folder '%s': %s", dir.buf, strerror(errno));
		close(fd);
	}
	strbuf_release(&dir);
	return ret;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int inc_state_save(const struct inc_state *st, int64_t now)
{
	struct strbuf sb = STRBUF_INIT, tmp = STRBUF_INIT;
	int fd, ret = 0;

	strbuf_addf(&sb, "%s\t%d\n", STATE_MAGIC, STATE_VERSION);
	strbuf_addstr(&sb, "# poolscope audit state: which log lines were read (docs/audit.md).\n"
			   "# Written atomically by `poolscope audit`; delete it to read all logs again.\n"
			   "# kind dev ino gz fsize mtime_ns head_len head_hash offset line seen path origin\n");
	strbuf_addf(&sb, "run\t%" PRId64 "\n", now);
	for (size_t i = 0; i < st->nr; i++) {
		const struct inc_entry *e = &st->v[i];
		strbuf_addf(&sb, "%s\t%" PRIu64 "\t%" PRIu64 "\t%d\t%" PRIu64 "\t%" PRId64 "\t%u\t%016" PRIx64
			    "\t%" PRIu64 "\t%" PRIu64 "\t%" PRId64 "\t",
			    kind_names[e->kind], e->dev, e->ino, e->gz ? 1 : 0, e->fsize,
			    e->mtime_ns < 0 ? 0 : e->mtime_ns, e->head_len, e->head_hash, e->offset,
			    e->line, e->seen < 0 ? 0 : e->seen);
		add_escaped(&sb, e->path);
		strbuf_addch(&sb, '\t');
		add_escaped(&sb, e->origin);
		strbuf_addch(&sb, '\n');
	}
	/* temp + fsync + rename + fsync(dir): a crash at any point leaves either
	 * the old state or the new one, never a mix */
	strbuf_addf(&tmp, "%s.tmp.%ld", st->path, (long)getpid());
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = error("cannot write state file '%s': %s", tmp.buf, strerror(errno));
		goto out;
	}
	if (write_all(fd, sb.buf, sb.len) < 0 || fsync(fd) < 0) {
		ret = error("cannot write state file '%s': %s", tmp.buf, strerror(errno));
		close(fd);
		unlink(tmp.buf);
		goto out;
	}
	if (close(fd) < 0) {
		ret = error("cannot write state file '%s': %s", tmp.buf, strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	if (rename(tmp.buf, st->path) < 0) {
		ret = error("cannot rename '%s' to '%s': %s", tmp.buf, st->path, strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	ret = fsync_dir(st->path);
out:
	strbuf_release(&sb);
	strbuf_release(&tmp);
	return ret;
}

/* ---- planning ---- */

struct probe {
	char *path;     /* owned: as shown (relative to how the input was named) */
	char *abspath;  /* owned: as stored in the state */
	size_t family;  /* index of the input it belongs to */
	bool is_input;
	uint64_t dev, ino, fsize;
	int64_t mtime_ns;
	bool gz;
	bool head_loaded;
	uint32_t head_n;
	unsigned char head[INC_HEAD_MAX];
	long matched;   /* entry index, or -1 */
};

struct planner {
	const struct inc_state *st;
	const char *const *inputs;
	size_t ninputs;
	char **abs_inputs;   /* owned */
	struct probe *pr;    /* owned */
	size_t npr, pr_alloc;
	bool *entry_used;    /* owned, st->nr */
};

static char *absolute(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char cwd[4096];
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	strbuf_addf(&sb, "%s/%s", cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
	return strbuf_detach(&sb, NULL);
}

static bool is_gzip_file(const char *path)
{
	unsigned char m[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool gz = false;
	if (fd >= 0) {
		gz = pread(fd, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b;
		close(fd);
	}
	return gz;
}

static void probe_fill(struct probe *p, const struct stat *st)
{
	p->dev = (uint64_t)st->st_dev;
	p->ino = (uint64_t)st->st_ino;
	p->fsize = (uint64_t)st->st_size;
	p->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	p->gz = is_gzip_file(p->path);
	p->matched = -1;
}

/* The first INC_HEAD_MAX bytes of the uncompressed content (zlib reads
 * plain files transparently).  A damaged file gives a short head. */
static void probe_head(struct probe *p)
{
	gzFile gz;
	int n;
	if (p->head_loaded)
		return;
	p->head_loaded = true;
	p->head_n = 0;
	gz = gzopen(p->path, "rb");
	if (!gz)
		return;
	n = gzread(gz, p->head, INC_HEAD_MAX);
	if (n > 0)
		p->head_n = (uint32_t)n;
	gzclose(gz);
}

static bool same_inode(const struct inc_entry *e, const struct probe *p)
{
	return e->dev == p->dev && e->ino == p->ino;
}

static bool head_ok(const struct inc_entry *e, struct probe *p)
{
	probe_head(p);
	return e->head_len <= p->head_n && inc_hash(p->head, e->head_len) == e->head_hash;
}

static bool size_ok(const struct inc_entry *e, const struct probe *p)
{
	/* a .gz file's uncompressed size is unknown without inflating it all;
	 * a short one simply yields nothing past the offset */
	return e->kind == INC_IGNORED || p->gz || p->fsize >= e->offset;
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* The input family an entry belongs to, or -1 if none of this run's inputs. */
static long entry_family(const struct planner *pl, const struct inc_entry *e)
{
	for (size_t i = 0; i < pl->ninputs; i++) {
		if (e->kind == INC_LIVE && streq(e->path, pl->abs_inputs[i]))
			return (long)i;
		if (e->kind != INC_LIVE && streq(e->origin, pl->abs_inputs[i]))
			return (long)i;
	}
	return -1;
}

/*
 * Rotated names of base: base + one of ".-_" + a digit + digits, dots,
 * dashes, underscores, colons or 'T' (numbers, dates, times), optionally
 * ".gz".  So app.log.1, app.log.2.gz, app.log-20251020(.gz),
 * app.log.2025-10-20_14-00-00, but not app.log.bak or app.log.1.tmp.
 */
static bool is_rotated_name(const char *name, const char *base)
{
	size_t bl = strlen(base), nl = strlen(name);
	const char *r, *end;
	if (nl <= bl + 1 || strncmp(name, base, bl))
		return false;
	r = name + bl;
	end = name + nl;
	if (nl >= 3 && !strcmp(end - 3, ".gz"))
		end -= 3;
	if (end - r < 2 || !strchr(".-_", r[0]) || r[1] < '0' || r[1] > '9')
		return false;
	for (const char *c = r + 2; c < end; c++)
		if (!((*c >= '0' && *c <= '9') || strchr(".-_:T", *c)))
			return false;
	return true;
}

static struct probe *probe_by_inode(struct planner *pl, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < pl->npr; i++)
		if (pl->pr[i].dev == dev && pl->pr[i].ino == ino)
			return &pl->pr[i];
	return NULL;
}

static struct probe *probe_add(struct planner *pl, const char *path, const char *abspath,
			       size_t family, bool is_input, const struct stat *st)
{
	struct probe *p;
	ALLOC_GROW(pl->pr, pl->npr + 1, pl->pr_alloc);
	p = &pl->pr[pl->npr++];
	memset(p, 0, sizeof(*p));
	p->path = xstrdup(path);
	p->abspath = xstrdup(abspath);
	p->family = family;
	p->is_input = is_input;
	probe_fill(p, st);
	return p;
}

static int add_siblings(struct planner *pl, size_t family)
{
	struct strbuf dir = STRBUF_INIT, p = STRBUF_INIT, ap = STRBUF_INIT;
	const char *base;
	DIR *d;
	struct dirent *de;

	split_path(pl->inputs[family], &dir, &base);
	d = opendir(dir.buf);
	if (!d) {
		/* the input itself was readable; without a listing no rotation is seen */
		warning("cannot list folder '%s' for rotated files: %s", dir.buf, strerror(errno));
		strbuf_release(&dir);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;
		const char *abase;
		if (!is_rotated_name(de->d_name, base))
			continue;
		strbuf_reset(&p);
		if (strchr(pl->inputs[family], '/'))
			strbuf_addf(&p, "%s/%s", dir.buf, de->d_name);
		else
			strbuf_addstr(&p, de->d_name);
		if (stat(p.buf, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (probe_by_inode(pl, (uint64_t)st.st_dev, (uint64_t)st.st_ino))
			continue; /* an input itself, or already a sibling */
		strbuf_reset(&ap);
		split_path(pl->abs_inputs[family], &dir, &abase);
		strbuf_addf(&ap, "%s/%s", dir.buf, de->d_name);
		split_path(pl->inputs[family], &dir, &base);
		probe_add(pl, p.buf, ap.buf, family, false, &st);
	}
	closedir(d);
	strbuf_release(&dir);
	strbuf_release(&p);
	strbuf_release(&ap);
	return 0;
}

static void note_add(struct inc_plan *p, bool warn, const char *path, uint64_t line,
		     struct strbuf *text)
{
	struct inc_note *n;
	ALLOC_GROW(p->notes, p->nnotes + 1, p->notes_alloc);
	n = &p->notes[p->nnotes++];
	n->warning = warn;
	n->path = xstrdup(path);
	n->line = line;
	n->text = strbuf_detach(text, NULL);
}

static void keep_add(struct inc_plan *p, const struct inc_entry *e)
{
	ALLOC_GROW(p->keep, p->nkeep + 1, p->keep_alloc);
	p->keep[p->nkeep++] = entry_dup(e);
}

/* The entry a probe becomes when it is not read this run. */
static void keep_probe(struct inc_plan *p, struct planner *pl, const struct probe *pr,
		       const struct inc_entry *from, enum inc_kind kind)
{
	struct inc_entry e;
	memset(&e, 0, sizeof(e));
	if (from)
		e = *from;
	e.kind = kind;
	e.path = pr->abspath;
	e.origin = pr->is_input ? NULL : pl->abs_inputs[pr->family];
	e.dev = pr->dev;
	e.ino = pr->ino;
	e.gz = pr->gz;
	e.fsize = pr->fsize;
	e.mtime_ns = pr->mtime_ns;
	e.seen = 0; /* seen now */
	if (!from) {
		struct probe *mp = (struct probe *)pr;
		probe_head(mp);
		e.head_len = mp->head_n;
		e.head_hash = inc_hash(mp->head, mp->head_n);
	}
	keep_add(p, &e);
}

static void segment_add(struct inc_plan *p, struct planner *pl, struct probe *pr,
			enum inc_why why, const struct inc_entry *from)
{
	struct inc_segment *s;
	ALLOC_GROW(p->seg, p->nseg + 1, p->seg_alloc);
	s = &p->seg[p->nseg++];
	memset(s, 0, sizeof(*s));
	s->path = xstrdup(pr->path);
	s->abspath = xstrdup(pr->abspath);
	s->input = xstrdup(pl->inputs[pr->family]);
	s->abs_input = xstrdup(pl->abs_inputs[pr->family]);
	s->why = why;
	s->start.offset = from ? from->offset : 0;
	s->start.first_line = from ? from->line + 1 : 1;
	/* a .gz file is final; a plain one may still be written to */
	s->start.hold_partial = !pr->gz;
	s->is_input = pr->is_input;
	s->dev = pr->dev;
	s->ino = pr->ino;
	s->fsize = pr->fsize;
	s->mtime_ns = pr->mtime_ns;
	s->gz = pr->gz;
	probe_head(pr);
	s->head_n = pr->head_n;
	memcpy(s->head, pr->head, pr->head_n);
}

static int cmp_probe_mtime(const void *a, const void *b)
{
	const struct probe *x = *(struct probe *const *)a, *y = *(struct probe *const *)b;
	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns < y->mtime_ns ? -1 : 1;
	return strcmp(x->path, y->path);
}

void inc_plan_init(struct inc_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void inc_plan_release(struct inc_plan *p)
{
	for (size_t i = 0; i < p->nseg; i++) {
		free(p->seg[i].path);
		free(p->seg[i].abspath);
		free(p->seg[i].input);
		free(p->seg[i].abs_input);
	}
	free(p->seg);
	for (size_t i = 0; i < p->nkeep; i++)
		entry_release(&p->keep[i]);
	free(p->keep);
	for (size_t i = 0; i < p->nnotes; i++) {
		free(p->notes[i].path);
		free(p->notes[i].text);
	}
	free(p->notes);
	memset(p, 0, sizeof(*p));
}

static void planner_release(struct planner *pl)
{
	for (size_t i = 0; i < pl->npr; i++) {
		free(pl->pr[i].path);
		free(pl->pr[i].abspath);
	}
	free(pl->pr);
	for (size_t i = 0; i < pl->ninputs; i++)
		free(pl->abs_inputs[i]);
	free(pl->abs_inputs);
	free(pl->entry_used);
}

/* Match known streams to the files present: first by inode (renamed or
 * untouched), then by head alone (compressed or copied).  Hash-only matching
 * with a short head is allowed only inside the stream's own rotation family. */
static void match_entries(struct planner *pl)
{
	const struct inc_state *st = pl->st;
	for (size_t i = 0; i < st->nr; i++) {
		const struct inc_entry *e = &st->v[i];
		for (size_t j = 0; j < pl->npr; j++) {
			struct probe *p = &pl->pr[j];
			if (p->matched >= 0 || !same_inode(e, p))
				continue;
			if (head_ok(e, p) && size_ok(e, p)) {
				p->matched = (long)i;
				pl->entry_used[i] = true;
			}
			break; /* one file per inode */
		}
	}
	for (size_t i = 0; i < st->nr; i++) {
		const struct inc_entry *e = &st->v[i];
		long fam;
		if (pl->entry_used[i])
			continue;
		fam = entry_family(pl, e);
		for (size_t j = 0; j < pl->npr; j++) {
			struct probe *p = &pl->pr[j];
			if (p->matched >= 0 || same_inode(e, p))
				continue;
			if (e->head_len < INC_HEAD_MATCH_MIN && (fam < 0 || (size_t)fam != p->family))
				continue;
			if (e->head_len == 0)
				continue; /* no identity without content */
			if (head_ok(e, p) && size_ok(e, p)) {
				p->matched = (long)i;
				pl->entry_used[i] = true;
				break;
			}
		}
	}
}

static void plan_probe(struct inc_plan *plan, struct planner *pl, struct probe *pr,
		       bool family_known)
{
	const struct inc_state *st = pl->st;
	const struct inc_entry *e = pr->matched >= 0 ? &st->v[pr->matched] : NULL;
	enum inc_kind kind = pr->is_input ? INC_LIVE : INC_ROTATED;

	if (e && e->kind == INC_IGNORED) {
		if (pr->is_input)
			segment_add(plan, pl, pr, INC_WHY_NEW, NULL); /* asked for explicitly now */
		else
			keep_probe(plan, pl, pr, e, INC_IGNORED);
		return;
	}
	if (e) {
		if (pr->gz && e->gz && same_inode(e, pr) && pr->fsize == e->fsize &&
		    pr->mtime_ns == e->mtime_ns) {
			/* an unchanged .gz file was read to its end before */
			keep_probe(plan, pl, pr, e, kind);
			return;
		}
		/* ROTATED only the first time a live stream is found under another
		 * name; later runs just continue the tracked rotated file */
		segment_add(plan, pl, pr,
			    !pr->is_input && e->kind == INC_LIVE ? INC_WHY_ROTATED : INC_WHY_CONTINUE, e);
		return;
	}
	if (pr->is_input) {
		enum inc_why why = INC_WHY_NEW;
		for (size_t i = 0; i < st->nr; i++)
			if (st->v[i].kind == INC_LIVE && streq(st->v[i].path, pr->abspath))
				why = INC_WHY_RESTART;
		segment_add(plan, pl, pr, why, NULL);
		return;
	}
	if (family_known)
		segment_add(plan, pl, pr, INC_WHY_GAP, NULL);
	else
		keep_probe(plan, pl, pr, NULL, INC_IGNORED);
}

int inc_plan_make(struct inc_plan *plan, const struct inc_state *st, const char *const *inputs,
		  size_t ninputs)
{
	static const struct inc_state empty;
	struct planner pl;
	struct probe **fam = NULL;
	size_t fam_alloc = 0;
	bool *known;

	if (!st)
		st = &empty;
	memset(&pl, 0, sizeof(pl));
	pl.st = st;
	pl.inputs = inputs;
	pl.ninputs = ninputs;
	pl.abs_inputs = xcalloc(ninputs ? ninputs : 1, sizeof(char *));
	pl.entry_used = xcalloc(st->nr ? st->nr : 1, sizeof(bool));
	known = xcalloc(ninputs ? ninputs : 1, sizeof(bool));

	for (size_t i = 0; i < ninputs; i++) {
		struct stat sst;
		pl.abs_inputs[i] = absolute(inputs[i]);
		if (!strcmp(inputs[i], "-")) {
			error("the audit cannot read standard input incrementally; name the log files");
			goto fail;
		}
		if (stat(inputs[i], &sst) < 0) {
			error("cannot open '%s': %s", inputs[i], strerror(errno));
			goto fail;
		}
		if (!S_ISREG(sst.st_mode)) {
			error("'%s' is not a regular file", inputs[i]);
			goto fail;
		}
		if (probe_by_inode(&pl, (uint64_t)sst.st_dev, (uint64_t)sst.st_ino)) {
			warning("'%s' names a file already listed; read once", inputs[i]);
			continue;
		}
		probe_add(&pl, inputs[i], pl.abs_inputs[i], i, true, &sst);
	}
	/* rotated files only matter once a family has a history */
	for (size_t i = 0; i < st->nr; i++) {
		long f = entry_family(&pl, &st->v[i]);
		if (f >= 0)
			known[f] = true;
	}
	for (size_t i = 0; i < ninputs; i++)
		if (add_siblings(&pl, i) < 0)
			goto fail;
	match_entries(&pl);

	/* per family: rotated files oldest first, then the input itself */
	for (size_t f = 0; f < ninputs; f++) {
		size_t n = 0;
		for (size_t j = 0; j < pl.npr; j++)
			if (pl.pr[j].family == f && !pl.pr[j].is_input) {
				ALLOC_GROW(fam, n + 1, fam_alloc);
				fam[n++] = &pl.pr[j];
			}
		if (n > 1)
			qsort(fam, n, sizeof(*fam), cmp_probe_mtime);
		for (size_t j = 0; j < n; j++)
			plan_probe(plan, &pl, fam[j], known[f]);
		for (size_t j = 0; j < pl.npr; j++)
			if (pl.pr[j].family == f && pl.pr[j].is_input)
				plan_probe(plan, &pl, &pl.pr[j], known[f]);
	}

	/* streams not found again */
	for (size_t i = 0; i < st->nr; i++) {
		const struct inc_entry *e = &st->v[i];
		long f;
		if (pl.entry_used[i])
			continue;
		f = entry_family(&pl, e);
		if (f < 0) {
			keep_add(plan, e); /* another input's: not ours to judge */
			continue;
		}
		if (e->kind == INC_LIVE) {
			struct strbuf sb = STRBUF_INIT;
			strbuf_addf(&sb,
				    "'%s' was rotated or truncated since the last run (read up to "
				    "line %" PRIu64 ") and its previous file was not found beside it; "
				    "lines written to it after the last run, if any, were not read",
				    inputs[f], e->line);
			note_add(plan, true, inputs[f], e->line, &sb);
		}
		/* rotated and ignored files that are gone: forget them */
	}
	for (size_t i = 0; i < plan->nseg; i++) {
		const struct inc_segment *s = &plan->seg[i];
		struct strbuf sb = STRBUF_INIT;
		switch (s->why) {
		case INC_WHY_ROTATED:
			strbuf_addf(&sb, "'%s' was rotated: read its previous file '%s' from line %" PRIu64,
				    s->input, s->path, s->start.first_line);
			break;
		case INC_WHY_GAP:
			strbuf_addf(&sb, "read rotated file '%s' whole: it appeared since the last run",
				    s->path);
			break;
		case INC_WHY_RESTART:
			strbuf_addf(&sb, "'%s' holds new content since the last run (replaced or "
				    "truncated): read from line 1", s->path);
			break;
		default:
			break;
		}
		if (sb.len)
			note_add(plan, false, s->path, s->start.first_line, &sb);
		strbuf_release(&sb);
	}
	free(fam);
	free(known);
	planner_release(&pl);
	return 0;
fail:
	free(fam);
	free(known);
	planner_release(&pl);
	return -1;
}

static void timeline_sink_emit(void *data, const struct event *ev)
{
	timeline_append(data, ev);
}

/* What reading segment s into source idx of tl (parse result rc) left. */
static void segment_read(struct inc_segment *s, const struct timeline *tl, uint32_t idx, int rc)
{
	const struct source *src = &tl->src[idx];
	s->src_index = idx;
	s->failed = rc < 0;
	s->read = true;
	s->end_offset = src->end_offset;
	s->end_line = src->end_line;
}

int inc_plan_read(struct inc_plan *p, const struct parse_opts *opts, struct timeline *tl)
{
	int ret = 0;
	for (size_t i = 0; i < p->nseg; i++) {
		struct inc_segment *s = &p->seg[i];
		struct event_sink sink = { timeline_sink_emit, tl };
		uint32_t idx = timeline_add_source(tl, s->path);
		int rc = parse_input_at(s->path, opts, &s->start, timeline_source(tl, idx), idx, sink);
		segment_read(s, tl, idx, rc);
		if (rc < 0)
			ret = -1;
	}
	timeline_sort(tl);
	return ret;
}

int inc_plan_stream(struct inc_plan *p, const struct parse_opts *opts, struct timeline *sources,
		    struct event_sink observe, struct event_stream **es)
{
	const char **paths = xcalloc(p->nseg ? p->nseg : 1, sizeof(*paths));
	const struct parse_start **starts = xcalloc(p->nseg ? p->nseg : 1, sizeof(*starts));
	int *rc = xcalloc(p->nseg ? p->nseg : 1, sizeof(*rc));
	uint32_t first = (uint32_t)sources->nsrc;
	int ret;
	for (size_t i = 0; i < p->nseg; i++) {
		paths[i] = p->seg[i].path;
		starts[i] = &p->seg[i].start;
	}
	ret = event_stream_open_at(es, paths, starts, rc, p->nseg, opts, sources, observe, 0);
	for (size_t i = 0; i < p->nseg && ret >= 0; i++)
		segment_read(&p->seg[i], sources, first + (uint32_t)i, rc[i]);
	free(paths);
	free(starts);
	free(rc);
	return ret;
}

void inc_state_update(struct inc_state *st, const struct inc_plan *p, int64_t now)
{
	state_clear_entries(st);
	for (size_t i = 0; i < p->nkeep; i++) {
		ALLOC_GROW(st->v, st->nr + 1, st->alloc);
		st->v[st->nr] = entry_dup(&p->keep[i]);
		st->v[st->nr++].seen = p->keep[i].seen ? p->keep[i].seen : now;
	}
	for (size_t i = 0; i < p->nseg; i++) {
		const struct inc_segment *s = &p->seg[i];
		struct inc_entry e;
		uint64_t hl;
		if (!s->read || s->failed)
			BUG("inc_state_update() after a failed read of '%s'", s->path);
		memset(&e, 0, sizeof(e));
		e.kind = s->is_input ? INC_LIVE : INC_ROTATED;
		e.path = s->abspath;
		e.origin = s->is_input ? NULL : s->abs_input;
		e.dev = s->dev;
		e.ino = s->ino;
		e.gz = s->gz;
		e.fsize = s->fsize;
		e.mtime_ns = s->mtime_ns;
		/* the head covers only consumed bytes, which never change in place */
		hl = s->end_offset < s->head_n ? s->end_offset : s->head_n;
		e.head_len = (uint32_t)hl;
		e.head_hash = inc_hash(s->head, (size_t)hl);
		e.offset = s->end_offset;
		e.line = s->end_line;
		e.seen = now;
		ALLOC_GROW(st->v, st->nr + 1, st->alloc);
		st->v[st->nr++] = entry_dup(&e);
	}
	st->last_run = now;
}
