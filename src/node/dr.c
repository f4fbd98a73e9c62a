/* A node at a disaster-recovery site (see dr.h). */
#include "node/dr.h"

#include <inttypes.h>
#include <stdio.h>

/* A node at a DR site follows the site's mirror and refuses commands
 * until `nodown promote` has made the site's own primary stream (its
 * description says so); then it reads that stream from where it is (the
 * same sequences) and takes commands. Called at start and every
 * NODE_PROMOTED_CHECK_MS. Returns 0, or -1 when the node applied more of
 * the mirror than the promotion kept (it must not go on: its state would
 * contain commands the new primary does not). */
int node_promoted_check(struct node *node, char *errmsg, size_t size)
{
    struct journal_stream_info info;
    if (!node->dr_waiting || journal_stream_lookup(node->journal, JOURNAL_STREAM, &info) != 0 ||
        !info.promoted)
        return 0;
    if (node->replica.applied_seq > info.last_seq) {
        snprintf(errmsg, size, "this site was promoted with its stream ending at %" PRIu64
                 " but this node applied up to %" PRIu64 " from the mirror; start it again "
                 "on a snapshot at or below %" PRIu64 " (or with an empty --data and --join)",
                 info.last_seq, node->replica.applied_seq, info.last_seq);
        return -1;
    }
    journal_follow(node->journal, JOURNAL_STREAM);
    node->journal_config = journal_config_stream(node->journal_config.urls,
                                                  node->journal_config.replicas);
    if (node->gateway != NULL) /* NULL while the node starts; stopped: still refused */
        gateway_set_read_only(node->gateway, node->stopped);
    node->dr_waiting = false;
    /* What this node applied from the mirror must be what the promoted
     * stream holds (it differs only if the mirror grew after the copy,
     * a --force promotion with the primary still writing). */
    audit_start(&node->audit, &node->journal_config, node->replica.applied_seq);
    printf("nodown: this site is primary (%s); following stream " JOURNAL_STREAM " from %" PRIu64
           ", taking commands\n", info.description, node->replica.applied_seq + 1);
    fflush(stdout);
    return 0;
}
