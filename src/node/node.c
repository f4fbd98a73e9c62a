/* The running node: its loop and chores (see node.h). */
#include "node/node.h"

#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "node/dr.h"
#include "node/journal_audit.h"
#include "node/node_internal.h"
#include "node/announce.h"
#include "node/start.h"
#include "node/status.h"
#include "node/verify_at.h"

#define NODE_PROMOTED_CHECK_MS 1000u /* how often a DR node looks for the promotion */

static volatile sig_atomic_t node_stop_asked;

bool node_stopping(void)
{
    return node_stop_asked != 0;
}

static void node_on_signal(int signal_number)
{
    (void)signal_number;
    node_stop_asked = 1;
}

/* Every 100 ms: the supervised server's health, snapshots, the status. */
static void node_chores(struct node *node, uint64_t *status_ms)
{
    char errmsg[256];
    if (node->embedded && nats_supervisor_poll(&node->nats) != 0)
        fprintf(stderr, "nodown: nats-server restart failed: %s\n", node->nats.last_error);
    int done = replica_snapshot_poll(&node->replica, false, errmsg, sizeof errmsg);
    if (done < 0)
        fprintf(stderr, "nodown: %s\n", errmsg);
    else if (done == 1)
        node_snapshot_note(node);
    if (node->replica.bytes_since_snapshot >= node->config.snapshot_bytes &&
        node->replica.snapshot_pid == 0 && node->replica.stopped_seq == 0 &&
        replica_snapshot_start(&node->replica, errmsg, sizeof errmsg) != 0)
        fprintf(stderr, "nodown: %s\n", errmsg);
    node_digest(node);
    node_audit_poll(node);
    node_announce_poll(node);
    if (node_now_ms() >= *status_ms + 1000) {
        node_status(node);
        *status_ms = node_now_ms();
    }
}

/* The replica met a logic version this build cannot run: the node stays
 * up, says why (stderr, /status), refuses commands (ERROR 8, so clients
 * go to a node that can) and answers queries with what it applied; a
 * restart on a build that runs that version applies on (docs/upgrades.md). */
static void node_stop_applying(struct node *node, const char *why)
{
    assert(node->replica.stopped_seq != 0);
    snprintf(node->stopped, sizeof node->stopped, "%s", why);
    for (char *c = node->stopped; *c != '\0'; c++)
        *c = *c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '\'' : *c; /* JSON-safe */
    fprintf(stderr, "nodown: %s; queries are still answered, commands refused\n", why);
    fflush(stderr);
    gateway_set_read_only(node->gateway, node->stopped);
    node_status(node);
}

/* Applies what the stream already holds before the node says it is
 * ready, so that the house secret, and the first logons, meet the state. */
static int node_catch_up(struct node *node, char *errmsg, size_t size)
{
    uint64_t last_seq = 0;
    if (journal_last_seq(node->journal, &last_seq) != 0)
        return 0; /* the loop catches up anyway */
    while (node->replica.applied_seq < last_seq && !node_stopping()) {
        int rv = gateway_step(node->gateway, 10, errmsg, size);
        if (rv == ERR_LOGIC_UNSUPPORTED) {
            node_stop_applying(node, errmsg);
            return 0; /* serving what it has */
        }
        if (rv != 0)
            return -1;
    }
    return 0;
}

static int node_loop(struct node *node)
{
    char errmsg[512];
    uint64_t chores_ms = 0;
    uint64_t status_ms = 0;
    uint64_t promoted_ms = 0;
    while (!node_stopping()) {
        int rv = gateway_step(node->gateway, 10, errmsg, sizeof errmsg);
        if (rv == ERR_LOGIC_UNSUPPORTED) {
            node_stop_applying(node, errmsg);
        } else if (rv != 0) {
            fprintf(stderr, "nodown: stopping: %s\n", errmsg);
            return 1;
        }
        if (node->dr_waiting && node_now_ms() >= promoted_ms + NODE_PROMOTED_CHECK_MS) {
            if (node_promoted_check(node, errmsg, sizeof errmsg) != 0) {
                fprintf(stderr, "nodown: stopping: %s\n", errmsg);
                return 1;
            }
            promoted_ms = node_now_ms();
        }
        node_verify_step(node);
        if (node_now_ms() >= chores_ms + 100) {
            node_chores(node, &status_ms);
            chores_ms = node_now_ms();
        }
        if (node->fatal[0] != '\0') {
            fprintf(stderr, "nodown: stopping: %s\n", node->fatal);
            return 1;
        }
    }
    return 0;
}

int node_run(const struct node_config *config)
{
    static struct node node;
    node.config = *config;
    node.lock.fd = -1;
    metrics_init(&node.metrics);
    audit_init(&node.audit);
    pthread_mutex_init(&node.snapshot_mutex, NULL);
    pthread_mutex_init(&node.verify.lock, NULL);
    http_admin_text_init(&node.status, node.status_buffer, sizeof node.status_buffer);
    signal(SIGINT, node_on_signal);
    signal(SIGTERM, node_on_signal);
    signal(SIGPIPE, SIG_IGN);
    char errmsg[512] = "";
    int rv = node_start(&node, errmsg, sizeof errmsg);
    if (rv == 0 && node_catch_up(&node, errmsg, sizeof errmsg) != 0)
        rv = -1;
    if (rv == 0 && node.joined_ms != 0)
        printf("nodown: joined: caught up to stream sequence %" PRIu64 " in %" PRIu64
               " ms after the snapshot\n", node.replica.applied_seq,
               node_now_ms() - node.joined_ms);
    if (rv == 0 && node_house_secret(&node, errmsg, sizeof errmsg) != 0)
        rv = -1;
    if (rv != 0) {
        fprintf(stderr, "nodown serve: %s\n", errmsg);
        node_stop(&node);
        return 1;
    }
    node.chores_seq = node.replica.applied_seq; /* caught up: a digest now */
    node_digest(&node);
    node_status(&node);
    char durability[DURABILITY_TEXT_SIZE];
    durability_format(&node.config.durability, durability);
    printf("nodown: node %u serving clients on %s:%u, admin on http://%s:%u/status "
           "(token in %s/admin.token), durability %s, NATS %s\n",
           node.config.node_id, node.config.listen_host, gateway_port(node.gateway),
           node.config.http_host, http_admin_port(node.admin), node.config.data_dir,
           node.embedded ? durability : "of the NATS servers",
           node.embedded ? node.nats.url : node.config.nats_urls);
    fflush(stdout);
    rv = node_loop(&node);
    printf("nodown: stopped at stream sequence %" PRIu64 "\n", node.replica.applied_seq);
    node_stop(&node);
    return rv;
}
