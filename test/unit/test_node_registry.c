/* The node registry (src/replica/node_registry.h): its value's encoding
 * and the gate's rule without a server, then the bucket on a real
 * nats-server: entries announced by two nodes, one refreshed by a
 * restart, read back in node order, and one forgotten. */
#include <stdio.h>
#include <string.h>

#include "replica/nats_supervisor.h"
#include "replica/node_registry.h"
#include "test.h"
#include "test_dir.h"

static struct node_registry_entry entry(uint32_t node_id, uint32_t min, uint32_t max)
{
    struct node_registry_entry e = {.node_id = node_id, .logic_min = min, .logic_max = max,
                                    .announced_unix_ms = 1796507745895u, .readable = true};
    snprintf(e.build, sizeof e.build, "logic %u..%u, snapshot 1", min, max);
    return e;
}

TEST(value_round_trip_and_versions)
{
    struct node_registry_entry e = entry(3, 1, 2);
    char value[NODE_REGISTRY_VALUE_SIZE];
    size_t length = node_registry_encode(&e, value, sizeof value);
    CHECK(length > 0);
    CHECK_STR(value, "1 node=3 logic=1..2 announced_ms=1796507745895 build=logic 1..2, "
                     "snapshot 1");
    struct node_registry_entry back;
    CHECK_EQ_I64(node_registry_decode(value, &back), 0);
    CHECK(back.readable);
    CHECK_EQ_I64(back.node_id, 3);
    CHECK_EQ_I64(back.logic_min, 1);
    CHECK_EQ_I64(back.logic_max, 2);
    CHECK_EQ_I64(back.announced_unix_ms, 1796507745895);
    CHECK_STR(back.build, e.build);
    CHECK_EQ_I64(node_registry_encode(&e, value, 20), 0); /* does not fit */
    CHECK_EQ_I64(node_registry_decode("2 node=3 whatever", &back), ERR_VERSION);
    CHECK(!back.readable);
    CHECK_EQ_I64(node_registry_decode("garbage", &back), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(node_registry_decode("1 node=3 logic=2..1 announced_ms=0 build=", &back),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(node_registry_decode("1 node=3 logic=1..2", &back), ERR_DECODE_MALFORMED);
}

TEST(gate_needs_every_node)
{
    struct node_registry_entry entries[3] = {entry(1, 1, 3), entry(2, 1, 2), entry(5, 1, 2)};
    char why[256];
    uint32_t node_id = 0;
    CHECK(node_registry_allows(entries, 3, 2, &node_id, why, sizeof why));
    CHECK(!node_registry_allows(entries, 3, 3, &node_id, why, sizeof why));
    CHECK_EQ_I64(node_id, 2);
    CHECK_STR(why, "node 2 runs 1..2, node 5 runs 1..2");
    entries[1].readable = false; /* a format this build cannot read refuses */
    CHECK(!node_registry_allows(entries, 3, 2, &node_id, why, sizeof why));
    CHECK_EQ_I64(node_id, 2);
    CHECK_STR(why, "node 2's entry is in a format this build cannot read");
    CHECK(node_registry_allows(entries, 0, 9, &node_id, why, sizeof why)); /* nobody */
    char short_why[8];
    CHECK(!node_registry_allows(entries, 3, 3, &node_id, short_why, sizeof short_why));
}

TEST(bucket_announce_list_forget)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/nodown-test-registry-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char errmsg[512] = "";
    struct nats_supervisor nats;
    memset(&nats, 0, sizeof nats);
    struct journal *journal = NULL;
    struct node_registry *registry = NULL;
    int rv = nats_supervisor_start(&nats, dir, 0, (struct durability){0}, errmsg,
                                   sizeof errmsg);
    struct journal_config config = journal_config_stream(nats.url, 1);
    if (rv == 0)
        rv = journal_open(&journal, &config, errmsg, sizeof errmsg);
    if (rv == 0)
        rv = node_registry_open(&registry, journal, 1, errmsg, sizeof errmsg);
    struct node_registry_entry two = entry(2, 1, 2);
    struct node_registry_entry one = entry(1, 1, 1);
    if (rv == 0)
        rv = node_registry_announce(registry, &two, errmsg, sizeof errmsg);
    if (rv == 0)
        rv = node_registry_announce(registry, &one, errmsg, sizeof errmsg);
    one.logic_max = 2; /* node 1 restarted on a newer build */
    if (rv == 0)
        rv = node_registry_announce(registry, &one, errmsg, sizeof errmsg);
    struct node_registry_entry entries[4];
    uint32_t count = 0;
    if (rv == 0)
        rv = node_registry_list(registry, entries, 4, &count, errmsg, sizeof errmsg);
    uint32_t listed = count;
    uint32_t first_max = count > 0 ? entries[0].logic_max : 0;
    uint32_t first_id = count > 0 ? entries[0].node_id : 0;
    int forgot = rv == 0 ? node_registry_forget(registry, 2, errmsg, sizeof errmsg) : -1;
    int again = rv == 0 ? node_registry_forget(registry, 2, errmsg, sizeof errmsg) : -1;
    int relisted = rv == 0 ? node_registry_list(registry, entries, 4, &count, errmsg,
                                                sizeof errmsg)
                           : -1;
    int small = rv == 0 ? node_registry_list(registry, entries, 0, &count, errmsg,
                                             sizeof errmsg)
                        : -1;
    if (rv != 0)
        fprintf(stderr, "  %s\n", errmsg);
    node_registry_close(registry);
    if (journal != NULL)
        journal_close(journal);
    nats_supervisor_stop(&nats);
    test_dir_remove(dir);
    CHECK_EQ_I64(rv, 0);
    CHECK_EQ_I64(listed, 2);
    CHECK_EQ_I64(first_id, 1);
    CHECK_EQ_I64(first_max, 2); /* the restart's entry */
    CHECK_EQ_I64(forgot, 0);
    CHECK_EQ_I64(again, ERR_NOT_FOUND);
    CHECK_EQ_I64(relisted, 0);
    CHECK_EQ_I64(small, ERR_CAPACITY);
}

TEST_MAIN()
