/* The frame codec of the native protocol (see frame.h, docs/protocol.md).
 *
 * As in the command codec, each frame type's payload is described once, by
 * a walker that visits its fields in order. The same walker measures (no
 * reader, no writer), encodes (a writer) and decodes (a reader), and checks
 * the rules of its fields (a count under its maximum, a flag 0 or 1) in
 * every direction, so the encoder can never write a frame the decoder
 * refuses. A walker writes into the frame only when it decodes.
 *
 * Decoding is in two steps. The header step looks at the length and the
 * type as soon as their bytes are there, and at whether the length fits
 * the type's payload bounds; only then, with the whole frame in, does the
 * payload step walk a reader bounded to exactly the payload, which must be
 * used to its last byte.
 */
#include "codec/frame.h"

#include <assert.h>
#include <string.h>

#include "codec/command_codec.h"
#include "core/event.h"
#include "core/odds.h"
#include "core/result.h"
#include "lib/bytes.h"
#include "lib/field_io.h"

/* ---- Field walkers. ---- */

/* Exactly one of writer and reader is set, or neither to measure. */
static void io_flag(struct field_io *io, uint8_t *value)
{
    io_u8(io, value);
    if (*value > 1)
        io->invalid = true;
}

/* A u16 count that must not exceed max; returns how many rows to walk (0
 * when it is broken, so a decoder never writes past its array). */
static uint16_t io_count(struct field_io *io, uint16_t *count, uint16_t max)
{
    io_u16(io, count);
    if (*count > max) {
        io->invalid = true;
        return 0;
    }
    return *count;
}

/* A u8 selection count of at most SELECTIONS_MAX. */
static void io_selections(struct field_io *io, uint8_t *count)
{
    io_u8(io, count);
    if (*count > SELECTIONS_MAX)
        io->invalid = true;
}

/* ---- The frames of the handshake. ---- */

static void walk_hello(struct field_io *io, struct frame *frame)
{
    struct frame_hello *hello = &frame->u.hello;
    uint32_t magic = FRAME_MAGIC;
    io_u32(io, &magic);
    io_u16(io, &hello->version_min);
    io_u16(io, &hello->version_max);
    io_u64(io, &hello->client_id);
    if (magic != FRAME_MAGIC || hello->version_min == 0 ||
        hello->version_min > hello->version_max)
        io->invalid = true;
}

static void walk_welcome(struct field_io *io, struct frame *frame)
{
    struct frame_welcome *welcome = &frame->u.welcome;
    io_u16(io, &welcome->version);
    io_u32(io, &welcome->node_id);
    io_u64(io, &welcome->applied_seq);
    if (welcome->version == 0)
        io->invalid = true;
}

static void walk_logon(struct field_io *io, struct frame *frame)
{
    struct frame_logon *logon = &frame->u.logon;
    io_u32(io, &logon->account_id);
    io_u16(io, &logon->secret_size);
    if (logon->secret_size > FRAME_SECRET_SIZE_MAX) {
        io->invalid = true;
        return;
    }
    io_bytes(io, logon->secret, logon->secret_size);
}

/* 12 bytes in version 1; version 2 appends the session window (u16). */
static void walk_logon_ok(struct field_io *io, struct frame *frame)
{
    struct frame_logon_ok *logon_ok = &frame->u.logon_ok;
    io_u32(io, &logon_ok->account_id);
    io_u64(io, &logon_ok->last_client_seq);
    bool has_window = logon_ok->session_window != 0;
    if (io->reader != NULL) {
        size_t left = io->reader->size - io->reader->offset;
        if (left != 0 && left != sizeof logon_ok->session_window) {
            io->invalid = true;
            return;
        }
        has_window = left != 0;
    }
    if (has_window) {
        io_u16(io, &logon_ok->session_window);
        if (logon_ok->session_window == 0)
            io->invalid = true;
    }
}

/* ---- Commands, outcomes, errors, pings. ---- */

