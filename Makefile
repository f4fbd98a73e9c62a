# nodown: one binary (build/nodown), one library (build/libnodown.a).
#
#   make run     install what is missing, build, run a node and the market
#                simulator on the embedded default until Ctrl-C
#   make test    install what is missing, build, run every test (plain and
#                under ASan+UBSan), the short fuzz runs and tidy
#   make bench   the core benchmarks, JSON on stdout

CC ?= cc
CFLAGS_COMMON = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Isrc -I. -Iinclude \
                -I/usr/include/postgresql \
                -Itest
CFLAGS ?= -O2 -g
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
LDLIBS = -lxxhash -lnats -lmicrohttpd -lcrypto -lsqlite3 -lpq -lzstd -lwebsockets -lpthread

LIB_SRC = $(wildcard src/core/*.c src/codec/*.c src/lib/*.c src/replica/*.c src/gateway/*.c \
          src/node/*.c src/client/*.c src/history/*.c src/fix/*.c src/live/*.c src/page/*.c)
# The operator's commands (src/ops/) go into the binary with the CLI, not
# into libnodown.a: nothing else links them, and clang's build of the
# library would refuse cluster.c's empty printf formats.
CLI_SRC = $(wildcard src/cli/*.c src/ops/*.c bench/*.c)
UNIT_SRC = $(wildcard test/unit/test_*.c)
FUZZ_SRC = $(wildcard test/fuzz/fuzz_*.c)
HEADERS = $(wildcard src/*/*.h test/*.h bench/*.h include/nodown/*.h)

LIB_OBJ = $(LIB_SRC:%.c=build/obj/%.o)
LIB_SAN_OBJ = $(LIB_SRC:%.c=build/san/%.o)
LIB_CLANG_OBJ = $(LIB_SRC:%.c=build/clang/%.o)
UNIT_BIN = $(UNIT_SRC:test/unit/%.c=build/test/%)
UNIT_SAN_BIN = $(UNIT_SRC:test/unit/%.c=build/san/test/%)
FUZZ_BIN = $(FUZZ_SRC:test/fuzz/%.c=build/test/%)
FUZZ_SAN_BIN = $(FUZZ_SRC:test/fuzz/%.c=build/san/test/%)

.PHONY: all deps run test bench tidy clean FORCE

# Each interface's own build rules and test programs (mk/*.mk): a part adds
# what `make test` must build to TEST_EXTRA, and the files it generates
# for the library's sources to GENERATED.
TEST_EXTRA =
GENERATED =
-include $(wildcard mk/*.mk)

# The release (the VERSION file) and the commit this build is made from,
# for `nodown version` and /status (src/replica/versions.c): rewritten
# only when either changes, so that only versions.o is compiled again.
# Outside a git checkout the commit is "unknown".
build/release.h: FORCE
	@mkdir -p build
	@printf '#define NODOWN_RELEASE "%s"\n#define NODOWN_COMMIT "%s"\n' "$$(cat VERSION)" \
	    "$$(git describe --always --dirty 2>/dev/null || echo unknown)" >$@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

build/obj/src/replica/versions.o build/san/src/replica/versions.o \
build/clang/src/replica/versions.o: build/release.h

# The client library: what a program that talks to nodown links.
CLIENT_SRC = $(wildcard src/client/*.c src/codec/*.c src/lib/*.c) src/core/names.c
CLIENT_OBJ = $(CLIENT_SRC:%.c=build/obj/%.o)

all: build/nodown build/libnodown.a build/libnodown-client.a

build/libnodown-client.a: $(CLIENT_OBJ)
	@rm -f $@
	ar rcs $@ $^

deps:
	@tools/deps.sh

build/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@

build/san/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) -c $< -o $@

# The property test is also built by clang, so that the same log is
# replayed by builds of two compilers and their digests compared.
build/clang/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	clang $(CFLAGS_COMMON) -O2 -c $< -o $@

build/clang/libnodown.a: $(LIB_CLANG_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/clang/test/fuzz_engine: test/fuzz/fuzz_engine.c build/clang/libnodown.a $(HEADERS)
	@mkdir -p $(dir $@)
	clang $(CFLAGS_COMMON) -O2 $< build/clang/libnodown.a $(LDLIBS) -o $@

build/libnodown.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/san/libnodown.a: $(LIB_SAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/nodown: $(CLI_SRC) build/libnodown.a $(HEADERS)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $(CLI_SRC) build/libnodown.a $(LDLIBS) -o $@

# test_history drives the archive with the benchmarks' synthetic day.
build/test/test_history: test/unit/test_history.c bench/history_day.c build/libnodown.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< bench/history_day.c build/libnodown.a $(LDLIBS) -o $@

build/san/test/test_history: test/unit/test_history.c bench/history_day.c \
                             build/san/libnodown.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) $< bench/history_day.c build/san/libnodown.a $(LDLIBS) \
	    -o $@

build/test/%: test/unit/%.c build/libnodown.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< build/libnodown.a $(LDLIBS) -o $@

build/test/%: test/fuzz/%.c build/libnodown.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< build/libnodown.a $(LDLIBS) -o $@

build/san/test/%: test/unit/%.c build/san/libnodown.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) $< build/san/libnodown.a $(LDLIBS) -o $@

build/san/test/%: test/fuzz/%.c build/san/libnodown.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) $< build/san/libnodown.a $(LDLIBS) -o $@

run: deps all
	@tools/run.sh

test: deps all $(UNIT_BIN) $(FUZZ_BIN) $(UNIT_SAN_BIN) $(FUZZ_SAN_BIN) build/clang/test/fuzz_engine \
      build/test/e2e_node build/test/e2e_sync_check build/test/nodown-diverge \
      build/test/e2e_publish $(TEST_EXTRA)
	@tools/run_tests.sh

bench: deps all
	./build/nodown bench core --workload liquibook --seconds 3 --json
	./build/nodown bench core --workload mix --seconds 3 --json

tidy:
	@tools/tidy.sh

clean:
	rm -rf build

# The driver of the real-process fault tests (test/cli/faults.sh).
build/test/e2e_node: test/e2e/e2e_node.c build/libnodown-client.a build/libnodown.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< build/libnodown-client.a build/libnodown.a $(LDLIBS) \
	    -o $@

# A build made to differ on purpose (NODOWN_TEST_DIVERGE, src/core/account.c:
# a deposit of 12345 credits one more), for the tests that must catch a new
# binary whose state parts from the old one's (test/cli/upgrade.sh). No
# objects: one compiler run, -O0, so that it costs the test run little.
build/test/nodown-diverge: $(CLI_SRC) $(LIB_SRC) $(HEADERS) build/release.h $(GENERATED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O0 -DNODOWN_TEST_DIVERGE $(CLI_SRC) $(LIB_SRC) $(LDLIBS) -o $@

# The checker of test/cli/durability.sh: acknowledgements against strace's
# record of nats-server's writes and syncs. Plain C, nothing linked.
build/test/e2e_sync_check: test/e2e/e2e_sync_check.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< -o $@

# The raw publisher of test/cli/rehearse.sh (a COMMISSION_SET before logic 3).
build/test/e2e_publish: test/e2e/e2e_publish.c build/libnodown.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< build/libnodown.a $(LDLIBS) -o $@
