/* FIX 4.4 tag=value messages: framing, parsing and writing, no I/O and no
 * allocation (docs/fix.md).
 *
 * A message on the wire is
 *   8=FIX.4.4<SOH>9=<body length><SOH>35=<type><SOH>...<SOH>10=<nnn><SOH>
 * fix_frame() finds where one ends in a buffer (or says why the bytes are
 * not one), fix_parse() indexes its fields in place, fix_writer builds one
 * in a caller's buffer with the body length and checksum filled in.
 */
#ifndef NODOWN_FIX_FIX_MSG_H
#define NODOWN_FIX_FIX_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIX_SOH '\001'
#define FIX_BEGIN_STRING "FIX.4.4"
/* A message longer than this is refused (the session is logged out). */
#define FIX_MSG_SIZE_MAX 4096u
/* Fields of one message at most; more is a session-level Reject. */
#define FIX_FIELDS_MAX 96u
/* Values of the ids the acceptor keeps (CompIDs, ClOrdIDs, texts). */
#define FIX_ID_SIZE_MAX 64u

enum fix_frame_result {
    FIX_FRAME_WHOLE = 0,     /* a whole message of *size bytes */
    FIX_FRAME_NEED_MORE = 1, /* a prefix of one: read more */
    FIX_FRAME_BAD = 2        /* not a FIX 4.4 message: *why says what; framing is lost */
};

/* Finds the first message at the start of buf. On FIX_FRAME_WHOLE the
 * checksum is not checked yet (fix_parse does). */
enum fix_frame_result fix_frame(const char *buf, size_t size, size_t *msg_size,
                                const char **why);

struct fix_field {
    uint32_t tag;
    uint32_t offset; /* of the value in the message */
    uint32_t length;
};

struct fix_msg {
    const char *data;
    size_t size;
    uint32_t count;
    struct fix_field fields[FIX_FIELDS_MAX];
};

/* Session-level reject reasons (SessionRejectReason, tag 373). */
enum fix_reject_reason {
    FIX_REJECT_INVALID_TAG = 0,
    FIX_REJECT_REQUIRED_MISSING = 1,
    FIX_REJECT_UNDEFINED_TAG = 3,
    FIX_REJECT_NO_VALUE = 4,
    FIX_REJECT_VALUE_INCORRECT = 5,
    FIX_REJECT_FORMAT = 6,
    FIX_REJECT_COMPID = 9,
    FIX_REJECT_SENDING_TIME = 10,
    FIX_REJECT_MSG_TYPE = 11,
    FIX_REJECT_TAG_TWICE = 13,
    FIX_REJECT_ORDER = 14,
    FIX_REJECT_OTHER = 99
};

enum fix_parse_result {
    FIX_PARSE_OK = 0,
    FIX_PARSE_REJECT = 1, /* the message is framed but wrong: Reject(3) it */
    FIX_PARSE_GARBLED = 2 /* checksum or body length wrong: ignore it (FIX says so) */
};

/* Indexes the fields of a message fix_frame() framed. On FIX_PARSE_REJECT
 * *reason, *ref_tag (0: none) and *why tell what to say. */
enum fix_parse_result fix_parse(const char *data, size_t size, struct fix_msg *msg,
                                enum fix_reject_reason *reason, uint32_t *ref_tag,
                                const char **why);

/* The first field with that tag: its value (not terminated) and length, or
 * NULL. */
const char *fix_get(const struct fix_msg *msg, uint32_t tag, size_t *length);
/* A non-negative decimal integer without sign or fraction, at most 18
 * digits. Returns false when absent or not one (*present tells). */
bool fix_get_u64(const struct fix_msg *msg, uint32_t tag, uint64_t *value, bool *present);
/* The value copied and terminated, cut at size - 1; false when absent. */
bool fix_get_text(const struct fix_msg *msg, uint32_t tag, char *out, size_t size);
/* Y: true; absent or N: false. */
bool fix_get_flag(const struct fix_msg *msg, uint32_t tag);

struct fix_writer {
    char *buf;
    size_t capacity;
    size_t body_start; /* room kept before it for 8=...9=... */
    size_t end;
    bool overflow;
};

/* Room kept in front of the body for the BeginString and BodyLength. */
#define FIX_HEADER_ROOM 24u

void fix_write_begin(struct fix_writer *w, char *buf, size_t capacity, const char *msg_type);
void fix_write_str(struct fix_writer *w, uint32_t tag, const char *value);
void fix_write_mem(struct fix_writer *w, uint32_t tag, const char *value, size_t length);
void fix_write_i64(struct fix_writer *w, uint32_t tag, int64_t value);
void fix_write_u64(struct fix_writer *w, uint32_t tag, uint64_t value);
/* Closes the message: returns its first byte and *size, or NULL when it
 * did not fit. */
const char *fix_write_end(struct fix_writer *w, size_t *size);

/* "YYYYMMDD-HH:MM:SS.sss" of a time in ms since the epoch, UTC (22 bytes
 * with the terminator). */
#define FIX_TIME_SIZE 22u
void fix_time(int64_t ms, char out[FIX_TIME_SIZE]);

#endif
