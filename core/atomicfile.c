#include "core/atomicfile.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/cleanup.h"
#include "core/error.h"
#include "core/strbuf.h"
#include "core/banned.h"

int file_write_atomic(const char *path, const void *buf, size_t len)
{
	struct strbuf tmp = STRBUF_INIT;
	const char *p = buf;
	int fd, ret = 0;
	bool registered;

	strbuf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	registered = cleanup_register(tmp.buf) == 0;
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = error("cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = error("cannot write '%s': %s", path, strerror(errno));
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!ret && fsync(fd) < 0 && errno != EINVAL)
		ret = error("cannot write '%s': %s", path, strerror(errno));
	if (close(fd) < 0 && !ret)
		ret = error("cannot write '%s': %s", path, strerror(errno));
	if (!ret && rename(tmp.buf, path) < 0)
		ret = error("cannot rename '%s' to '%s': %s", tmp.buf, path, strerror(errno));
	if (ret)
		unlink(tmp.buf);
out:
	if (registered)
		cleanup_unregister(tmp.buf);
	strbuf_release(&tmp);
	return ret;
}

FILE *tmpfile_unnamed(const char *stem)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	FILE *f;
	int fd;
	if (!dir || !*dir)
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/poolscope-%s.XXXXXX", dir, stem) >= sizeof(path)) {
		error("temporary folder name too long: '%s'", dir);
		return NULL;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		error("cannot create a temporary file in '%s': %s", dir, strerror(errno));
		return NULL;
	}
	/* registered until it has no name: a signal in between removes it */
	cleanup_register(path);
	unlink(path);
	cleanup_unregister(path);
	if (!(f = fdopen(fd, "w+"))) {
		error("cannot open a temporary file: %s", strerror(errno));
		close(fd);
	}
	return f;
}
