/* The journal audit: does the stream still hold what this node applied?
 *
 * A node trusts the stream's order: what it applied at a sequence is what
 * every other node applies there. A NATS failure that rewrites history
 * (a stream leader killed, and a new leader whose copy lacks a message
 * that was already delivered: docs/cluster.md, "Open defect") would make
 * the node's state silently differ from the stream's. The audit keeps the
 * XXH3-64 of each of the last AUDIT_RING_SIZE applied messages and, when
 * asked (the node asks after every change of the stream's leader), reads
 * them again from the stream on a thread and connection of its own, so
 * that the loop never waits, and compares. A mismatch, or a message
 * missing below the stream's last, is reported with its sequence; the
 * node then stops rather than serve a state the stream no longer backs.
 *
 *   audit_init / audit_destroy
 *   audit_note       the loop, for each message it applies
 *   audit_start      snapshot the ring, read it back on the audit thread
 *   audit_poll       the loop: finished? ok or the first difference
 */
#ifndef NODOWN_REPLICA_AUDIT_H
#define NODOWN_REPLICA_AUDIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replica/journal.h"

#define AUDIT_RING_SIZE 8192u /* messages: a power of two */

struct audit_entry {
    uint64_t seq;  /* 0: empty */
    uint64_t hash; /* XXH3-64 of the message's bytes */
};

enum audit_state { AUDIT_IDLE, AUDIT_RUNNING, AUDIT_DONE };

struct audit_result {
    int rv;             /* 0: every message read back equal; else ERR_IO or ERR_CHECKSUM */
    uint64_t from_seq;  /* the range read back */
    uint64_t to_seq;
    uint64_t checked;   /* messages compared */
    uint64_t differ_seq; /* the first that differs or is missing (0: none) */
    char error[256];
};

struct audit {
    struct audit_entry ring[AUDIT_RING_SIZE]; /* the loop's */
    /* The thread's, while AUDIT_RUNNING; under lock otherwise. */
    pthread_mutex_t lock;
    enum audit_state state;
    pthread_t thread;
    struct audit_entry copy[AUDIT_RING_SIZE];
    uint32_t copy_count;
    char urls[1024];
    char stream_name[64];
    char subject[64];
    char mirror_of[64];  /* "": not a mirror */
    char mirror_api[96];
    int replicas;
    struct audit_result result;
    uint64_t runs;
};

void audit_init(struct audit *audit);
void audit_destroy(struct audit *audit); /* waits for a running audit */

/* Remembers the message applied at seq. */
void audit_note(struct audit *audit, uint64_t seq, const void *data, size_t size);

/* Reads back the remembered messages up to last_seq from the stream that
 * config names (a connection of its own), unless an audit runs already.
 * Returns 0, or -1 when one is running or nothing is remembered. */
int audit_start(struct audit *audit, const struct journal_config *config, uint64_t last_seq);

/* Whether an audit finished since the last call; its result in *result. */
bool audit_poll(struct audit *audit, struct audit_result *result);

#endif
