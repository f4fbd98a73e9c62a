/* The command and batch codec (see command_codec.h, docs/formats.md).
 *
 * Each command type's payload is described once, by a walker function that
 * visits its fields in declaration order. The same walker encodes (with a
 * writer), decodes (with a reader) or measures (with neither), so the three
 * can never disagree about a field, its width or its place.
 *
 * A batch is decoded in two passes: the first walks the framing (header,
 * each command's length) to find where the checksum is, without looking
 * inside any command; the second decodes the commands, but only after the
 * checksum has matched. A torn message therefore reads as NEED_MORE and a
 * damaged one as CHECKSUM before any field of it is trusted.
 */
#include "codec/command_codec.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>
#include <xxhash.h>

#include "core/result.h"
#include "lib/field_io.h"
#include "lib/secret.h"

/* src/lib/ knows nothing of core/result.h; its errors, which the codecs
 * and the node pass on, carry the same numbers. */
_Static_assert((int)BYTE_ERROR_SHORT == (int)ERR_DECODE_NEED_MORE, "lib/bytes.h's short read");
_Static_assert((int)BYTE_ERROR_FULL == (int)ERR_CAPACITY, "lib/bytes.h's full buffer");
_Static_assert((int)SECRET_ERROR_IO == (int)ERR_IO, "lib/secret.h's I/O error");
_Static_assert((int)SECRET_ERROR_USAGE == (int)ERR_USAGE, "lib/secret.h's usage error");

/* ---- Field walkers (lib/field_io.h). ---- */

static void io_i32_array(struct field_io *io, int32_t *values, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        io_i32(io, &values[i]);
}

static void walk_record_header(struct field_io *io, struct command *c)
{
    io_u16(io, &c->type);
    io_u16(io, &c->reserved);
    io_u32(io, &c->sender_account_id);
    io_u64(io, &c->client_id);
    io_u64(io, &c->client_seq);
}

static void walk_account_create(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.account_create.parent_id);
    io_u8(io, &c->u.account_create.kind);
    io_i64(io, &c->u.account_create.credit_limit_minor);
}

static void walk_account_set_status(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.account_set_status.account_id);
    io_u8(io, &c->u.account_set_status.status);
}

static void walk_account_set_credit(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.account_set_credit.account_id);
    io_i64(io, &c->u.account_set_credit.credit_limit_minor);
}

static void walk_account_set_limits(struct field_io *io, struct command *c)
{
    struct command_account_limits *p = &c->u.account_set_limits;
    io_u32(io, &p->account_id);
    io_i64(io, &p->order_quantity_max);
    io_i64(io, &p->order_notional_max_minor);
    io_i64(io, &p->bet_stake_max_minor);
    io_i64(io, &p->exposure_limit_minor);
}

static void walk_account_set_secret(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.account_set_secret.account_id);
    io_bytes(io, c->u.account_set_secret.salt, SECRET_SALT_SIZE);
    io_bytes(io, c->u.account_set_secret.hash, SECRET_HASH_SIZE);
}

/* CASH_DEPOSIT and CASH_WITHDRAW share the member cash. */
static void walk_cash(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.cash.account_id);
    io_i64(io, &c->u.cash.amount_minor);
}

static void walk_position_grant(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.position_grant.account_id);
    io_u32(io, &c->u.position_grant.instrument_id);
    io_i64(io, &c->u.position_grant.quantity);
}

static void walk_pt_set(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.pt_set.account_id);
    io_u8(io, &c->u.pt_set.market_type);
    io_u16(io, &c->u.pt_set.share_bp);
    io_u16(io, &c->u.pt_set.max_bp);
}

static void walk_pt_override(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.pt_override.sport_event_id);
    io_u32(io, &c->u.pt_override.market_id);
    io_u16(io, &c->u.pt_override.share_bp);
}

static void walk_instrument_create(struct field_io *io, struct command *c)
{
    struct command_instrument_create *p = &c->u.instrument_create;
    io_bytes(io, p->symbol, SYMBOL_SIZE);
    io_i64(io, &p->tick_size_minor);
    io_i64(io, &p->lot_size);
    io_i64(io, &p->reference_price_ticks);
    io_u16(io, &p->band_bp);
    io_u16(io, &p->fee_maker_bp);
    io_u16(io, &p->fee_taker_bp);
}

