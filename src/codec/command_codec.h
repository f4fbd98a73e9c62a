/* The binary forms of commands: one command, and a batch of commands that
 * travels as one stream message and is applied at one timestamp.
 *
 * Both are little-endian, fixed-width and versioned (docs/formats.md has
 * every field). The rules that let old and new nodes share a log:
 *   - enums (command types, sides, results, ...) are append-only;
 *   - a command type's fields are only ever appended at its end, and every
 *     command carries its length, so a reader skips trailing fields it does
 *     not know;
 *   - anything else is a new format version, which an old reader refuses
 *     with ERR_VERSION instead of guessing.
 *
 * Command, format version 1:
 *   u16 format_version  u16 length (of the record that follows)
 *   record: u16 type  u16 reserved (0)  u32 sender_account_id
 *           u64 client_id  u64 client_seq  payload of the type
 *
 * Batch, format version 1:
 *   u32 magic "NDCB"  u16 format_version  u16 flags (0)  u64 timestamp_ns
 *   u32 command_count  command_count commands as above
 *   u64 xxh3_64 of every byte before it
 *
 * The codec checks framing only. It does not check that an enum stored in
 * a u8 field is in range, or that an amount makes sense: that is the state
 * machine's job, and it must answer a bad value with a reject that every
 * replica computes alike.
 */
#ifndef NODOWN_CODEC_COMMAND_CODEC_H
#define NODOWN_CODEC_COMMAND_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/command.h"
#include "lib/bytes.h"

#define COMMAND_FORMAT_VERSION 1u

/* u16 format_version + u16 length in front of every record. */
#define COMMAND_PREFIX_SIZE 4u

/* type, reserved, sender, client_id, client_seq: the start of a record. */
#define COMMAND_RECORD_HEADER_SIZE 24u

/* The largest command of this build (ACCOUNT_SET_SECRET: 24 + 52 bytes of
 * record, 4 of prefix); test_codec checks it against every type. */
#define COMMAND_ENCODED_SIZE_MAX 80u

#define BATCH_MAGIC 0x4243444Eu /* the bytes "NDCB" */
#define BATCH_FORMAT_VERSION 1u
#define BATCH_HEADER_SIZE 20u
#define BATCH_TRAILER_SIZE 8u

/* Commands in one batch. A batch is one stream message, and NATS refuses
 * messages over its max_payload, 1 MiB by default; 4096 of the largest
 * command is 320 KiB, well inside it. It also bounds what a replica
 * applies between two chances to take a snapshot or answer a health check.
 * (A batch from a newer writer may carry longer commands; readers do not
 * rely on BATCH_SIZE_MAX, only writers do.) */
#define BATCH_COMMANDS_MAX 4096u
#define BATCH_SIZE_MAX \
    (BATCH_HEADER_SIZE + BATCH_COMMANDS_MAX * COMMAND_ENCODED_SIZE_MAX + BATCH_TRAILER_SIZE)
_Static_assert(BATCH_SIZE_MAX <= (1u << 20), "a batch fits one NATS message");

/* The fixed start of a batch. */
struct batch_header {
    uint32_t magic;
    uint16_t format_version;
    uint16_t flags;
    uint64_t timestamp_ns;
    uint32_t command_count;
};

/* Bytes command_encode writes for a command of this type (prefix and
 * record), or 0 when this build does not know the type. */
size_t command_encoded_size(uint16_t type);

/* Writes one command. Returns 0, ERR_USAGE for a type this build does not
 * know (COMMAND_NONE included), or the writer's error. */
int command_encode(const struct command *command, struct byte_writer *writer);

/* Reads one command into *command, which is zeroed first, so padding and
 * the unused part of the union are always 0. Returns 0, or
 *   ERR_DECODE_NEED_MORE  the reader ends inside the command;
 *   ERR_VERSION           a format version other than 1;
 *   ERR_DECODE_MALFORMED  unknown type, length shorter than the type's
 *                         fields, or reserved not 0.
 * On success the reader stands after the command (unknown trailing fields
 * skipped); on error its position is unspecified. */
int command_decode(struct byte_reader *reader, struct command *command);

/* Bytes batch_encode needs for these commands (0 if a type is unknown). */
size_t batch_encoded_size(const struct command *commands, uint32_t count);

/* Writes a batch into buffer; *length gets its size. Returns 0, ERR_USAGE
 * (count above BATCH_COMMANDS_MAX or an unknown type) or ERR_CAPACITY
 * (buffer too small; nothing useful is written). */
int batch_encode(uint64_t timestamp_ns, const struct command *commands, uint32_t count,
                 uint8_t *buffer, size_t capacity, size_t *length);

/* Reads and checks the fixed header only. Returns 0, ERR_DECODE_NEED_MORE,
 * ERR_DECODE_MALFORMED (magic, flags, count above BATCH_COMMANDS_MAX) or
 * ERR_VERSION. */
int batch_decode_header(const uint8_t *data, size_t size, struct batch_header *header);

/* Decodes a whole batch that occupies exactly data[0..size). Returns 0, or
 *   ERR_DECODE_NEED_MORE  data is shorter than the batch it starts (every
 *                         proper prefix of a valid batch gives this);
 *   ERR_DECODE_MALFORMED  bad magic, flags, count, framing or command,
 *                         or bytes after the checksum;
 *   ERR_VERSION           a batch or command version other than 1;
 *   ERR_CHECKSUM          the checksum does not match;
 *   ERR_CAPACITY          more commands than capacity.
 * The checksum is verified before any command is decoded. On error *count
 * is 0 and commands[] may be partly written. Never reads outside data. */
int batch_decode(const uint8_t *data, size_t size, uint64_t *timestamp_ns,
                 struct command *commands, uint32_t capacity, uint32_t *count);

#endif
