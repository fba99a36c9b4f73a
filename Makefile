# sluice - Layer-4 TCP/UDP load balancer.
#   make            build ./sluice
#   make asan       build ./sluice-asan (ASan + UBSan)
#   make test       install test deps, build, run unit tests and reg-tests
#   make run        install deps, build, start the demo
#   make fuzz       build libFuzzer targets (clang)
CC      ?= gcc
VERSION := 0.1.0
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -pthread \
           -DSLUICE_VERSION='"$(VERSION)"'
LDLIBS  += -pthread -lssl -lcrypto -lcap
PYTEST  := /usr/bin/python3 -m pytest

SRCS     := $(wildcard src/*.c)
OBJS     := $(SRCS:src/%.c=build/obj/%.o)
LIBOBJS  := $(filter-out build/obj/main.o,$(OBJS))
ASANOBJS := $(SRCS:src/%.c=build/asan/%.o)
UNIT_SRCS := $(wildcard reg-tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:reg-tests/unit/%.c=build/unit/%)

ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined -DSLUICE_POOL_NOCACHE

.PHONY: all asan unit test test-unit test-reg test-asan test-fuzz run deps test-deps fuzz clean bench

all: sluice

sluice: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/obj/%.o: src/%.c $(wildcard include/sluice/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

asan: sluice-asan

sluice-asan: $(ASANOBJS)
	$(CC) $(filter-out -O2,$(CFLAGS)) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

build/asan/%.o: src/%.c $(wildcard include/sluice/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2,$(CFLAGS)) $(ASAN_FLAGS) -c -o $@ $<

build/unit/%: reg-tests/unit/%.c $(LIBOBJS) $(wildcard reg-tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ireg-tests/unit -o $@ $< $(LIBOBJS) $(LDLIBS)

unit: $(UNIT_BINS)

# Unit tests: every binary prints "N passed, N failed"; the script sums them.
test-unit: unit
	@sh reg-tests/unit/run-all.sh $(UNIT_BINS)

test-reg: sluice
	SLUICE_BIN=$(CURDIR)/sluice $(PYTEST) -q -p no:cacheprovider reg-tests

test-asan: sluice-asan
	SLUICE_BIN=$(CURDIR)/sluice-asan SLUICE_ASAN=1 $(PYTEST) -q -p no:cacheprovider reg-tests

test-deps:
	sh admin/install-deps.sh --test

deps:
	sh admin/install-deps.sh

test: test-deps
	$(MAKE) -j2 sluice sluice-asan unit
	$(MAKE) test-unit
	$(MAKE) test-reg
	$(MAKE) -j2 fuzz
	$(MAKE) test-fuzz
	$(MAKE) test-asan

run: deps
	$(MAKE) sluice
	sh admin/demo.sh

FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -g -O1 -pthread \
	  -DSLUICE_POOL_NOCACHE -DSLUICE_VERSION='"$(VERSION)"'
FUZZOBJS := $(filter-out build/fuzzobj/main.o,$(SRCS:src/%.c=build/fuzzobj/%.o))

# The library is compiled once for every target (instrumented, not linked
# with the fuzzer's main), each target only adds its own file.
build/fuzzobj/%.o: src/%.c $(wildcard include/sluice/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

.SECONDARY: $(FUZZOBJS)

build/fuzz/%: fuzz/%.c $(FUZZOBJS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o $@ $< $(FUZZOBJS) -lssl -lcrypto -lcap
fuzz: $(FUZZ_BINS)

# A short smoke run of every fuzz target (crashes fail the test run).
test-fuzz: fuzz
	@for f in $(FUZZ_BINS); do mkdir -p build/fuzz/corpus-$$(basename $$f); \
	  $$f -max_total_time=10 -print_final_stats=0 build/fuzz/corpus-$$(basename $$f) >build/fuzz/$$(basename $$f).log 2>&1 \
	  || { tail -30 build/fuzz/$$(basename $$f).log; exit 1; }; echo "$$f: 10 s, no crash"; done

bench: sluice
	../shared/bench/run.sh --bin "$(CURDIR)/sluice"

clean:
	rm -rf build sluice sluice-asan