static void walk_instrument_set_phase(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.instrument_set_phase.instrument_id);
    io_u8(io, &c->u.instrument_set_phase.phase);
}

static void walk_instrument_set_reference(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.instrument_set_reference.instrument_id);
    io_i64(io, &c->u.instrument_set_reference.reference_price_ticks);
}

static void walk_order_place(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.order_place.instrument_id);
    io_u8(io, &c->u.order_place.side);
    io_u8(io, &c->u.order_place.order_type);
    io_u8(io, &c->u.order_place.time_in_force);
    io_i64(io, &c->u.order_place.price_ticks);
    io_i64(io, &c->u.order_place.quantity);
    io_u64(io, &c->u.order_place.client_order_id);
}

static void walk_order_cancel(struct field_io *io, struct command *c)
{
    io_u64(io, &c->u.order_cancel.order_id);
}

static void walk_order_replace(struct field_io *io, struct command *c)
{
    io_u64(io, &c->u.order_replace.order_id);
    io_i64(io, &c->u.order_replace.price_ticks);
    io_i64(io, &c->u.order_replace.quantity);
}

static void walk_sport_event_create(struct field_io *io, struct command *c)
{
    io_u64(io, &c->u.sport_event_create.external_ref);
}

static void walk_market_create(struct field_io *io, struct command *c)
{
    struct command_market_create *p = &c->u.market_create;
    io_u32(io, &p->sport_event_id);
    io_u8(io, &p->market_type);
    io_i32(io, &p->line_quarters);
    io_i32_array(io, p->odds_milli, SELECTIONS_MAX);
    io_i64(io, &p->stake_min_minor);
    io_i64(io, &p->stake_max_minor);
    io_u8(io, &p->odds_count); /* appended: absent in the first form */
}

static void walk_market_set_odds(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.market_set_odds.market_id);
    io_i32_array(io, c->u.market_set_odds.odds_milli, SELECTIONS_MAX);
    io_u8(io, &c->u.market_set_odds.odds_count); /* appended */
}

static void walk_market_set_status(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.market_set_status.market_id);
    io_u8(io, &c->u.market_set_status.status);
}

static void walk_market_settle(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.market_settle.market_id);
    io_bytes(io, c->u.market_settle.results, SELECTIONS_MAX);
    io_u8(io, &c->u.market_settle.result_count); /* appended */
}

static void walk_bet_place(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.bet_place.market_id);
    io_u8(io, &c->u.bet_place.selection);
    io_u8(io, &c->u.bet_place.accept_better_odds);
    io_i32(io, &c->u.bet_place.odds_milli);
    io_i64(io, &c->u.bet_place.stake_minor);
}

/* DAY_START and DAY_END share the member day. */
static void walk_day(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.day.trading_date);
}

static void walk_activate_logic(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.activate_logic.logic_version);
}

/* Logic version 3 (docs/formats.md): a type older readers refuse, so
 * gateways publish it only once that version is active. */
static void walk_commission_set(struct field_io *io, struct command *c)
{
    io_u32(io, &c->u.commission_set.account_id);
    io_u8(io, &c->u.commission_set.market_type);
    io_u16(io, &c->u.commission_set.rate_bp);
}

typedef void (*payload_walk_cb)(struct field_io *io, struct command *c);

/* Indexed by enum command_type; COMMAND_NONE has no form. A new type must
 * be added here, or command_encode refuses it (test_codec covers each). */
