/* What the node tells about itself: /status and the gauges, the state's
 * digest (computed when the node is idle), and its newest snapshot for
 * GET /snapshot/latest. */
#ifndef NODOWN_NODE_STATUS_H
#define NODOWN_NODE_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "node/node_internal.h"

/* http_admin's snapshot_path_cb: the newest snapshot's file and sequence
 * ("" and 0: none yet). Called on the admin thread. */
int node_snapshot_path(void *context, char *path, size_t size, uint64_t *stream_seq);

/* The replica wrote a snapshot: it is the newest now. */
void node_snapshot_note(struct node *node);

/* The state's digest now, as text. */
void node_digest_text(const struct node *node, char text[33]);

/* Every chores: a new digest if the node was idle since the previous
 * chores and the state moved since the last digest. */
void node_digest(struct node *node);

/* Renders /status and refreshes the gauges (once a second). */
void node_status(struct node *node);

#endif
