/*
 * genlogs: write large, realistic synthetic logs of every family poolscope
 * reads, for benchmarks and huge-input tests.  Not a fixture: the lines copy
 * the exact layouts of the real software (see ../shared/reference/), but
 * the traffic is invented.  Deterministic for a seed.
 *
 *   genlogs -o DIR [--mb N] [--seed N] [--start EPOCH]
 *
 * Writes DIR/app.log (Python logging: app lines, SQLAlchemy pool debug,
 * pool stats, batch lines, TimeoutError tracebacks, uvicorn access lines),
 * DIR/gunicorn-access.log (with D=), DIR/nginx-access.log ($request_time),
 * DIR/postgresql.log (stderr, Debian prefix), DIR/postgresql.csv and
 * DIR/postgresql.json, each about its share of N MB (default 256).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core/error.h"
#include "core/logtime.h"
#include "core/numparse.h"
#include "core/banned.h"

static uint64_t rng_state;

/* xorshift64*: fast, good enough for invented traffic, reproducible */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

struct civil {
	int64_t y;
	unsigned mo, d, h, mi, s, us;
};

static void to_civil(log_usec t, struct civil *c)
{
	int64_t secs = t / USEC_PER_SEC, days = secs / 86400;
	unsigned rem = (unsigned)(secs % 86400);
	civil_from_days(days, &c->y, &c->mo, &c->d);
	c->h = rem / 3600;
	c->mi = rem / 60 % 60;
	c->s = rem % 60;
	c->us = (unsigned)(t % USEC_PER_SEC);
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const endpoints[] = { "/api/v1/health", "/api/v1/vitals/1842",
					 "/api/v1/nutrition/77", "/api/v1/auth/login",
					 "/api/v1/labs/3321?from=2025-10-01", "/api/v1/users/me" };

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		die("cannot write '%s': %s", path, strerror(errno));
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

static void asctime_(FILE *f, log_usec t)
{
	struct civil c;
	to_civil(t, &c);
	fprintf(f, "%04" PRId64 "-%02u-%02u %02u:%02u:%02u,%03u", c.y, c.mo, c.d, c.h, c.mi, c.s,
		c.us / 1000);
}

static void pgtime(FILE *f, log_usec t)
{
	struct civil c;
	to_civil(t, &c);
	fprintf(f, "%04" PRId64 "-%02u-%02u %02u:%02u:%02u.%03u UTC", c.y, c.mo, c.d, c.h, c.mi, c.s,
		c.us / 1000);
}

static void clftime(FILE *f, log_usec t)
{
	struct civil c;
	to_civil(t, &c);
	fprintf(f, "%02u/%s/%04" PRId64 ":%02u:%02u:%02u +0000", c.d, months[c.mo - 1], c.y, c.h,
		c.mi, c.s);
}

static const char traceback[] =
	"Traceback (most recent call last):\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/engine/base.py\", line 3361, in _wrap_pool_connect\n"
	"    return fn()\n"
	"           ^^^^\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/base.py\", line 327, in connect\n"
	"    return _ConnectionFairy._checkout(self)\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/base.py\", line 493, in checkout\n"
	"    rec = pool._do_get()\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/impl.py\", line 134, in _do_get\n"
	"    raise exc.TimeoutError(\n"
	"sqlalchemy.exc.TimeoutError: QueuePool limit of size 10 overflow 20 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n";

static const char dsn[] = "dsn: 'user=app dbname=app host=127.0.0.1 port=5432', closed: 0>";

/* One request's worth of app-log lines. */
static void app_step(FILE *f, log_usec t, unsigned *conn_seq)
{
	unsigned r = rnd_below(1000);
	unsigned conn = 0x5c54d300u + (*conn_seq = (*conn_seq + 1) % 30) * 0x40;
	const char *ep = endpoints[rnd_below(6)];
	log_usec hold = 20000 + rnd_below(100000);

	asctime_(f, t);
	fprintf(f, " - sqlalchemy.pool.impl.QueuePool - DEBUG - Connection <connection object at 0x7f77%08x; %s checked out from pool\n", conn, dsn);
	asctime_(f, t + 200);
	fprintf(f, " - app.api - INFO - handling GET %s\n", ep);
	fprintf(f, "INFO:     127.0.0.1:%u - \"GET %s HTTP/1.1\" 200 OK\n", 40000 + rnd_below(20000), ep);
	asctime_(f, t + hold);
	fprintf(f, " - sqlalchemy.pool.impl.QueuePool - DEBUG - Connection <connection object at 0x7f77%08x; %s being returned to pool\n", conn, dsn);
	asctime_(f, t + hold + 100);
	fprintf(f, " - sqlalchemy.pool.impl.QueuePool - DEBUG - Connection <connection object at 0x7f77%08x; %s rollback-on-return\n", conn, dsn);
	if (r < 4) {
		asctime_(f, t + 30);
		fprintf(f, " - app.db - ERROR - checkout failed\n%s", traceback);
		fprintf(f, "INFO:     127.0.0.1:%u - \"GET %s HTTP/1.1\" 500 Internal Server Error\n", 40000 + rnd_below(20000), ep);
	} else if (r < 8) {
		asctime_(f, t + 40);
		fprintf(f, " - app.worker - DEBUG - \xF0\x9F\x94\x8C Connection pool before batch: {'pool_size': 10, 'checked_in': %u, 'checked_out': %u, 'overflow': %d, 'total_connections': %u, 'status': 'healthy'}\n",
			rnd_below(10), rnd_below(30), (int)rnd_below(30) - 10, 10 + rnd_below(20));
		asctime_(f, t + 50);
		fprintf(f, " - app.worker - INFO - Processing vitals batch: %u entries\n", 100 + rnd_below(400));
	} else if (r < 12) {
		asctime_(f, t + 60);
		fprintf(f, " - app.pool - INFO - pool status: Pool size: 10  Connections in pool: %u Current Overflow: %d Current Checked out connections: %u\n",
			rnd_below(10), (int)rnd_below(30) - 10, rnd_below(30));
	} else if (r < 30) {
		asctime_(f, t + 70);
		fprintf(f, " - app.api - WARNING - slow request %s took %u ms\n", ep, 500 + rnd_below(3000));
	}
}

static void gunicorn_step(FILE *f, log_usec t)
{
	unsigned status = rnd_below(100) < 2 ? 500 : 200;
	unsigned d = 2000 + rnd_below(200000);
	fprintf(f, "127.0.0.1 - - [");
	clftime(f, t);
	fprintf(f, "] \"GET %s HTTP/1.1\" %u %u \"-\" \"curl/7.88.1\" D=%u T=%u L=%u.%06u M=%u\n",
		endpoints[rnd_below(6)], status, status == 200 ? 2 + rnd_below(500) : 0, d,
		d / 1000000, d / 1000000, d % 1000000, d / 1000);
}

static void nginx_step(FILE *f, log_usec t)
{
	unsigned status = rnd_below(100) < 2 ? 504 : 200;
	unsigned ms = 2 + rnd_below(300);
	fprintf(f, "10.0.%u.%u - - [", rnd_below(255), rnd_below(255));
	clftime(f, t);
	fprintf(f, "] \"POST %s HTTP/1.1\" %u %u \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" %u.%03u %u.%03u\n",
		endpoints[rnd_below(6)], status, 100 + rnd_below(2000), ms / 1000, ms % 1000,
		ms / 1000, ms % 1000);
}

static void pg_stderr_step(FILE *f, log_usec t, unsigned pid)
{
	unsigned r = rnd_below(100);
	pgtime(f, t);
	if (r < 5) {
		fprintf(f, " [%u] [unknown]@[unknown] LOG:  connection received: host=127.0.0.1 port=%u\n", pid, 30000 + rnd_below(30000));
		pgtime(f, t + 900);
		fprintf(f, " [%u] app@app LOG:  connection authorized: user=app database=app application_name=uvicorn\n", pid);
	} else if (r < 10) {
		fprintf(f, " [%u] app@app LOG:  disconnection: session time: 0:%02u:%02u.%03u user=app database=app host=127.0.0.1 port=%u\n",
			pid, rnd_below(60), rnd_below(60), rnd_below(1000), 30000 + rnd_below(30000));
	} else if (r < 11) {
		fprintf(f, " [%u] app@app FATAL:  sorry, too many clients already\n", pid);
	} else if (r < 13) {
		fprintf(f, " [%u] app@app LOG:  process %u still waiting for ShareLock on transaction %u after 1000.%03u ms\n", pid, pid, 700 + rnd_below(100), rnd_below(1000));
		pgtime(f, t);
		fprintf(f, " [%u] app@app DETAIL:  Process holding the lock: %u. Wait queue: %u.\n", pid, pid + 1, pid);
	} else {
		fprintf(f, " [%u] app@app LOG:  duration: %u.%03u ms  statement: SELECT vitals.id, vitals.user_id, vitals.value\n\t  FROM vitals\n\t WHERE vitals.user_id = %u\n",
			pid, 250 + rnd_below(5000), rnd_below(1000), rnd_below(100000));
	}
}

static void pg_csv_step(FILE *f, log_usec t, unsigned pid)
{
	unsigned r = rnd_below(100);
	pgtime(f, t);
	if (r < 10)
		fprintf(f, ",\"app\",\"app\",%u,\"127.0.0.1:%u\",6b08462f.%x,2,\"authentication\",2026-11-26 14:46:07 UTC,3/%u,0,LOG,00000,\"connection authorized: user=app database=app application_name=uvicorn\",,,,,,,,,\"\",\"client backend\",,0\n",
			pid, 30000 + rnd_below(30000), pid, rnd_below(1000));
	else
		fprintf(f, ",\"app\",\"app\",%u,\"127.0.0.1:%u\",6b08462f.%x,%u,\"SELECT\",2026-11-26 14:46:07 UTC,3/%u,0,LOG,00000,\"duration: %u.%03u ms  statement: SELECT \"\"id\"\" FROM vitals\nWHERE user_id = %u\",,,,,,,,,\"uvicorn\",\"client backend\",,0\n",
			pid, 30000 + rnd_below(30000), pid, 3 + rnd_below(50), rnd_below(1000),
			250 + rnd_below(5000), rnd_below(1000), rnd_below(100000));
}

static void pg_json_step(FILE *f, log_usec t, unsigned pid)
{
	fprintf(f, "{\"timestamp\":\"");
	pgtime(f, t);
	fprintf(f, "\",\"user\":\"app\",\"dbname\":\"app\",\"pid\":%u,\"remote_host\":\"127.0.0.1\",\"remote_port\":%u,\"session_id\":\"6b08462f.%x\",\"line_num\":%u,\"ps\":\"SELECT\",\"session_start\":\"2026-11-26 14:46:07 UTC\",\"vxid\":\"3/%u\",\"txid\":0,\"error_severity\":\"LOG\",\"message\":\"duration: %u.%03u ms  statement: SELECT id FROM vitals WHERE user_id = %u\",\"application_name\":\"uvicorn\",\"backend_type\":\"client backend\",\"query_id\":0}\n",
		pid, 30000 + rnd_below(30000), pid, 3 + rnd_below(50), rnd_below(1000),
		250 + rnd_below(5000), rnd_below(1000), rnd_below(100000));
}

static const char usage[] = "usage: genlogs -o DIR [--mb N] [--seed N] [--start EPOCH]\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "mb", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "start", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	/* share of the total per file, in percent */
	static const struct {
		const char *name;
		int pct;
	} files[] = {
		{ "app.log", 40 },	  { "gunicorn-access.log", 12 }, { "nginx-access.log", 12 },
		{ "postgresql.log", 16 }, { "postgresql.csv", 10 },	 { "postgresql.json", 10 },
	};
	const char *dir = NULL;
	int64_t mb = 256, seed = 42, start = 1795704000; /* 2026-11-26T12:00:00Z */
	int c;

	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': dir = optarg; break;
		case 'm':
			if (parse_i64(optarg, &mb) < 0 || mb < 1)
				die("--mb wants a positive number, not '%s'", optarg);
			break;
		case 's':
			if (parse_i64(optarg, &seed) < 0)
				die("--seed wants a number, not '%s'", optarg);
			break;
		case 't':
			if (parse_i64(optarg, &start) < 0)
				die("--start wants epoch seconds, not '%s'", optarg);
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 64;
		}
	}
	if (!dir) {
		fputs(usage, stderr);
		return 64;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("cannot create '%s': %s", dir, strerror(errno));
	rng_state = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = open_out(dir, files[i].name);
		long target = (long)(mb * 1024 * 1024 * files[i].pct / 100);
		log_usec t = start * USEC_PER_SEC;
		unsigned conn_seq = 0;
		while (ftell(f) < target) {
			unsigned pid = 7000 + rnd_below(500);
			t += 1000 + rnd_below(40000);
			switch (i) {
			case 0: app_step(f, t, &conn_seq); break;
			case 1: gunicorn_step(f, t); break;
			case 2: nginx_step(f, t); break;
			case 3: pg_stderr_step(f, t, pid); break;
			case 4: pg_csv_step(f, t, pid); break;
			default: pg_json_step(f, t, pid); break;
			}
		}
		fprintf(stderr, "genlogs: %s/%s %ld bytes\n", dir, files[i].name, ftell(f));
		if (fclose(f) == EOF)
			die("cannot write '%s/%s': %s", dir, files[i].name, strerror(errno));
	}
	return 0;
}
