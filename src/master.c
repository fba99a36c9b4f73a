/* master.c - master-worker mode, seamless reloads and -sf/-st hand-over.
 *
 * The master parses the configuration, opens the listening sockets and
 * forks a worker process (one "generation") that runs main's normal
 * start-up over them. On reload (SIGUSR2 or the master CLI "reload") it
 * reads the configuration again; a broken one changes nothing. Otherwise
 * each listener of the new configuration gets a duplicate of the socket
 * the master already holds for the same address (same kernel socket: no
 * connection is refused or lost in an accept queue), new addresses are
 * bound, and a new worker is forked. When that worker reports it serves
 * (a byte on a pipe), the older ones get SIGUSR1 (finish and drain) and,
 * after "hard-stop-after", SIGTERM.
 *
 * The master never starts threads and frees its copy of the configuration
 * once the worker is forked: it only keeps sockets (struct sockset), the
 * worker table and the master CLI. A worker that dies while current makes
 * the master stop the others and exit with its code, as HAProxy does,
 * unless "master-worker no-exit-on-failure" (then the master stays and the
 * next reload starts a worker again).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sluice/addr.h"
#include "sluice/cfg.h"
#include "sluice/global.h"
#include "sluice/listener.h"
#include "sluice/map.h"
#include "sluice/master.h"
#include "sluice/proxy.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "dev"
#endif

#define MAX_WORKERS		32
#define MAX_CLIENTS		8
#define READY_TIMEOUT_MS	60000	/* a worker that never gets ready is killed */
#define RELOAD_LOG_SIZE		4096

/* ---- pure helpers ------------------------------------------------------------ */

int sock_key_match(const struct sock_key *a, const struct sock_key *b)
{
	if (a->udp != b->udp || !addr_equal(&a->addr, &b->addr))
		return 0;
	if (!a->iface || !b->iface)
		return a->iface == b->iface;
	return !strcmp(a->iface, b->iface);
}

static int append(char *buf, size_t sz, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= sz)
		return -1;
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return 0;
}

size_t sd_msg_build(char *buf, size_t sz, enum sd_state st, uint64_t mono_usec,
		    const char *status)
{
	static const char *const head[] = {
		[SD_READY] = "READY=1\n", [SD_RELOADING] = "RELOADING=1\n",
		[SD_STOPPING] = "STOPPING=1\n", [SD_STATUS] = "",
	};
	char num[48];
	size_t len = 0;

	if (!sz || append(buf, sz, &len, head[st]) < 0)
		return 0;
	/* systemd's notify-reload protocol wants the reload's start time */
	snprintf(num, sizeof(num), "MONOTONIC_USEC=%llu\n", (unsigned long long)mono_usec);
	if (st == SD_RELOADING && append(buf, sz, &len, num) < 0)
		return 0;
	if (status) {
		size_t start = len;

		if (append(buf, sz, &len, "STATUS=") < 0 || append(buf, sz, &len, status) < 0 ||
		    append(buf, sz, &len, "\n") < 0)
			return 0;
		for (size_t i = start; i + 1 < len; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';	/* one status line, whatever it quotes */
	}
	return len;
}

int sd_addr_parse(const char *env, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n;

	if (!env || (env[0] != '/' && env[0] != '@'))
		return -1;
	n = strlen(env);
	if (n < 2 || n >= sizeof(sun->sun_path))
		return -1;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, env, n);
	if (env[0] == '@')
		sun->sun_path[0] = '\0';	/* abstract namespace */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (env[0] == '/'));
	return 0;
}

const char *master_uptime_str(char *buf, size_t sz, unsigned long secs)
{
	snprintf(buf, sz, "%lud%02luh%02lum%02lus", secs / 86400, secs / 3600 % 24,
		 secs / 60 % 60, secs % 60);
	return buf;
}

static int parse_pids(struct master_opts *mo, int argc, char **argv, int i)
{
	int used = 1;

	for (int j = i + 1; j < argc && argv[j][0] != '-'; j++, used++) {
		char *end;
		long pid = strtol(argv[j], &end, 10);

		if (*end || pid <= 0 || pid > 0x3fffffff) {
			fprintf(stderr, "'%s' expects process ids, got '%s'\n", argv[i], argv[j]);
			return -1;
		}
		if (mo->nold_pids == MASTER_MAX_OLD_PIDS) {
			fprintf(stderr, "'%s': at most %d process ids\n", argv[i],
				MASTER_MAX_OLD_PIDS);
			return -1;
		}
		mo->old_pids[mo->nold_pids++] = (pid_t)pid;
	}
	mo->old_hard = !strcmp(argv[i], "-st");
	return used;
}