static const payload_walk_cb payload_walkers[COMMAND_TYPE_COUNT] = {
    [COMMAND_ACCOUNT_CREATE] = walk_account_create,
    [COMMAND_ACCOUNT_SET_STATUS] = walk_account_set_status,
    [COMMAND_ACCOUNT_SET_CREDIT] = walk_account_set_credit,
    [COMMAND_ACCOUNT_SET_LIMITS] = walk_account_set_limits,
    [COMMAND_ACCOUNT_SET_SECRET] = walk_account_set_secret,
    [COMMAND_CASH_DEPOSIT] = walk_cash,
    [COMMAND_CASH_WITHDRAW] = walk_cash,
    [COMMAND_POSITION_GRANT] = walk_position_grant,
    [COMMAND_PT_SET] = walk_pt_set,
    [COMMAND_PT_OVERRIDE] = walk_pt_override,
    [COMMAND_INSTRUMENT_CREATE] = walk_instrument_create,
    [COMMAND_INSTRUMENT_SET_PHASE] = walk_instrument_set_phase,
    [COMMAND_INSTRUMENT_SET_REFERENCE] = walk_instrument_set_reference,
    [COMMAND_ORDER_PLACE] = walk_order_place,
    [COMMAND_ORDER_CANCEL] = walk_order_cancel,
    [COMMAND_ORDER_REPLACE] = walk_order_replace,
    [COMMAND_SPORT_EVENT_CREATE] = walk_sport_event_create,
    [COMMAND_MARKET_CREATE] = walk_market_create,
    [COMMAND_MARKET_SET_ODDS] = walk_market_set_odds,
    [COMMAND_MARKET_SET_STATUS] = walk_market_set_status,
    [COMMAND_MARKET_SETTLE] = walk_market_settle,
    [COMMAND_BET_PLACE] = walk_bet_place,
    [COMMAND_DAY_START] = walk_day,
    [COMMAND_DAY_END] = walk_day,
    [COMMAND_ACTIVATE_LOGIC] = walk_activate_logic,
    [COMMAND_COMMISSION_SET] = walk_commission_set,
};

/* The record size of a type's first form, for the types that have had a
 * field appended since (docs/formats.md, "Compatibility of commands"). A
 * record from its first form up to this build's size decodes with the
 * missing fields 0. 0 here: the type was never extended, and a record
 * shorter than this build's size is malformed. */
static const uint16_t record_sizes_first[COMMAND_TYPE_COUNT] = {
    [COMMAND_MARKET_CREATE] = COMMAND_RECORD_HEADER_SIZE + 37,
    [COMMAND_MARKET_SET_ODDS] = COMMAND_RECORD_HEADER_SIZE + 16,
    [COMMAND_MARKET_SETTLE] = COMMAND_RECORD_HEADER_SIZE + 7,
};

static payload_walk_cb payload_walker(uint16_t type)
{
    return type < COMMAND_TYPE_COUNT ? payload_walkers[type] : NULL;
}

/* Record size (header and payload) of a known type, by walking it. */
static size_t record_size_walked(payload_walk_cb walk)
{
    struct command scratch;
    memset(&scratch, 0, sizeof scratch);
    struct field_io io = {NULL, NULL, 0, false};
    walk_record_header(&io, &scratch);
    walk(&io, &scratch);
    assert(io.size_bytes >= COMMAND_RECORD_HEADER_SIZE);
    assert(io.size_bytes + COMMAND_PREFIX_SIZE <= COMMAND_ENCODED_SIZE_MAX);
    return io.size_bytes;
}

/* Every type's record size, walked once per process: decoding checks it
 * for every command, and a walk each time cost as much as the decoding. */
static uint16_t record_sizes[COMMAND_TYPE_COUNT];
static pthread_once_t record_sizes_once = PTHREAD_ONCE_INIT;

static void record_sizes_init(void)
{
    for (uint16_t type = 0; type < COMMAND_TYPE_COUNT; type++) {
        if (payload_walkers[type] != NULL)
            record_sizes[type] = (uint16_t)record_size_walked(payload_walkers[type]);
    }
}

static size_t record_size(uint16_t type)
{
    assert(payload_walker(type) != NULL);
    int rv = pthread_once(&record_sizes_once, record_sizes_init);
    assert(rv == 0);
    (void)rv;
    return record_sizes[type];
}

