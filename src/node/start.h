/* The node's start-up (data directory, NATS, journal, replica, gateway,
 * registry, admin interface) and shut-down. */
#ifndef NODOWN_NODE_START_H
#define NODOWN_NODE_START_H

#include <stddef.h>

#include "node/node_internal.h"

/* Starts every part of the node from node->config. Returns 0, or an
 * error with errmsg; node_stop then stops what did start. */
int node_start(struct node *node, char *errmsg, size_t size);

/* Stops every part that started, the admin interface first and the data
 * directory's lock last. */
void node_stop(struct node *node);

/* DIR/serve.args: the options the node serving DIR runs with (its own,
 * or, after a hand-over, the old node's and the taker's), for tools that
 * must reach it (`nodown upgrade --activate`): NUL-terminated strings, the
 * first the format (NODE_ARGS_FORMAT). Written once the lock is held. */
#define NODE_ARGS_FILE "serve.args"
#define NODE_ARGS_FORMAT 1u
void node_args_write(const struct node *node);

/* The admin interface: bound to the configured address, or serving on
 * listen_fd (>= 0: handed over by the process before). */
int node_admin_start(struct node *node, int listen_fd, char *errmsg, size_t size);

/* On a first start with $NODOWN_HOUSE_SECRET set, publishes the house's
 * logon secret. Returns 0, or -1 with errmsg. */
int node_house_secret(struct node *node, char *errmsg, size_t size);

#endif