int master_parse_arg(struct master_opts *mo, int argc, char **argv, int i)
{
	const char *a = argv[i];

	if (!strcmp(a, "-W") || !strcmp(a, "-Ws")) {
		mo->master_worker = 1;
		mo->systemd |= a[2] == 's';
		return 1;
	}
	if (!strcmp(a, "-S")) {
		if (i + 1 >= argc) {
			fprintf(stderr, "'-S' expects an address (/path or ipv4@IP:PORT)\n");
			return -1;
		}
		mo->cli_addr = argv[i + 1];
		return 2;
	}
	if (!strcmp(a, "-sf") || !strcmp(a, "-st"))
		return parse_pids(mo, argc, argv, i);
	return 0;
}

/* ---- state ------------------------------------------------------------------- */

/* The sockets the master holds for one address: duplicates handed to
 * every generation that binds the same address. */
struct msock {
	struct sock_key key;
	char *iface;		/* owns key.iface */
	int *fds;
	unsigned nfds;
};

struct sockset {
	struct msock *v;
	unsigned n;
};

enum wstate { W_STARTING, W_CURRENT, W_OLD };

struct mworker {
	pid_t pid;
	unsigned gen;		/* #1, #2, ...: the "relative PID" */
	unsigned born_reload;	/* master reload count when forked */
	time_t started;
	int ready_fd;		/* read end while W_STARTING, else -1 */
	enum wstate st;
	uint64_t deadline;	/* monotonic ms: ready timeout or hard-stop-after */
};

struct mclient {
	int fd;			/* -1: free slot */
	char buf[1024];
	size_t len;
	int prompt;		/* interactive: keep open, print a prompt */
	int waiting;		/* answer when the reload in progress ends */
};

struct master {
	const struct master_opts *mo;
	const struct master_ops *ops;
	struct sockset cur, next;	/* serving generation, starting one */
	struct mworker w[MAX_WORKERS];
	unsigned nw;
	unsigned next_gen, reloads, failed_reloads;
	time_t started;
	int sigfd, cli_fd;
	char *cli_path;			/* UNIX socket to unlink at exit */
	struct mclient cli[MAX_CLIENTS];
	int stopping;			/* 0, SIGTERM (hard) or SIGUSR1 (soft) */
	int exit_code;
	unsigned hard_stop_after;	/* ms, from the configuration in use */
	int no_exit;
	int reload_pending;		/* SIGUSR2 during a reload: do one more */
	char reload_log[RELOAD_LOG_SIZE];
};

static struct master M = { .sigfd = -1, .cli_fd = -1 };
static int worker_ready_fd = -1;	/* in a worker: the pipe to the master */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void mlog(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mlog(const char *level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "[%s] (%d) : %s\n", level, (int)getpid(), msg);
}

static void sd_notify_state(enum sd_state st, const char *status)
{
	struct sockaddr_un sun;
	socklen_t len;
	char msg[512];
	size_t n;
	int fd;

	if (!M.mo || !M.mo->systemd ||
	    sd_addr_parse(getenv("NOTIFY_SOCKET"), &sun, &len) < 0)
		return;
	n = sd_msg_build(msg, sizeof(msg), st, now_ms() * 1000, status);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!n || fd < 0)
		goto out;
	if (sendto(fd, msg, n, MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0)
		mlog("WARNING", "cannot notify systemd: %s", strerror(errno));
out:
	if (fd >= 0)
		close(fd);
}

/* ---- socket sets ------------------------------------------------------------- */

typedef int (*listener_fn)(struct listener *l, void *arg);

static int for_each_listener(struct config *conf, listener_fn fn, void *arg)
{
	struct list *bpos, *btmp, *lpos, *ltmp;

	for (struct proxy *px = conf->proxies; px; px = px->next) {
		if (!(px->cap & PX_CAP_FE) || px->disabled)
			continue;
		list_for_each_safe(bpos, btmp, &px->binds) {
			struct bind_conf *bc = list_entry(bpos, struct bind_conf, node);

			list_for_each_safe(lpos, ltmp, &bc->listeners)
				if (fn(list_entry(lpos, struct listener, node), arg) < 0)
					return -1;
		}
	}
	return 0;
}