/* The shortest record of a known type a reader accepts. */
static size_t record_size_min(uint16_t type)
{
    size_t first = record_sizes_first[type];
    assert(first == 0 || (first >= COMMAND_RECORD_HEADER_SIZE && first < record_size(type)));
    return first != 0 ? first : record_size(type);
}

/* ---- One command. ---- */

size_t command_encoded_size(uint16_t type)
{
    payload_walk_cb walk = payload_walker(type);
    return walk == NULL ? 0 : COMMAND_PREFIX_SIZE + record_size(type);
}

int command_encode(const struct command *command, struct byte_writer *writer)
{
    payload_walk_cb walk = payload_walker(command->type);
    if (walk == NULL)
        return ERR_USAGE;
    size_t size = record_size(command->type);
    byte_put_u16(writer, COMMAND_FORMAT_VERSION);
    byte_put_u16(writer, (uint16_t)size);
    /* The walkers take a mutable command so that one walker serves both
     * directions; encoding works on a copy and so never writes *command.
     * reserved is written as 0 whatever the caller left in it. */
    struct command copy = *command;
    copy.reserved = 0;
    uint64_t before = writer->total_bytes;
    struct field_io io = {writer, NULL, 0, false};
    walk_record_header(&io, &copy);
    walk(&io, &copy);
    assert(writer->total_bytes - before == size);
    (void)before;
    return writer->error;
}

int command_decode(struct byte_reader *reader, struct command *command)
{
    memset(command, 0, sizeof *command);
    uint16_t version = byte_get_u16(reader);
    uint16_t length = byte_get_u16(reader);
    if (reader->error != 0)
        return ERR_DECODE_NEED_MORE;
    if (version != COMMAND_FORMAT_VERSION)
        return ERR_VERSION;
    if (byte_reader_left(reader) < length)
        return ERR_DECODE_NEED_MORE;
    /* A reader over exactly this record: the walker cannot run past it,
     * and whatever it does not read (newer fields) is skipped below. */
    struct byte_reader record;
    byte_reader_init(&record, reader->data + reader->offset, length);
    struct field_io io = {NULL, &record, 0, false};
    walk_record_header(&io, command);
    payload_walk_cb walk = payload_walker(command->type);
    if (record.error != 0 || walk == NULL || command->reserved != 0 ||
        length < record_size_min(command->type)) {
        memset(command, 0, sizeof *command);
        return ERR_DECODE_MALFORMED;
    }
    /* A record of an earlier form lacks fields appended since: read it
     * from a copy padded with zeros, so that they decode as 0. */
    uint8_t padded[COMMAND_ENCODED_SIZE_MAX];
    size_t size = record_size(command->type);
    if (length < size) {
        memset(padded, 0, size);
        memcpy(padded, reader->data + reader->offset, length);
        byte_reader_init(&record, padded, size);
        record.offset = COMMAND_RECORD_HEADER_SIZE;
    }
    walk(&io, command);
    assert(record.error == 0);
    reader->offset += length;
    assert(reader->offset <= reader->size);
    return 0;
}

/* ---- Batches. ---- */

size_t batch_encoded_size(const struct command *commands, uint32_t count)
{
    size_t size = BATCH_HEADER_SIZE + BATCH_TRAILER_SIZE;
    for (uint32_t i = 0; i < count; i++) {
        size_t one = command_encoded_size(commands[i].type);
        if (one == 0)
            return 0;
        size += one;
    }
    return size;
}

int batch_encode(uint64_t timestamp_ns, const struct command *commands, uint32_t count,
                 uint8_t *buffer, size_t capacity, size_t *length)
{
    *length = 0;
    if (count > BATCH_COMMANDS_MAX)
        return ERR_USAGE;
    size_t size = batch_encoded_size(commands, count);
    if (size == 0)
        return ERR_USAGE;
    if (size > capacity)
        return ERR_CAPACITY;
    struct byte_buffer target = {buffer, capacity, 0};
    struct byte_writer writer;
    byte_writer_init(&writer, byte_buffer_flush, &target);
    byte_put_u32(&writer, BATCH_MAGIC);
    byte_put_u16(&writer, BATCH_FORMAT_VERSION);
    byte_put_u16(&writer, 0);
    byte_put_u64(&writer, timestamp_ns);
    byte_put_u32(&writer, count);
    for (uint32_t i = 0; i < count; i++) {
        int rv = command_encode(&commands[i], &writer);
        assert(rv == 0); /* the type was checked above; the buffer fits */
        (void)rv;
    }
    int rv = byte_writer_finish(&writer);
    if (rv != 0)
        return rv;
    assert(target.length + BATCH_TRAILER_SIZE == size);
    uint64_t checksum = XXH3_64bits(buffer, target.length);
    for (uint32_t i = 0; i < BATCH_TRAILER_SIZE; i++)
        buffer[target.length + i] = (uint8_t)(checksum >> (8 * i));
    *length = size;
    return 0;
}

