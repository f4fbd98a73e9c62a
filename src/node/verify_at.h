/* /verify?at=SEQ: the state's digest and invariant check at one stream
 * sequence, which `nodown verify` (ops/verify.h) compares across nodes. */
#ifndef NODOWN_NODE_VERIFY_AT_H
#define NODOWN_NODE_VERIFY_AT_H

#include <stddef.h>
#include <stdint.h>

#include "node/node_internal.h"

/* http_admin's verify_cb, on the admin thread: records the request and
 * answers with what is known (pending, past or done). */
int node_verify_cb(void *context, uint64_t at, char *buffer, size_t size, size_t *length);

/* Every turn of the loop: pauses the gateway at a requested sequence and,
 * once there, computes the answer and lets it go on. */
void node_verify_step(struct node *node);

#endif
