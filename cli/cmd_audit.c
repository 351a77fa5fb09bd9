#include <string.h>
#include "cli/cli.h"

/* NEEDSWORK: placeholder until the audit command lands; refuses clearly. */
int cmd_audit(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--help"))
		return cli_usage("usage: poolscope audit ... (not built yet)\n", true, NULL);
	return error("'poolscope audit' is not built yet"), EXIT_OPERATIONAL;
}
