/* The durability setting: what `serve --durability` and `cluster up
 * --durability` accept, how it reads back, and the sync_interval value a
 * nats-server configuration gets from it. */
#include <string.h>

#include "core/result.h"
#include "replica/durability.h"
#include "test.h"

static const char *round_trip(const char *text, char *sync_interval)
{
    static char formatted[DURABILITY_TEXT_SIZE];
    struct durability durability = {.interval_ms = 12345};
    char errmsg[256];
    if (durability_parse(text, &durability, errmsg, sizeof errmsg) != 0)
        return "refused";
    durability_format(&durability, formatted);
    durability_sync_interval(&durability, sync_interval);
    return formatted;
}

TEST(always_is_the_default_and_syncs_each_write)
{
    char sync_interval[DURABILITY_TEXT_SIZE];
    struct durability zero = {0};
    durability_sync_interval(&zero, sync_interval);
    CHECK_STR(sync_interval, "always");
    CHECK_STR(round_trip("always", sync_interval), "always");
    CHECK_STR(sync_interval, "always");
}

TEST(intervals_read_back_in_their_largest_unit)
{
    char sync_interval[DURABILITY_TEXT_SIZE];
    CHECK_STR(round_trip("interval:100ms", sync_interval), "interval:100ms");
    CHECK_STR(sync_interval, "\"100ms\"");
    CHECK_STR(round_trip("interval:1000ms", sync_interval), "interval:1s");
    CHECK_STR(sync_interval, "\"1s\"");
    CHECK_STR(round_trip("interval:2m", sync_interval), "interval:2m");
    CHECK_STR(sync_interval, "\"2m\"");
    CHECK_STR(round_trip("interval:120s", sync_interval), "interval:2m");
    CHECK_STR(round_trip("interval:1ms", sync_interval), "interval:1ms");
    CHECK_STR(round_trip("interval:10m", sync_interval), "interval:10m");
}

TEST(bad_settings_are_refused_with_what_is_accepted)
{
    const char *bad[] = {"", "Always", "interval", "interval:", "interval:0ms", "interval:11m",
                         "interval:1h", "interval:1.5s", "interval:-1s", "interval:5",
                         "interval:99999999999999999999ms", "sometimes", "interval:1s "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct durability durability = {.interval_ms = 7};
        char errmsg[256] = "";
        CHECK_EQ_I64(durability_parse(bad[i], &durability, errmsg, sizeof errmsg), ERR_USAGE);
        CHECK_EQ_I64(durability.interval_ms, 7); /* untouched */
        CHECK(strstr(errmsg, "give always") != NULL);
        CHECK(strstr(errmsg, "interval:DURATION") != NULL);
    }
}

TEST_MAIN()