static void listener_key(const struct listener *l, struct sock_key *k)
{
	k->addr = l->addr;
	k->udp = l->bc->fe->mode == PX_MODE_UDP;
	k->iface = l->bc->interface;
}

static struct msock *sockset_find(struct sockset *s, const struct sock_key *k)
{
	for (unsigned i = 0; i < s->n; i++)
		if (sock_key_match(&s->v[i].key, k))
			return &s->v[i];
	return NULL;
}

static void sockset_close(struct sockset *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		for (unsigned j = 0; j < s->v[i].nfds; j++)
			if (s->v[i].fds[j] >= 0)
				close(s->v[i].fds[j]);
		free(s->v[i].fds);
		free(s->v[i].iface);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

struct give_arg {
	unsigned nthreads;
};

/* A listener whose address the master already holds gets duplicates of
 * those sockets; listeners_open() then binds only what is missing. */
static int give_fds(struct listener *l, void *arg)
{
	unsigned n = ((struct give_arg *)arg)->nthreads;
	struct sock_key k;
	struct msock *m;

	listener_key(l, &k);
	m = sockset_find(&M.cur, &k);
	if (!m)
		return 0;
	l->fds = malloc(sizeof(*l->fds) * n);
	if (!l->fds)
		return -1;
	l->nbfds = n;
	for (unsigned i = 0; i < n; i++)
		l->fds[i] = i < m->nfds && m->fds[i] >= 0 ?
			    fcntl(m->fds[i], F_DUPFD_CLOEXEC, 0) : -1;
	return 0;
}

/* After the fork the master keeps the configuration's sockets (the
 * configuration itself is freed). */
static int take_fds(struct listener *l, void *arg)
{
	struct sockset *s = arg;
	struct msock *v = realloc(s->v, sizeof(*v) * (s->n + 1)), *m;

	if (!v)
		return -1;
	s->v = v;
	m = &v[s->n++];
	listener_key(l, &m->key);
	m->iface = l->bc->interface ? strdup(l->bc->interface) : NULL;
	m->key.iface = m->iface;
	m->fds = l->fds;
	m->nfds = l->nbfds;
	l->fds = NULL;
	l->nbfds = 0;
	return 0;
}

/* ---- workers ----------------------------------------------------------------- */

static const char *state_name(enum wstate st)
{
	return st == W_STARTING ? "New" : st == W_CURRENT ? "Current" : "Former";
}

static struct mworker *worker_find(pid_t pid)
{
	for (unsigned i = 0; i < M.nw; i++)
		if (M.w[i].pid == pid)
			return &M.w[i];
	return NULL;
}

static struct mworker *worker_starting(void)
{
	for (unsigned i = 0; i < M.nw; i++)
		if (M.w[i].st == W_STARTING)
			return &M.w[i];
	return NULL;
}

static void worker_remove(struct mworker *w)
{
	if (w->ready_fd >= 0)
		close(w->ready_fd);
	*w = M.w[--M.nw];
}

static void signal_workers(int sig)
{
	for (unsigned i = 0; i < M.nw; i++)
		kill(M.w[i].pid, sig);
}

static void soft_stop_worker(struct mworker *w)
{
	w->st = W_OLD;
	w->deadline = M.hard_stop_after ? now_ms() + M.hard_stop_after : 0;
	kill(w->pid, SIGUSR1);
}

static void signal_old_pids(const struct master_opts *mo)
{
	int sig = mo->old_hard ? SIGTERM : SIGUSR1;

	for (int i = 0; i < mo->nold_pids; i++)
		if (kill(mo->old_pids[i], sig) < 0)
			fprintf(stderr, "[WARNING] cannot send %s to old process %d: %s\n",
				mo->old_hard ? "SIGTERM" : "SIGUSR1", (int)mo->old_pids[i],
				strerror(errno));
}

void master_serving(const struct master_opts *mo)
{
	if (worker_ready_fd >= 0) {
		if (write(worker_ready_fd, "R", 1) != 1)
			perror("telling the master this worker is ready");
		close(worker_ready_fd);
		worker_ready_fd = -1;
		return;
	}
	signal_old_pids(mo);
}

/* In the child: drop everything that belongs to the master, so that a
 * worker holds only its own configuration's sockets. */
static void child_setup(int ready_wr, pid_t master)
{
	sigset_t none;

	for (unsigned i = 0; i < M.nw; i++)
		if (M.w[i].ready_fd >= 0)
			close(M.w[i].ready_fd);
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (M.cli[i].fd >= 0)
			close(M.cli[i].fd);
	if (M.cli_fd >= 0)
		close(M.cli_fd);
	close(M.sigfd);
	for (unsigned i = 0; i < M.cur.n; i++)
		for (unsigned j = 0; j < M.cur.v[i].nfds; j++)
			if (M.cur.v[i].fds[j] >= 0)
				close(M.cur.v[i].fds[j]);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGUSR2, SIG_IGN);	/* the master's reload signal */
	signal(SIGCHLD, SIG_DFL);
	/* a worker does not outlive its master */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(1);
	unsetenv("NOTIFY_SOCKET");
	worker_ready_fd = ready_wr;
}

