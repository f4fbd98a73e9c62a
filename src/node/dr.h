/* A node at a disaster-recovery site: it follows the site's mirror and
 * refuses commands until `nodown promote` (ops/promote.h) made the site
 * primary. */
#ifndef NODOWN_NODE_DR_H
#define NODOWN_NODE_DR_H

#include <stddef.h>

#include "node/node_internal.h"

/* At start and every second while the node waits: once the site is
 * promoted, follows its own stream and takes commands. Returns 0, or -1
 * with errmsg when the node applied more of the mirror than the
 * promotion kept. */
int node_promoted_check(struct node *node, char *errmsg, size_t size);

#endif
