#include "cli/cli.h"
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/cleanup.h"
#include "core/numparse.h"
#include "parsers/format.h"
#include "parsers/formats.h"
#include "core/banned.h"

int cli_input_option(struct parse_opts *o, int opt, const char *arg)
{
	int64_t v;
	switch (opt) {
	case OPT_FORMAT:
		if (!format_find(arg)) {
			struct strbuf sb = STRBUF_INIT;
			for (const struct format *const *f = format_registry; *f; f++)
				strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", (*f)->name);
			error("unknown format '%s' (known: %s)", arg, sb.buf);
			strbuf_release(&sb);
			return -1;
		}
		o->format = arg;
		return 1;
	case OPT_TZ:
		tzinfo_release(&o->tz);
		return tzinfo_load(&o->tz, arg) < 0 ? -1 : 1;
	case OPT_PG_PREFIX:
		o->pg_prefix = arg;
		return 1;
	case OPT_FORMATS:
		if (o->user)
			return error("--formats given twice");
		o->user = user_formats_load(arg);
		return o->user ? 1 : -1;
	case OPT_MAX_LINE:
		if (parse_i64(arg, &v) < 0 || v < 256 || v > (INT64_C(1) << 31))
			return error("--max-line wants a byte count from 256 to 2147483648, not '%s'", arg);
		o->max_line = (size_t)v;
		if (o->max_record < o->max_line)
			o->max_record = o->max_line;
		return 1;
	default:
		return 0;
	}
}

void cli_input_release(struct parse_opts *o)
{
	user_formats_free((struct user_formats *)o->user);
	o->user = NULL;
	parse_opts_release(o);
}

static int expand_dir(const char *dir, struct strvec *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct strvec names = STRVEC_INIT;
	if (!d)
		return error("cannot open folder '%s': %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		struct strbuf p = STRBUF_INIT;
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		strbuf_addf(&p, "%s/%s", dir, de->d_name);
		if (!stat(p.buf, &st) && S_ISREG(st.st_mode))
			strvec_push(&names, p.buf);
		strbuf_release(&p);
	}
	closedir(d);
	strvec_sort(&names);
	for (size_t i = 0; i < names.nr; i++)
		strvec_push(out, names.v[i]);
	if (!names.nr)
		warning("folder '%s' holds no files", dir);
	strvec_clear(&names);
	return 0;
}

int cli_expand_inputs(char **args, int n, struct strvec *out)
{
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (!strcmp(args[i], "-")) {
			strvec_push(out, "-");
			continue;
		}
		if (stat(args[i], &st) < 0)
			return error("cannot open '%s': %s", args[i], strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			if (expand_dir(args[i], out) < 0)
				return -1;
		} else {
			strvec_push(out, args[i]);
		}
	}
	return 0;
}

int cli_usage(const char *usage, bool help, const char *why, ...)
{
	if (help) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (why) {
		char msg[1024];
		va_list ap;
		va_start(ap, why);
		vsnprintf(msg, sizeof(msg), why, ap);
		va_end(ap);
		fprintf(stderr, "error: %s\n", msg);
	}
	fputs(usage, stderr);
	return EXIT_USAGE;
}

int out_open(struct out_file *of, const char *path)
{
	struct stat st;
	memset(of, 0, sizeof(*of));
	if (!path || !strcmp(path, "-")) {
		of->fp = stdout;
		return 0;
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		/* a device or pipe (/dev/null, a FIFO): write in place, never
		 * rename a temp file over it */
		of->fp = fopen(path, "w");
		if (!of->fp)
			return error("cannot write '%s': %s", path, strerror(errno));
		of->direct = true;
		return 0;
	}
	of->path = xstrdup(path);
	of->tmp = xmalloc(strlen(path) + 32);
	snprintf(of->tmp, strlen(path) + 32, "%s.tmp.%ld", path, (long)getpid());
	of->fp = fopen(of->tmp, "w");
	if (of->fp)
		cleanup_register(of->tmp);
	if (!of->fp) {
		int e = errno;
		free(of->path);
		free(of->tmp);
		of->path = of->tmp = NULL;
		return error("cannot write '%s': %s", path, strerror(e));
	}
	return 0;
}

int out_commit(struct out_file *of)
{
	int ret = 0;
	if (!of->fp)
		return 0;
	if (of->direct) {
		if (fflush(of->fp) == EOF || ferror(of->fp))
			ret = error("cannot write output: %s", strerror(errno));
		fclose(of->fp);
		of->fp = NULL;
		of->direct = false;
		return ret;
	}
	if (!of->path) {
		if (fflush(of->fp) == EOF)
			ret = error("cannot write to standard output: %s", strerror(errno));
		of->fp = NULL;
		return ret;
	}
	if (fflush(of->fp) == EOF || ferror(of->fp) || fsync(fileno(of->fp)) < 0)
		ret = error("cannot write '%s': %s", of->path, strerror(errno));
	if (fclose(of->fp) == EOF && !ret)
		ret = error("cannot write '%s': %s", of->path, strerror(errno));
	of->fp = NULL;
	if (!ret && rename(of->tmp, of->path) < 0)
		ret = error("cannot rename '%s' to '%s': %s", of->tmp, of->path, strerror(errno));
	if (ret)
		unlink(of->tmp);
	cleanup_unregister(of->tmp);
	free(of->path);
	free(of->tmp);
	of->path = of->tmp = NULL;
	return ret;
}

void out_abort(struct out_file *of)
{
	if (of->fp && of->direct)
		fclose(of->fp);
	if (of->fp && of->path) {
		fclose(of->fp);
		unlink(of->tmp);
		cleanup_unregister(of->tmp);
	}
	of->fp = NULL;
	free(of->path);
	free(of->tmp);
	of->path = of->tmp = NULL;
}

bool cli_progress_enabled(void)
{
	return isatty(2);
}