static int spawn_worker(struct config *conf)
{
	pid_t master = getpid(), pid;
	struct mworker *w;
	int p[2];

	if (M.nw == MAX_WORKERS) {
		mlog("ALERT", "%d workers are still draining: not starting another", MAX_WORKERS);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);	/* or the child would print the master's buffered output */
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child_setup(p[1], master);
		exit(M.ops->run(conf, M.ops->ctx));
	}
	close(p[1]);
	w = &M.w[M.nw++];
	*w = (struct mworker){ .pid = pid, .gen = ++M.next_gen, .born_reload = M.reloads,
			       .started = time(NULL), .ready_fd = p[0], .st = W_STARTING,
			       .deadline = now_ms() + READY_TIMEOUT_MS };
	mlog("NOTICE", "New worker #%u (%d) forked", w->gen, (int)pid);
	return 0;
}

/* Sockets for conf: the master's duplicates where the address did not
 * change, new ones elsewhere. Returns 0 or the number of errors. */
static int prepare_sockets(struct config *conf)
{
	struct give_arg ga = { M.ops->nthreads(conf) };

	if (for_each_listener(conf, give_fds, &ga) < 0) {
		mlog("ALERT", "out of memory while handing sockets over");
		return 1;
	}
	return listeners_open(conf, ga.nthreads);
}

/* Fork a generation over a configuration whose sockets are ready; the
 * configuration is freed here either way. */
static int start_generation(struct config *conf)
{
	int ret = spawn_worker(conf);

	if (ret == 0 && for_each_listener(conf, take_fds, &M.next) < 0)
		mlog("ALERT", "out of memory: some sockets will be closed at the next reload");
	if (ret == 0) {
		M.hard_stop_after = conf->global.hard_stop_after;
		M.no_exit = conf->global.mworker_no_exit;
	} else
		mlog("ALERT", "cannot start a worker: %s", strerror(errno));
	config_free(conf);
	map_free_all();	/* so that the next reload reads the map files again */
	return ret;
}

/* ---- master CLI -------------------------------------------------------------- */

static void cli_write(struct mclient *c, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;	/* a gone client; closed by the caller */
		s += n;
		len -= (size_t)n;
	}
}

static void cli_close(struct mclient *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->prompt = c->waiting = 0;
}

static void cli_done(struct mclient *c)
{
	if (c->prompt)
		cli_write(c, "\nmaster> ");
	else
		cli_close(c);
}

static void show_proc_line(struct mclient *c, pid_t pid, const char *type, unsigned rel,
			   const char *reloads, time_t started)
{
	char line[256], up[64];

	snprintf(line, sizeof(line), "%-15d %-15s %-15u %-15s %-15s %s\n", (int)pid, type,
		 rel, reloads, master_uptime_str(up, sizeof(up),
						 (unsigned long)(time(NULL) - started)),
		 SLUICE_VERSION);
	cli_write(c, line);
}

