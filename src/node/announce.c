/* The node in the node registry, and the gate of ACTIVATE_LOGIC (see
 * announce.h). */
#include "node/announce.h"

#include <stdio.h>
#include <time.h>

#include "codec/frame.h"
#include "core/result.h"
#include "core/snapshot.h"

#define NODE_ANNOUNCE_RETRY_MS 1000u /* a failed node registry announce, tried again */

/* ---- The node registry (docs/upgrades.md): the gate of ACTIVATE_LOGIC. ---- */

/* Opens the registry and says what this node runs (a restart refreshes
 * it). Returns 0, or an error in errmsg (no registry then). */
static int node_announce(struct node *node, char *errmsg, size_t size)
{
    struct node_registry_entry self = {.node_id = node->config.node_id,
                                       .logic_min = LOGIC_VERSION_MIN,
                                       .logic_max = node->replica.engine.logic_version_max,
                                       .announced_unix_ms = 0};
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) == 0)
        self.announced_unix_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    snprintf(self.build, sizeof self.build, "logic %u..%u, snapshot %u, protocol %u",
             LOGIC_VERSION_MIN, LOGIC_VERSION_MAX, SNAPSHOT_FORMAT_VERSION,
             FRAME_PROTOCOL_VERSION);
    int rv = node_registry_open(&node->registry, node->journal, node->registry_replicas,
                                errmsg, size);
    if (rv == 0)
        rv = node_registry_announce(node->registry, &self, errmsg, size);
    if (rv != 0) {
        node_registry_close(node->registry);
        node->registry = NULL;
    }
    return rv;
}

/* Every node of the stream, as the registry says, runs version. Without a
 * registry: the node's own build decides on the embedded default (the
 * gateway has checked it), and with --nats nothing is allowed, since the
 * other nodes cannot be asked. */
static bool node_logic_gate(void *context, uint32_t version, uint32_t *node_id, char *why,
                             size_t why_size)
{
    struct node *node = context;
    static struct node_registry_entry entries[NODE_REGISTRY_NODES_MAX];
    char errmsg[256] = "";
    uint32_t count = 0;
    if (node->registry == NULL && node->registry_replicas != 0 &&
        node_announce(node, errmsg, sizeof errmsg) != 0) /* not yet: now, once */
        snprintf(node->registry_error, sizeof node->registry_error, "%s", errmsg);
    int rv = node->registry == NULL ? ERR_IO
                                     : node_registry_list(node->registry, entries,
                                                          NODE_REGISTRY_NODES_MAX, &count,
                                                          errmsg, sizeof errmsg);
    if (rv != 0) {
        *node_id = UINT32_MAX;
        snprintf(why, why_size, "the node registry cannot be read: %s",
                 node->registry == NULL ? node->registry_error : errmsg);
        return false;
    }
    return node_registry_allows(entries, count, version, node_id, why, why_size);
}

/* A failed announce: its error for /status and the gate's refusals, and
 * the chores' next try, 1 s after the first failure, doubling up to 32 s
 * (each try may hold the loop for NODE_REGISTRY_WAIT_MS). */
static void node_announce_failed(struct node *node, const char *errmsg)
{
    snprintf(node->registry_error, sizeof node->registry_error, "%s", errmsg);
    uint32_t shift = node->registry_tries < 5 ? node->registry_tries : 5;
    node->registry_tries++;
    node->registry_retry_ms = node_now_ms() + ((uint64_t)NODE_ANNOUNCE_RETRY_MS << shift);
}

/* Announces this node, and gates activations on the registry. A failure
 * (a JetStream cluster still electing its leaders answers "no responders"
 * for a while) is logged and tried again by the chores, and by an
 * operator's activation; until it succeeds an activation is refused with
 * --nats, since a node missing from the registry could not be asked. On
 * the embedded default the node's own build decides meanwhile. */
void node_announce_start(struct node *node, int replicas)
{
    char errmsg[256] = "";
    node->registry_replicas = replicas;
    if (node_announce(node, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown: %s; trying again in a second, then less often%s\n", errmsg,
                node->embedded ? "" : ", every ACTIVATE_LOGIC refused until then");
        node_announce_failed(node, errmsg);
    }
    if (!node->embedded || node->registry != NULL)
        gateway_set_logic_gate(node->gateway, node_logic_gate, node);
}

/* The chores' retry of a failed announce. */
void node_announce_poll(struct node *node)
{
    if (node->registry != NULL || node->registry_replicas == 0 || node->dr_waiting ||
        node_now_ms() < node->registry_retry_ms)
        return;
    char errmsg[256] = "";
    if (node_announce(node, errmsg, sizeof errmsg) != 0) {
        node_announce_failed(node, errmsg);
        return;
    }
    fprintf(stderr, "nodown: announced in the node registry after %u failed tries\n",
            node->registry_tries);
    node->registry_tries = 0;
    gateway_set_logic_gate(node->gateway, node_logic_gate, node);
}