/* The command codec walks the command itself; its errors (an unknown
 * type, a bad version, a short record) all make the frame malformed. */
static void walk_command(struct field_io *io, struct frame *frame)
{
    struct command *command = &frame->u.command;
    size_t size = command_encoded_size(command->type);
    if (io->reader != NULL) {
        size_t before = io->reader->offset;
        if (command_decode(io->reader, command) != 0) {
            io->invalid = true;
            return;
        }
        size = io->reader->offset - before;
    } else if (size == 0) {
        io->invalid = true;
        return;
    } else if (io->writer != NULL && command_encode(command, io->writer) != 0) {
        io->invalid = true;
        return;
    }
    io->size_bytes += size;
}

static void walk_outcome(struct field_io *io, struct frame *frame)
{
    struct frame_outcome *outcome = &frame->u.outcome;
    io_u64(io, &outcome->client_seq);
    io_u16(io, &outcome->result);
    io_u16(io, &outcome->command_type);
    io_flag(io, &outcome->duplicate);
    io_u64(io, &outcome->id);
    io_i64(io, &outcome->value);
    io_u64(io, &outcome->stream_seq);
    /* Version 3: replace_filled appended, present when its flag is. */
    bool present = outcome->has_replace_filled != 0;
    if (io->reader != NULL) {
        size_t left = io->reader->size - io->reader->offset;
        if (left != 0 && left != sizeof outcome->replace_filled) {
            io->invalid = true;
            return;
        }
        present = left != 0;
        outcome->has_replace_filled = present;
    }
    if (present) {
        io_i64(io, &outcome->replace_filled);
        if (outcome->replace_filled < 0)
            io->invalid = true;
    }
}

static void walk_error(struct field_io *io, struct frame *frame)
{
    struct frame_error *error = &frame->u.error;
    io_u16(io, &error->code);
    io_u16(io, &error->text_size);
    if (error->code == 0 || error->text_size > FRAME_TEXT_SIZE_MAX) {
        io->invalid = true;
        return;
    }
    io_bytes(io, error->text, error->text_size);
    if (io->reader != NULL)
        error->text[error->text_size] = '\0';
}

static void walk_ping(struct field_io *io, struct frame *frame)
{
    io_u64(io, &frame->u.ping.nonce);
}

/* ---- Queries. ---- */

/* A version 2 field appended to a frame: absent in version 1. Written
 * when not 0; read when exactly its 8 bytes are left (then never 0). */
static void walk_trailing_u64(struct field_io *io, uint64_t *value)
{
    bool present = *value != 0;
    if (io->reader != NULL) {
        size_t left = io->reader->size - io->reader->offset;
        if (left != 0 && left != sizeof *value) {
            io->invalid = true;
            return;
        }
        present = left != 0;
    }
    if (present) {
        io_u64(io, value);
        if (*value == 0)
            io->invalid = true;
    }
}

static void walk_query(struct field_io *io, struct frame *frame)
{
    struct frame_query *query = &frame->u.query;
    io_u16(io, &query->query_type);
    io_u64(io, &query->request_id);
    switch (query->query_type) {
    case QUERY_ACCOUNT:
        io_u32(io, &query->u.account.account_id);
        break;
    case QUERY_POSITIONS:
        io_u32(io, &query->u.positions.account_id);
        io_u32(io, &query->u.positions.instrument_id_from);
        break;
    case QUERY_ORDER:
        io_u64(io, &query->u.order.order_id);
        break;
    case QUERY_BOOK:
        io_u32(io, &query->u.book.instrument_id);
        io_u16(io, &query->u.book.level_count);
        if (query->u.book.level_count == 0 || query->u.book.level_count > QUERY_LEVELS_MAX)
            io->invalid = true;
        break;
    case QUERY_EXPOSURE:
        io_u32(io, &query->u.exposure.account_id);
        io_u32(io, &query->u.exposure.market_id);
        break;
    case QUERY_ODDS:
        io_u32(io, &query->u.odds.market_id);
        io_u8(io, &query->u.odds.odds_format);
        if (query->u.odds.odds_format >= ODDS_FORMAT_COUNT)
            io->invalid = true;
        break;
    default:
        io->invalid = true;
        return;
    }
    walk_trailing_u64(io, &query->min_seq);
}