static void show_workers(struct mclient *c, int old)
{
	char rl[32];

	for (unsigned i = 0; i < M.nw; i++) {
		const struct mworker *w = &M.w[i];

		if ((w->st == W_OLD) != old)
			continue;
		snprintf(rl, sizeof(rl), "%u", M.reloads - w->born_reload);
		show_proc_line(c, w->pid, w->st == W_STARTING ? "worker(new)" : "worker",
			       w->gen, rl, w->started);
	}
}

static void cli_show_proc(struct mclient *c)
{
	char rl[64];

	cli_write(c, "#<PID>          <type>          <relative PID>  <reloads>       "
		  "<uptime>        <version>\n");
	snprintf(rl, sizeof(rl), "%u [failed: %u]", M.reloads, M.failed_reloads);
	show_proc_line(c, getpid(), "master", 0, rl, M.started);
	cli_write(c, "# workers\n");
	show_workers(c, 0);
	cli_write(c, "# old workers\n");
	show_workers(c, 1);
}

static int master_reload(void);

/* Returns 1 when the client must be left waiting (reload in progress). */
static int cli_command(struct mclient *c, char *cmd)
{
	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	for (char *e = cmd + strlen(cmd); e > cmd && (e[-1] == ' ' || e[-1] == '\t'); )
		*--e = '\0';
	if (!*cmd)
		return 0;
	if (!strcmp(cmd, "help"))
		cli_write(c, "The following commands are valid at this level:\n"
			  "  help           : this message\n"
			  "  prompt         : toggle interactive mode with prompt\n"
			  "  quit           : disconnect\n"
			  "  reload         : reload the configuration and start a new worker\n"
			  "  show proc      : list the master and its workers\n");
	else if (!strcmp(cmd, "show proc"))
		cli_show_proc(c);
	else if (!strcmp(cmd, "prompt"))
		c->prompt = !c->prompt;
	else if (!strcmp(cmd, "quit"))
		c->prompt = 0;
	else if (!strcmp(cmd, "reload")) {
		if (master_reload() == 0) {
			c->waiting = 1;
			return 1;
		}
		cli_write(c, "Success=0\n--\n");
		cli_write(c, M.reload_log);
	} else {
		cli_write(c, "Unknown command: '");
		cli_write(c, cmd);
		cli_write(c, "'; try 'help'\n");
	}
	return 0;
}

/* One line: commands separated by ';', as on HAProxy's CLI. */
static void cli_line(struct mclient *c, char *line)
{
	char *save = NULL;

	for (char *cmd = strtok_r(line, ";", &save); cmd; cmd = strtok_r(NULL, ";", &save))
		if (cli_command(c, cmd))
			return;
	cli_done(c);
}

static void cli_read(struct mclient *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
	char *nl;

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		cli_close(c);
		return;
	}
	if (n < 0)
		return;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while (c->fd >= 0 && !c->waiting && (nl = strchr(c->buf, '\n'))) {
		char line[sizeof(c->buf)];
		size_t ll = (size_t)(nl - c->buf);

		memcpy(line, c->buf, ll);
		line[ll] = '\0';
		if (ll && line[ll - 1] == '\r')
			line[ll - 1] = '\0';
		memmove(c->buf, nl + 1, c->len - ll);
		c->len -= ll + 1;
		cli_line(c, line);
	}
	if (c->fd >= 0 && c->len == sizeof(c->buf) - 1) {
		cli_write(c, "Command line too long\n");
		cli_close(c);
	}
}

static void cli_accept(void)
{
	struct timeval tv = { 2, 0 };
	int fd = accept4(M.cli_fd, NULL, NULL, SOCK_CLOEXEC);
	unsigned i;

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CLIENTS && M.cli[i].fd >= 0; i++)
		;
	if (i == MAX_CLIENTS) {
		close(fd);	/* the master CLI is for operators, not for load */
		return;
	}
	/* a client that stops reading must not stall the master for long */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	M.cli[i].fd = fd;
	M.cli[i].len = 0;
}

/* Every client waiting on "reload" gets the outcome. */
static void cli_reload_result(int ok)
{
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct mclient *c = &M.cli[i];

		if (c->fd < 0 || !c->waiting)
			continue;
		c->waiting = 0;
		cli_write(c, ok ? "Success=1\n--\n" : "Success=0\n--\n");
		cli_write(c, M.reload_log);
		cli_done(c);
	}
}

