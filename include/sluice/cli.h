/* cli.h - the runtime API: HAProxy's "stats socket" protocol and commands.
 *
 * Owns: the global keywords "stats socket", "stats timeout" and "stats
 * maxconn" (cli.c), the thread that serves the sockets (cli.c: one thread
 * with its own epoll loop, never a worker, so a slow client cannot stall
 * traffic), the command line parser and dispatcher (cli_cmds.c), and the
 * commands themselves: process and proxy statistics (cli_show.c), stick
 * tables (cli_table.c), server state, weights, maxconn, checks, sessions,
 * adding and removing servers (cli_cmds.c, cli_srv.c).
 * Protocol, as HAProxy's: one line holds one or more commands separated
 * by ';'; every command's answer ends with an empty line; the connection
 * closes after the first line unless "prompt" made it interactive.
 * Threading: the dispatcher runs on the CLI thread (or a test's thread).
 * It reads configuration and atomics, changes servers through
 * server_state.c, and reaches what belongs to a worker (sessions) with
 * worker_call(), waiting a bounded time for the answers.
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct runtime;
struct config;
struct worker;

/* Access levels of a socket ("level" on "stats socket"). */
enum cli_level {
	CLI_LVL_USER = 0,	/* show commands only */
	CLI_LVL_OPER = 1,	/* + clear, enable/disable, set weight/state, shutdown (default) */
	CLI_LVL_ADMIN = 2,	/* everything: add/del server, set table, set maxconn */
};

#define CLI_LINE_MAX	16384		/* longest command line accepted */
#define CLI_OUT_MAX	(64u << 20)	/* most bytes one line may answer */
#define CLI_MAX_WORDS	64

/* The answer being built. Grows on demand up to CLI_OUT_MAX; past that,
 * further text is dropped and full is set (the answer then ends with a
 * note saying it was cut). */
struct cli_out {
	char *buf;
	size_t len, size;
	int full;
};

void cli_out_init(struct cli_out *o);
void cli_out_free(struct cli_out *o);
void cli_out_reset(struct cli_out *o);
void cli_out_add(struct cli_out *o, const char *s, size_t n);
void cli_out_str(struct cli_out *o, const char *s);
void cli_printf(struct cli_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_exec_line() results (bits). */
#define CLI_RET_QUIT	0x01	/* "quit", or a line that must end the connection */
#define CLI_RET_PROMPT	0x02	/* "prompt": toggle interactive mode */

/* Run one line (without its '\n'; a trailing '\r' is ignored) at the given
 * level, appending every answer to out. rt->conf must be set; the workers
 * need not run (commands that need them then find nothing to ask). Never
 * reads past line[len-1]; a line longer than CLI_LINE_MAX or holding
 * control characters gets an error and CLI_RET_QUIT. */
int cli_exec_line(struct runtime *rt, int level, const char *line, size_t len,
		  struct cli_out *out);

/* Open every "stats socket" of rt->conf and serve them from a dedicated
 * thread. Call after the workers started. Returns 0 (also when there is
 * no socket), or -1 after printing why on stderr. */
int cli_start(struct runtime *rt);
/* Stop the thread, close the sockets and unlink the UNIX ones it created.
 * Before the runtime is freed. Safe without cli_start(). */
void cli_stop(void);

/* Settings parsed from "stats ..." lines are kept per config; a unit test
 * that loads several configs at one address forgets them in between. */
void cli_conf_forget(const struct config *conf);
/* How many "stats socket" lines conf has (for tests). */
unsigned cli_conf_sockets(const struct config *conf);

/* ---- between the cli_*.c files ---------------------------------------- */

struct cli_cmd_ctx {
	struct runtime *rt;
	struct config *conf;
	int level;
	struct cli_out *out;
	int ret;		/* CLI_RET_* */
};

/* Run fn(w, arg, part) on every worker's thread, each writing into its own
 * part, and append the parts to out in worker order. Waits at most
 * timeout_ms: a worker that did not answer by then is named in out.
 * Returns the number of workers that answered. */
typedef void (*cli_worker_fn)(struct worker *w, void *arg, struct cli_out *part);
unsigned cli_on_workers(struct runtime *rt, cli_worker_fn fn, void *arg, size_t argsize,
			struct cli_out *out, unsigned timeout_ms);

/* Command handlers: args[0..argc) are the command's words. */
void cli_show_info(struct cli_cmd_ctx *c, int argc, char **args);
void cli_show_stat(struct cli_cmd_ctx *c, int argc, char **args);
void cli_show_servers_state(struct cli_cmd_ctx *c, int argc, char **args);
void cli_show_sess(struct cli_cmd_ctx *c, int argc, char **args);
void cli_show_table(struct cli_cmd_ctx *c, int argc, char **args);
void cli_clear_table(struct cli_cmd_ctx *c, int argc, char **args);
void cli_set_table(struct cli_cmd_ctx *c, int argc, char **args);
void cli_add_server(struct cli_cmd_ctx *c, int argc, char **args);
void cli_del_server(struct cli_cmd_ctx *c, int argc, char **args);

/* "BE/SRV" to a server; on failure prints HAProxy's message
 * ("Require 'backend/server'.", "No such backend.", "No such server.")
 * and returns NULL. */
struct server;
struct proxy;
struct server *cli_find_server(struct cli_cmd_ctx *c, const char *arg, struct proxy **be);
/* Start time of the process (monotonic ms), for "show info" uptime. */
uint64_t cli_start_ms(void);

#endif
