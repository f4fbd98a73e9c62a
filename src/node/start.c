/* The node's start-up and shut-down (see start.h). */
#include "node/start.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/command_codec.h"
#include "core/result.h"
#include "lib/secret.h"
#include "node/announce.h"
#include "node/dr.h"
#include "node/join.h"
#include "node/live_feed.h"
#include "node/status.h"
#include "node/verify_at.h"
#include "page/page_assets.h"

#define NODE_JOURNAL_WAIT_MS 60000u /* a cluster's stream may take this long to answer */
/* Files a node holds besides its client connections: libnats' and the
 * supervisor's, snapshots, logs, and the admin interface's connections
 * (HTTP_ADMIN_CONNECTION_LIMIT_DEFAULT at most). */
#define NODE_FILES_RESERVE (256u + HTTP_ADMIN_CONNECTION_LIMIT_DEFAULT)

/* --batches-in-flight, or its default: one batch at a time on the
 * embedded default, where nats-server writes and syncs each stream
 * message in turn, so a second batch in flight only waits behind the
 * first as a smaller batch (more syncs for the same commands: bench node,
 * docs/journal.md); GATEWAY_BATCHES_IN_FLIGHT on a cluster (--nats), whose
 * leader replicates the batches in flight together. */
static uint32_t node_batches_in_flight(const struct node_config *config)
{
    if (config->batches_in_flight != 0)
        return config->batches_in_flight;
    return config->nats_urls == NULL ? 1 : GATEWAY_BATCHES_IN_FLIGHT;
}

/* Raises the open-file limit to its hard limit and checks that the
 * client port's connections fit under it, beside the node's other files
 * (NODE_FILES_RESERVE: NATS, the stream, snapshots, the admin
 * interface's connections). A --max-connections that does not fit is
 * refused; the default is lowered to fit, and says so. */
static int node_files_fit(const struct node_config *config, uint32_t *connections_max,
                           char *errmsg, size_t size)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &limit); /* the check below says if it was enough */
    }
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        limit.rlim_cur = RLIM_INFINITY;
    uint64_t files = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)limit.rlim_cur;
    uint64_t wanted = config->connections_max != 0 ? config->connections_max
                                                    : GATEWAY_CONNECTIONS_MAX_DEFAULT;
    *connections_max = (uint32_t)wanted;
    if (wanted + NODE_FILES_RESERVE <= files)
        return 0;
    if (config->connections_max != 0 || files < NODE_FILES_RESERVE + 64u) {
        snprintf(errmsg, size, "%" PRIu64 " client connections and %u other files need more "
                 "than the open-file limit, %" PRIu64 " (ulimit -n): lower "
                 "--max-connections or raise the limit", wanted, NODE_FILES_RESERVE, files);
        return -1;
    }
    *connections_max = (uint32_t)(files - NODE_FILES_RESERVE);
    fprintf(stderr, "nodown serve: at most %u client connections, to fit the open-file limit "
            "(%" PRIu64 ")\n", *connections_max, files);
    return 0;
}

/* The operator token: given, from the environment, or made once and kept
 * in DIR/admin.token (mode 0600) so that it survives restarts. */
