/* The node's live feed (--feed): see live_feed.c. */
#ifndef NODOWN_NODE_LIVE_FEED_H
#define NODOWN_NODE_LIVE_FEED_H

#include <stddef.h>

#include "core/limits.h"
#include "node/node_internal.h"

/* Nothing without --feed; else the watcher and the WebSocket thread, from
 * the replica's state now. Returns 0 or an error with errmsg. */
int node_live_start(struct node *node, const struct limits *limits, char *errmsg, size_t size);
/* Before the replica closes. */
void node_live_stop(struct node *node);

#endif