int batch_decode_header(const uint8_t *data, size_t size, struct batch_header *header)
{
    memset(header, 0, sizeof *header);
    if (size < BATCH_HEADER_SIZE)
        return ERR_DECODE_NEED_MORE;
    struct byte_reader reader;
    byte_reader_init(&reader, data, BATCH_HEADER_SIZE);
    header->magic = byte_get_u32(&reader);
    header->format_version = byte_get_u16(&reader);
    header->flags = byte_get_u16(&reader);
    header->timestamp_ns = byte_get_u64(&reader);
    header->command_count = byte_get_u32(&reader);
    assert(reader.error == 0 && byte_reader_left(&reader) == 0);
    if (header->magic != BATCH_MAGIC)
        return ERR_DECODE_MALFORMED;
    /* The version comes before every other check: a newer format may give
     * the remaining fields another meaning. */
    if (header->format_version != BATCH_FORMAT_VERSION)
        return ERR_VERSION;
    if (header->flags != 0 || header->command_count > BATCH_COMMANDS_MAX)
        return ERR_DECODE_MALFORMED;
    return 0;
}

/* First pass: the offset of the checksum, found from the lengths alone. */
static int batch_frame(const uint8_t *data, size_t size, uint32_t count, size_t *end)
{
    struct byte_reader reader;
    byte_reader_init(&reader, data, size);
    reader.offset = BATCH_HEADER_SIZE;
    for (uint32_t i = 0; i < count; i++) {
        byte_get_u16(&reader); /* the version, checked in the second pass */
        uint16_t length = byte_get_u16(&reader);
        if (reader.error != 0 || byte_reader_left(&reader) < length)
            return ERR_DECODE_NEED_MORE;
        reader.offset += length;
    }
    if (byte_reader_left(&reader) < BATCH_TRAILER_SIZE)
        return ERR_DECODE_NEED_MORE;
    if (byte_reader_left(&reader) > BATCH_TRAILER_SIZE)
        return ERR_DECODE_MALFORMED;
    *end = reader.offset;
    return 0;
}

int batch_decode(const uint8_t *data, size_t size, uint64_t *timestamp_ns,
                 struct command *commands, uint32_t capacity, uint32_t *count)
{
    *count = 0;
    *timestamp_ns = 0;
    struct batch_header header;
    int rv = batch_decode_header(data, size, &header);
    if (rv != 0)
        return rv;
    if (header.command_count > capacity)
        return ERR_CAPACITY;
    size_t end = 0;
    rv = batch_frame(data, size, header.command_count, &end);
    if (rv != 0)
        return rv;
    struct byte_reader reader;
    byte_reader_init(&reader, data, size);
    reader.offset = end;
    uint64_t checksum = byte_get_u64(&reader);
    assert(reader.error == 0 && byte_reader_left(&reader) == 0);
    if (XXH3_64bits(data, end) != checksum)
        return ERR_CHECKSUM;
    byte_reader_init(&reader, data, end);
    reader.offset = BATCH_HEADER_SIZE;
    for (uint32_t i = 0; i < header.command_count; i++) {
        rv = command_decode(&reader, &commands[i]);
        if (rv != 0)
            return rv;
    }
    assert(byte_reader_left(&reader) == 0);
    *timestamp_ns = header.timestamp_ns;
    *count = header.command_count;
    return 0;
}
