#include <string.h>
#include "cli/cli.h"

/* NEEDSWORK: placeholder until the replay command lands; refuses clearly. */
int cmd_replay(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--help"))
		return cli_usage("usage: poolscope replay ... (not built yet)\n", true, NULL);
	return error("'poolscope replay' is not built yet"), EXIT_OPERATIONAL;
}
