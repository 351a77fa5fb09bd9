#include "core/cleanup.h"
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "core/banned.h"

#define CLEANUP_PATH 4096

static char paths[CLEANUP_MAX][CLEANUP_PATH];
static volatile sig_atomic_t used[CLEANUP_MAX];

static void on_signal(int sig)
{
	for (int i = 0; i < CLEANUP_MAX; i++)
		if (used[i])
			unlink(paths[i]);
	/* die the way the signal would have killed us, so the exit status is honest */
	signal(sig, SIG_DFL);
	raise(sig);
}

void cleanup_install_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
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
