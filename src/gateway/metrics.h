/* A node's metrics, in fixed-size memory, rendered in Prometheus's text
 * exposition format, version 0.0.4 (docs/admin.md lists each metric).
 *
 * There are three kinds: a counter (uint64, only goes up), a gauge (int64,
 * set to a value) and a histogram (a count per bucket over fixed, inclusive
 * upper bounds, plus +Inf, and the sum of the observed values). Nothing here
 * allocates: `struct node_metrics` is one plain object the node owns, and
 * metrics_render writes into the caller's buffer.
 *
 * Threads. Every update is made by one thread, the node's loop: there is
 * exactly one writer. Renders run on another thread (the HTTP admin's, see
 * http_admin.h) while the loop keeps updating. In C11 a plain read racing
 * with a plain write is a data race, which is undefined behaviour (and
 * ThreadSanitizer reports it), so every value is a C11 atomic accessed
 * with memory_order_relaxed. On x86-64 and arm64 a relaxed load or store
 * of an aligned 64-bit value is an ordinary load or store: the loop pays
 * nothing for it. Because there is one writer, an update is a relaxed load
 * then a relaxed store, never an atomic read-modify-write (a locked
 * instruction, tens of cycles): two writers would lose updates, so the
 * one-writer rule is part of this contract.
 *
 * One instant. The writer makes the updates that belong together (a
 * batch's two histograms and the counters it moves) between
 * metrics_write_begin and metrics_write_end, which hold the metrics' one
 * mutex; a render copies every value under that mutex first, then renders
 * the copy. So a render sees the node between two groups of updates,
 * never inside one: batches_applied_total equals the batch histograms'
 * _count and commands_applied_total their _sum, le="+Inf" equals _count.
 * The lock is held for a few loads and stores on either side, never while
 * rendering or doing I/O; uncontended it costs the loop tens of
 * nanoseconds per batch.
 */
#ifndef NODOWN_GATEWAY_METRICS_H
#define NODOWN_GATEWAY_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Finite bucket bounds a histogram may have; +Inf is one more bucket. */
#define METRICS_BOUNDS_MAX 16u

struct metrics_counter {
    _Atomic uint64_t value;
};

struct metrics_gauge {
    _Atomic int64_t value;
};

struct metrics_histogram {
    const uint64_t *bounds;  /* ascending inclusive upper bounds ("le") */
    uint32_t bound_count;    /* 1..METRICS_BOUNDS_MAX */
    /* Observations per bucket, not cumulative; [bound_count] is +Inf. */
    _Atomic uint64_t bucket_counts[METRICS_BOUNDS_MAX + 1];
    _Atomic uint64_t sum;
};

/* Every metric of a node, in rendering order: kind, field name (the
 * metric's name is "nodown_" and the field name), help text. The help
 * text is rendered as it is, so it holds no backslash and no newline. */
#define NODE_METRICS(X)                                                                      \
    X(counter, commands_applied_total,                                                       \
      "Commands applied to the state machine by this node, accepted or rejected.")           \
    X(counter, orders_total,                                                                 \
      "Orders and bets placed (order place and bet place commands) applied by this node.")   \
    X(counter, batches_applied_total,                                                        \
      "Batches (stream messages) applied by this node.")                                     \
    X(histogram, apply_latency_us,                                                           \
      "Time to apply one batch to the state machine, in microseconds.")                      \
    X(histogram, batch_commands, "Commands in each applied batch.")                          \
    X(histogram, publish_latency_us,                                                         \
      "Time from handing a batch to the publisher to the stream's acknowledgement, in "     \
      "microseconds (a disk sync included with durability always).")                        \
    X(gauge, stream_lag,                                                                     \
      "Stream messages not yet applied: the stream's last sequence minus the applied one.")  \
    X(gauge, applied_seq, "Stream sequence of the last batch applied by this node.")         \
    X(gauge, snapshot_pause_us_max,                                                          \
      "Longest pause of the apply loop to take a snapshot since start, in microseconds.")    \
    X(gauge, snapshot_bytes, "Size of the latest snapshot written, in bytes.")               \
    X(counter, nats_restarts_total,                                                          \
      "Times this node restarted the nats-server it supervises.")                            \
    X(gauge, batches_in_flight_max,                                                          \
      "Most batches this node's gateway had being published at once since start.")          \
    X(gauge, sessions_connected, "Client sessions connected to this node's gateway.")        \
    X(counter, clients_disconnected_slow_total,                                              \
      "Client sessions disconnected because they did not read their replies fast enough.")  \
    X(counter, logons_failed_wrong_secret_total,                                             \
      "Logons refused because the secret was wrong.")                                        \
    X(counter, logons_failed_unknown_account_total,                                          \
      "Logons refused because the account does not exist or has no secret.")                 \
    X(counter, logons_failed_source_busy_total,                                              \
      "Logons refused unchecked: their address had its share of the logon checker.")        \
    X(counter, logons_failed_checker_full_total,                                             \
      "Logons refused unchecked: the logon checker's queue was full.")                       \
    X(counter, connections_refused_per_address_total,                                        \
      "Client connections closed at once: their source address had its most open.")          \
    X(counter, connections_refused_full_total,                                               \
      "Client connections closed at once: the node had its most connections open.")          \
    X(counter, connections_timed_out_handshake_total,                                        \
      "Client connections closed for not logging on within the handshake deadline.")         \
    X(counter, connections_timed_out_frame_total,                                            \
      "Client connections closed for a frame not whole within the frame deadline.")          \
    X(counter, connections_timed_out_heartbeat_total,                                        \
      "Logged-on client connections closed for not answering a heartbeat PING.")             \
    X(gauge, state_sessions,                                                                 \
      "Exactly-once sessions, one per (account, client id), the state holds.")               \
    X(gauge, state_sessions_max, "Sessions the state's table holds at most.")                \
    X(gauge, archive_seq, "Stream sequence of the last message the history archive stored.")  \
    X(gauge, archive_lag,                                                                    \
      "Stream messages applied by this node and not yet stored by its history archive.")     \
    X(counter, archive_events_total, "Events the history archive stored since start.")       \
    X(gauge, export_seq,                                                                     \
      "Stream sequence of the last message the PostgreSQL export committed.")                \
    X(gauge, export_lag,                                                                     \
      "Stream messages applied by this node and not yet committed by its PostgreSQL export.") \
    X(counter, export_events_total, "Events the PostgreSQL export committed since start.")  \
    X(gauge, feed_stall_us,                                                                  \
      "Time the apply loop waited for the archive or the export to make room since start, in " \
      "microseconds.")