static int cli_bind(const struct addr_spec *as)
{
	int one = 1, fd = socket(as->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (as->ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const void *)&as->ss;

		unlink(sun->sun_path);	/* left over by a previous master */
		M.cli_path = strdup(sun->sun_path);
	} else
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&as->ss, as->len) < 0 || listen(fd, 16) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int cli_open(const char *addr)
{
	struct addr_spec as;
	char err[256];

	if (strchr(addr, ',')) {
		fprintf(stderr, "[ALERT] -S '%s': options after ',' are not supported; "
			"give only the address\n", addr);
		return -1;
	}
	if (addr_parse(addr, ADDR_ALLOW_UNIX, &as, err, sizeof(err)) < 0) {
		fprintf(stderr, "[ALERT] -S '%s': %s\n", addr, err);
		return -1;
	}
	M.cli_fd = cli_bind(&as);
	if (M.cli_fd < 0) {
		fprintf(stderr, "[ALERT] -S '%s': cannot listen: %s\n", addr, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- reload and worker events ------------------------------------------------ */

/* Read the configuration, capturing what it prints for the CLI's answer
 * (and still printing it). Returns the number of errors. */
static int load_captured(struct config *conf)
{
	FILE *tmp = tmpfile();
	int saved = -1, errors;
	size_t n = 0;

	M.reload_log[0] = '\0';
	fflush(stderr);
	if (tmp && (saved = dup(2)) >= 0)
		dup2(fileno(tmp), 2);
	errors = M.ops->load(conf, M.ops->ctx);
	if (saved >= 0) {
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		rewind(tmp);
		n = fread(M.reload_log, 1, sizeof(M.reload_log) - 1, tmp);
		M.reload_log[n] = '\0';
		fputs(M.reload_log, stderr);
	}
	if (tmp)
		fclose(tmp);
	return errors;
}

static void reload_failed(const char *why)
{
	size_t len = strlen(M.reload_log);

	M.failed_reloads++;
	snprintf(M.reload_log + len, sizeof(M.reload_log) - len, "%s\n", why);
	mlog("ALERT", "%s", why);
	sd_notify_state(SD_READY, why);
	cli_reload_result(0);
}

static int master_reload(void)
{
	struct config conf;
	int errors;

	if (M.stopping || worker_starting()) {
		snprintf(M.reload_log, sizeof(M.reload_log), "%s\n", M.stopping ?
			 "the master is stopping" : "a reload is already in progress");
		mlog("WARNING", "reload refused: %s", M.reload_log);
		return -1;
	}
	mlog("NOTICE", "Reloading: reading the configuration again");
	sd_notify_state(SD_RELOADING, "Reloading the configuration");
	config_init(&conf);
	errors = load_captured(&conf);
	if (!errors)
		errors = prepare_sockets(&conf);
	if (errors) {
		config_free(&conf);
		map_free_all();
		reload_failed("Reload failed: the configuration has errors; "
			      "the current worker keeps serving");
		return -1;
	}
	if (start_generation(&conf) < 0) {
		sockset_close(&M.next);
		reload_failed("Reload failed: cannot start a new worker");
		return -1;
	}
	M.reloads++;
	M.w[M.nw - 1].born_reload = M.reloads;
	return 0;
}

static void worker_is_ready(struct mworker *nw)
{
	char status[128];

	close(nw->ready_fd);
	nw->ready_fd = -1;
	nw->st = W_CURRENT;
	nw->deadline = 0;
	for (unsigned i = 0; i < M.nw; i++)
		if (&M.w[i] != nw && M.w[i].st == W_CURRENT)
			soft_stop_worker(&M.w[i]);
	/* the old generation's sockets for addresses still in use stay open
	 * through the new set's duplicates */
	sockset_close(&M.cur);
	M.cur = M.next;
	M.next = (struct sockset){ 0 };
	mlog("NOTICE", "Worker #%u (%d) is serving", nw->gen, (int)nw->pid);
	if (nw->gen == 1)
		signal_old_pids(M.mo);
	snprintf(status, sizeof(status), "Ready: worker #%u (pid %d)", nw->gen, (int)nw->pid);
	sd_notify_state(SD_READY, status);
	cli_reload_result(1);
}

static void ready_event(struct mworker *w)
{
	char c;
	ssize_t n = read(w->ready_fd, &c, 1);

	if (n == 1)
		worker_is_ready(w);
	else if (n == 0) {
		close(w->ready_fd);	/* died: reap() reports it */
		w->ready_fd = -1;
	}
}

static int exit_code_of(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void current_died(const struct mworker *w, int code)
{
	if (M.stopping)
		return;
	if (M.no_exit) {
		mlog("ALERT", "No worker is serving (no-exit-on-failure): the next reload "
		     "starts one");
		return;
	}
	mlog("ALERT", "exit-on-failure: stopping every worker and the master "
	     "(worker #%u exited with code %d)", w->gen, code);
	M.stopping = SIGTERM;
	M.exit_code = code;
	signal_workers(SIGTERM);
}

static void worker_exited(struct mworker *w, int status)
{
	int code = exit_code_of(status);
	const char *how = WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit";

	mlog(w->st == W_CURRENT && !M.stopping ? "ALERT" : "NOTICE",
	     "%s worker #%u (%d) exited with code %d (%s)", state_name(w->st), w->gen,
	     (int)w->pid, code, how);
	if (w->st == W_STARTING) {
		sockset_close(&M.next);
		if (!M.cur.n && !M.reloads) {	/* the very first worker */
			M.stopping = SIGTERM;
			M.exit_code = code ? code : 1;
		} else
			reload_failed("Reload failed: the new worker exited before serving; "
				      "the current worker keeps serving");
	} else if (w->st == W_CURRENT)
		current_died(w, code);
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct mworker *w = worker_find(pid);

		if (!w)
			continue;
		worker_exited(w, status);
		worker_remove(w);
	}
}

static void master_stop(int sig)
{
	mlog("NOTICE", "%s received: %s the workers", strsignal(sig),
	     sig == SIGUSR1 ? "soft-stopping" : "stopping");
	sd_notify_state(SD_STOPPING, "Stopping");
	if (!M.stopping || sig != SIGUSR1)
		M.stopping = sig;
	for (unsigned i = 0; i < M.nw; i++) {
		if (sig == SIGUSR1 && M.w[i].st != W_STARTING)
			soft_stop_worker(&M.w[i]);
		else
			kill(M.w[i].pid, SIGTERM);
	}
}

static void signal_event(void)
{
	struct signalfd_siginfo si;

	while (read(M.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;

		if (sig == SIGCHLD)
			reap();
		else if (sig == SIGUSR2 && worker_starting() && !M.stopping)
			M.reload_pending = 1;	/* a signal is not lost, only merged */
		else if (sig == SIGUSR2)
			master_reload();
		else if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT || sig == SIGUSR1)
			master_stop(sig);
	}
}

/* Ready timeouts and hard-stop-after; returns the poll timeout. */
static int check_deadlines(void)
{
	uint64_t now = now_ms(), next = UINT64_MAX;

	for (unsigned i = 0; i < M.nw; i++) {
		struct mworker *w = &M.w[i];

		if (!w->deadline)
			continue;
		if (w->deadline > now) {
			next = w->deadline < next ? w->deadline : next;
			continue;
		}
		w->deadline = 0;
		if (w->st == W_STARTING)
			mlog("ALERT", "New worker #%u (%d) not ready after %d ms: killing it",
			     w->gen, (int)w->pid, READY_TIMEOUT_MS);
		else
			mlog("WARNING", "Former worker #%u (%d) still draining after "
			     "hard-stop-after (%u ms): sending SIGTERM", w->gen, (int)w->pid,
			     M.hard_stop_after);
		kill(w->pid, w->st == W_STARTING ? SIGKILL : SIGTERM);
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

/* ---- main loop --------------------------------------------------------------- */

enum { PFD_SIG, PFD_CLI, PFD_FIXED };
#define PFD_MAX (PFD_FIXED + MAX_CLIENTS + MAX_WORKERS)

/* What a pollfd stands for: a CLI client, or a starting worker by pid
 * (the worker table moves when a worker is removed). */
struct pfd_owner {
	struct mclient *cli;
	pid_t pid;
};

static unsigned build_pollset(struct pollfd *p, struct pfd_owner *who)
{
	unsigned n = PFD_FIXED;

	p[PFD_SIG] = (struct pollfd){ .fd = M.sigfd, .events = POLLIN };
	p[PFD_CLI] = (struct pollfd){ .fd = M.cli_fd, .events = POLLIN };
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (M.cli[i].fd >= 0 && !M.cli[i].waiting) {
			who[n] = (struct pfd_owner){ .cli = &M.cli[i] };
			p[n++] = (struct pollfd){ .fd = M.cli[i].fd, .events = POLLIN };
		}
	for (unsigned i = 0; i < M.nw; i++)
		if (M.w[i].ready_fd >= 0) {
			who[n] = (struct pfd_owner){ .pid = M.w[i].pid };
			p[n++] = (struct pollfd){ .fd = M.w[i].ready_fd, .events = POLLIN };
		}
	return n;
}

static void master_loop(void)
{
	struct pollfd p[PFD_MAX];
	struct pfd_owner who[PFD_MAX];

	while (!M.stopping || M.nw) {
		unsigned n;

		if (M.reload_pending && !worker_starting()) {
			M.reload_pending = 0;
			master_reload();
		}
		n = build_pollset(p, who);

		if (poll(p, n, check_deadlines()) <= 0)
			continue;
		for (unsigned i = PFD_FIXED; i < n; i++) {
			struct mworker *w;

			if (!p[i].revents)
				continue;
			if (who[i].cli) {
				if (who[i].cli->fd == p[i].fd)
					cli_read(who[i].cli);
			} else if ((w = worker_find(who[i].pid)) && w->ready_fd >= 0)
				ready_event(w);
		}
		if (p[PFD_CLI].revents)
			cli_accept();
		if (p[PFD_SIG].revents)
			signal_event();
	}
}

static int master_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);	/* read and ignored: not a reload */
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	M.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return M.sigfd < 0 ? -1 : 0;
}

static void master_cleanup(void)
{
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (M.cli[i].fd >= 0)
			cli_close(&M.cli[i]);
	if (M.cli_fd >= 0)
		close(M.cli_fd);
	if (M.cli_path)
		unlink(M.cli_path);
	free(M.cli_path);
	sockset_close(&M.cur);
	sockset_close(&M.next);
	close(M.sigfd);
}

int master_main(const struct master_opts *mo, const struct master_ops *ops,
		struct config *conf)
{
	M.mo = mo;
	M.ops = ops;
	M.started = time(NULL);
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		M.cli[i].fd = -1;
	if (prepare_sockets(conf) || (mo->cli_addr && cli_open(mo->cli_addr) < 0)) {
		fprintf(stderr, "[ALERT] start-up failed.\n");
		config_free(conf);
		return 1;
	}
	ops->detach(conf, ops->ctx);
	if (master_signals() < 0 || start_generation(conf) < 0) {
		fprintf(stderr, "[ALERT] cannot start the master: %s\n", strerror(errno));
		return 1;
	}
	master_loop();
	mlog("NOTICE", "Master exits with code %d", M.exit_code);
	master_cleanup();
	return M.exit_code;
}

/* ---- global keywords --------------------------------------------------------- */

static int kw_master_worker(struct cfg_ctx *ctx, int argc, char **args)
{
	if (argc > 2 || (argc == 2 && strcmp(args[1], "no-exit-on-failure")))
		return cfg_err(ctx, "'%s' takes no argument or 'no-exit-on-failure', got '%s'",
			       args[0], args[1]);
	ctx->conf->global.master_worker = 1;
	ctx->conf->global.mworker_no_exit = argc == 2;
	return 0;
}

static int kw_hard_stop_after(struct cfg_ctx *ctx, int argc, char **args)
{
	unsigned ms;

	if (argc != 2 || cfg_parse_time(args[1], &ms) < 0 || !ms)
		return cfg_err(ctx, "'%s' expects a time like 30s or 10m, got '%s'", args[0],
			       argc > 1 ? args[1] : "");
	ctx->conf->global.hard_stop_after = ms;
	return 0;
}

static struct cfg_kw_list master_kws = {
	.kws = (const struct cfg_kw[]){
		{ "master-worker", CFG_GLOBAL, kw_master_worker, 0 },
		{ "hard-stop-after", CFG_GLOBAL, kw_hard_stop_after, 0 },
		{ NULL, 0, NULL, 0 },
	},
};

__attribute__((constructor)) static void master_kws_init(void)
{
	cfg_register(&master_kws);
}