static void walk_result_account(struct field_io *io, struct query_account *account)
{
    io_u32(io, &account->account_id);
    io_u32(io, &account->parent_id);
    io_u8(io, &account->kind);
    io_u8(io, &account->status);
    io_i64(io, &account->balance_minor);
    io_i64(io, &account->credit_limit_minor);
    io_i64(io, &account->reserved_minor);
    io_i64(io, &account->stake_open_minor);
    io_i64(io, &account->available_minor);
    io_i64(io, &account->order_quantity_max);
    io_i64(io, &account->order_notional_max_minor);
    io_i64(io, &account->bet_stake_max_minor);
    io_i64(io, &account->exposure_limit_minor);
    io_i64(io, &account->day_fees_minor);
    for (uint32_t i = 0; i < MARKET_TYPE_COUNT; i++)
        io_u16(io, &account->pt_share_bp[i]);
    for (uint32_t i = 0; i < MARKET_TYPE_COUNT; i++)
        io_u16(io, &account->pt_max_bp[i]);
}

static void walk_result_positions(struct field_io *io, struct query_positions *positions)
{
    io_u32(io, &positions->account_id);
    io_flag(io, &positions->more);
    uint16_t count = io_count(io, &positions->count, QUERY_POSITIONS_MAX);
    for (uint16_t i = 0; i < count; i++) {
        io_u32(io, &positions->positions[i].instrument_id);
        io_i64(io, &positions->positions[i].quantity);
        io_i64(io, &positions->positions[i].quantity_reserved);
    }
}

static void walk_result_order(struct field_io *io, struct query_order *order)
{
    io_u64(io, &order->order_id);
    io_u64(io, &order->client_order_id);
    io_u32(io, &order->account_id);
    io_u32(io, &order->instrument_id);
    io_u8(io, &order->side);
    io_u8(io, &order->flags);
    io_i64(io, &order->price_ticks);
    io_i64(io, &order->quantity_open);
    io_i64(io, &order->quantity_filled);
    /* Version 3: a finished order's done byte, when not 0; then maybe
     * the version 2 applied_seq (8 bytes): so 1 or 9 bytes left. */
    bool present = order->done != 0;
    if (io->reader != NULL) {
        size_t left = io->reader->size - io->reader->offset;
        present = left == 1 || left == 1 + sizeof(uint64_t);
    }
    if (present) {
        io_u8(io, &order->done);
        if (order->done == 0 || order->done > 1 + DONE_OUTSIDE_BAND)
            io->invalid = true;
    }
}

static void walk_levels(struct field_io *io, struct query_level *levels, uint16_t count)
{
    for (uint16_t i = 0; i < count; i++) {
        io_i64(io, &levels[i].price_ticks);
        io_i64(io, &levels[i].quantity);
    }
}

/* Both counts come before the rows, so a reader knows the size at once. */
static void walk_result_book(struct field_io *io, struct query_book *book)
{
    io_u32(io, &book->instrument_id);
    io_u8(io, &book->phase);
    io_i64(io, &book->last_price_ticks);
    uint16_t bid_count = io_count(io, &book->bid_count, QUERY_LEVELS_MAX);
    uint16_t ask_count = io_count(io, &book->ask_count, QUERY_LEVELS_MAX);
    walk_levels(io, book->bids, bid_count);
    walk_levels(io, book->asks, ask_count);
}

