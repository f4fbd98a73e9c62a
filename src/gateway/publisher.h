/* The publisher: a thread that publishes the gateway's batches to the
 * journal one at a time, so that the gateway's loop never waits on a
 * publish (about 200 us on loopback, up to GATEWAY_PUBLISH_TIMEOUT_MS when
 * NATS is away). The loop hands it a batch when it is idle, collects the
 * next one meanwhile (group commit: the busier the node, the larger the
 * batch), and learns that the publish ended through an eventfd it polls.
 *
 * One batch at a time, and never the next before the previous one is
 * stored: a session's commands must reach the stream in client_seq order,
 * and a batch that failed could still be stored late by a lingering
 * attempt. After a failure the gateway drops what it collected and tells
 * the sessions to resend (see gateway.c).
 *
 *   IDLE --publisher_start--> BUSY --(stored or failed)--> DONE
 *    ^                                                       |
 *    +------------------- publisher_poll --------------------+
 */
#ifndef NODOWN_GATEWAY_PUBLISHER_H
#define NODOWN_GATEWAY_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replica/journal.h"

struct publisher;

struct publisher_result {
    int rv;              /* 0, or ERR_IO (the text in error) */
    uint64_t stream_seq; /* when rv is 0 */
    bool duplicate;
    char error[512];
};

/* Starts the thread. Returns 0, ERR_NOMEM or ERR_IO. */
int publisher_open(struct publisher **out, struct journal *journal, int timeout_ms);

/* Readable when a publish has ended: poll() it, then publisher_poll. */
int publisher_wake_fd(const struct publisher *publisher);

/* No batch is being published, and the last result was collected. */
bool publisher_idle(const struct publisher *publisher);

/* Publishes data (size bytes, kept valid by the caller until
 * publisher_poll returns its result) with msg_id. The publisher must be
 * idle. */
void publisher_start(struct publisher *publisher, const void *data, size_t size,
                     const char *msg_id);

/* Collects the result of the publish that ended: returns true with
 * *result, or false while none has ended (or none was started). */
bool publisher_poll(struct publisher *publisher, struct publisher_result *result);

/* Waits for a publish under way (at most its timeout), then stops the
 * thread. */
void publisher_close(struct publisher *publisher);

#endif
