#ifndef POOLSCOPE_CLI_REPLAY_INPUT_H
#define POOLSCOPE_CLI_REPLAY_INPUT_H
#include "parsers/parse.h"
#include "replay/sim.h"
#include "replay/workload.h"
/*
 * Shared by `workload`, `replay` and `sweep`: the inputs are either one
 * workload file (recognised by its first line) or logs, which are parsed
 * and turned into a workload (workload_extract()).
 */

/* Fill wl (initialised by the caller) from args.  Returns 0, or -1 after
 * error(). */
int replay_load_workload(char **args, int n, const struct parse_opts *opts, struct workload *wl);

/* The pool settings recorded in the logs into pc, or -1 after error()
 * naming what is missing. */
int replay_recorded_pool(const struct workload *wl, struct pool_config *pc);

/* One line on stderr about how the workload was built (evidence, imputed
 * rows), unless quiet. */
void replay_describe_workload(const struct workload *wl);

/* Options shared by replay and sweep (numbered from OPT__CMD_BASE + 50). */
enum {
	OPT_RP_WORKERS = 1150,
	OPT_RP_MAXCONN,
	OPT_RP_BARGING,
	OPT_RP_SQLA,
	OPT_RP_LIFO,
	OPT_RP_CONNECT_MS,
	OPT_RP_BATCH_SIZE,
	OPT_RP_BATCH_CONC,
	OPT_RP_COMMIT,
	OPT_RP_GROUP,
	OPT_RP_BATCH_GAP,
	OPT_RP_SCALE,
	OPT_RP_PER_ENTRY,
	OPT_RP_SEED,
	OPT_RP_LOCK_WAITS,
	OPT_RP_THREADS
};
#define REPLAY_MODEL_LONGOPTS                                                 \
	{ "workers", required_argument, NULL, OPT_RP_WORKERS },               \
	{ "max-connections", required_argument, NULL, OPT_RP_MAXCONN },       \
	{ "barging", no_argument, NULL, OPT_RP_BARGING },                     \
	{ "sqlalchemy", required_argument, NULL, OPT_RP_SQLA },               \
	{ "lifo", no_argument, NULL, OPT_RP_LIFO },                           \
	{ "connect-ms", required_argument, NULL, OPT_RP_CONNECT_MS },         \
	{ "batch-size", required_argument, NULL, OPT_RP_BATCH_SIZE },         \
	{ "batch-concurrency", required_argument, NULL, OPT_RP_BATCH_CONC },  \
	{ "commit", required_argument, NULL, OPT_RP_COMMIT },                 \
	{ "group-size", required_argument, NULL, OPT_RP_GROUP },              \
	{ "batch-gap", required_argument, NULL, OPT_RP_BATCH_GAP },           \
	{ "scale-load", required_argument, NULL, OPT_RP_SCALE },              \
	{ "per-entry-cost", required_argument, NULL, OPT_RP_PER_ENTRY },      \
	{ "seed", required_argument, NULL, OPT_RP_SEED },                     \
	{ "lock-waits", required_argument, NULL, OPT_RP_LOCK_WAITS },         \
	{ "server-threads", required_argument, NULL, OPT_RP_THREADS }
#define REPLAY_MODEL_USAGE                                                                \
	"Model options:\n"                                                                \
	"  --workers N        N app processes, each with its own pool; API requests are\n" \
	"                     dealt round-robin, batches run in the first (default: one\n" \
	"                     pool per process id seen in the logs)\n"                      \
	"  --server-threads N API requests each process runs at once (uvicorn sync\n"   \
	"                     endpoints: 40, gunicorn gthread: --threads); more queue at\n" \
	"                     the server, which is not pool wait.  Recorded arrivals\n"   \
	"                     already include the recorded server queueing, so use it\n" \
	"                     for what-ifs that free threads (default: no limit)\n"       \
	"  --max-connections N  PostgreSQL max_connections across all processes; a\n"     \
	"                     connect beyond it is refused (default: no limit)\n"           \
	"  --barging          newcomers may take a returned connection before the\n"      \
	"                     notified waiter runs (5 ms later), as CPython threads do;\n"  \
	"                     default: strict FIFO handoff\n"                               \
	"  --sqlalchemy 1.4|2.0  pool_size=0 semantics (default 2.0)\n"                     \
	"  --lifo             pool_use_lifo=True\n"                                         \
	"  --connect-ms MS    connect latency of a new connection, counted as hold\n"     \
	"                     (default 0)\n"                                                \
	"What-if transforms:\n"                                                           \
	"  --batch-size N     re-cut every batch into batches of N entries, run one\n"    \
	"                     after another; connection time scales with entries at the\n" \
	"                     per-entry cost measured from the logs\n"                      \
	"  --batch-concurrency N  connections (sub-workers) per batch\n"                  \
	"  --commit once|group  one checkout per sub-worker, or one per group of entries\n" \
	"  --group-size N     entries per checkout with --commit group (default:\n"       \
	"                     measured, else 1)\n"                                          \
	"  --batch-gap S      seconds the worker sleeps between batches (default: as\n"   \
	"                     recorded; 0 between the pieces of a re-cut batch)\n"          \
	"  --per-entry-cost S connection seconds per entry (default: measured)\n"          \
	"  --lock-waits keep|drop  API holds that overlap a batch and are longer than\n" \
	"                     2 x p99 of the others are taken to wait on the batch's row\n" \
	"                     locks; drop replaces them by the nearest ordinary hold\n"   \
	"                     (default: drop with --commit group over batches that\n"    \
	"                     committed once, else keep)\n"                               \
	"  --scale-load X     API arrivals x X: thinned (X < 1) or replicated into the\n" \
	"                     gaps (X > 1), deterministically for --seed (default 1)\n"     \
	"  --seed N           seed for --scale-load (default 1)\n"

/* Returns 1 if opt was a model option (applied), 0 if not, -1 on a bad value
 * (after error()). */
int replay_model_option(struct sim_config *cfg, struct wl_transform *t, int opt, const char *arg);
#endif
