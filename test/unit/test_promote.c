/* Tests of a disaster-recovery site's journal (journal.h: mirror_of,
 * journal_follow, journal_promote) on two real nats-servers: a primary
 * (JetStream domain "primary", a leafnode port) and a DR site (domain
 * "dr", a leafnode to the primary, nodown's subjects denied across it),
 * as `nodown cluster up --dr` sets them up. Both run on 127.0.0.1 in a
 * fresh directory; only their own pids are ever signalled, and the kernel
 * sends them SIGTERM if this process dies.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/result.h"
#include "lib/clock.h"
#include "replica/journal.h"
#include "test.h"
#include "test_dir.h"
#include "test_nats.h"
#include "test_net.h"

#define MESSAGES 12u

static char dir[128];
static pid_t servers[2];          /* primary, DR site */
static uint16_t ports[3];         /* primary client, primary leafnode, DR client */
static struct journal *primary, *site, *follower;

static void server_kill(int index)
{
    if (servers[index] > 0) {
        kill(servers[index], SIGKILL);
        waitpid(servers[index], NULL, 0);
    }
    servers[index] = 0;
}

static void cleanup(void)
{
    journal_close(follower);
    journal_close(site);
    journal_close(primary);
    follower = site = primary = NULL;
    server_kill(1);
    server_kill(0);
    if (dir[0] != '\0')
        test_dir_remove(dir);
    dir[0] = '\0';
}

static struct journal_config config_of(const char *url, const char *stream, bool mirror)
{
    struct journal_config config = {.urls = url, .stream_name = stream,
                                     .subject = "nodown.batch", .replicas = 1,
                                     .duplicate_window_ms = 120000};
    if (mirror) {
        config.mirror_of = "NODOWN";
        config.mirror_api = "$JS.primary.API";
    }
    return config;
}

/* The directory and the ports; then the primary's server unless
 * site_only, and the DR site's. */
static bool start_servers(bool site_only)
{
    snprintf(dir, sizeof dir, "/tmp/nodown-test-promote-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        dir[0] = '\0';
        return false;
    }
    for (int i = 0; i < 3; i++)
        ports[i] = test_free_port();
    char text[1024];
    snprintf(text, sizeof text, "listen: \"127.0.0.1:%u\"\nserver_name: p\n"
             "jetstream { store_dir: \"%s/p\", domain: primary }\n"
             "leafnodes { listen: \"127.0.0.1:%u\" }\n", ports[0], dir, ports[1]);
    if (!site_only)
        servers[0] = test_nats_server_start(dir, "primary", text);
    snprintf(text, sizeof text, "listen: \"127.0.0.1:%u\"\nserver_name: dr\n"
             "jetstream { store_dir: \"%s/dr\", domain: dr }\n"
             "leafnodes { remotes: [ { urls: [\"nats-leaf://127.0.0.1:%u\"],\n"
             "  deny_imports: [\"nodown.>\"], deny_exports: [\"nodown.>\"] } ] }\n",
             ports[2], dir, ports[1]);
    servers[1] = test_nats_server_start(dir, "dr", text);
    return (site_only || servers[0] > 0) && servers[1] > 0;
}

/* What a reader saw. */
struct seen {
    uint32_t count;
    uint64_t seqs[MESSAGES + 1];
    uint64_t times[MESSAGES + 1];
    char data[MESSAGES + 1][16];
};

static int seen_add(void *context, uint64_t seq, uint64_t time_ns, const void *data, size_t size)
{
    struct seen *seen = context;
    if (seen->count > MESSAGES || size >= sizeof seen->data[0])
        return -99;
    seen->seqs[seen->count] = seq;
    seen->times[seen->count] = time_ns;
    memcpy(seen->data[seen->count], data, size);
    seen->data[seen->count][size] = '\0';
    seen->count++;
    return 0;
}

/* Reads journal from `from` until `count` messages (or 10 s). */
static void read_all(struct journal *journal, uint64_t from, uint32_t count, struct seen *seen)
{
    memset(seen, 0, sizeof *seen);
    uint64_t next = from;
    int64_t deadline_ms = clock_now_ms() + 10000;
    while (seen->count < count && clock_now_ms() < deadline_ms) {
        if (journal_read(journal, next, count - seen->count, 200, seen_add, seen, &next) != 0)
            break;
    }
}

static char site_url[64];
static struct seen before; /* the primary's messages 4.. as its reader saw them */

