/* The node registry: where every node of a stream says which logic
 * versions it runs, so that a gateway publishes ACTIVATE_LOGIC N only when
 * every node can run N (docs/upgrades.md, "The node registry").
 *
 * It is a JetStream key-value bucket beside the stream, named after it
 * (NODOWN_nodes for the stream NODOWN), with the stream's replicas and one
 * entry per node, key "node-<id>", written when the node starts. The value
 * is one line of text, its format version first:
 *
 *   1 node=3 logic=1..2 announced_ms=1796507745895 build=logic 1..2, snapshot 3
 *
 * A node that left keeps its entry until an operator removes it
 * (`nodown cluster forget`: node_registry_forget); an entry that says a node cannot run N, or
 * that this build cannot read, refuses N: a stale entry errs on the side
 * of refusing. Reading is a few JetStream requests (each up to
 * NODE_REGISTRY_WAIT_MS): the gateway reads it only for ACTIVATE_LOGIC.
 */
#ifndef NODOWN_REPLICA_NODE_REGISTRY_H
#define NODOWN_REPLICA_NODE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "replica/journal.h"

#define NODE_REGISTRY_FORMAT 1u       /* the value's first field */
#define NODE_REGISTRY_NODES_MAX 256u  /* entries read at most; more refuse */
#define NODE_REGISTRY_WAIT_MS 2000    /* each JetStream request */
#define NODE_REGISTRY_RETRY_MS 100    /* an announce that met no responders, again */
#define NODE_REGISTRY_BUILD_SIZE 64u
#define NODE_REGISTRY_VALUE_SIZE 160u

struct node_registry_entry {
    uint32_t node_id;
    uint32_t logic_min;
    uint32_t logic_max;
    uint64_t announced_unix_ms;
    char build[NODE_REGISTRY_BUILD_SIZE];
    bool readable; /* false: a format or text this build does not read */
};

/* Encodes entry as the value above; returns its length, or 0 when it
 * does not fit in size bytes. */
size_t node_registry_encode(const struct node_registry_entry *entry, char *out, size_t size);

/* Decodes a value; an unreadable one gives readable = false (and
 * node_id from the key, given by the caller). Returns 0 or
 * ERR_DECODE_MALFORMED / ERR_VERSION. */
int node_registry_decode(const char *value, struct node_registry_entry *entry);

/* The gate: true when every entry is readable and runs version; otherwise
 * false with *node_id the first that cannot, and why naming every one. */
bool node_registry_allows(const struct node_registry_entry *entries, uint32_t count,
                          uint32_t version, uint32_t *node_id, char *why, size_t why_size);

struct node_registry;

/* Opens (making it if missing, with replicas copies) the bucket of the
 * journal's stream, over the journal's connection. Returns 0 or ERR_IO
 * with errmsg. */
int node_registry_open(struct node_registry **out, struct journal *journal, int replicas,
                       char *errmsg, size_t errmsg_size);
void node_registry_close(struct node_registry *registry);

/* Writes this node's entry (a restart overwrites it). */
int node_registry_announce(struct node_registry *registry,
                           const struct node_registry_entry *entry, char *errmsg,
                           size_t errmsg_size);

/* Reads every entry, ordered by node id. Returns 0 or ERR_IO /
 * ERR_CAPACITY (more than max) with errmsg. */
int node_registry_list(struct node_registry *registry, struct node_registry_entry *entries,
                       uint32_t max, uint32_t *count, char *errmsg, size_t errmsg_size);

/* Removes a node's entry: a node that left for good. ERR_NOT_FOUND when
 * it has none. */
int node_registry_forget(struct node_registry *registry, uint32_t node_id, char *errmsg,
                         size_t errmsg_size);

#endif
