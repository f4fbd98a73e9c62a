/* The archive's blobs (archive_codec.h): one function per record lists
 * its fields once, for writing and for reading alike. */
#include "history/archive_codec.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codec/command_codec.h"
#include "core/result.h"
#include "lib/bytes.h"

int archive_buffer_reserve(struct archive_buffer *buffer, size_t more)
{
    if (buffer->used + more <= buffer->capacity && buffer->data != NULL)
        return 0; /* (never NULL after: memcpy's pointers must not be, even for 0 bytes) */
    size_t capacity = buffer->capacity == 0 ? 65536 : buffer->capacity;
    while (capacity < buffer->used + more)
        capacity *= 2;
    uint8_t *grown = realloc(buffer->data, capacity);
    if (grown == NULL)
        return ERR_NOMEM;
    buffer->data = grown;
    buffer->capacity = capacity;
    return 0;
}

void archive_buffer_free(struct archive_buffer *buffer)
{
    free(buffer->data);
    memset(buffer, 0, sizeof *buffer);
}

void archive_varint_put(struct archive_buffer *buffer, uint64_t value)
{
    assert(buffer->used + 10 <= buffer->capacity);
    while (value >= 0x80) {
        buffer->data[buffer->used++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    buffer->data[buffer->used++] = (uint8_t)value;
}

bool archive_varint_get(struct archive_reader *reader, uint64_t *value)
{
    if (reader->at >= reader->end)
        return false; /* the end: no more varints, not an error */
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (reader->at >= reader->end) {
            reader->failed = true;
            return false;
        }
        uint8_t byte = *reader->at++;
        result |= (uint64_t)(byte & 0x7F) << shift;
        if ((byte & 0x80) == 0) {
            *value = result;
            return true;
        }
    }
    reader->failed = true;
    return false;
}

/* ---- One visitor a record: writes the fields, or reads them. ---- */

struct archive_visit {
    struct archive_buffer *buffer; /* writing, or */
    struct archive_reader *reader; /* reading */
};

static void visit_signed(struct archive_visit *visit, int64_t *value)
{
    if (visit->buffer != NULL) {
        archive_varint_put(visit->buffer, ((uint64_t)*value << 1) ^ (uint64_t)(*value >> 63));
        return;
    }
    uint64_t raw = 0;
    if (!archive_varint_get(visit->reader, &raw))
        visit->reader->failed = true; /* a record ends inside its fields */
    *value = (int64_t)(raw >> 1) ^ -(int64_t)(raw & 1);
}

/* Fields narrower than 64 bits go through an int64_t. */
#define VISIT(visit, field)                                                                     \
    do {                                                                                        \
        int64_t value_ = (int64_t)(field);                                                      \
        visit_signed(visit, &value_);                                                           \
        if ((visit)->reader != NULL)                                                            \
            (field) = (__typeof__(field))value_; /* GCC and clang: the field's own type */      \
    } while (0)

static void archive_event_fields(struct archive_visit *visit, struct event *e)
{
    switch (e->type) {
    case EVENT_ORDER_ACCEPTED:
    case EVENT_ORDER_DONE:
    case EVENT_ORDER_REPLACED:
        VISIT(visit, e->u.order.instrument_id);
        VISIT(visit, e->u.order.side);
        VISIT(visit, e->u.order.price_ticks);
        VISIT(visit, e->u.order.quantity_open);
        VISIT(visit, e->u.order.quantity_filled);
        VISIT(visit, e->u.order.client_order_id);
        break;
    case EVENT_TRADE:
        VISIT(visit, e->u.trade.instrument_id);
        VISIT(visit, e->u.trade.maker_account_id);
        VISIT(visit, e->u.trade.taker_side);
        VISIT(visit, e->u.trade.maker_order_id);
        VISIT(visit, e->u.trade.price_ticks);
        VISIT(visit, e->u.trade.quantity);
        VISIT(visit, e->u.trade.maker_fee_minor);
        VISIT(visit, e->u.trade.taker_fee_minor);
        break;
    case EVENT_BET_ACCEPTED:
    case EVENT_BET_SETTLED:
        VISIT(visit, e->u.bet.market_id);
        VISIT(visit, e->u.bet.selection);
        VISIT(visit, e->u.bet.odds_milli);
        VISIT(visit, e->u.bet.stake_minor);
        VISIT(visit, e->u.bet.payout_minor);
        for (uint32_t i = 0; i < PT_LEVELS; i++)
            VISIT(visit, e->u.bet.shares_bp[i]);
        break;
    case EVENT_ODDS:
        VISIT(visit, e->u.odds.status);
        for (uint32_t i = 0; i < SELECTIONS_MAX; i++)
            VISIT(visit, e->u.odds.odds_milli[i]);
        break;
    case EVENT_STATEMENT:
        VISIT(visit, e->u.statement.balance_minor);
        VISIT(visit, e->u.statement.credit_limit_minor);
        VISIT(visit, e->u.statement.positions_value_minor);
        VISIT(visit, e->u.statement.day_change_minor);
        VISIT(visit, e->u.statement.day_fees_minor);
        break;
    case EVENT_COMMISSION:
        VISIT(visit, e->u.commission.market_id);
        VISIT(visit, e->u.commission.turnover_minor);
        for (uint32_t i = 0; i < COMMISSION_LEVELS; i++)
            VISIT(visit, e->u.commission.earned_minor[i]);
        for (uint32_t i = 0; i < PT_LEVELS; i++)
            VISIT(visit, e->u.commission.paid_minor[i]);
        break;
    case EVENT_ACCOUNT_CAPPED:
        VISIT(visit, e->u.cap.market_type);
        VISIT(visit, e->u.cap.pt_share_bp);
        VISIT(visit, e->u.cap.pt_max_bp);
        VISIT(visit, e->u.cap.credit_limit_minor);
        break;
    default: /* EVENT_DAY: type, code and id say it all */
        break;
    }
}

static void archive_event_visit(struct archive_visit *visit, uint32_t *index, struct event *e)
{
    VISIT(visit, *index);
    VISIT(visit, e->type);
    VISIT(visit, e->code);
    VISIT(visit, e->account_id);
    VISIT(visit, e->id);
    archive_event_fields(visit, e);
}

void archive_event_put(struct archive_buffer *buffer, uint32_t index, const struct event *event)
{
    struct archive_visit visit = {.buffer = buffer};
    struct event copy = *event;
    archive_event_visit(&visit, &index, &copy);
}

bool archive_event_get(struct archive_reader *reader, uint32_t *index, struct event *event)
{
    if (reader->at >= reader->end)
        return false;
    memset(event, 0, sizeof *event);
    struct archive_visit visit = {.reader = reader};
    archive_event_visit(&visit, index, event);
    if (event->type >= EVENT_TYPE_COUNT)
        reader->failed = true;
    return !reader->failed;
}

static void archive_balance_visit(struct archive_visit *visit, struct feed_balance *b)
{
    VISIT(visit, b->account_id);
    VISIT(visit, b->parent_id);
    VISIT(visit, b->kind);
    VISIT(visit, b->status);
    VISIT(visit, b->balance_minor);
    VISIT(visit, b->credit_limit_minor);
    VISIT(visit, b->reserved_minor);
    VISIT(visit, b->stake_open_minor);
}

void archive_balance_put(struct archive_buffer *buffer, const struct feed_balance *balance)
{
    struct archive_visit visit = {.buffer = buffer};
    struct feed_balance copy = *balance;
    archive_balance_visit(&visit, &copy);
}

bool archive_balance_get(struct archive_reader *reader, struct feed_balance *balance)
{
    if (reader->at >= reader->end)
        return false;
    memset(balance, 0, sizeof *balance);
    struct archive_visit visit = {.reader = reader};
    archive_balance_visit(&visit, balance);
    return !reader->failed;
}

/* ---- Commands: their outcome, then their own encoding. ---- */

static int archive_no_flush(void *context, const uint8_t *data, size_t size)
{
    (void)context;
    (void)data;
    (void)size;
    return ERR_CAPACITY; /* a command is far smaller than the writer's chunk */
}

void archive_command_put(struct archive_buffer *buffer, uint32_t index,
                         const struct command *command, const struct outcome *outcome,
                         uint32_t logic_version)
{
    struct command copy = *command;
    if (copy.type == COMMAND_ACCOUNT_SET_SECRET) { /* never archived */
        memset(copy.u.account_set_secret.salt, 0, sizeof copy.u.account_set_secret.salt);
        memset(copy.u.account_set_secret.hash, 0, sizeof copy.u.account_set_secret.hash);
    }
    struct byte_writer writer;
    byte_writer_init(&writer, archive_no_flush, NULL);
    if (command_encode(&copy, &writer) != 0)
        writer.used = 0;
    struct archive_visit visit = {.buffer = buffer};
    int64_t fields[] = {index, outcome->result, outcome->duplicate, (int64_t)outcome->id,
                        outcome->value, logic_version, (int64_t)writer.used};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        visit_signed(&visit, &fields[i]);
    memcpy(buffer->data + buffer->used, writer.chunk, writer.used);
    buffer->used += writer.used;
}

bool archive_command_get(struct archive_reader *reader, uint32_t *index, struct command *command,
                         struct outcome *outcome, uint32_t *logic_version)
{
    if (reader->at >= reader->end)
        return false;
    struct archive_visit visit = {.reader = reader};
    int64_t fields[7];
    for (size_t i = 0; i < 7; i++)
        visit_signed(&visit, &fields[i]);
    if (reader->failed || fields[6] < 0 || fields[6] > reader->end - reader->at) {
        reader->failed = true;
        return false;
    }
    memset(outcome, 0, sizeof *outcome);
    *index = (uint32_t)fields[0];
    outcome->result = (uint16_t)fields[1];
    outcome->duplicate = fields[2] != 0;
    outcome->id = (uint64_t)fields[3];
    outcome->value = fields[4];
    *logic_version = (uint32_t)fields[5];
    struct byte_reader bytes;
    byte_reader_init(&bytes, reader->at, (size_t)fields[6]);
    reader->at += fields[6];
    if (command_decode(&bytes, command) != 0)
        reader->failed = true;
    outcome->command_type = command->type;
    return !reader->failed;
}

/* ---- Packing. ---- */

#define ARCHIVE_PACK_MIN 2048u /* smaller blobs are stored as they are */
#define ARCHIVE_ZSTD_LEVEL 1

struct archive_packer {
    ZSTD_CCtx *compress;
    ZSTD_DCtx *decompress;
};

struct archive_packer *archive_packer_new(void)
{
    struct archive_packer *packer = calloc(1, sizeof *packer);
    if (packer == NULL)
        return NULL;
    packer->compress = ZSTD_createCCtx();
    packer->decompress = ZSTD_createDCtx();
    if (packer->compress == NULL || packer->decompress == NULL) {
        archive_packer_free(packer);
        return NULL;
    }
    return packer;
}

void archive_packer_free(struct archive_packer *packer)
{
    if (packer == NULL)
        return;
    ZSTD_freeCCtx(packer->compress);
    ZSTD_freeDCtx(packer->decompress);
    free(packer);
}

int archive_pack(struct archive_packer *packer, const uint8_t *data, size_t size,
                 struct archive_buffer *out)
{
    out->used = 0;
    size_t bound = ZSTD_compressBound(size);
    if (archive_buffer_reserve(out, 1 + (bound > size ? bound : size)) != 0)
        return ERR_NOMEM;
    if (size >= ARCHIVE_PACK_MIN) {
        size_t packed = ZSTD_compressCCtx(packer->compress, out->data + 1, bound, data, size,
                                          ARCHIVE_ZSTD_LEVEL);
        if (!ZSTD_isError(packed) && packed < size) {
            out->data[0] = ARCHIVE_PACK_ZSTD;
            out->used = 1 + packed;
            return 0;
        }
    }
    out->data[0] = ARCHIVE_PACK_RAW;
    if (size > 0)
        memcpy(out->data + 1, data, size);
    out->used = 1 + size;
    return 0;
}

int archive_unpack(struct archive_packer *packer, const uint8_t *data, size_t size,
                   struct archive_buffer *out)
{
    out->used = 0;
    if (size < 1)
        return ERR_DECODE_MALFORMED;
    if (data[0] == ARCHIVE_PACK_RAW) {
        if (archive_buffer_reserve(out, size - 1) != 0)
            return ERR_NOMEM;
        memcpy(out->data, data + 1, size - 1);
        out->used = size - 1;
        return 0;
    }
    unsigned long long length = ZSTD_getFrameContentSize(data + 1, size - 1);
    if (data[0] != ARCHIVE_PACK_ZSTD || length == ZSTD_CONTENTSIZE_ERROR ||
        length == ZSTD_CONTENTSIZE_UNKNOWN || length > ((size_t)1 << 31))
        return ERR_DECODE_MALFORMED;
    if (archive_buffer_reserve(out, (size_t)length) != 0)
        return ERR_NOMEM;
    size_t got = ZSTD_decompressDCtx(packer->decompress, out->data, (size_t)length, data + 1,
                                     size - 1);
    if (ZSTD_isError(got) || got != length)
        return ERR_DECODE_MALFORMED;
    out->used = got;
    return 0;
}