static void walk_result_exposure(struct field_io *io, struct query_exposure *exposure)
{
    io_u32(io, &exposure->account_id);
    io_u32(io, &exposure->market_id);
    io_selections(io, &exposure->selection_count);
    io_i64(io, &exposure->worst_minor);
    for (uint32_t i = 0; i < SELECTIONS_MAX; i++)
        io_i64(io, &exposure->win_liability_minor[i]);
    for (uint32_t i = 0; i < SELECTIONS_MAX; i++)
        io_i64(io, &exposure->stake_in_minor[i]);
}

static void walk_result_odds(struct field_io *io, struct query_odds *odds)
{
    io_u32(io, &odds->market_id);
    io_u8(io, &odds->market_type);
    io_u8(io, &odds->status);
    io_u8(io, &odds->odds_format);
    io_selections(io, &odds->selection_count);
    io_i32(io, &odds->line_quarters);
    if (odds->odds_format >= ODDS_FORMAT_COUNT)
        io->invalid = true;
    for (uint32_t i = 0; i < SELECTIONS_MAX; i++) {
        io_i32(io, &odds->prices[i].odds_milli);
        io_i64(io, &odds->prices[i].value);
        io_i64(io, &odds->prices[i].numerator);
        io_i64(io, &odds->prices[i].denominator);
    }
}

static void walk_query_result(struct field_io *io, struct frame *frame)
{
    struct frame_query_result *result = &frame->u.query_result;
    io_u64(io, &result->request_id);
    io_u16(io, &result->result);
    io_u16(io, &result->query_type);
    if (result->query_type == QUERY_NONE || result->query_type >= QUERY_TYPE_COUNT) {
        io->invalid = true;
        return;
    }
    if (result->result != RESULT_OK) {
        walk_trailing_u64(io, &result->applied_seq); /* a failed query carries no rows */
        return;
    }
    switch (result->query_type) {
    case QUERY_ACCOUNT:
        walk_result_account(io, &result->u.account);
        break;
    case QUERY_POSITIONS:
        walk_result_positions(io, &result->u.positions);
        break;
    case QUERY_ORDER:
        walk_result_order(io, &result->u.order);
        break;
    case QUERY_BOOK:
        walk_result_book(io, &result->u.book);
        break;
    case QUERY_EXPOSURE:
        walk_result_exposure(io, &result->u.exposure);
        break;
    default:
        assert(result->query_type == QUERY_ODDS);
        walk_result_odds(io, &result->u.odds);
        break;
    }
    walk_trailing_u64(io, &result->applied_seq);
}

/* ---- The table of frame types. ---- */

typedef void (*frame_walk_cb)(struct field_io *io, struct frame *frame);

/* Payload bounds (bytes after the type), the union member the type uses,
 * and its walker. A fixed-size type has payload_min == payload_max; the
 * others' bounds are checked in test_frame.c against frames that reach
 * them. */
struct frame_kind {
    const char *name;
    uint32_t payload_min;
    uint32_t payload_max;
    size_t member_size;
    frame_walk_cb walk;
};

#define QUERY_PAYLOAD_MIN (2u + 8u + 4u) /* type, request_id, u32 */
#define QUERY_PAYLOAD_MAX (2u + 8u + 8u + 8u) /* version 2: + min_seq */
#define COMMAND_PAYLOAD_MIN (COMMAND_PREFIX_SIZE + COMMAND_RECORD_HEADER_SIZE)

