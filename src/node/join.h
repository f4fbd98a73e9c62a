/* --join PORT:TOKENFILE: a node with no snapshot fetches a peer's latest
 * and consumes the stream after it. */
#ifndef NODOWN_NODE_JOIN_H
#define NODOWN_NODE_JOIN_H

#include <stddef.h>

#include "node/node_internal.h"

/* Before the replica opens. Returns 0 (also when there is no snapshot to
 * fetch: the node starts from the stream's beginning), or ERR_USAGE /
 * ERR_IO with errmsg. */
int node_join(struct node *node, char *errmsg, size_t size);

#endif