/* The primary with messages 4..MESSAGES, the DR site's mirror of them. */
static void mirror_body(void)
{
    CHECK(start_servers(false));
    char primary_url[64];
    snprintf(primary_url, sizeof primary_url, "nats://127.0.0.1:%u", ports[0]);
    snprintf(site_url, sizeof site_url, "nats://127.0.0.1:%u", ports[2]);
    struct journal_config config = config_of(primary_url, "NODOWN", false);
    CHECK_EQ_I64(test_journal_open_retry(&primary, &config, 10000), 0);
    for (uint32_t i = 1; i <= MESSAGES; i++) {
        char data[16], id[16];
        uint64_t seq = 0;
        bool duplicate = false;
        snprintf(data, sizeof data, "batch %u", i);
        snprintf(id, sizeof id, "m%u", i);
        CHECK_EQ_I64(journal_publish(primary, data, strlen(data), id, 5000, &seq, &duplicate), 0);
        CHECK_EQ_I64(seq, i);
    }
    uint64_t purged = 0; /* the primary keeps 4.. only: so does a mirror made now */
    CHECK_EQ_I64(journal_stream_purge_below(primary, 4, &purged), 0);
    read_all(primary, 4, MESSAGES - 3, &before);
    CHECK_EQ_I64(before.count, MESSAGES - 3);

    config = config_of(site_url, "NODOWN_DR", true);
    CHECK_EQ_I64(test_journal_open_retry(&site, &config, 10000), 0);
    struct journal_stream_info info = {0};
    int64_t deadline_ms = clock_now_ms() + 10000;
    while ((journal_stream_info(site, &info) != 0 || info.last_seq < MESSAGES) &&
           clock_now_ms() < deadline_ms)
        clock_sleep_ms(50);
    CHECK(info.mirror);
    CHECK_EQ_I64(info.first_seq, 4);
    CHECK_EQ_I64(info.last_seq, MESSAGES);
    uint64_t seq = 0;
    bool duplicate = false;
    CHECK_EQ_I64(journal_publish(site, "x", 1, "x1", 1000, &seq, &duplicate), ERR_USAGE);
    struct seen mirrored;
    read_all(site, 4, MESSAGES - 3, &mirrored);
    CHECK_EQ_I64(mirrored.count, MESSAGES - 3);
    CHECK(memcmp(&mirrored, &before, sizeof before) == 0); /* same times, too */
}

/* The primary lost, the site promoted; readers of the mirror and of the
 * promoted stream see the same history. */
static void promote_body(void)
{
    journal_close(primary); /* (closing it later would wait for the dead server) */
    primary = NULL;
    server_kill(0); /* the disaster */
    struct journal_config target = config_of(site_url, "NODOWN", false);
    struct journal_promotion done;
    struct journal_stream_info info;
    uint64_t seq = 0;
    bool duplicate = false;
    CHECK_EQ_I64(journal_promote(site, &target, NULL, NULL, &done), 0);
    CHECK(!done.already);
    CHECK_EQ_I64(done.first_seq, 4);
    CHECK_EQ_I64(done.last_seq, MESSAGES);
    CHECK_EQ_I64(done.copied, MESSAGES - 3);
    CHECK_EQ_I64(journal_promote(site, &target, NULL, NULL, &done), 0);
    CHECK(done.already);
    CHECK_EQ_I64(done.copied, 0);
    CHECK_EQ_I64(done.last_seq, MESSAGES);
    CHECK_EQ_I64(journal_stream_lookup(site, "NODOWN", &info), 0);
    CHECK(info.promoted && !info.mirror);
    CHECK_EQ_I64(journal_stream_lookup(site, "NOSUCH", &info), ERR_NOT_FOUND);

    /* A node that read the mirror to 8 goes on with the promoted stream;
     * one that starts on it reads what the mirror held, the primary's
     * times included. */
    struct seen part;
    read_all(site, 4, 5, &part);
    CHECK_EQ_I64(part.count, 5);
    CHECK_EQ_I64(journal_follow(site, "NODOWN"), 0);
    struct seen rest;
    read_all(site, 9, MESSAGES - 8, &rest);
    CHECK_EQ_I64(rest.count, MESSAGES - 8);
    CHECK_EQ_I64(rest.seqs[0], 9);
    CHECK(strcmp(rest.data[0], "batch 9") == 0);
    CHECK_EQ_I64(rest.times[0], before.times[5]);
    CHECK_EQ_I64(journal_publish(site, "batch 13", 8, "m13", 5000, &seq, &duplicate), 0);
    CHECK_EQ_I64(seq, MESSAGES + 1);
    struct journal_config config = config_of(site_url, "NODOWN", false);
    CHECK_EQ_I64(test_journal_open_retry(&follower, &config, 10000), 0);
    struct seen fresh;
    read_all(follower, 4, MESSAGES - 3, &fresh);
    CHECK(memcmp(&fresh, &before, sizeof before) == 0);
}

/* A mirror whose source does not answer (no leafnode to the primary) is
 * not made: nats-server 2.10 would leave it idle for 30 s after its first
 * request went unanswered. */
static void source_missing_body(void)
{
    CHECK(start_servers(true));
    snprintf(site_url, sizeof site_url, "nats://127.0.0.1:%u", ports[2]);
    struct journal_config config = config_of(site_url, "NODOWN_DR", true);
    char errmsg[512] = "";
    int rv = ERR_IO;
    int64_t deadline_ms = clock_now_ms() + 10000; /* the site's server starting */
    while ((rv = journal_open(&site, &config, errmsg, sizeof errmsg)) != 0 &&
           strstr(errmsg, "does not through $JS.primary.API") == NULL &&
           clock_now_ms() < deadline_ms)
        clock_sleep_ms(100);
    CHECK_EQ_I64(rv, ERR_IO);
    CHECK(strstr(errmsg, "is the leafnode to the primary up") != NULL);
}

TEST(mirror_waits_for_its_source)
{
    source_missing_body();
    cleanup();
}

TEST(mirror_then_promote)
{
    mirror_body();
    if (!test_current_failed)
        promote_body();
    cleanup();
}

TEST_MAIN()
