/* The node's consumers of what it applies: the history archive and the
 * PostgreSQL export (replica/feed.h). Each keeps its own position; the
 * replica opens from a snapshot at or below the lowest, keeps one there,
 * and hands each the messages after its own. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "core/result.h"
#include "node/node_internal.h"

#define NODE_CONSUMERS_DRAIN_MS 10000u
/* How long a node starting waits for PostgreSQL to answer (it needs the
 * export's position before it opens a snapshot); at a hand-over's DONE,
 * one try: the new process's loop serves the clients by then. */
#define NODE_EXPORT_OPEN_WAIT_MS 600000u
#define NODE_EXPORT_TAKE_OVER_WAIT_MS 0u

static int node_feed_init(struct node *node, char *errmsg, size_t size)
{
    struct limits limits;
    limits_default(&limits);
    if (feed_init(&node->feed, &limits) != 0) {
        snprintf(errmsg, size, "out of memory for the archive's feed");
        return ERR_NOMEM;
    }
    return 0;
}

/* A consumer of the feed from position on, with its ring. */
static int node_consumer_add(struct node *node, struct feed_consumer *consumer,
                             const char *name, uint64_t position, char *errmsg, size_t size)
{
    if (feed_consumer_init(consumer, name, position) != 0) {
        snprintf(errmsg, size, "out of memory for the %s's ring", name);
        return ERR_NOMEM;
    }
    feed_add(&node->feed, consumer);
    return 0;
}

/* The archive's file and its position: a consumer from there on. */
static int node_archive_open(struct node *node, char *errmsg, size_t size)
{
    uint64_t position = 0;
    int rv = archive_open(&node->archive, node->config.data_dir, &position, errmsg, size);
    if (rv == 0)
        rv = node_consumer_add(node, &node->archive_consumer, "archive", position, errmsg, size);
    if (rv != 0) {
        archive_close(node->archive, 0);
        node->archive = NULL;
    }
    return rv;
}

/* The export's connection and position (read from PostgreSQL): a
 * consumer from there on. */
static int node_export_open(struct node *node, uint32_t wait_ms, char *errmsg, size_t size)
{
    uint64_t position = 0;
    int rv = export_open(&node->export, node->config.export_pg, wait_ms, &position, errmsg,
                         size);
    if (rv == 0)
        rv = node_consumer_add(node, &node->export_consumer, "export", position, errmsg, size);
    if (rv != 0) {
        export_close(node->export, 0);
        node->export = NULL;
    }
    return rv;
}

/* A taker: the old process writes until it hands over; read where each
 * consumer is, open nothing. */
static int node_consumers_peek(struct node *node, uint64_t *floor, char *errmsg, size_t size)
{
    const struct node_config *config = &node->config;
    uint64_t position = 0;
    int rv = config->archive ? archive_position_read(config->data_dir, &position, errmsg, size)
                             : 0;
    *floor = config->archive ? position : UINT64_MAX;
    if (rv == 0 && config->export_pg != NULL) {
        rv = export_position_read(config->export_pg, &position, errmsg, size);
        if (position < *floor)
            *floor = position;
    }
    return rv;
}

int node_consumers_open(struct node *node, uint64_t *floor, char *errmsg, size_t size)
{
    const struct node_config *config = &node->config;
    *floor = UINT64_MAX;
    if (!config->archive && config->export_pg == NULL)
        return 0;
    int rv = node_feed_init(node, errmsg, size);
    if (rv != 0)
        return rv;
    if (config->taker != NULL)
        return node_consumers_peek(node, floor, errmsg, size);
    if (config->archive)
        rv = node_archive_open(node, errmsg, size);
    if (rv == 0 && config->export_pg != NULL)
        rv = node_export_open(node, NODE_EXPORT_OPEN_WAIT_MS, errmsg, size);
    if (rv == 0)
        *floor = feed_floor_seq(&node->feed);
    return rv;
}

int node_consumers_start(struct node *node, char *errmsg, size_t size)
{
    if (node->feed.count == 0 || node->consumers_started)
        return 0;
    node->replica.feed = &node->feed;
    int rv = 0;
    if (node->archive != NULL)
        rv = archive_start(node->archive, &node->archive_consumer, errmsg, size);
    if (rv == 0 && node->export != NULL)
        rv = export_start(node->export, &node->export_consumer, errmsg, size);
    node->consumers_started = rv == 0;
    return rv;
}

