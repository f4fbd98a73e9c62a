/* What the node tells about itself (see status.h). */
#include "node/status.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "codec/frame.h"
#include "core/snapshot.h"
#include "node/journal_audit.h"
#include "replica/versions.h"

int node_snapshot_path(void *context, char *path, size_t size, uint64_t *stream_seq)
{
    struct node *node = context;
    pthread_mutex_lock(&node->snapshot_mutex);
    snprintf(path, size, "%s", node->snapshot_seq ? node->snapshot_path : "");
    *stream_seq = node->snapshot_seq;
    pthread_mutex_unlock(&node->snapshot_mutex);
    return 0;
}

void node_snapshot_note(struct node *node)
{
    pthread_mutex_lock(&node->snapshot_mutex);
    node->snapshot_seq = node->replica.snapshot_seq;
    replica_snapshot_path(node->replica.dir, node->replica.snapshot_seq, "",
                          node->snapshot_path, sizeof node->snapshot_path);
    pthread_mutex_unlock(&node->snapshot_mutex);
}

/* The digest walks the whole state (tens of milliseconds with millions of
 * orders), so the loop computes it only when the node has been idle since
 * the previous chores (100 ms: nothing applied) and the state moved since
 * the last one. Under steady load /status shows an older digest with the
 * sequence it belongs to; it is current within a second of the load
 * stopping. */
/* The state's digest now, as text. */
void node_digest_text(const struct node *node, char text[33])
{
    struct digest digest;
    engine_digest(&node->replica.engine, &digest);
    digest_format(&digest, text);
}

void node_digest(struct node *node)
{
    uint64_t applied = node->replica.applied_seq;
    bool idle = applied == node->chores_seq;
    node->chores_seq = applied;
    /* Stopped inside a message: the state is not the one at applied_seq. */
    if (!idle || node->replica.stopped_seq != 0 ||
        (node->digest_done && node->digest_seq == applied))
        return;
    node_digest_text(node, node->digest_text);
    node->digest_seq = applied;
    node->digest_done = true;
}

void node_json_safe(char *text)
{
    for (char *c = text; *c != '\0'; c++)
        *c = *c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '\'' : *c;
}

/* Appends to text[*used..size); false (and nothing more) once it does not fit. */
static bool status_append(char *text, size_t size, size_t *used, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = *used < size ? vsnprintf(text + *used, size - *used, format, args) : -1;
    va_end(args);
    if (n < 0 || (size_t)n >= size - *used) {
        *used = size;
        return false;
    }
    *used += (size_t)n;
    return true;
}

static void status_stream_info(const struct journal_stream_info *info, char *text, size_t size,
                               size_t *used)
{
    status_append(text, size, used,
                  "\"stream_info\":{\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
                  ",\"leader\":\"%s\",\"mirror\":%s,\"mirror_lag\":%" PRIu64
                  ",\"mirror_active_ms\":%" PRId64 ",\"replicas\":[",
                  info->first_seq, info->last_seq, info->leader, info->mirror ? "true" : "false",
                  info->mirror_lag, info->mirror_active_ms);
    for (uint32_t i = 0; i < info->peer_count && i < JOURNAL_PEERS_MAX; i++)
        status_append(text, size, used,
                      "%s{\"name\":\"%s\",\"current\":%s,\"offline\":%s,\"lag\":%" PRIu64 "}",
                      i > 0 ? "," : "", info->peers[i].name,
                      info->peers[i].current ? "true" : "false",
                      info->peers[i].offline ? "true" : "false", info->peers[i].lag);
    status_append(text, size, used, "]},");
}

/* The live figures of the operator's page (docs/page.md): counters, the
 * acknowledgement latency histogram as counts per bucket (the page takes
 * quantiles of what changed between two looks), and the stream's servers
 * as the journal reported them (info NULL when it could not). */
static void node_status_live(const struct node *node, const struct journal_stream_info *info,
                             char *text, size_t size)
{
    const struct metrics_histogram *ack = &node->metrics.publish_latency_us;
    size_t used = 0;
    status_append(text, size, &used,
                  "\"orders_total\":%" PRIu64 ",\"commands_total\":%" PRIu64
                  ",\"ack_us\":{\"le\":[",
                  node->replica.orders_applied, node->replica.commands_applied);
    for (uint32_t i = 0; i < ack->bound_count; i++)
        status_append(text, size, &used, "%s%" PRIu64, i > 0 ? "," : "", ack->bounds[i]);
    status_append(text, size, &used, "],\"counts\":[");
    for (uint32_t i = 0; i <= ack->bound_count; i++)
        status_append(text, size, &used, "%s%" PRIu64, i > 0 ? "," : "",
                      metrics_histogram_bucket_get(ack, i));
    status_append(text, size, &used, "]},");
    if (info != NULL)
        status_stream_info(info, text, size, &used);
    else
        status_append(text, size, &used, "\"stream_info\":null,");
    if (used >= size)
        text[0] = '\0'; /* never a cut member: the page shows without them */
}

