/* fuzz_cfg_parsers.c - libFuzzer target for the text parsers that will also
 * read runtime-API input: the tokenizer, addresses and sample expressions.
 * Each gets the input as one NUL-terminated line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/addr.h"
#include "sluice/cfg.h"
#include "sluice/sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[4096], out[4096], err[256];
	char *args[CFG_MAX_ARGS + 1];
	const char *terr;
	struct addr_spec spec;
	struct sample_expr *e;

	if (size >= sizeof(line))
		size = sizeof(line) - 1;
	memcpy(line, data, size);
	line[size] = 0;
	cfg_tokenize(line, out, sizeof(out), args, CFG_MAX_ARGS, &terr);
	/* no name resolution: the fuzzer must stay off the network */
	addr_parse(line, ADDR_ALLOW_RANGE | ADDR_ALLOW_NO_PORT | ADDR_ALLOW_OFFSET |
		   ADDR_ALLOW_UNIX, &spec, err, sizeof(err));
	e = sample_parse_expr(line, err, sizeof(err));
	if (e)
		sample_free_expr(e);
	return 0;
}
