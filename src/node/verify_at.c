/* /verify?at=SEQ on the node (see verify_at.h). */
#include "node/verify_at.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "node/status.h"

/* ---- /verify?at=SEQ: the digest and the invariant check at SEQ. ----
 *
 * The HTTP thread records the request; the loop, when its replica reaches
 * SEQ, stops applying there (gateway_pause_at), computes the digest and
 * runs the invariant checker on its own thread, keeps the result, and goes
 * on. Every node asked for the same SEQ answers about the same state, which
 * is what `nodown verify` compares. A node already past SEQ answers "past".
 * The pause is the time of a digest and a check: milliseconds for a small
 * state, more for millions of orders (docs/cluster.md). */
int node_verify_cb(void *context, uint64_t at, char *buffer, size_t size,
                           size_t *length)
{
    struct node *node = context;
    pthread_mutex_lock(&node->verify.lock);
    const char *state = "pending";
    if (node->verify.done_at == at)
        state = "done";
    else if (node->verify.applied > at)
        state = "past";
    else
        node->verify.requested = at;
    int n = snprintf(buffer, size,
                     "{\"node_id\":%u,\"at\":%" PRIu64 ",\"state\":\"%s\",\"applied_seq\":%" PRIu64
                     ",\"digest\":\"%s\",\"check\":\"%s\"}\n",
                     node->config.node_id, at, state, node->verify.applied,
                     node->verify.done_at == at ? node->verify.digest : "",
                     node->verify.done_at == at ? node->verify.check : "");
    pthread_mutex_unlock(&node->verify.lock);
    if (n < 0 || (size_t)n >= size)
        return ERR_CAPACITY;
    *length = (size_t)n;
    return 0;
}

void node_verify_step(struct node *node)
{
    uint64_t applied = node->replica.applied_seq;
    pthread_mutex_lock(&node->verify.lock);
    node->verify.applied = applied;
    uint64_t at = node->verify.requested;
    if (at != 0 && at < applied)
        node->verify.requested = 0; /* past it: the answer says so */
    pthread_mutex_unlock(&node->verify.lock);
    if (at == 0 || at < applied) {
        gateway_pause_at(node->gateway, 0);
        return;
    }
    if (at > applied || node->replica.stopped_seq != 0) {
        gateway_pause_at(node->gateway, at); /* stopped: "pending" for good */
        return;
    }
    char text[33], check[160];
    node_digest_text(node, text);
    if (engine_check(&node->replica.engine, check, sizeof check) == 0)
        snprintf(check, sizeof check, "ok");
    node_json_safe(check);
    pthread_mutex_lock(&node->verify.lock);
    node->verify.done_at = at;
    memcpy(node->verify.digest, text, sizeof text);
    memcpy(node->verify.check, check, sizeof check);
    if (node->verify.requested == at)
        node->verify.requested = 0;
    pthread_mutex_unlock(&node->verify.lock);
    gateway_pause_at(node->gateway, 0);
}
