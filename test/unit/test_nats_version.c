/* Tests of the nats-server version check (src/replica/nats_version.h):
 * the comparison and the INFO line's field, with no server. A journal
 * refusing a fake old server is in test_journal, the supervisor refusing
 * an old binary in test_nats_supervisor.
 */
#include <string.h>

#include "core/result.h"
#include "replica/nats_version.h"
#include "test.h"

static int check(const char *version)
{
    char errmsg[512];
    return nats_version_check(version, "nats://127.0.0.1:4222", errmsg, sizeof errmsg);
}

TEST(new_enough)
{
    CHECK_EQ_I64(check("2.10.0"), 0);
    CHECK_EQ_I64(check("2.10.27"), 0);
    CHECK_EQ_I64(check("v2.10.27"), 0);
    CHECK_EQ_I64(check("2.11.3"), 0);
    CHECK_EQ_I64(check("2.12.0-RC.2"), 0);
    CHECK_EQ_I64(check("3.0.0"), 0);
    CHECK_EQ_I64(check("10.0.1"), 0);
}

TEST(too_old)
{
    CHECK_EQ_I64(check("2.9.10"), ERR_VERSION);
    CHECK_EQ_I64(check("v2.9.25"), ERR_VERSION);
    CHECK_EQ_I64(check("2.1.100"), ERR_VERSION); /* not 2.10 by its text */
    CHECK_EQ_I64(check("1.99.0"), ERR_VERSION);
    CHECK_EQ_I64(check("0.9.6"), ERR_VERSION);
    char errmsg[512];
    CHECK_EQ_I64(nats_version_check("2.9.10", "/usr/sbin/nats-server", errmsg, sizeof errmsg),
                 ERR_VERSION);
    CHECK(strstr(errmsg, "/usr/sbin/nats-server is version 2.9.10, older than 2.10.0") != NULL);
    CHECK(strstr(errmsg, "tools/deps.sh") != NULL);
    CHECK(strstr(errmsg, "2.10.27") != NULL);
}

TEST(unreadable)
{
    CHECK_EQ_I64(check(""), ERR_VERSION);
    CHECK_EQ_I64(check("v"), ERR_VERSION);
    CHECK_EQ_I64(check("2.10"), ERR_VERSION);
    CHECK_EQ_I64(check("2.x.1"), ERR_VERSION);
    CHECK_EQ_I64(check("2..1"), ERR_VERSION);
    CHECK_EQ_I64(check("2.10.1x"), 0); /* what follows the third number is a suffix */
    CHECK_EQ_I64(check("2.1000000.0"), ERR_VERSION);
    char errmsg[512];
    CHECK_EQ_I64(nats_version_check("abc", "X", errmsg, sizeof errmsg), ERR_VERSION);
    CHECK(strstr(errmsg, "cannot read the version of nats-server X") != NULL);
    CHECK(strstr(errmsg, "tools/deps.sh") != NULL);
}

TEST(info_line)
{
    char version[NATS_VERSION_SIZE];
    CHECK_EQ_I64(nats_version_info("INFO {\"server_id\":\"N\",\"version\":\"2.10.27\","
                                   "\"proto\":1}\r\n", version, sizeof version), 0);
    CHECK_STR(version, "2.10.27");
    CHECK_EQ_I64(nats_version_info("INFO {\"server_id\":\"N\"}\r\n", version, sizeof version),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(nats_version_info("-ERR 'x' {\"version\":\"2.10.0\"}", version,
                                   sizeof version), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(nats_version_info("INFO {\"version\":\"2.10.0", version, sizeof version),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(nats_version_info("INFO {\"version\":\"2.10.0\"}", version, 4),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(nats_version_info("", version, sizeof version), ERR_DECODE_MALFORMED);
}

TEST_MAIN()
