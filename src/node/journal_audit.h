/* The journal audit (replica/audit.h) as the node runs it: started when
 * the stream's leader changes, retried when incomplete, and fatal when
 * the stream no longer holds what the node applied. */
#ifndef NODOWN_NODE_JOURNAL_AUDIT_H
#define NODOWN_NODE_JOURNAL_AUDIT_H

#include "node/node_internal.h"

/* The stream's leader as the status saw it: a change starts an audit. */
void node_audit_leader(struct node *node, const char *leader);

/* Starts again an incomplete audit once its retry is due. */
void node_audit_retry(struct node *node);

/* A finished audit: said on stdout and in /status; a difference sets
 * node->fatal. */
void node_audit_poll(struct node *node);

#endif