static int node_token(struct node *node)
{
    const char *given = node->config.token ? node->config.token
                                             : getenv("NODOWN_ADMIN_TOKEN");
    if (given != NULL) {
        snprintf(node->token, sizeof node->token, "%s", given);
        return 0;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/admin.token", node->config.data_dir);
    FILE *file = fopen(path, "r");
    if (file != NULL) {
        bool read = fgets(node->token, sizeof node->token, file) != NULL;
        fclose(file);
        node->token[strcspn(node->token, "\n")] = '\0';
        return read ? 0 : -1;
    }
    uint8_t random[SECRET_SALT_SIZE];
    if (secret_salt_generate(random) != 0)
        return -1;
    for (uint32_t i = 0; i < sizeof random; i++)
        snprintf(node->token + 2 * i, 3, "%02x", random[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    bool written = write(fd, node->token, strlen(node->token)) == (ssize_t)strlen(node->token);
    close(fd);
    return written ? 0 : -1;
}

/* The embedded server keeps its port across restarts (DIR/nats/port), so
 * that nodes which joined it with --nats find it again. */
static int node_nats_start(struct node *node, char *errmsg, size_t size)
{
    char path[600];
    snprintf(path, sizeof path, "%s/nats/port", node->config.data_dir);
    unsigned port = 0;
    FILE *file = fopen(path, "r");
    if (file != NULL) {
        if (fscanf(file, "%u", &port) != 1 || port > 65535)
            port = 0;
        fclose(file);
    }
    int rv = nats_supervisor_start(&node->nats, node->config.data_dir, (uint16_t)port,
                                   node->config.durability, errmsg, size);
    if (rv == 0 && port != node->nats.port && (file = fopen(path, "w")) != NULL) {
        fprintf(file, "%u\n", node->nats.port);
        fclose(file); /* if it cannot be written, the next start picks a port again */
    }
    return rv;
}

/* Opens the journal. On a cluster (--nats) the stream may be between
 * leaders, or the servers restarting, when the node starts: it keeps
 * trying for NODE_JOURNAL_WAIT_MS, saying so every few seconds, rather
 * than give up at the first timeout. */
static int node_journal_open(struct node *node, const struct journal_config *config,
                              char *errmsg, size_t size)
{
    uint64_t start_ms = node_now_ms();
    uint64_t said_ms = start_ms;
    for (;;) {
        int rv = journal_open(&node->journal, config, errmsg, size);
        if (rv == 0 || rv == ERR_USAGE || rv == ERR_VERSION || node->embedded || node_stopping() ||
            node_now_ms() - start_ms >= NODE_JOURNAL_WAIT_MS)
            return rv;
        if (node_now_ms() - said_ms >= 5000) {
            fprintf(stderr, "nodown: still waiting for the stream: %s\n", errmsg);
            said_ms = node_now_ms();
        }
        clock_sleep_ms(200);
    }
}

/* The replica from its newest snapshot at or below its consumers' lowest
 * position (consumers.c), running at most --logic-max. */
static int node_replica_open(struct node *node, const struct limits *limits, char *errmsg,
                              size_t size)
{
    const struct node_config *config = &node->config;
    uint64_t floor = UINT64_MAX;
    int rv = node_consumers_open(node, &floor, errmsg, size);
    /* A consumer behind every snapshot replays from 1, when the stream
     * still holds it, rather than miss what it has not stored. */
    struct journal_stream_info info = {0};
    bool from_one = floor != UINT64_MAX &&
                    journal_stream_info(node->journal, &info) == 0 && info.first_seq <= 1;
    if (rv == 0)
        rv = replica_open_at_most(&node->replica, config->data_dir, limits, floor, from_one,
                                  errmsg, size);
    if (rv == 0 && config->taker == NULL)
        rv = node_consumers_start(node, errmsg, size);
    if (rv == 0 && config->logic_max != 0 &&
        engine_logic_version_max_set(&node->replica.engine, config->logic_max) != 0) {
        snprintf(errmsg, size, "--logic-max %u: this build runs logic versions %u..%u and the "
                 "state is at %u", config->logic_max, LOGIC_VERSION_MIN, LOGIC_VERSION_MAX,
                 node->replica.engine.logic_version);
        rv = ERR_USAGE;
    }
    /* The snapshot it loaded is its latest until it writes one: served by
     * GET /snapshot/latest at once (a join, a backup), not only after the
     * next snapshot (a restarted or restored node answered 404 until then). */
    if (rv == 0 && node->replica.snapshot_seq > 0)
        node_snapshot_note(node);
    return rv;
}

/* The client port, within the open-file limit (node_files_fit). */
static int node_gateway_open(struct node *node, char *errmsg, size_t size)
{
    const struct node_config *config = &node->config;
    uint32_t connections_max = 0;
    int rv = node_files_fit(config, &connections_max, errmsg, size);
    struct gateway_config gateway = {
        .listen_host = config->listen_host, .listen_port = config->listen_port,
        .node_id = config->node_id, .metrics = &node->metrics, .audit = &node->audit,
        .batches_in_flight_max = node_batches_in_flight(config),
        .connections_max = connections_max,
        .connections_per_address_max = config->connections_per_address_max,
        .handshake_timeout_ms = config->handshake_timeout_ms,
        .frame_timeout_ms = config->frame_timeout_ms, .heartbeat_ms = config->heartbeat_ms,
        .listen_later = config->taker != NULL};
    char fix_state[4096];
    snprintf(fix_state, sizeof fix_state, "%s/fix_sessions", config->data_dir);
    gateway.fix_on = config->fix_on;
    gateway.fix_host = config->fix_host;
    gateway.fix_port = config->fix_port;
    gateway.fix_state_path = fix_state;
    if (rv == 0)
        rv = gateway_open(&node->gateway, &gateway, &node->replica, node->journal, errmsg,
                          size);
    return rv;
}

int node_start(struct node *node, char *errmsg, size_t size)
{
    const struct node_config *config = &node->config;
    if (mkdir(config->data_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(errmsg, size, "%s: %s", config->data_dir, strerror(errno));
        return -1;
    }
    /* Before anything in the directory is touched: one node per directory.
     * A process taking over reads the directory while the node serving it
     * holds the lock, writes nothing there, and takes the lock once it has
     * taken over (node_take_over_finish). */
    pid_t holder = 0;
    if (config->taker == NULL &&
        dir_lock_acquire(&node->lock, config->data_dir, &holder, errmsg, size) != 0)
        return -1;
    node->embedded = config->nats_urls == NULL;
    int rv = node->embedded && config->taker == NULL ? node_nats_start(node, errmsg, size) : 0;
    const char *urls = !node->embedded      ? config->nats_urls
                       : config->taker != NULL ? config->taker->info.nats_url
                                               : node->nats.url;
    int replicas = node->embedded ? 1 : config->replicas;
    struct journal_config journal = journal_config_stream(urls, replicas);
    if (config->dr_of != NULL) {
        snprintf(node->dr_api, sizeof node->dr_api, "$JS.%.80s.API", config->dr_of);
        journal = journal_config_mirror(urls, replicas, node->dr_api);
        node->dr_waiting = true;
    }
    node->journal_config = journal;
    if (rv == 0)
        rv = node_journal_open(node, &journal, errmsg, size);
    struct limits limits;
    limits_default(&limits);
    if (rv == 0 && config->join != NULL)
        rv = node_join(node, errmsg, size);
    if (rv == 0)
        rv = node_replica_open(node, &limits, errmsg, size);
    /* Promoted already (a restart after `nodown promote`): the site's own
     * stream, before its length is checked against this node's state. */
    if (rv == 0)
        rv = node_promoted_check(node, errmsg, size);
    uint64_t stream_last_seq = 0;
    if (rv == 0 && journal_last_seq(node->journal, &stream_last_seq) == 0 &&
        stream_last_seq < node->replica.applied_seq) {
        /* The stream lost what this node applied (its servers lost power
         * before syncing, see docs/journal.md): new batches would reuse
         * those numbers with other contents. Following it would diverge. */
        snprintf(errmsg, size, "the stream ends at %" PRIu64 " but this node applied up to %"
                 PRIu64 "; it will not follow a stream that lost data",
                 stream_last_seq, node->replica.applied_seq);
        rv = -1;
    }
    if (rv == 0 && (rv = node_gateway_open(node, errmsg, size)) == 0)
        rv = node_live_start(node, &limits, errmsg, size);
    if (rv == 0 && !node->dr_waiting && config->taker == NULL)
        node_announce_start(node, replicas);
    if (rv == 0 && node->dr_waiting)
        gateway_set_read_only(node->gateway, "this node is at the disaster-recovery site, "
                              "which follows the primary: send commands to the primary "
                              "('nodown promote' makes this site primary)");
    if (rv == 0 && node->config.export_only)
        gateway_set_read_only(node->gateway, "this node only exports to PostgreSQL (nodown "
                              "export): send commands to another node");
    if (rv == 0 && node_token(node) != 0) {
        snprintf(errmsg, size, "no operator token: give --token or check %s/admin.token",
                 config->data_dir);
        rv = -1;
    }
    if (rv == 0 && config->taker == NULL)
        rv = node_admin_start(node, -1, errmsg, size);
    if (rv == 0 && config->taker == NULL)
        node_args_write(node);
    return rv;
}

void node_args_write(const struct node *node)
{
    char path[600], temporary[610];
    snprintf(path, sizeof path, "%s/%s", node->config.data_dir, NODE_ARGS_FILE);
    snprintf(temporary, sizeof temporary, "%s.new", path);
    FILE *file = fopen(temporary, "w");
    if (file == NULL)
        return; /* only `nodown upgrade --activate` reads it; it says so */
    fprintf(file, "%u%c", NODE_ARGS_FORMAT, '\0');
    for (int i = 0; i < node->config.argc; i++)
        fprintf(file, "%s%c", node->config.argv[i], '\0');
    bool failed = ferror(file) != 0;
    if (fclose(file) != 0 || failed || rename(temporary, path) != 0)
        unlink(temporary);
}

int node_admin_start(struct node *node, int listen_fd, char *errmsg, size_t size)
{
    const struct node_config *config = &node->config;
    int rv = cluster_view_start(&node->cluster, config->peers, node->token, http_admin_text_read,
                                &node->status, errmsg, size);
    if (rv != 0)
        return rv;
    struct http_admin_config admin = {
        .host = config->http_host, .port = config->http_port, .token = node->token,
        .status_cb = http_admin_text_read, .status_context = &node->status,
        .metrics_cb = metrics_render_cb, .metrics_context = &node->metrics,
        .snapshot_path_cb = node_snapshot_path, .snapshot_context = node,
        .verify_cb = node_verify_cb, .verify_context = node,
        .cluster_cb = cluster_view_render, .cluster_context = &node->cluster,
        .assets = page_assets, .asset_count = PAGE_ASSET_COUNT,
        .listen_fd_inherited = listen_fd,
    };
    return http_admin_start(&node->admin, &admin, errmsg, size);
}

void node_stop(struct node *node)
{
    /* Its socket closed, never shut down: it may be another process's too
     * (handed over to a new process, or from an old one to this one). */
    http_admin_release(node->admin);
    if (!node->handed_over)
        takeover_give_close(&node->giver);
    if (node->admin != NULL)
        http_admin_stop(node->admin);
    cluster_view_stop(&node->cluster); /* after the server: /cluster reads it */
    node_live_stop(node); /* on the apply loop's watcher: before the gateway goes */
    gateway_close(node->gateway);
    audit_destroy(&node->audit);
    node_registry_close(node->registry); /* over the journal's connection */
    /* The journal first: its delivery thread decodes into the replica's
     * batches (replica_decode_ahead). */
    if (node->journal != NULL)
        journal_close(node->journal);
    node_consumers_close(node); /* what was applied, stored first */
    if (node->replica.commands != NULL)
        replica_close(&node->replica);
    /* Handed over: the server goes on, kept by this process turned its
     * keeper (takeover_give_exit) or by the keeper it already had. */
    if (node->embedded && !node->handed_over && node->nats.port != 0)
        nats_supervisor_stop(&node->nats);
    dir_lock_release(&node->lock); /* last: the directory is free now */
}

/* On a first start with $NODOWN_HOUSE_SECRET set, the house gets its
 * logon secret through the stream like any command. Two nodes doing it
 * send the same (client 0, sequence 1): the second is a resend. A secret
 * shorter than --min-secret-length is refused before it is published. */
int node_house_secret(struct node *node, char *errmsg, size_t size)
{
    const char *secret = getenv("NODOWN_HOUSE_SECRET");
    if (secret == NULL || node->replica.engine.accounts[0].has_secret || node->dr_waiting)
        return 0;
    char why[128];
    if (!secret_size_ok(strlen(secret), node->config.secret_size_min, why, sizeof why)) {
        snprintf(errmsg, size, "$NODOWN_HOUSE_SECRET: %s (--min-secret-length)", why);
        return -1;
    }
    snprintf(errmsg, size, "could not publish the house secret");
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = COMMAND_ACCOUNT_SET_SECRET;
    command.client_seq = 1;
    if (secret_salt_generate(command.u.account_set_secret.salt) != 0 ||
        secret_hash(secret, strlen(secret), command.u.account_set_secret.salt,
                    command.u.account_set_secret.hash) != 0)
        return -1;
    static uint8_t buffer[BATCH_SIZE_MAX];
    size_t length = 0;
    uint64_t seq = 0;
    bool duplicate = false;
    if (batch_encode(0, &command, 1, buffer, sizeof buffer, &length) != 0)
        return -1;
    return journal_publish(node->journal, buffer, length, "house-secret", 5000, &seq,
                           &duplicate);
}