/* Renders /status and refreshes the gauges, once a second. */
void node_status(struct node *node)
{
    uint64_t last_seq = node->replica.applied_seq;
    bool connected = journal_connected(node->journal);
    struct journal_stream_info info;
    bool have_info = connected && journal_stream_info(node->journal, &info) == 0;
    if (have_info) {
        last_seq = info.last_seq; /* on failure: lag shows 0 */
        node_audit_leader(node, info.leader);
        node_audit_retry(node);
    }
    char live[2048];
    node_status_live(node, have_info ? &info : NULL, live, sizeof live);
    uint64_t lag = last_seq > node->replica.applied_seq ? last_seq - node->replica.applied_seq
                                                         : 0;
    const struct engine *engine = &node->replica.engine;
    char json[NODE_STATUS_SIZE];
    char build[VERSIONS_TEXT_SIZE]; /* what this build runs: src/replica/versions.h */
    if (versions_json(build, sizeof build) == 0)
        snprintf(build, sizeof build, "null");
    char durability[DURABILITY_TEXT_SIZE];
    durability_format(&node->config.durability, durability);
    char consumers[800];
    node_consumers_status(node, consumers, sizeof consumers);
    int length = snprintf(
        json, sizeof json,
        "{\"node_id\":%u,\"applied_seq\":%" PRIu64 ",\"stream_last_seq\":%" PRIu64
        ",\"lag\":%" PRIu64 ",\"digest\":\"%s\",\"digest_seq\":%" PRIu64
        ",\"logic_version\":%u,"
        "\"logic_versions_supported\":[%u,%u],\"snapshot_format\":%u,\"protocol_version\":%u,"
        "\"snapshot_seq\":%" PRIu64 ",\"nats\":{\"connected\":%s,\"embedded\":%s,"
        "\"restarts\":%u,\"durability\":\"%s\"},\"gateway\":{\"port\":%u},\"feed_port\":%u,"
        "\"fix_port\":%u,\"stream\":\"%s\",\"site\":\"%s\","
        "\"audit\":{\"runs\":%" PRIu64 ",\"last\":\"%s\"},"
        "\"sessions\":{\"in_use\":%u,\"max\":%u,\"per_account_max\":%u},\"stopped\":\"%s\","
        "%s%s\"pid\":%ld,\"build\":%s}\n",
        node->config.node_id, node->replica.applied_seq, last_seq, lag, node->digest_text,
        node->digest_seq,
        node->replica.engine.logic_version, LOGIC_VERSION_MIN, LOGIC_VERSION_MAX,
        snapshot_format_written(engine->logic_version), FRAME_PROTOCOL_VERSION,
        node->replica.snapshot_seq,
        connected ? "true" : "false", node->embedded ? "true" : "false",
        node->embedded ? node->nats.restart_count : 0,
        node->embedded ? durability : "of the NATS servers", gateway_port(node->gateway),
        live_server_port(node->live), gateway_fix_port(node->gateway),
        node->dr_waiting ? JOURNAL_STREAM_MIRROR : JOURNAL_STREAM,
        node->dr_waiting ? "disaster-recovery" : "primary", node->audit.runs,
        node->audit_last, engine->session_count, engine->limits.sessions_max,
        engine->limits.sessions_per_account_max, node->stopped, consumers, live, (long)getpid(),
        build);
    if (length > 0 && (size_t)length < sizeof json)
        http_admin_text_publish(&node->status, json, (size_t)length);
    /* Counters move by what happened since the last turn. */
    struct metrics_counter *counters[] = {
        &node->metrics.commands_applied_total, &node->metrics.orders_total,
        &node->metrics.batches_applied_total, &node->metrics.nats_restarts_total,
    };
    uint64_t totals[] = {
        node->replica.commands_applied, node->replica.orders_applied,
        node->replica.batches_applied, node->embedded ? node->nats.restart_count : 0,
    };
    metrics_write_begin(&node->metrics); /* one group: a render sees it whole */
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++)
        metrics_counter_add(counters[i], totals[i] - metrics_counter_get(counters[i]));
    gateway_metrics_sync(node->gateway);
    metrics_gauge_set(&node->metrics.applied_seq, (int64_t)node->replica.applied_seq);
    metrics_gauge_set(&node->metrics.state_sessions, (int64_t)engine->session_count);
    metrics_gauge_set(&node->metrics.state_sessions_max, (int64_t)engine->limits.sessions_max);
    metrics_gauge_set(&node->metrics.stream_lag, (int64_t)lag);
    metrics_gauge_set(&node->metrics.snapshot_pause_us_max,
                      (int64_t)(node->replica.snapshot_pause_ns_max / 1000));
    metrics_write_end(&node->metrics);
}
