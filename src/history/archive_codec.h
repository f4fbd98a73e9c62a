/* The archive's blobs (format 1): one message's commands, events and
 * balances, each a sequence of records of zigzag LEB128 varints, and the
 * posting lists of the keys table. docs/history.md lists every field in
 * order; a decoder of format 1 reads exactly these, and a later format
 * only appends fields (a record's length is implied by its type, so a
 * newer format bumps the file's format_version and this decoder refuses
 * it rather than misreading it).
 *
 *   command record: index, result, duplicate, outcome id, outcome value,
 *                   logic version, length, the command's own encoding
 *                   (codec/command_codec.h, with a secret's salt and hash
 *                   zeroed)
 *   event record:   index, type, code, account, id, then the fields of
 *                   its type (archive_codec.c, archive_event_fields)
 *   balance record: account, parent, kind, status, balance, credit limit,
 *                   reserved, open stakes
 *   posting list:   the sequences after the row's first, as deltas
 */
#ifndef NODOWN_HISTORY_ARCHIVE_CODEC_H
#define NODOWN_HISTORY_ARCHIVE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/command.h"
#include "core/event.h"
#include "replica/feed.h"

/* The most bytes one record takes. */
#define ARCHIVE_RECORD_MAX 512u

/* A growing byte buffer (the writer's thread and the readers, never the
 * apply loop). */
struct archive_buffer {
    uint8_t *data;
    size_t used;
    size_t capacity;
};
/* Room for at least more bytes; returns 0 or ERR_NOMEM. */
int archive_buffer_reserve(struct archive_buffer *buffer, size_t more);
void archive_buffer_free(struct archive_buffer *buffer);

/* Each appends one record (the buffer has ARCHIVE_RECORD_MAX free). */
void archive_command_put(struct archive_buffer *buffer, uint32_t index,
                         const struct command *command, const struct outcome *outcome,
                         uint32_t logic_version);
void archive_event_put(struct archive_buffer *buffer, uint32_t index, const struct event *event);
void archive_balance_put(struct archive_buffer *buffer, const struct feed_balance *balance);
void archive_varint_put(struct archive_buffer *buffer, uint64_t value);

/* Every blob of the archive is stored packed: one byte saying how, then
 * the bytes: ARCHIVE_PACK_RAW as they are, ARCHIVE_PACK_ZSTD one zstd
 * frame of them (small blobs stay raw). */
enum { ARCHIVE_PACK_RAW = 0, ARCHIVE_PACK_ZSTD = 1 };
struct archive_packer; /* a zstd context each way, per thread */
struct archive_packer *archive_packer_new(void);
void archive_packer_free(struct archive_packer *packer);
/* Packs size bytes of data into out (replaced). Returns 0 or ERR_NOMEM. */
int archive_pack(struct archive_packer *packer, const uint8_t *data, size_t size,
                 struct archive_buffer *out);
/* Unpacks a stored blob into out (replaced). Returns 0, ERR_NOMEM or
 * ERR_DECODE_MALFORMED. */
int archive_unpack(struct archive_packer *packer, const uint8_t *data, size_t size,
                   struct archive_buffer *out);

/* A reader over one blob. */
struct archive_reader {
    const uint8_t *at;
    const uint8_t *end;
    bool failed; /* read past the end, or a record that does not decode */
};

/* Each reads one record; false at the end or on a malformed record
 * (reader->failed then). */
bool archive_command_get(struct archive_reader *reader, uint32_t *index, struct command *command,
                         struct outcome *outcome, uint32_t *logic_version);
bool archive_event_get(struct archive_reader *reader, uint32_t *index, struct event *event);
bool archive_balance_get(struct archive_reader *reader, struct feed_balance *balance);
/* false at the blob's end (not failed) or inside a varint (failed). */
bool archive_varint_get(struct archive_reader *reader, uint64_t *value);

#endif
