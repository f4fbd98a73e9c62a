/* A copy of part of the stream in one file, for replays (`nodown replay`,
 * `nodown rehearse`, docs/upgrades.md "Rehearsal"): the messages read once
 * from a stream, so that every replay, by any build, reads the same bytes
 * without NATS and without touching the live stream.
 *
 * File, little-endian: u32 magic "NDSC", u32 format version (1), then one
 * record per message, in stream order, to the end of the file:
 *   u64 stream_seq  u64 timestamp_ns (the stream's stored time)
 *   u32 size        size bytes: the message as stored (one batch)
 * A record cut short by the end of the file is an error, never skipped.
 */
#ifndef NODOWN_OPS_STREAM_COPY_H
#define NODOWN_OPS_STREAM_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STREAM_COPY_MAGIC 0x4353444Eu /* "NDSC" */
#define STREAM_COPY_VERSION 1u
/* The largest message read: JetStream's default max_payload is 1 MiB. */
#define STREAM_COPY_MESSAGE_SIZE_MAX (8u << 20)
/* How long stream_copy_from_nats waits without a message before it gives
 * up, and in all. */
#define STREAM_COPY_IDLE_TIMEOUT_MS 10000
#define STREAM_COPY_TOTAL_TIMEOUT_MS 600000

struct stream_copy_reader {
    FILE *file;
    uint8_t *data; /* STREAM_COPY_MESSAGE_SIZE_MAX */
};

/* What a copy from NATS holds. */
struct stream_copy_summary {
    uint64_t first_seq; /* 0 when empty */
    uint64_t last_seq;
    uint64_t messages;
    uint64_t stream_last_seq; /* the stream's end when the copy started */
};

/* Copies the messages of the stream NODOWN on the servers in urls from
 * from_seq to the stream's last (or until, when not 0) into path. It only
 * reads: the stream must exist, nothing is published. Returns 0, or an
 * error with errmsg. */
int stream_copy_from_nats(const char *urls, uint64_t from_seq, uint64_t until, const char *path,
                          struct stream_copy_summary *summary, char *errmsg,
                          size_t errmsg_size);

/* Opens a copy and checks its header. Returns 0, ERR_IO or ERR_VERSION. */
int stream_copy_open(struct stream_copy_reader *reader, const char *path, char *errmsg,
                     size_t errmsg_size);

/* The next message: 1 with it (data valid until the next call), 0 at the
 * end, ERR_DECODE_MALFORMED when a record is cut short or too large. */
int stream_copy_next(struct stream_copy_reader *reader, uint64_t *stream_seq,
                     uint64_t *timestamp_ns, const uint8_t **data, size_t *size);

void stream_copy_close(struct stream_copy_reader *reader);

#endif