static const struct frame_kind frame_kinds[FRAME_TYPE_COUNT] = {
    [FRAME_HELLO] = {"HELLO", 16, 16, sizeof(struct frame_hello), walk_hello},
    [FRAME_WELCOME] = {"WELCOME", 14, 14, sizeof(struct frame_welcome), walk_welcome},
    [FRAME_LOGON] = {"LOGON", 6, 6 + FRAME_SECRET_SIZE_MAX, sizeof(struct frame_logon),
                     walk_logon},
    [FRAME_LOGON_OK] = {"LOGON_OK", 12, 14, sizeof(struct frame_logon_ok), walk_logon_ok},
    [FRAME_COMMAND] = {"COMMAND", COMMAND_PAYLOAD_MIN, FRAME_SIZE_MAX - 1,
                       sizeof(struct command), walk_command},
    [FRAME_OUTCOME] = {"OUTCOME", 37, 45, sizeof(struct frame_outcome), walk_outcome},
    [FRAME_ERROR] = {"ERROR", 4, 4 + FRAME_TEXT_SIZE_MAX, sizeof(struct frame_error),
                     walk_error},
    [FRAME_PING] = {"PING", 8, 8, sizeof(struct frame_ping), walk_ping},
    [FRAME_PONG] = {"PONG", 8, 8, sizeof(struct frame_ping), walk_ping},
    [FRAME_QUERY] = {"QUERY", QUERY_PAYLOAD_MIN, QUERY_PAYLOAD_MAX, sizeof(struct frame_query),
                     walk_query},
    [FRAME_QUERY_RESULT] = {"QUERY_RESULT", 12, FRAME_SIZE_MAX - 1,
                            sizeof(struct frame_query_result), walk_query_result},
};

static const struct frame_kind *frame_kind_of(uint8_t type)
{
    if (type == FRAME_NONE || type >= FRAME_TYPE_COUNT)
        return NULL;
    assert(frame_kinds[type].walk != NULL);
    return &frame_kinds[type];
}

/* ---- Encoding. ---- */

size_t frame_encoded_size(const struct frame *frame)
{
    const struct frame_kind *kind = frame_kind_of(frame->type);
    if (kind == NULL)
        return 0;
    /* Measuring reads the frame only: the cast is safe (see the top). */
    struct field_io io = {NULL, NULL, 0, false};
    kind->walk(&io, (struct frame *)frame);
    if (io.invalid)
        return 0;
    assert(io.size_bytes >= kind->payload_min);
    assert(io.size_bytes <= kind->payload_max);
    return FRAME_HEADER_SIZE + io.size_bytes;
}

int frame_encode(const struct frame *frame, uint8_t *buffer, size_t capacity, size_t *length)
{
    *length = 0;
    size_t size = frame_encoded_size(frame);
    if (size == 0)
        return ERR_USAGE;
    if (size > capacity)
        return ERR_CAPACITY;
    assert(size <= FRAME_BUFFER_SIZE);
    struct byte_buffer target = {buffer, capacity, 0};
    struct byte_writer writer;
    byte_writer_init(&writer, byte_buffer_flush, &target);
    byte_put_u32(&writer, (uint32_t)(size - FRAME_LENGTH_SIZE));
    byte_put_u8(&writer, frame->type);
    struct field_io io = {&writer, NULL, 0, false};
    frame_kind_of(frame->type)->walk(&io, (struct frame *)frame);
    assert(!io.invalid);
    int rv = byte_writer_finish(&writer);
    if (rv != 0)
        return rv;
    assert(target.length == size);
    *length = size;
    return 0;
}

/* ---- Decoding. ---- */

