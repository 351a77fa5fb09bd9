#include "core/cleanup.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/banned.h"

#define CLEANUP_PATH 4096

static char paths[CLEANUP_MAX][CLEANUP_PATH];
static volatile sig_atomic_t used[CLEANUP_MAX];
static char dirs[CLEANUP_MAX_DIRS][CLEANUP_PATH];
static volatile sig_atomic_t dir_used[CLEANUP_MAX_DIRS];
static volatile sig_atomic_t child; /* pid of the child writing our files, or 0 */

static const int handled[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
#define NHANDLED (sizeof(handled) / sizeof(handled[0]))

/* Empty and remove a folder with async-signal-safe calls only: open(),
 * getdents64 through syscall() (readdir() may allocate), unlinkat(),
 * rmdir(). */
static void remove_dir(const char *dir)
{
	union {
		char buf[4096];
		uint64_t align;
	} u;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;
	if (fd < 0)
		return;
	while ((n = syscall(SYS_getdents64, fd, u.buf, sizeof(u.buf))) > 0) {
		for (long off = 0; off < n;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
			unsigned short reclen;
			const char *name = u.buf + off + 19;
			memcpy(&reclen, u.buf + off + 16, sizeof(reclen));
			if (strcmp(name, ".") && strcmp(name, ".."))
				unlinkat(fd, name, 0);
			off += reclen;
		}
	}
	close(fd);
	rmdir(dir);
}

static void on_signal(int sig)
{
	pid_t c = child;
	/* kill() and waitpid() are async-signal-safe; the child must be gone
	 * before the files it writes are removed */
	if (c > 0) {
		kill(c, SIGKILL);
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < CLEANUP_MAX; i++)
		if (used[i])
			unlink(paths[i]);
	for (int i = 0; i < CLEANUP_MAX_DIRS; i++)
		if (dir_used[i])
			remove_dir(dirs[i]);
	/* die the way the signal would have killed us, so the exit status is honest */
	signal(sig, SIG_DFL);
	raise(sig);
}

void cleanup_install_handlers(void)
{
	const int *sigs = handled;
	for (size_t i = 0; i < NHANDLED; i++) {
		struct sigaction sa, old;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		/* leave an ignored signal ignored (nohup, a parent's SIG_IGN) */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

int cleanup_register(const char *path)
{
	size_t n = strlen(path);
	if (n >= CLEANUP_PATH)
		return -1;
	for (int i = 0; i < CLEANUP_MAX; i++) {
		if (used[i])
			continue;
		memcpy(paths[i], path, n + 1);
		used[i] = 1;
		return 0;
	}
	return -1;
}

void cleanup_unregister(const char *path)
{
	for (int i = 0; i < CLEANUP_MAX; i++)
		if (used[i] && !strcmp(paths[i], path)) {
			used[i] = 0;
			return;
		}
}

int cleanup_register_dir(const char *path)
{
	size_t n = strlen(path);
	if (n >= CLEANUP_PATH)
		return -1;
	for (int i = 0; i < CLEANUP_MAX_DIRS; i++) {
		if (dir_used[i])
			continue;
		memcpy(dirs[i], path, n + 1);
		dir_used[i] = 1;
		return 0;
	}
	return -1;
}

void cleanup_unregister_dir(const char *path)
{
	for (int i = 0; i < CLEANUP_MAX_DIRS; i++)
		if (dir_used[i] && !strcmp(dirs[i], path)) {
			dir_used[i] = 0;
			return;
		}
}

pid_t cleanup_fork(void)
{
	sigset_t block, old;
	pid_t pid;
	sigemptyset(&block);
	for (size_t i = 0; i < NHANDLED; i++)
		sigaddset(&block, handled[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid > 0) {
		child = pid;
	} else if (!pid) {
		/* the child must not run our handler (it would remove the
		 * parent's files) before it execs; an ignored signal stays
		 * ignored, as in cleanup_install_handlers() */
		for (size_t i = 0; i < NHANDLED; i++) {
			struct sigaction sa;
			if (sigaction(handled[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
				signal(handled[i], SIG_DFL);
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid;
}

void cleanup_child_done(void)
{
	child = 0;
}
