/* A gateway node in the test's own process, with a real nats-server:
 * the supervisor starts it, the journal holds the stream, the replica
 * applies it, and the test steps the gateway while client threads speak
 * the native protocol over loopback. Shared by test_gateway.c and
 * test_logon_guard.c. */
#ifndef NODOWN_TEST_GATEWAY_NODE_H
#define NODOWN_TEST_GATEWAY_NODE_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "gateway/gateway.h"
#include "lib/clock.h"
#include "lib/secret.h"
#include "replica/nats_supervisor.h"
#include "test_dir.h"

#define MEMBER_ID 5u /* house 0, operator 1, super 2, master 3, agent 4, member 5 */
static const char member_secret[] = "correct horse battery staple";

/* In a client thread's script: a failed expectation is noted in run
 * (failure, failures) and ends the script. */
#define EXPECT(run, cond)                                                                \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            snprintf((run)->failure, sizeof (run)->failure, "line %d: %s", __LINE__,      \
                     #cond);                                                             \
            (run)->failures++;                                                           \
            return -1;                                                                   \
        }                                                                                \
    } while (0)

/* The bootstrap an operator's tooling writes straight to the stream: a
 * secret for the house, a line of the tree, a member with a secret and
 * cash, an instrument, a day. */
static inline int bootstrap(struct journal *journal)
{
    struct command c[12];
    uint32_t n = 0;
    uint8_t salt[SECRET_SALT_SIZE] = {1, 2, 3};
    c[n] = fixture_command(COMMAND_ACCOUNT_CREATE, 0);
    c[n++].u.account_create.kind = ACCOUNT_KIND_OPERATOR;
    for (uint8_t kind = ACCOUNT_KIND_SUPER; kind <= ACCOUNT_KIND_MEMBER; kind++) {
        c[n] = fixture_command(COMMAND_ACCOUNT_CREATE, 0);
        c[n].u.account_create.parent_id = kind == ACCOUNT_KIND_SUPER ? 0 : n;
        c[n++].u.account_create.kind = kind;
    }
    c[n] = fixture_command(COMMAND_ACCOUNT_SET_SECRET, 0);
    c[n].u.account_set_secret.account_id = MEMBER_ID;
    memcpy(c[n].u.account_set_secret.salt, salt, sizeof salt);
    if (secret_hash(member_secret, strlen(member_secret), salt,
                    c[n++].u.account_set_secret.hash) != 0)
        return -1;
    c[n] = fixture_command(COMMAND_ACCOUNT_SET_SECRET, 0); /* the house: the same one */
    c[n].u.account_set_secret = c[n - 1].u.account_set_secret;
    c[n++].u.account_set_secret.account_id = 0;
    c[n] = fixture_command(COMMAND_CASH_DEPOSIT, 0);
    c[n].u.cash.account_id = MEMBER_ID;
    c[n++].u.cash.amount_minor = 10000000;
    c[n] = fixture_command(COMMAND_INSTRUMENT_CREATE, 0);
    memcpy(c[n].u.instrument_create.symbol, "GATE", 4);
    c[n].u.instrument_create.tick_size_minor = 1;
    c[n].u.instrument_create.lot_size = 1;
    c[n].u.instrument_create.reference_price_ticks = 1000;
    c[n++].u.instrument_create.band_bp = 1000;
    c[n] = fixture_command(COMMAND_DAY_START, 0);
    c[n++].u.day.trading_date = 20261123;
    for (uint32_t i = 0; i < n; i++)
        c[i].client_seq = i + 1;
    static uint8_t buffer[BATCH_SIZE_MAX];
    size_t length = 0;
    uint64_t seq = 0;
    bool duplicate = false;
    if (batch_encode(0, c, n, buffer, sizeof buffer, &length) != 0)
        return -1;
    return journal_publish(journal, buffer, length, "bootstrap", 5000, &seq, &duplicate);
}

struct node {
    char dir[64];
    struct nats_supervisor nats;
    struct journal *journal;
    struct replica replica;
    struct gateway *gateway;
    struct node_metrics metrics; /* what the gateway counts */
};

static inline int node_start(struct node *node, char *errmsg, size_t size)
{
    memset(node, 0, sizeof *node);
    snprintf(node->dir, sizeof node->dir, "/tmp/nodown-test-gateway-XXXXXX");
    if (mkdtemp(node->dir) == NULL)
        return -1;
    struct limits limits;
    fixture_limits(&limits);
    int rv = nats_supervisor_start(&node->nats, node->dir, 0, (struct durability){0}, errmsg, size);
    struct journal_config config = {.urls = node->nats.url, .stream_name = "NODOWN",
                                    .subject = "nodown.batch", .replicas = 1,
                                    .duplicate_window_ms = 120000};
    if (rv == 0)
        rv = journal_open(&node->journal, &config, errmsg, size);
    if (rv == 0)
        rv = replica_open(&node->replica, node->dir, &limits, errmsg, size);
    metrics_init(&node->metrics);
    struct gateway_config gateway_config = {.listen_host = "127.0.0.1", .node_id = 1,
                                            .metrics = &node->metrics};
    if (rv == 0)
        rv = gateway_open(&node->gateway, &gateway_config, &node->replica, node->journal,
                          errmsg, size);
    return rv;
}

static inline void node_stop(struct node *node)
{
    gateway_close(node->gateway);
    if (node->replica.commands != NULL)
        replica_close(&node->replica);
    if (node->journal != NULL)
        journal_close(node->journal);
    nats_supervisor_stop(&node->nats);
    test_dir_remove(node->dir);
}

/* A node started and bootstrapped, its accounts applied (so a client
 * can log on). Returns whether all went well (errors on stderr). */
static inline int node_ready(struct node *node, char *errmsg, size_t size)
{
    int rv = node_start(node, errmsg, size);
    if (rv != 0)
        fprintf(stderr, "  node: %s\n", errmsg);
    int ok = rv == 0 && bootstrap(node->journal) == 0;
    uint64_t deadline = (uint64_t)clock_now_ms() + 10000;
    while (ok && node->replica.applied_seq < 1 && (uint64_t)clock_now_ms() < deadline)
        ok = gateway_step(node->gateway, 5, errmsg, size) == 0;
    return ok && node->replica.applied_seq == 1;
}

/* Steps the node until the client is done, or 20 s. */
static inline int node_serve(struct node *node, atomic_int *done)
{
    char errmsg[256];
    uint64_t deadline = (uint64_t)clock_now_ms() + 20000;
    while (!atomic_load(done) && (uint64_t)clock_now_ms() < deadline) {
        if (gateway_step(node->gateway, 5, errmsg, sizeof errmsg) != 0) {
            fprintf(stderr, "  gateway_step: %s\n", errmsg);
            return -1;
        }
    }
    return atomic_load(done) ? 0 : -1;
}

#endif
