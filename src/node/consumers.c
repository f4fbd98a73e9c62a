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

/* The archive's file and its position: a consumer from there on. */
static int node_archive_open(struct node *node, char *errmsg, size_t size)
{
    uint64_t position = 0;
    int rv = archive_open(&node->archive, node->config.data_dir, &position, errmsg, size);
    if (rv == 0 && feed_consumer_init(&node->archive_consumer, "archive", position) != 0) {
        snprintf(errmsg, size, "out of memory for the archive's ring");
        rv = ERR_NOMEM;
    }
    if (rv != 0) {
        archive_close(node->archive, 0);
        node->archive = NULL;
        return rv;
    }
    feed_add(&node->feed, &node->archive_consumer);
    return 0;
}

int node_consumers_open(struct node *node, uint64_t *floor, char *errmsg, size_t size)
{
    const struct node_config *config = &node->config;
    *floor = UINT64_MAX;
    if (!config->archive)
        return 0;
    int rv = node_feed_init(node, errmsg, size);
    if (rv != 0)
        return rv;
    if (config->taker != NULL) {
        /* The old process writes the archive until it hands over: read
         * where it is, open nothing. */
        uint64_t position = 0;
        rv = archive_position_read(config->data_dir, &position, errmsg, size);
        *floor = position;
        return rv;
    }
    rv = node_archive_open(node, errmsg, size);
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
    node->consumers_started = rv == 0;
    return rv;
}

/* DONE: this process applies from here on; the old one stores up to here
 * and stops. The rings fill until the lock is ours (node_consumers_start). */
int node_consumers_take_over(struct node *node, char *errmsg, size_t size)
{
    if (!node->config.archive)
        return 0;
    int rv = node_archive_open(node, errmsg, size);
    if (rv == 0)
        node->replica.feed = &node->feed;
    return rv;
}

void node_consumers_chores(struct node *node)
{
    if (node->feed.count == 0)
        return;
    node->replica.keep_seq = feed_floor_seq(&node->feed);
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

void node_consumers_close(struct node *node)
{
    node->replica.feed = NULL;
    if (node->archive != NULL) {
        archive_close(node->archive, node->consumers_started ? NODE_CONSUMERS_DRAIN_MS : 0);
        feed_consumer_free(&node->archive_consumer);
        node->archive = NULL;
    }
    if (node->feed.touched != NULL)
        feed_free(&node->feed);
}
