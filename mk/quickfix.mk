# The QuickFIX client programs (test/fix/, docs/fix_testing.md): nodown's
# FIX acceptor checked by a real FIX engine, and its load driver for
# `nodown bench fix` (quickfix_orders_per_s). C++, against Debian's
# libquickfix-dev; they link nothing of nodown's.
# C++14, not 17: Debian's QuickFIX 1.15.1 headers declare dynamic
# exception specifications, which C++17 removed.
QF_CXXFLAGS = -std=c++14 -O2 -g -Wall -Wextra -Werror -Wno-deprecated-declarations -Wno-deprecated \
              -Wno-deprecated-copy -Itest/fix
QF_LIBS = -lquickfix -lpthread

build/test/qf_check: test/fix/qf_check.cpp test/fix/qf_common.h
	@mkdir -p $(dir $@)
	g++ $(QF_CXXFLAGS) $< $(QF_LIBS) -o $@

build/test/qf_load: test/fix/qf_load.cpp test/fix/qf_common.h
	@mkdir -p $(dir $@)
	g++ $(QF_CXXFLAGS) $< $(QF_LIBS) -o $@

TEST_EXTRA += build/test/qf_check build/test/qf_load
