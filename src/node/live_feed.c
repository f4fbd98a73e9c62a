/* The node's live feed (--feed; live/live_server.h, docs/live.md): the
 * replica's watcher on the apply loop, and the WebSocket thread. */
#include "node/live_feed.h"

#include <stdio.h>

#include "core/result.h"

int node_live_start(struct node *node, const struct limits *limits, char *errmsg, size_t size)
{
    if (!node->config.feed || (node->config.taker != NULL && node->live_tries == 0))
        return 0;
    if (live_watch_init(&node->live_watch, limits) != 0) {
        snprintf(errmsg, size, "live feed: out of memory");
        return ERR_NOMEM;
    }
    struct live_config config = {.host = node->config.feed_host,
                                 .port = node->config.feed_port,
                                 .node_id = node->config.node_id};
    char path[600];
    snprintf(path, sizeof path, "%s/%s", node->config.data_dir, NODE_LIVE_PORT_FILE);
    /* Taking over with "port 0": the port the process before chose. */
    FILE *file = config.port == 0 && node->config.taker != NULL ? fopen(path, "r") : NULL;
    unsigned before = 0;
    if (file != NULL && fscanf(file, "%u", &before) == 1 && before > 0 && before <= 65535)
        config.port = (uint16_t)before;
    if (file != NULL)
        fclose(file);
    int rv = live_server_start(&node->live, &config, &node->live_watch, limits, errmsg, size);
    if (rv != 0) {
        live_watch_free(&node->live_watch);
        return rv;
    }
    file = fopen(path, "w"); /* for the process that may take over from this one */
    if (file != NULL) {
        fprintf(file, "%u\n", live_server_port(node->live));
        fclose(file);
    }
    /* The feed starts from the state as it is now, before anything more
     * is applied: every instrument and market at the applied sequence. */
    live_watch_all(&node->live_watch, &node->replica.engine, node->replica.applied_seq);
    node->replica.watch = &node->live_watch.hook;
    return 0;
}

void node_live_chores(struct node *node)
{
    if (node->live_tries == 0 || node->live != NULL)
        return;
    char errmsg[256];
    node->live_tries--;
    if (node_live_start(node, &node->replica.engine.limits, errmsg, sizeof errmsg) == 0)
        node->live_tries = 0;
    else if (node->live_tries == 0)
        fprintf(stderr, "nodown: took over, but %s\n", errmsg);
}

void node_live_stop(struct node *node)
{
    if (node->live == NULL)
        return;
    node->replica.watch = NULL;
    live_server_stop(node->live);
    node->live = NULL;
    live_watch_free(&node->live_watch);
}
