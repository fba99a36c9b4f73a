/* ut_cfg.h - unit-test helpers that go through the real config loader:
 * write a text to a temporary file, capture stderr in a buffer, load a
 * text as a config file (keeping what the loader said), and check how
 * many errors a text gives. Include after
 * ut.h; every helper is static inline so a test uses only what it needs. */
#ifndef SLUICE_UT_CFG_H
#define SLUICE_UT_CFG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/cfg.h>
#include <sluice/global.h>

#include "ut.h"

/* Write text to a fresh temporary file; path is a mkstemp() template,
 * rewritten with the name. The caller unlinks it. */
static inline char *ut_write_tmp(char *path, const char *text)
{
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

/* Send stderr to a fresh temporary file until ut_stderr_end(). path is a
 * mkstemp() template, rewritten with the name; returns the file's fd. */
static inline int ut_stderr_begin(char *path, int *saved)
{
	int fd = mkstemp(path);

	if (fd < 0)
		abort();
	fflush(stderr);
	*saved = dup(2);
	dup2(fd, 2);
	return fd;
}

/* Give stderr back and keep what was written to it, NUL-terminated, in
 * out; the temporary file is removed. */
static inline void ut_stderr_end(int fd, int saved, char *out, size_t size, const char *path)
{
	ssize_t n;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

/* Load text as a config file into conf (config_init()ed here; the caller
 * frees it), as `sluice -c` when check_only. What the loader printed on
 * stderr is left in messages. Returns the number of errors. */
static inline int ut_load_config(struct config *conf, const char *text, int check_only,
				 char *messages, size_t msgsize)
{
	char path[] = "/tmp/sluice_ut_XXXXXX";
	char errpath[] = "/tmp/sluice_ut_err_XXXXXX";
	int efd, saved, errors;
	char *files[] = { ut_write_tmp(path, text) };

	efd = ut_stderr_begin(errpath, &saved);
	config_init(conf);
	conf->check_only = check_only;
	errors = cfg_load_files(conf, 1, files);
	ut_stderr_end(efd, saved, messages, msgsize, errpath);
	unlink(path);
	return errors;
}

/* Load text, expect `want` errors and, if needle, a message holding it;
 * free. Prints the config and what was said when that is not so. */
static inline void ut_expect_errors(const char *text, int want, const char *needle,
				    char *messages, size_t msgsize)
{
	struct config conf;
	int got = ut_load_config(&conf, text, 0, messages, msgsize);

	UT_EQ_INT(got, want);
	if (needle)
		UT_CHECK(strstr(messages, needle) != NULL);
	if (got != want || (needle && !strstr(messages, needle)))
		fprintf(stderr, "--- config:\n%s--- said:\n%s", text, messages);
	config_free(&conf);
}

#endif
