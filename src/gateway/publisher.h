/* The publisher: threads that publish the gateway's batches to the
 * journal, so that the gateway's loop never waits on a publish (about
 * 200 us on loopback without a sync, a disk sync more with durability
 * "always", up to GATEWAY_PUBLISH_TIMEOUT_MS when NATS is away). It has
 * a fixed number of slots, each with its own thread and batch buffer: up
 * to that many batches are in flight at once (pipelined group commit).
 * The loop fills an idle slot's buffer, starts it, collects the next
 * batch meanwhile, and learns that a publish ended through one eventfd
 * it polls.
 *
 * Batches in flight at once may reach the stream in any order, and a
 * failed one may still be stored late by a lingering attempt: the
 * gateway never puts a session's commands into a batch while an earlier
 * batch holding that session's commands is in flight (gateway.c,
 * docs/journal.md "Pipelined group commit"), so no order among in-flight
 * batches matters.
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

/* Slots at most (the gateway's configuration chooses how many). */
#define PUBLISHER_SLOTS_MAX 16u

struct publisher;

struct publisher_result {
    uint32_t slot;
    uint64_t batch;      /* the number publisher_start was given */
    int rv;              /* 0, or ERR_IO (the text in error) */
    uint64_t stream_seq; /* when rv is 0 */
    bool duplicate;
    uint64_t took_us;    /* from publisher_start to the end */
    char error[512];
};

/* How a slot publishes: journal_publish, or a test's stand-in that wraps
 * it to inject a fault (a publish reported failed that lands later, a
 * delay). Runs on the slot's thread. */
typedef int (*publisher_publish_fn)(void *context, struct journal *journal, const void *data,
                                    size_t size, const char *msg_id, int timeout_ms,
                                    uint64_t *stream_seq, bool *duplicate);

/* Starts slot_count threads, each with a buffer of buffer_size bytes.
 * Returns 0, ERR_NOMEM or ERR_IO. */
int publisher_open(struct publisher **out, struct journal *journal, uint32_t slot_count,
                   size_t buffer_size, int timeout_ms);

/* For fault tests: publish through fn instead of journal_publish. Call
 * while nothing is in flight. */
void publisher_set_publish(struct publisher *publisher, publisher_publish_fn fn, void *context);

/* Readable when a publish has ended: poll() it, then publisher_poll. */
int publisher_wake_fd(const struct publisher *publisher);

/* An idle slot (its result collected), or PUBLISHER_NONE when all are in
 * flight. Its buffer is the caller's to fill until publisher_start. */
#define PUBLISHER_NONE UINT32_MAX
uint32_t publisher_idle_slot(const struct publisher *publisher);
uint8_t *publisher_buffer(struct publisher *publisher, uint32_t slot);

/* Batches started and not yet collected. */
uint32_t publisher_in_flight(const struct publisher *publisher);

/* Whether the batch numbered batch (as given to publisher_start) is in
 * flight: started and its result not collected. */
bool publisher_batch_in_flight(const struct publisher *publisher, uint64_t batch);

/* Publishes size bytes of the slot's buffer with msg_id; batch is the
 * caller's number for it, given back in the result. The slot must be
 * idle. */
void publisher_start(struct publisher *publisher, uint32_t slot, size_t size,
                     const char *msg_id, uint64_t batch);

/* Collects the result of one publish that ended: returns true with
 * *result, or false while none has ended. Call it until it returns false
 * each time the eventfd is readable: one wake-up may stand for several. */
bool publisher_poll(struct publisher *publisher, struct publisher_result *result);

/* Waits for the publishes under way (each at most its timeout), then
 * stops the threads. */
void publisher_close(struct publisher *publisher);

#endif