static uint32_t frame_length_read(const uint8_t *data)
{
    return (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
           (uint32_t)data[3] << 24;
}

bool frame_is_too_large(const uint8_t *data, size_t size)
{
    return size >= FRAME_LENGTH_SIZE && frame_length_read(data) > FRAME_SIZE_MAX;
}

/* The header step: what the first bytes already say. Returns 0 with the
 * frame's whole size in *frame_size, or a decode error. */
static int frame_decode_header(const uint8_t *data, size_t size, size_t *frame_size)
{
    if (size < FRAME_LENGTH_SIZE)
        return ERR_DECODE_NEED_MORE;
    uint32_t length = frame_length_read(data);
    if (length == 0 || length > FRAME_SIZE_MAX)
        return ERR_DECODE_MALFORMED;
    if (size < FRAME_HEADER_SIZE)
        return ERR_DECODE_NEED_MORE;
    const struct frame_kind *kind = frame_kind_of(data[FRAME_LENGTH_SIZE]);
    if (kind == NULL)
        return ERR_DECODE_MALFORMED;
    uint32_t payload_size = length - 1;
    if (payload_size < kind->payload_min || payload_size > kind->payload_max)
        return ERR_DECODE_MALFORMED;
    *frame_size = FRAME_LENGTH_SIZE + (size_t)length;
    return 0;
}

int frame_decode(const uint8_t *data, size_t size, struct frame *frame, size_t *consumed)
{
    *consumed = 0;
    size_t frame_size = 0;
    int rv = frame_decode_header(data, size, &frame_size);
    if (rv != 0)
        return rv;
    if (size < frame_size)
        return ERR_DECODE_NEED_MORE;
    const struct frame_kind *kind = frame_kind_of(data[FRAME_LENGTH_SIZE]);
    frame->type = data[FRAME_LENGTH_SIZE];
    memset(&frame->u, 0, kind->member_size);
    struct byte_reader reader;
    byte_reader_init(&reader, data + FRAME_HEADER_SIZE, frame_size - FRAME_HEADER_SIZE);
    struct field_io io = {NULL, &reader, 0, false};
    kind->walk(&io, frame);
    if (io.invalid || reader.error != 0 || byte_reader_left(&reader) != 0) {
        memset(&frame->u, 0, kind->member_size);
        frame->type = FRAME_NONE;
        return ERR_DECODE_MALFORMED;
    }
    assert(io.size_bytes == frame_size - FRAME_HEADER_SIZE);
    *consumed = frame_size;
    return 0;
}

/* ---- Helpers and names. ---- */

void frame_error_set(struct frame *frame, uint16_t code, const char *text)
{
    assert(code != 0);
    memset(frame, 0, offsetof(struct frame, u) + sizeof frame->u.error);
    frame->type = FRAME_ERROR;
    frame->u.error.code = code;
    size_t size = strlen(text);
    if (size > FRAME_TEXT_SIZE_MAX) {
        size = FRAME_TEXT_SIZE_MAX;
        /* Back off over UTF-8 continuation bytes (10xxxxxx) so that the cut
         * falls before the first byte of a character. */
        while (size > 0 && ((uint8_t)text[size] & 0xC0u) == 0x80u)
            size--;
    }
    memcpy(frame->u.error.text, text, size);
    frame->u.error.text[size] = '\0';
    frame->u.error.text_size = (uint16_t)size;
}

const char *frame_type_name(uint8_t type)
{
    const struct frame_kind *kind = frame_kind_of(type);
    return kind == NULL ? "UNKNOWN" : kind->name;
}

const char *frame_error_text(uint16_t code)
{
    static const char *const texts[FRAME_ERROR_CODE_COUNT] = {
        [FRAME_ERROR_MALFORMED] = "malformed frame",
        [FRAME_ERROR_TOO_LARGE] = "frame too large",
        [FRAME_ERROR_VERSION] = "unsupported protocol version",
        [FRAME_ERROR_LOGON_FAILED] = "logon failed",
        [FRAME_ERROR_NOT_LOGGED_ON] = "not logged on",
        [FRAME_ERROR_OVERLOADED] = "overloaded",
        [FRAME_ERROR_SHUTTING_DOWN] = "shutting down",
        [FRAME_ERROR_READ_ONLY] = "read-only node",
    };
    if (code == 0 || code >= FRAME_ERROR_CODE_COUNT)
        return "unknown error";
    return texts[code];
}

const char *query_type_name(uint16_t query_type)
{
    static const char *const names[QUERY_TYPE_COUNT] = {
        [QUERY_ACCOUNT] = "account", [QUERY_POSITIONS] = "positions",
        [QUERY_ORDER] = "order",     [QUERY_BOOK] = "book",
        [QUERY_EXPOSURE] = "exposure", [QUERY_ODDS] = "odds",
    };
    if (query_type == QUERY_NONE || query_type >= QUERY_TYPE_COUNT)
        return "unknown";
    return names[query_type];
}
