/* A small test harness: each test binary registers functions with TEST(),
 * runs them all from main() via TEST_MAIN(), and prints one line
 *
 *     <binary>: N passed, N failed
 *
 * which tools/run_tests.sh adds up into the closing line of `make test`.
 * A failing CHECK prints file:line and the expression, marks the running
 * test failed and returns from it: later tests in the binary still run.
 */
#ifndef NODOWN_TEST_H
#define NODOWN_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn_cb)(void);

struct test_case {
    const char *name;
    test_fn_cb fn;
};

#define TEST_CASES_MAX 512

extern struct test_case test_cases[TEST_CASES_MAX];
extern int test_case_count;
extern int test_current_failed;

/* Registration runs before main() through a constructor: the one
 * compiler-specific attribute in the project, used so that a test needs
 * no second line to be registered (gcc and clang both support it). */
#define TEST(name_)                                                        \
    static void test_##name_(void);                                        \
    __attribute__((constructor)) static void test_register_##name_(void)   \
    {                                                                      \
        if (test_case_count < TEST_CASES_MAX) {                            \
            test_cases[test_case_count].name = #name_;                     \
            test_cases[test_case_count].fn = test_##name_;                 \
            test_case_count++;                                             \
        }                                                                  \
    }                                                                      \
    static void test_##name_(void)

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__,       \
                    __LINE__, #cond);                                      \
            test_current_failed = 1;                                       \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_EQ_I64(a, b)                                                 \
    do {                                                                   \
        int64_t check_a_ = (int64_t)(a);                                   \
        int64_t check_b_ = (int64_t)(b);                                   \
        if (check_a_ != check_b_) {                                        \
            fprintf(stderr, "  %s:%d: CHECK failed: %s == %s (%" PRId64    \
                    " != %" PRId64 ")\n", __FILE__, __LINE__, #a, #b,      \
                    check_a_, check_b_);                                   \
            test_current_failed = 1;                                       \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_STR(a, b)                                                    \
    do {                                                                   \
        const char *check_a_ = (a);                                        \
        const char *check_b_ = (b);                                        \
        if (strcmp(check_a_, check_b_) != 0) {                             \
            fprintf(stderr, "  %s:%d: CHECK failed: %s == %s (\"%s\" != "  \
                    "\"%s\")\n", __FILE__, __LINE__, #a, #b, check_a_,     \
                    check_b_);                                             \
            test_current_failed = 1;                                       \
            return;                                                        \
        }                                                                  \
    } while (0)

#define TEST_MAIN()                                                        \
    struct test_case test_cases[TEST_CASES_MAX];                           \
    int test_case_count;                                                   \
    int test_current_failed;                                               \
    int main(int argc, char **argv)                                        \
    {                                                                      \
        int passed = 0;                                                    \
        int failed = 0;                                                    \
        const char *only = argc > 1 ? argv[1] : NULL;                      \
        for (int i = 0; i < test_case_count; i++) {                        \
            if (only != NULL && strcmp(only, test_cases[i].name) != 0)     \
                continue;                                                  \
            test_current_failed = 0;                                       \
            test_cases[i].fn();                                            \
            if (test_current_failed) {                                     \
                fprintf(stderr, "FAIL %s\n", test_cases[i].name);          \
                failed++;                                                  \
            } else {                                                       \
                passed++;                                                  \
            }                                                              \
        }                                                                  \
        printf("%s: %d passed, %d failed\n", argv[0], passed, failed);     \
        return failed == 0 ? 0 : 1;                                        \
    }

#endif
