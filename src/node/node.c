/* The running node: its loop and chores (see node.h). */
#include "node/node.h"

#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/result.h"
#include "node/dr.h"
#include "node/journal_audit.h"
#include "node/live_feed.h"
#include "node/node_internal.h"
#include "node/announce.h"
#include "node/start.h"
#include "node/status.h"
#include "node/verify_at.h"
#include "replica/versions.h"

#define NODE_PROMOTED_CHECK_MS 1000u /* how often a DR node looks for the promotion */
/* How long a process that took over waits for the old one to let go of
 * the data directory's lock (it exits, or execs the keeper, at once). */
#define NODE_TAKE_LOCK_WAIT_MS 10000

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

static int node_take_lock(struct node *node, char *errmsg, size_t size);

/* Every 100 ms: the supervised server's health, snapshots, the status. */
static void node_chores(struct node *node, uint64_t *status_ms)
{
    char errmsg[256];
    if (node->lock_wanted_until_ms != 0 && node_take_lock(node, errmsg, sizeof errmsg) != 0)
        snprintf(node->fatal, sizeof node->fatal, "took over, but the old process still "
                 "holds the data directory: %s", errmsg);
    if (node->embedded && nats_supervisor_poll(&node->nats) != 0)
        fprintf(stderr, "nodown: nats-server restart failed: %s\n", node->nats.last_error);
    int done = replica_snapshot_poll(&node->replica, false, errmsg, sizeof errmsg);
    if (done < 0)
        fprintf(stderr, "nodown: %s\n", errmsg);
    else if (done == 1)
        node_snapshot_note(node);
    if (node->lock.fd >= 0 &&
        node->replica.bytes_since_snapshot >= node->config.snapshot_bytes &&
        node->replica.snapshot_pid == 0 && node->replica.stopped_seq == 0 &&
        replica_snapshot_start(&node->replica, errmsg, sizeof errmsg) != 0)
        fprintf(stderr, "nodown: %s\n", errmsg);
    node_consumers_chores(node);
    node_live_chores(node);
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
    node_json_safe(node->stopped);
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
        if (takeover_give_poll(&node->giver, &node->handover) == 1) {
            node->handed_over = true;
            return 0;
        }
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

/* ---- Hand-over (takeover.h). ---- */

static struct takeover_taker node_taker;

struct takeover_taker *node_take_over_begin(const char *data_dir, char *errmsg,
                                            size_t errmsg_size)
{
    if (takeover_take_begin(&node_taker, data_dir, versions_release(), errmsg,
                            errmsg_size) != 0) {
        takeover_take_close(&node_taker);
        return NULL;
    }
    return &node_taker;
}

const char *node_take_over_token(const struct takeover_taker *taker)
{
    return taker->info.admin_token[0] != '\0' ? taker->info.admin_token : NULL;
}

void node_take_over_args(const struct takeover_taker *taker, int *argc, char ***argv)
{
    static char *args[HANDOVER_ARGS_MAX];
    for (uint32_t i = 0; i < taker->info.argc; i++)
        args[i] = (char *)taker->info.argv[i];
    *argc = (int)taker->info.argc;
    *argv = args;
}

/* What a hand-over passes on, for either side. */
static void node_handover_fill(struct node *node)
{
    node->handover = (struct takeover_node){
        .gateway = node->gateway, .replica = &node->replica, .admin = node->admin,
        .nats = node->embedded ? &node->nats : NULL, .node_id = node->config.node_id,
        .release = versions_release(), .admin_token = node->token,
        .argc = node->config.argc, .argv = node->config.argv,
    };
}

static int node_admin_take(void *context, int listen_fd, char *errmsg, size_t size)
{
    struct node *node = context;
    if (node_admin_start(node, listen_fd, errmsg, size) != 0)
        return -1;
    node->handover.admin = node->admin;
    return 0;
}

/* A taker caught up: the sockets and sessions, then the directory. */
static int node_take_over_finish(struct node *node, char *errmsg, size_t size)
{
    struct takeover_taker *taker = node->config.taker;
    node_handover_fill(node);
    if (takeover_take_finish(taker, &node->handover, node_admin_take, node,
                             node->config.data_dir, node->config.durability, errmsg,
                             size) != 0)
        return -1;
    takeover_take_output(taker);
    takeover_take_close(taker);
    char why[256];
    if (node_consumers_take_over(node, why, sizeof why) != 0)
        fprintf(stderr, "nodown: the archive or the export does not run: %s\n", why);
    /* What this build runs, in the node registry at once: an activation
     * may follow the upgrade's last node within milliseconds. */
    if (!node->dr_waiting)
        node_announce_start(node, node->embedded ? 1 : node->config.replicas);
    node->live_tries = node->config.feed ? NODE_LIVE_TRIES : 0; /* node_live_chores */
    fprintf(stderr, "nodown: hand-over: process %ld serves the node now\n", (long)getpid());
    /* The old process lets go of the directory as it stops: the loop
     * takes the lock then (node_take_lock), serving meanwhile. */
    node->lock_wanted_until_ms = node_now_ms() + NODE_TAKE_LOCK_WAIT_MS;
    return 0;
}

/* After a hand-over, once the old process has let go: the directory's
 * lock (snapshots wait for it), the node registry, and this process's own
 * hand-over socket. Returns -1 when the old one holds on too long. */
static int node_take_lock(struct node *node, char *errmsg, size_t size)
{
    pid_t holder = 0;
    if (dir_lock_acquire(&node->lock, node->config.data_dir, &holder, errmsg, size) != 0)
        return node_now_ms() > node->lock_wanted_until_ms ? -1 : 0;
    node->lock_wanted_until_ms = 0;
    node_args_write(node);
    if (node_consumers_start(node, errmsg, size) != 0)
        fprintf(stderr, "nodown: the archive or the export does not run: %s\n", errmsg);
    char why[256];
    if (takeover_give_open(&node->giver, node->config.data_dir, why, sizeof why) != 0)
        fprintf(stderr, "nodown: no hand-over to a new process (a restart is this node's "
                "upgrade): %s\n", why);
    return 0;
}

int node_run(const struct node_config *config)
{
    static struct node node;
    node.config = *config;
    node.lock.fd = -1;
    node.giver.listen_fd = node.giver.conn_fd = node.giver.keeper_end = -1; /* none yet */
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
    if (rv == 0 && config->taker != NULL && node_take_over_finish(&node, errmsg,
                                                                   sizeof errmsg) != 0)
        rv = -1;
    char handover_error[256];
    if (rv == 0 && config->taker == NULL &&
        takeover_give_open(&node.giver, config->data_dir, handover_error,
                           sizeof handover_error) != 0)
        fprintf(stderr, "nodown: no hand-over to a new process (a restart is this node's "
                "upgrade): %s\n", handover_error);
    node_handover_fill(&node);
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
    if (node.live != NULL)
        printf("nodown: live feed on ws://%s:%u/ (docs/live.md)\n", node.config.feed_host,
               live_server_port(node.live));
    printf("nodown: node %u serving clients on %s:%u, admin on http://%s:%u/status "
           "(token in %s/admin.token), durability %s, NATS %s, \"fix_port\":%u\n",
           node.config.node_id, node.config.listen_host, gateway_port(node.gateway),
           node.config.http_host, http_admin_port(node.admin), node.config.data_dir,
           node.embedded ? durability : "of the NATS servers",
           node.embedded ? node.nats.url : node.config.nats_urls,
           gateway_fix_port(node.gateway));
    fflush(stdout);
    rv = node_loop(&node);
    if (node.handed_over)
        printf("nodown: handed over at stream sequence %" PRIu64 "\n",
               node.replica.applied_seq);
    else
        printf("nodown: stopped at stream sequence %" PRIu64 "\n", node.replica.applied_seq);
    fflush(stdout);
    node_stop(&node);
    if (node.handed_over)
        takeover_give_exit(&node.giver, &node.handover);
    return rv;
}