/* DONE: this process applies from here on; the old one stores up to here
 * and stops. The rings fill until the lock is ours (node_consumers_start). */
int node_consumers_take_over(struct node *node, char *errmsg, size_t size)
{
    if (!node->config.archive && node->config.export_pg == NULL)
        return 0;
    int rv = node->config.archive ? node_archive_open(node, errmsg, size) : 0;
    if (rv == 0 && node->config.export_pg != NULL)
        rv = node_export_open(node, NODE_EXPORT_TAKE_OVER_WAIT_MS, errmsg, size);
    if (rv == 0)
        node->replica.feed = &node->feed;
    return rv;
}

static void node_export_chores(struct node *node)
{
    if (node->export == NULL)
        return;
    struct export_stats stats;
    export_stats_get(node->export, &stats);
    uint64_t applied = node->replica.applied_seq;
    metrics_gauge_set(&node->metrics.export_seq, (int64_t)stats.position);
    metrics_gauge_set(&node->metrics.export_lag,
                      (int64_t)(applied > stats.position ? applied - stats.position : 0));
    metrics_counter_add(&node->metrics.export_events_total,
                        stats.events - node->export_events_said);
    node->export_events_said = stats.events;
}

void node_consumers_chores(struct node *node)
{
    if (node->feed.count == 0)
        return;
    node->replica.keep_seq = feed_floor_seq(&node->feed);
    node_export_chores(node);
    if (node->archive == NULL)
        return;
    struct archive_stats stats;
    archive_stats_get(node->archive, &stats);
    metrics_gauge_set(&node->metrics.archive_seq, (int64_t)stats.position);
    metrics_gauge_set(&node->metrics.archive_lag,
                      (int64_t)(node->replica.applied_seq > stats.position
                                    ? node->replica.applied_seq - stats.position
                                    : 0));
    metrics_counter_add(&node->metrics.archive_events_total,
                        stats.events - node->archive_events_said);
    node->archive_events_said = stats.events;
    uint64_t stall_us = 0;
    for (uint32_t i = 0; i < node->feed.count; i++)
        stall_us += atomic_load(&node->feed.consumers[i]->stall_ns) / 1000;
    metrics_gauge_set(&node->metrics.feed_stall_us, (int64_t)stall_us);
}

static uint64_t node_behind(const struct node *node, uint64_t position)
{
    return node->replica.applied_seq > position ? node->replica.applied_seq - position : 0;
}

void node_consumers_status(struct node *node, char *json, size_t size)
{
    int used = 0;
    if (node->archive != NULL) {
        struct archive_stats a;
        archive_stats_get(node->archive, &a);
        node_json_safe(a.error);
        used = snprintf(json, size, "\"archive\":{\"seq\":%" PRIu64 ",\"lag\":%" PRIu64
                        ",\"days_sealed\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"error\":\"%s\"},",
                        a.position, node_behind(node, a.position), a.days_sealed, a.gaps,
                        a.error);
    } else {
        used = snprintf(json, size, "\"archive\":null,");
    }
    if (used < 0 || (size_t)used >= size)
        used = 0;
    if (node->export != NULL) {
        struct export_stats e;
        export_stats_get(node->export, &e);
        node_json_safe(e.error);
        snprintf(json + used, size - (size_t)used,
                 "\"export\":{\"seq\":%" PRIu64 ",\"lag\":%" PRIu64 ",\"connected\":%s,"
                 "\"schema_version\":%u,\"retries\":%" PRIu64 ",\"error\":\"%s\"},",
                 e.position, node_behind(node, e.position), e.connected ? "true" : "false",
                 e.schema_version, e.retries, e.error);
    } else {
        snprintf(json + used, size - (size_t)used, "\"export\":null,");
    }
}

void node_consumers_close(struct node *node)
{
    node->replica.feed = NULL;
    if (node->archive != NULL) {
        archive_close(node->archive, node->consumers_started ? NODE_CONSUMERS_DRAIN_MS : 0);
        feed_consumer_free(&node->archive_consumer);
        node->archive = NULL;
    }
    if (node->export != NULL) {
        export_close(node->export, node->consumers_started ? NODE_CONSUMERS_DRAIN_MS : 0);
        feed_consumer_free(&node->export_consumer);
        node->export = NULL;
    }
    if (node->feed.touched != NULL)
        feed_free(&node->feed);
}
