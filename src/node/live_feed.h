/* The node's live feed (--feed): see live_feed.c. */
#ifndef NODOWN_NODE_LIVE_FEED_H
#define NODOWN_NODE_LIVE_FEED_H

#include <stddef.h>

#include "core/limits.h"
#include "node/node_internal.h"

/* The feed's port, kept in the data directory: a process taking over
 * listens on the same one (SO_REUSEPORT) when --feed asked for any. */
#define NODE_LIVE_PORT_FILE "feed.port"

/* Nothing without --feed, nor in a process taking over (node_live_chores
 * starts it once it has); else the watcher and the WebSocket thread, from
 * the replica's state now. Returns 0 or an error with errmsg. */
int node_live_start(struct node *node, const struct limits *limits, char *errmsg, size_t size);
/* A process taking over listens once it has taken over, on the port the
 * old one used: tried every chore (100 ms) while the old one lets go. */
#define NODE_LIVE_TRIES 50u
void node_live_chores(struct node *node);
/* Before the replica closes. */
void node_live_stop(struct node *node);

#endif
