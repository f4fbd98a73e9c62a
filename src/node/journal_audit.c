/* The journal audit as the node runs it (see journal_audit.h). */
#include "node/journal_audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"

#define NODE_AUDIT_RETRY_MS 2000u

/* After the stream's leader changed, the messages this node applied
 * lately are read back and compared (replica/audit.h): a new leader whose
 * copy lacks what the old one delivered would show there. */
void node_audit_leader(struct node *node, const char *leader)
{
    if (leader[0] == '\0' || strcmp(leader, node->stream_leader) == 0)
        return;
    bool changed = node->stream_leader[0] != '\0';
    snprintf(node->stream_leader, sizeof node->stream_leader, "%s", leader);
    node->audit_retries = 0;
    if (changed && audit_start(&node->audit, &node->journal_config,
                               node->replica.applied_seq) == 0)
        printf("nodown: the stream's leader is %s now: reading back what this node applied\n",
               leader);
}

/* An audit that could not read the stream (the cluster still settling)
 * is tried again a few times, NODE_AUDIT_RETRY_MS apart. */
void node_audit_retry(struct node *node)
{
    if (node->audit_retry_ms == 0 || node_now_ms() < node->audit_retry_ms)
        return;
    node->audit_retry_ms = 0;
    audit_start(&node->audit, &node->journal_config, node->replica.applied_seq);
}

/* A finished audit: said on stdout and in /status; a difference is fatal. */
void node_audit_poll(struct node *node)
{
    struct audit_result result;
    if (!audit_poll(&node->audit, &result))
        return;
    if (result.rv == 0)
        snprintf(node->audit_last, sizeof node->audit_last, "ok: %" PRIu64 " messages of %"
                 PRIu64 "..%" PRIu64 " read back equal", result.checked, result.from_seq,
                 result.to_seq);
    else
        snprintf(node->audit_last, sizeof node->audit_last, "%s: %.120s",
                 result.rv == ERR_CHECKSUM ? "DIFFERS" : "incomplete", result.error);
    printf("nodown: journal audit %s\n", node->audit_last);
    fflush(stdout);
    if (result.rv != 0 && result.rv != ERR_CHECKSUM && node->audit_retries++ < 3)
        node->audit_retry_ms = node_now_ms() + NODE_AUDIT_RETRY_MS;
    if (result.rv == ERR_CHECKSUM)
        snprintf(node->fatal, sizeof node->fatal, "journal audit: %.200s; this node's state "
                 "holds what the stream no longer does (a NATS failure lost acknowledged "
                 "data): restore it from a snapshot below %" PRIu64, result.error,
                 result.differ_seq);
}
