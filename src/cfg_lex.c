/* cfg_lex.c - the tokenizer of HAProxy configuration lines.
 *
 * One line in, NUL-separated words out, into a caller-provided buffer that
 * is never overrun. Quoting follows HAProxy: "double quotes" keep spaces and
 * '#' but still honour backslash escapes and $VAR expansion, 'single quotes'
 * keep everything literally, and an unquoted '#' starts a comment.
 * Environment variables are expanded only inside double quotes, as HAProxy
 * documents; outside them '$' is an ordinary character. An unset variable
 * expands to an empty string.
 */
#include <stdlib.h>
#include <string.h>

#include <sluice/cfg.h>

#define LEX_MAX_VARNAME 256

struct lex_out {
	char *buf;
	size_t size, pos;
	char **args;
	int nargs, max_args;
	int in_word;
	const char *err;
};

static int lex_fail(struct lex_out *w, const char *msg)
{
	if (!w->err)
		w->err = msg;
	return -1;
}

static int lex_start_word(struct lex_out *w)
{
	if (w->in_word)
		return 0;
	if (w->nargs >= w->max_args)
		return lex_fail(w, "too many words on the line");
	/* the word needs at least room for its terminating NUL */
	if (w->pos >= w->size)
		return lex_fail(w, "line too long once expanded");
	w->args[w->nargs++] = w->buf + w->pos;
	w->in_word = 1;
	return 0;
}

/* Always keeps one byte free for the NUL that ends the current word. */
static int lex_put(struct lex_out *w, char c)
{
	if (lex_start_word(w) < 0)
		return -1;
	if (w->pos + 1 >= w->size)
		return lex_fail(w, "line too long once expanded");
	w->buf[w->pos++] = c;
	return 0;
}

static void lex_end_word(struct lex_out *w)
{
	if (!w->in_word)
		return;
	w->buf[w->pos++] = '\0';
	w->in_word = 0;
}

int cfg_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long cfg_hex_decode(const char *hex, uint8_t *out, size_t outsz, size_t *bad)
{
	size_t n = strlen(hex), i;
	int hi, lo;

	if (n % 2)
		return -1;
	if (n / 2 > outsz)
		return -2;
	for (i = 0; i < n; i += 2) {
		hi = cfg_hex_digit(hex[i]);
		lo = cfg_hex_digit(hex[i + 1]);
		if (hi < 0 || lo < 0) {
			*bad = hi < 0 ? i : i + 1;
			return -3;
		}
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* *pp points at a backslash. Consumes the escape sequence. An unknown
 * sequence keeps its backslash, as HAProxy does, so regexes such as "\d"
 * survive unquoted. */
static int lex_escape(const char **pp, struct lex_out *w)
{
	const char *p = *pp;
	char c = p[1];
	int hi, lo;

	switch (c) {
	case ' ': case '\\': case '"': case '\'': case '#': case '$':
		*pp = p + 2;
		return lex_put(w, c);
	case 't':
		*pp = p + 2;
		return lex_put(w, '\t');
	case 'n':
		*pp = p + 2;
		return lex_put(w, '\n');
	case 'r':
		*pp = p + 2;
		return lex_put(w, '\r');
	case 'x':
		hi = cfg_hex_digit(p[2]);
		lo = hi < 0 ? -1 : cfg_hex_digit(p[3]);
		if (hi < 0 || lo < 0)
			return lex_fail(w, "invalid \\x escape: expects two hexadecimal digits, as in \\x41");
		if (!hi && !lo)
			return lex_fail(w, "\\x00 is not allowed in a configuration word");
		*pp = p + 4;
		return lex_put(w, (char)(hi * 16 + lo));
	default:
		*pp = p + 1;
		return lex_put(w, '\\');
	}
}

static int is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Find the variable name after '$' at p. Sets *name, *len and *next (first
 * character after the reference). Returns 1 for a reference, 0 when the '$'
 * is a plain character, -1 on a malformed ${...}. */
static int lex_var_name(const char *p, const char **name, size_t *len,
			const char **next, struct lex_out *w)
{
	const char *q;

	if (p[1] == '{') {
		for (q = p + 2; *q && *q != '}'; q++)
			if (!is_name_char(*q))
				return lex_fail(w, "invalid character in ${...}: a variable name has letters, digits and '_'");
		if (!*q)
			return lex_fail(w, "unterminated ${...}: missing '}'");
		if (q == p + 2 || !is_name_start(p[2]))
			return lex_fail(w, "invalid variable name in ${...}");
		*name = p + 2;
		*len = q - (p + 2);
		*next = q + 1;
		return 1;
	}
	if (!is_name_start(p[1]))
		return 0;
	for (q = p + 1; is_name_char(*q); q++)
		;
	*name = p + 1;
	*len = q - (p + 1);
	*next = q;
	return 1;
}

/* *pp points at '$'. Inside double quotes even an empty value makes a word. */
static int lex_env(const char **pp, struct lex_out *w, int quoted)
{
	char name[LEX_MAX_VARNAME];
	const char *start, *next, *val;
	size_t len;
	int ret;

	ret = lex_var_name(*pp, &start, &len, &next, w);
	if (ret < 0)
		return -1;
	if (!ret) {
		(*pp)++;
		return lex_put(w, '$');
	}
	if (len >= sizeof(name))
		return lex_fail(w, "environment variable name too long");
	memcpy(name, start, len);
	name[len] = '\0';
	*pp = next;
	if (quoted && lex_start_word(w) < 0)
		return -1;
	for (val = getenv(name); val && *val; val++)
		if (lex_put(w, *val) < 0)
			return -1;
	return 0;
}

/* *pp points at the opening '"'; leaves it after the closing one. */
static int lex_dquote(const char **pp, struct lex_out *w)
{
	const char *p = *pp + 1;

	if (lex_start_word(w) < 0)
		return -1;
	while (*p != '"') {
		int ret;

		if (!*p)
			return lex_fail(w, "unterminated double quote");
		if (*p == '\\')
			ret = lex_escape(&p, w);
		else if (*p == '$')
			ret = lex_env(&p, w, 1);
		else
			ret = lex_put(w, *p++);
		if (ret < 0)
			return -1;
	}
	*pp = p + 1;
	return 0;
}

static int lex_squote(const char **pp, struct lex_out *w)
{
	const char *p = *pp + 1;

	if (lex_start_word(w) < 0)
		return -1;
	for (; *p != '\''; p++) {
		if (!*p)
			return lex_fail(w, "unterminated single quote");
		if (lex_put(w, *p) < 0)
			return -1;
	}
	*pp = p + 1;
	return 0;
}

static int lex_one(const char **pp, struct lex_out *w)
{
	const char *p = *pp;

	switch (*p) {
	case ' ': case '\t': case '\r': case '\n':
		lex_end_word(w);
		*pp = p + 1;
		return 0;
	case '"':
		return lex_dquote(pp, w);
	case '\'':
		return lex_squote(pp, w);
	case '\\':
		return lex_escape(pp, w);
	default:	/* '$' outside double quotes is literal, as in HAProxy */
		*pp = p + 1;
		return lex_put(w, *p);
	}
}

int cfg_tokenize(const char *line, char *out, size_t outsz,
		 char **args, int max_args, const char **err)
{
	struct lex_out w = {
		.buf = out, .size = outsz, .args = args, .max_args = max_args,
	};
	const char *p = line;

	while (*p && *p != '#') {
		if (lex_one(&p, &w) < 0) {
			*err = w.err;
			return -1;
		}
	}
	lex_end_word(&w);
	return w.nargs;
}