struct node_metrics {
#define METRICS_FIELD(kind, name, help) struct metrics_##kind name;
    NODE_METRICS(METRICS_FIELD)
#undef METRICS_FIELD
    pthread_mutex_t lock; /* held by a group of updates and by a render's copy */
};

/* Bucket bounds of the two histograms. */
#define METRICS_APPLY_LATENCY_BOUND_COUNT 13u /* 1, 2, 5, ... 10000 us */
#define METRICS_PUBLISH_LATENCY_BOUND_COUNT 13u /* 50, 100, 200, ... 1000000 us */
#define METRICS_BATCH_COMMANDS_BOUND_COUNT 13u /* 1, 2, 4, ... 4096 commands */

/* Zeroes every value and sets each histogram's bounds. */
void metrics_init(struct node_metrics *metrics);

/* A group of updates a render sees whole or not at all (see above). */
void metrics_write_begin(struct node_metrics *metrics);
void metrics_write_end(struct node_metrics *metrics);

/* Updates: from the one writer thread only (see above), inside
 * metrics_write_begin and metrics_write_end. */
void metrics_counter_add(struct metrics_counter *counter, uint64_t amount);
void metrics_gauge_set(struct metrics_gauge *gauge, int64_t value);
/* Sets the gauge to value if value is larger (for the *_max gauges). */
void metrics_gauge_raise(struct metrics_gauge *gauge, int64_t value);
void metrics_histogram_observe(struct metrics_histogram *histogram, uint64_t value);

/* Reads: from any thread. */
uint64_t metrics_counter_get(const struct metrics_counter *counter);
int64_t metrics_gauge_get(const struct metrics_gauge *gauge);
/* Observations in bucket bucket_index alone (not cumulative); index
 * bound_count is the +Inf bucket. */
uint64_t metrics_histogram_bucket_get(const struct metrics_histogram *histogram,
                                      uint32_t bucket_index);
uint64_t metrics_histogram_sum_get(const struct metrics_histogram *histogram);

/* Writes every metric of the node, as copied at one instant (see above),
 * in the text format 0.0.4, each with its
 * # HELP and # TYPE lines, each line ending in "\n", and a NUL after the
 * text. *length is the text's length without the NUL. Returns 0, or
 * ERR_CAPACITY when buffer is too small (then *length is 0). Safe on any
 * thread while the writer updates. A few kilobytes is enough:
 * METRICS_RENDER_SIZE_MAX is a bound. */
int metrics_render(const struct node_metrics *metrics, char *buffer, size_t size,
                   size_t *length);

/* Every line is under 200 bytes and there are fewer than 160. */
#define METRICS_RENDER_SIZE_MAX 32768u

/* metrics_render as an http_admin_render_cb (gateway/http_admin.h): context is a
 * const struct node_metrics *. */
int metrics_render_cb(void *context, char *buffer, size_t size, size_t *length);

#endif
