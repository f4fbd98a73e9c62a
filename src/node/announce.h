/* The node in the node registry (replica/node_registry.h): it says which
 * logic versions it runs, and gates ACTIVATE_LOGIC on what every node
 * said (docs/upgrades.md). */
#ifndef NODOWN_NODE_ANNOUNCE_H
#define NODOWN_NODE_ANNOUNCE_H

#include "node/node_internal.h"

/* Announces the node and sets the gateway's logic gate; a failure is
 * logged and tried again by node_announce_poll. */
void node_announce_start(struct node *node, int replicas);

/* The chores' retry of a failed announce. */
void node_announce_poll(struct node *node);

#endif
