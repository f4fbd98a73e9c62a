/* Tests of the command and batch codec (src/codec/command_codec.h).
 *
 * The sizes and the golden bytes below are written out by hand from
 * docs/formats.md, not computed by the codec, so a field that the codec
 * drops, reorders or widens fails here. Commands are built with every field
 * set to a distinct value and compared whole with memcmp, which works
 * because both sides start from zeroed structs. The fuzz tests run from a
 * fixed seed and only ask that nothing crashes (ASan and UBSan watch) and
 * that whatever decodes, re-encodes to the same commands.
 */
#include <stddef.h>
#include <xxhash.h>

#include "codec/command_codec.h"
#include "fixture.h"
#include "test.h"

/* ---- Helpers. ---- */

static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* Payload bytes of each type, from the field lists in command.h. */
static const size_t payload_sizes[COMMAND_TYPE_COUNT] = {
    [COMMAND_ACCOUNT_CREATE] = 4 + 1 + 8,
    [COMMAND_ACCOUNT_SET_STATUS] = 4 + 1,
    [COMMAND_ACCOUNT_SET_CREDIT] = 4 + 8,
    [COMMAND_ACCOUNT_SET_LIMITS] = 4 + 4 * 8,
    [COMMAND_ACCOUNT_SET_SECRET] = 4 + 16 + 32,
    [COMMAND_CASH_DEPOSIT] = 4 + 8,
    [COMMAND_CASH_WITHDRAW] = 4 + 8,
    [COMMAND_POSITION_GRANT] = 4 + 4 + 8,
    [COMMAND_PT_SET] = 4 + 1 + 2 + 2,
    [COMMAND_PT_OVERRIDE] = 4 + 4 + 2,
    [COMMAND_INSTRUMENT_CREATE] = 8 + 3 * 8 + 3 * 2,
    [COMMAND_INSTRUMENT_SET_PHASE] = 4 + 1,
    [COMMAND_INSTRUMENT_SET_REFERENCE] = 4 + 8,
    [COMMAND_ORDER_PLACE] = 4 + 3 * 1 + 3 * 8,
    [COMMAND_ORDER_CANCEL] = 8,
    [COMMAND_ORDER_REPLACE] = 3 * 8,
    [COMMAND_SPORT_EVENT_CREATE] = 8,
    [COMMAND_MARKET_CREATE] = 4 + 1 + 4 + 3 * 4 + 2 * 8 + 1,
    [COMMAND_MARKET_SET_ODDS] = 4 + 3 * 4 + 1,
    [COMMAND_MARKET_SET_STATUS] = 4 + 1,
    [COMMAND_MARKET_SETTLE] = 4 + 3 + 1,
    [COMMAND_BET_PLACE] = 4 + 1 + 1 + 4 + 8,
    [COMMAND_DAY_START] = 4,
    [COMMAND_DAY_END] = 4,
    [COMMAND_ACTIVATE_LOGIC] = 4,
    [COMMAND_COMMISSION_SET] = 4 + 1 + 2,
};

/* The fields of each type in declaration order, as (offset, width) in
 * struct command. On a little-endian host a field's bytes in memory are
 * its encoding, so concatenating them gives the expected record without
 * using the codec: a field dropped, widened or moved shows up. */
struct field_spec {
    size_t offset;
    size_t size; /* 0 ends a list */
};

#define FIELD(member) {offsetof(struct command, member), sizeof(((struct command *)0)->member)}
#define FIELDS_MAX 8

static const struct field_spec header_fields[] = {
    FIELD(type), FIELD(reserved), FIELD(sender_account_id), FIELD(client_id),
    FIELD(client_seq), {0, 0},
};

static const struct field_spec payload_fields[COMMAND_TYPE_COUNT][FIELDS_MAX] = {
    [COMMAND_ACCOUNT_CREATE] = {FIELD(u.account_create.parent_id), FIELD(u.account_create.kind),
                                FIELD(u.account_create.credit_limit_minor)},
    [COMMAND_ACCOUNT_SET_STATUS] = {FIELD(u.account_set_status.account_id),
                                    FIELD(u.account_set_status.status)},
    [COMMAND_ACCOUNT_SET_CREDIT] = {FIELD(u.account_set_credit.account_id),
                                    FIELD(u.account_set_credit.credit_limit_minor)},
    [COMMAND_ACCOUNT_SET_LIMITS] = {FIELD(u.account_set_limits.account_id),
                                    FIELD(u.account_set_limits.order_quantity_max),
                                    FIELD(u.account_set_limits.order_notional_max_minor),
                                    FIELD(u.account_set_limits.bet_stake_max_minor),
                                    FIELD(u.account_set_limits.exposure_limit_minor)},
    [COMMAND_ACCOUNT_SET_SECRET] = {FIELD(u.account_set_secret.account_id),
                                    FIELD(u.account_set_secret.salt),
                                    FIELD(u.account_set_secret.hash)},
    [COMMAND_CASH_DEPOSIT] = {FIELD(u.cash.account_id), FIELD(u.cash.amount_minor)},
    [COMMAND_CASH_WITHDRAW] = {FIELD(u.cash.account_id), FIELD(u.cash.amount_minor)},
    [COMMAND_POSITION_GRANT] = {FIELD(u.position_grant.account_id),
                                FIELD(u.position_grant.instrument_id),
                                FIELD(u.position_grant.quantity)},
    [COMMAND_PT_SET] = {FIELD(u.pt_set.account_id), FIELD(u.pt_set.market_type),
                        FIELD(u.pt_set.share_bp), FIELD(u.pt_set.max_bp)},
    [COMMAND_PT_OVERRIDE] = {FIELD(u.pt_override.sport_event_id),
                             FIELD(u.pt_override.market_id), FIELD(u.pt_override.share_bp)},
    [COMMAND_INSTRUMENT_CREATE] = {FIELD(u.instrument_create.symbol),
                                   FIELD(u.instrument_create.tick_size_minor),
                                   FIELD(u.instrument_create.lot_size),
                                   FIELD(u.instrument_create.reference_price_ticks),
                                   FIELD(u.instrument_create.band_bp),
                                   FIELD(u.instrument_create.fee_maker_bp),
                                   FIELD(u.instrument_create.fee_taker_bp)},
    [COMMAND_INSTRUMENT_SET_PHASE] = {FIELD(u.instrument_set_phase.instrument_id),
                                      FIELD(u.instrument_set_phase.phase)},
    [COMMAND_INSTRUMENT_SET_REFERENCE] = {FIELD(u.instrument_set_reference.instrument_id),
                                          FIELD(u.instrument_set_reference.reference_price_ticks)},
    [COMMAND_ORDER_PLACE] = {FIELD(u.order_place.instrument_id), FIELD(u.order_place.side),
                             FIELD(u.order_place.order_type), FIELD(u.order_place.time_in_force),
                             FIELD(u.order_place.price_ticks), FIELD(u.order_place.quantity),
                             FIELD(u.order_place.client_order_id)},
    [COMMAND_ORDER_CANCEL] = {FIELD(u.order_cancel.order_id)},
    [COMMAND_ORDER_REPLACE] = {FIELD(u.order_replace.order_id),
                               FIELD(u.order_replace.price_ticks),
                               FIELD(u.order_replace.quantity)},
    [COMMAND_SPORT_EVENT_CREATE] = {FIELD(u.sport_event_create.external_ref)},
    [COMMAND_MARKET_CREATE] = {FIELD(u.market_create.sport_event_id),
                               FIELD(u.market_create.market_type),
                               FIELD(u.market_create.line_quarters),
                               FIELD(u.market_create.odds_milli),
                               FIELD(u.market_create.stake_min_minor),
                               FIELD(u.market_create.stake_max_minor),
                               FIELD(u.market_create.odds_count)},
    [COMMAND_MARKET_SET_ODDS] = {FIELD(u.market_set_odds.market_id),
                                 FIELD(u.market_set_odds.odds_milli),
                                 FIELD(u.market_set_odds.odds_count)},
    [COMMAND_MARKET_SET_STATUS] = {FIELD(u.market_set_status.market_id),
                                   FIELD(u.market_set_status.status)},
    [COMMAND_MARKET_SETTLE] = {FIELD(u.market_settle.market_id),
                               FIELD(u.market_settle.results),
                               FIELD(u.market_settle.result_count)},
    [COMMAND_BET_PLACE] = {FIELD(u.bet_place.market_id), FIELD(u.bet_place.selection),
                           FIELD(u.bet_place.accept_better_odds), FIELD(u.bet_place.odds_milli),
                           FIELD(u.bet_place.stake_minor)},
    [COMMAND_DAY_START] = {FIELD(u.day.trading_date)},
    [COMMAND_DAY_END] = {FIELD(u.day.trading_date)},
    [COMMAND_ACTIVATE_LOGIC] = {FIELD(u.activate_logic.logic_version)},
    [COMMAND_COMMISSION_SET] = {FIELD(u.commission_set.account_id),
                                FIELD(u.commission_set.market_type),
                                FIELD(u.commission_set.rate_bp)},
};

static size_t append_fields(uint8_t *out, const struct command *c,
                            const struct field_spec *fields)
{
    size_t length = 0;
    for (uint32_t i = 0; i < FIELDS_MAX && fields[i].size != 0; i++) {
        memcpy(out + length, (const uint8_t *)c + fields[i].offset, fields[i].size);
        length += fields[i].size;
    }
    return length;
}

/* The expected encoding of c, built from the tables above. */
static size_t reference_encode(const struct command *c, uint8_t *out)
{
    size_t length = 4;
    length += append_fields(out + length, c, header_fields);
    length += append_fields(out + length, c, payload_fields[c->type]);
    out[0] = 1;
    out[1] = 0;
    out[2] = (uint8_t)(length - 4);
    out[3] = (uint8_t)((length - 4) >> 8);
    return length;
}

static void fill_bytes(uint8_t *bytes, size_t size, uint64_t *state)
{
    for (size_t i = 0; i < size; i++)
        bytes[i] = (uint8_t)xorshift(state);
}

static void make_account_payload(struct command *c, uint64_t *s)
{
    switch (c->type) {
    case COMMAND_ACCOUNT_CREATE:
        c->u.account_create.parent_id = (uint32_t)xorshift(s);
        c->u.account_create.kind = (uint8_t)xorshift(s); /* out of range passes through */
        c->u.account_create.credit_limit_minor = (int64_t)xorshift(s);
        break;
    case COMMAND_ACCOUNT_SET_STATUS:
        c->u.account_set_status.account_id = (uint32_t)xorshift(s);
        c->u.account_set_status.status = (uint8_t)xorshift(s);
        break;
    case COMMAND_ACCOUNT_SET_CREDIT:
        c->u.account_set_credit.account_id = (uint32_t)xorshift(s);
        c->u.account_set_credit.credit_limit_minor = (int64_t)xorshift(s);
        break;
    case COMMAND_ACCOUNT_SET_LIMITS:
        c->u.account_set_limits.account_id = (uint32_t)xorshift(s);
        c->u.account_set_limits.order_quantity_max = (int64_t)xorshift(s);
        c->u.account_set_limits.order_notional_max_minor = (int64_t)xorshift(s);
        c->u.account_set_limits.bet_stake_max_minor = (int64_t)xorshift(s);
        c->u.account_set_limits.exposure_limit_minor = (int64_t)xorshift(s);
        break;
    case COMMAND_ACCOUNT_SET_SECRET:
        c->u.account_set_secret.account_id = (uint32_t)xorshift(s);
        fill_bytes(c->u.account_set_secret.salt, SECRET_SALT_SIZE, s);
        fill_bytes(c->u.account_set_secret.hash, SECRET_HASH_SIZE, s);
        break;
    case COMMAND_CASH_DEPOSIT:
    case COMMAND_CASH_WITHDRAW:
        c->u.cash.account_id = (uint32_t)xorshift(s);
        c->u.cash.amount_minor = (int64_t)xorshift(s);
        break;
    case COMMAND_POSITION_GRANT:
        c->u.position_grant.account_id = (uint32_t)xorshift(s);
        c->u.position_grant.instrument_id = (uint32_t)xorshift(s);
        c->u.position_grant.quantity = (int64_t)xorshift(s);
        break;
    case COMMAND_PT_SET:
        c->u.pt_set.account_id = (uint32_t)xorshift(s);
        c->u.pt_set.market_type = (uint8_t)xorshift(s);
        c->u.pt_set.share_bp = (uint16_t)xorshift(s);
        c->u.pt_set.max_bp = (uint16_t)xorshift(s);
        break;
    case COMMAND_PT_OVERRIDE:
        c->u.pt_override.sport_event_id = (uint32_t)xorshift(s);
        c->u.pt_override.market_id = (uint32_t)xorshift(s);
        c->u.pt_override.share_bp = (uint16_t)xorshift(s);
        break;
    case COMMAND_COMMISSION_SET:
        c->u.commission_set.account_id = (uint32_t)xorshift(s);
        c->u.commission_set.market_type = (uint8_t)xorshift(s);
        c->u.commission_set.rate_bp = (uint16_t)xorshift(s);
        break;
    default: break;
    }
}

static void make_trading_payload(struct command *c, uint64_t *s)
{
    switch (c->type) {
    case COMMAND_INSTRUMENT_CREATE:
        fill_bytes((uint8_t *)c->u.instrument_create.symbol, SYMBOL_SIZE, s);
        c->u.instrument_create.tick_size_minor = (int64_t)xorshift(s);
        c->u.instrument_create.lot_size = (int64_t)xorshift(s);
        c->u.instrument_create.reference_price_ticks = (int64_t)xorshift(s);
        c->u.instrument_create.band_bp = (uint16_t)xorshift(s);
        c->u.instrument_create.fee_maker_bp = (uint16_t)xorshift(s);
        c->u.instrument_create.fee_taker_bp = (uint16_t)xorshift(s);
        break;
    case COMMAND_INSTRUMENT_SET_PHASE:
        c->u.instrument_set_phase.instrument_id = (uint32_t)xorshift(s);
        c->u.instrument_set_phase.phase = (uint8_t)xorshift(s);
        break;
    case COMMAND_INSTRUMENT_SET_REFERENCE:
        c->u.instrument_set_reference.instrument_id = (uint32_t)xorshift(s);
        c->u.instrument_set_reference.reference_price_ticks = (int64_t)xorshift(s);
        break;
    case COMMAND_ORDER_PLACE:
        c->u.order_place.instrument_id = (uint32_t)xorshift(s);
        c->u.order_place.side = (uint8_t)xorshift(s);
        c->u.order_place.order_type = (uint8_t)xorshift(s);
        c->u.order_place.time_in_force = (uint8_t)xorshift(s);
        c->u.order_place.price_ticks = (int64_t)xorshift(s);
        c->u.order_place.quantity = (int64_t)xorshift(s);
        c->u.order_place.client_order_id = xorshift(s);
        break;
    case COMMAND_ORDER_CANCEL: c->u.order_cancel.order_id = xorshift(s); break;
    case COMMAND_ORDER_REPLACE:
        c->u.order_replace.order_id = xorshift(s);
        c->u.order_replace.price_ticks = (int64_t)xorshift(s);
        c->u.order_replace.quantity = (int64_t)xorshift(s);
        break;
    case COMMAND_DAY_START:
    case COMMAND_DAY_END: c->u.day.trading_date = (uint32_t)xorshift(s); break;
    case COMMAND_ACTIVATE_LOGIC:
        c->u.activate_logic.logic_version = (uint32_t)xorshift(s);
        break;
    default: break;
    }
}

static void make_sportsbook_payload(struct command *c, uint64_t *s)
{
    switch (c->type) {
    case COMMAND_SPORT_EVENT_CREATE: c->u.sport_event_create.external_ref = xorshift(s); break;
    case COMMAND_MARKET_CREATE:
        c->u.market_create.sport_event_id = (uint32_t)xorshift(s);
        c->u.market_create.market_type = (uint8_t)xorshift(s);
        c->u.market_create.line_quarters = (int32_t)xorshift(s);
        for (uint32_t i = 0; i < SELECTIONS_MAX; i++)
            c->u.market_create.odds_milli[i] = (int32_t)xorshift(s);
        c->u.market_create.stake_min_minor = (int64_t)xorshift(s);
        c->u.market_create.stake_max_minor = (int64_t)xorshift(s);
        c->u.market_create.odds_count = (uint8_t)xorshift(s);
        break;
    case COMMAND_MARKET_SET_ODDS:
        c->u.market_set_odds.market_id = (uint32_t)xorshift(s);
        for (uint32_t i = 0; i < SELECTIONS_MAX; i++)
            c->u.market_set_odds.odds_milli[i] = (int32_t)xorshift(s);
        c->u.market_set_odds.odds_count = (uint8_t)xorshift(s);
        break;
    case COMMAND_MARKET_SET_STATUS:
        c->u.market_set_status.market_id = (uint32_t)xorshift(s);
        c->u.market_set_status.status = (uint8_t)xorshift(s);
        break;
    case COMMAND_MARKET_SETTLE:
        c->u.market_settle.market_id = (uint32_t)xorshift(s);
        fill_bytes(c->u.market_settle.results, SELECTIONS_MAX, s);
        c->u.market_settle.result_count = (uint8_t)xorshift(s);
        break;
    case COMMAND_BET_PLACE:
        c->u.bet_place.market_id = (uint32_t)xorshift(s);
        c->u.bet_place.selection = (uint8_t)xorshift(s);
        c->u.bet_place.accept_better_odds = (uint8_t)xorshift(s);
        c->u.bet_place.odds_milli = (int32_t)xorshift(s);
        c->u.bet_place.stake_minor = (int64_t)xorshift(s);
        break;
    default: break;
    }
}

/* A command of type with every field set to a value drawn from seed;
 * everything else (padding, the rest of the union) is zero. */
static struct command make_command(uint16_t type, uint64_t seed)
{
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + type + 1;
    struct command c;
    memset(&c, 0, sizeof c);
    c.type = type;
    c.sender_account_id = (uint32_t)xorshift(&state);
    c.client_id = xorshift(&state);
    c.client_seq = xorshift(&state);
    make_account_payload(&c, &state);
    make_trading_payload(&c, &state);
    make_sportsbook_payload(&c, &state);
    return c;
}

/* The nonzero bytes of the union: a sanity check that make_command set the
 * member of each type (a missed case would leave the union all zero). */
static size_t union_nonzero_bytes(const struct command *c)
{
    const uint8_t *bytes = (const uint8_t *)&c->u;
    size_t count = 0;
    for (size_t i = 0; i < sizeof c->u; i++)
        count += bytes[i] != 0;
    return count;
}

/* Encodes one command into buf; returns its length or 0 on error. */
static size_t encode_one(const struct command *c, uint8_t *buf, size_t capacity)
{
    struct byte_buffer target = {buf, capacity, 0};
    struct byte_writer writer;
    byte_writer_init(&writer, byte_buffer_flush, &target);
    int rv = command_encode(c, &writer);
    int finish = byte_writer_finish(&writer);
    return rv == 0 && finish == 0 ? target.length : 0;
}

static void put_u16_at(uint8_t *at, uint16_t value)
{
    at[0] = (uint8_t)value;
    at[1] = (uint8_t)(value >> 8);
}

static void put_u32_at(uint8_t *at, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        at[i] = (uint8_t)(value >> (8 * i));
}

/* Rewrites the trailing checksum after a deliberate change. */
static void batch_reseal(uint8_t *data, size_t length)
{
    uint64_t checksum = XXH3_64bits(data, length - BATCH_TRAILER_SIZE);
    for (uint32_t i = 0; i < BATCH_TRAILER_SIZE; i++)
        data[length - BATCH_TRAILER_SIZE + i] = (uint8_t)(checksum >> (8 * i));
}

/* One command of every type, in type order, seeded by index. */
static uint32_t make_every_type(struct command *commands, uint64_t seed)
{
    uint32_t count = 0;
    for (uint16_t type = 1; type < COMMAND_TYPE_COUNT; type++)
        commands[count++] = make_command(type, seed + type);
    return count;
}

#define BUFFER_SIZE 8192u

static struct command big_in[BATCH_COMMANDS_MAX];
static struct command big_out[BATCH_COMMANDS_MAX];
static uint8_t big_buffer[BATCH_SIZE_MAX];

/* ---- One command. ---- */

TEST(command_sizes)
{
    size_t largest = 0;
    for (uint16_t type = 1; type < COMMAND_TYPE_COUNT; type++) {
        CHECK(payload_sizes[type] > 0);
        CHECK_EQ_I64(command_encoded_size(type), 4 + 24 + payload_sizes[type]);
        largest = payload_sizes[type] > largest ? payload_sizes[type] : largest;
    }
    CHECK_EQ_I64(4 + 24 + largest, COMMAND_ENCODED_SIZE_MAX);
    CHECK_EQ_I64(command_encoded_size(COMMAND_ACCOUNT_SET_SECRET), COMMAND_ENCODED_SIZE_MAX);
    CHECK_EQ_I64(command_encoded_size(COMMAND_NONE), 0);
    CHECK_EQ_I64(command_encoded_size(COMMAND_TYPE_COUNT), 0);
    CHECK_EQ_I64(command_encoded_size(0xFFFF), 0);
    CHECK(BATCH_SIZE_MAX <= (1u << 20));
}

TEST(command_golden_bytes)
{
    struct command c;
    memset(&c, 0, sizeof c);
    c.type = COMMAND_ORDER_CANCEL;
    c.reserved = 0x7777; /* written as 0 */
    c.sender_account_id = 0x01020304;
    c.client_id = 0x1112131415161718ull;
    c.client_seq = 0x2122232425262728ull;
    c.u.order_cancel.order_id = 0x3132333435363738ull;
    static const uint8_t expected[] = {
        0x01, 0x00, 0x20, 0x00,                         /* version 1, length 32 */
        0x0F, 0x00, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01, /* type 15, reserved, sender */
        0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, /* client_id */
        0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, /* client_seq */
        0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31, /* order_id */
    };
    uint8_t buf[64];
    CHECK_EQ_I64(encode_one(&c, buf, sizeof buf), sizeof expected);
    CHECK(memcmp(buf, expected, sizeof expected) == 0);
    CHECK_EQ_I64(c.reserved, 0x7777); /* the caller's struct is untouched */

    /* A negative int64 and an int32 array, byte by byte. */
    memset(&c, 0, sizeof c);
    c.type = COMMAND_MARKET_SET_ODDS;
    c.u.market_set_odds.market_id = 5;
    c.u.market_set_odds.odds_milli[0] = 2150;
    c.u.market_set_odds.odds_milli[1] = -2;
    c.u.market_set_odds.odds_count = 2;
    CHECK_EQ_I64(encode_one(&c, buf, sizeof buf), 4 + 24 + 17);
    static const uint8_t payload[] = {5, 0, 0, 0, 0x66, 0x08, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF,
                                      0, 0, 0, 0, 2};
    CHECK(memcmp(buf + 28, payload, sizeof payload) == 0);
    CHECK_EQ_I64(buf[4], COMMAND_MARKET_SET_ODDS);
}

TEST(command_layout_is_declaration_order)
{
    const uint16_t probe = 1;
    CHECK(*(const uint8_t *)&probe == 1); /* the reference needs a little-endian host */
    for (uint16_t type = 1; type < COMMAND_TYPE_COUNT; type++) {
        struct command c = make_command(type, 77);
        uint8_t expected[128];
        uint8_t actual[128];
        size_t expected_length = reference_encode(&c, expected);
        CHECK_EQ_I64(expected_length, 4 + 24 + payload_sizes[type]);
        CHECK_EQ_I64(encode_one(&c, actual, sizeof actual), expected_length);
        if (memcmp(actual, expected, expected_length) != 0)
            fprintf(stderr, "  layout of %s differs\n", command_type_name(type));
        CHECK(memcmp(actual, expected, expected_length) == 0);
    }
}

TEST(command_round_trip_every_type)
{
    for (uint16_t type = 1; type < COMMAND_TYPE_COUNT; type++) {
        for (uint64_t seed = 0; seed < 4; seed++) {
            struct command in = make_command(type, seed);
            CHECK(union_nonzero_bytes(&in) >= payload_sizes[type] / 2);
            uint8_t buf[128];
            size_t length = encode_one(&in, buf, sizeof buf);
            CHECK_EQ_I64(length, command_encoded_size(type));
            struct command out;
            memset(&out, 0xAB, sizeof out); /* decode must zero it */
            struct byte_reader reader;
            byte_reader_init(&reader, buf, length);
            CHECK_EQ_I64(command_decode(&reader, &out), 0);
            CHECK_EQ_I64(reader.offset, length);
            CHECK(memcmp(&in, &out, sizeof in) == 0);
        }
    }
}

TEST(command_enums_pass_through)
{
    struct command in = make_command(COMMAND_ORDER_PLACE, 9);
    in.u.order_place.side = 0xEE;
    in.u.order_place.order_type = 0x7F;
    in.u.order_place.time_in_force = 0xFF;
    uint8_t buf[128];
    size_t length = encode_one(&in, buf, sizeof buf);
    CHECK(length > 0);
    struct command out;
    struct byte_reader reader;
    byte_reader_init(&reader, buf, length);
    CHECK_EQ_I64(command_decode(&reader, &out), 0);
    CHECK_EQ_I64(out.u.order_place.side, 0xEE);
    CHECK_EQ_I64(out.u.order_place.order_type, 0x7F);
    CHECK_EQ_I64(out.u.order_place.time_in_force, 0xFF);
}

static int decode_bytes(const uint8_t *buf, size_t length, struct command *out)
{
    struct byte_reader reader;
    byte_reader_init(&reader, buf, length);
    return command_decode(&reader, out);
}

TEST(command_decode_errors)
{
    struct command in = make_command(COMMAND_BET_PLACE, 3);
    uint8_t buf[128];
    size_t length = encode_one(&in, buf, sizeof buf);
    CHECK(length == command_encoded_size(COMMAND_BET_PLACE));
    struct command out;
    for (size_t prefix = 0; prefix < length; prefix++)
        CHECK_EQ_I64(decode_bytes(buf, prefix, &out), ERR_DECODE_NEED_MORE);

    uint8_t bad[128];
    memcpy(bad, buf, length);
    put_u16_at(bad, 2);
    CHECK_EQ_I64(decode_bytes(bad, length, &out), ERR_VERSION);
    put_u16_at(bad, 0);
    CHECK_EQ_I64(decode_bytes(bad, length, &out), ERR_VERSION);
    memcpy(bad, buf, length);
    put_u16_at(bad + 4, COMMAND_NONE);
    CHECK_EQ_I64(decode_bytes(bad, length, &out), ERR_DECODE_MALFORMED);
    put_u16_at(bad + 4, COMMAND_TYPE_COUNT);
    CHECK_EQ_I64(decode_bytes(bad, length, &out), ERR_DECODE_MALFORMED);
    memcpy(bad, buf, length);
    put_u16_at(bad + 6, 1); /* reserved */
    CHECK_EQ_I64(decode_bytes(bad, length, &out), ERR_DECODE_MALFORMED);
    /* A length one short of the type's fields, with the bytes present. */
    memcpy(bad, buf, length);
    put_u16_at(bad + 2, (uint16_t)(length - 5));
    CHECK_EQ_I64(decode_bytes(bad, length, &out), ERR_DECODE_MALFORMED);
    put_u16_at(bad + 2, 3); /* shorter than the record header */
    CHECK_EQ_I64(decode_bytes(bad, length, &out), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(out.type, 0); /* zeroed on error */

    struct byte_buffer target = {buf, sizeof buf, 0};
    struct byte_writer writer;
    byte_writer_init(&writer, byte_buffer_flush, &target);
    in.type = COMMAND_NONE;
    CHECK_EQ_I64(command_encode(&in, &writer), ERR_USAGE);
    in.type = COMMAND_TYPE_COUNT;
    CHECK_EQ_I64(command_encode(&in, &writer), ERR_USAGE);
    CHECK_EQ_I64(byte_writer_finish(&writer), 0);
    CHECK_EQ_I64(target.length, 0);
}

/* A newer writer appended fields: this reader reads what it knows and
 * stands after the whole record, ready for the next command. */
TEST(command_skips_trailing_fields)
{
    struct command first = make_command(COMMAND_ORDER_PLACE, 1);
    struct command second = make_command(COMMAND_DAY_START, 2);
    uint8_t buf[256];
    size_t length = encode_one(&first, buf, sizeof buf);
    CHECK(length > 0);
    put_u16_at(buf + 2, (uint16_t)(length - 4 + 6));
    memset(buf + length, 0x5A, 6);
    size_t second_length = encode_one(&second, buf + length + 6, sizeof buf - length - 6);
    CHECK(second_length > 0);
    struct byte_reader reader;
    byte_reader_init(&reader, buf, length + 6 + second_length);
    struct command out;
    CHECK_EQ_I64(command_decode(&reader, &out), 0);
    CHECK(memcmp(&out, &first, sizeof out) == 0);
    CHECK_EQ_I64(reader.offset, length + 6);
    CHECK_EQ_I64(command_decode(&reader, &out), 0);
    CHECK(memcmp(&out, &second, sizeof out) == 0);
    CHECK_EQ_I64(byte_reader_left(&reader), 0);
    CHECK_EQ_I64(command_decode(&reader, &out), ERR_DECODE_NEED_MORE);
}

/* MARKET_CREATE, MARKET_SET_ODDS and MARKET_SETTLE gained a count at
 * their end. A record of their first form (every log written before) has
 * no count: it decodes to what it meant, with the count 0, and the next
 * command is found where it was. Shorter than the first form is
 * malformed. */
TEST(command_first_forms_read_count_zero)
{
    const uint16_t types[] = {COMMAND_MARKET_CREATE, COMMAND_MARKET_SET_ODDS,
                              COMMAND_MARKET_SETTLE};
    for (uint32_t t = 0; t < 3; t++) {
        struct command in = make_command(types[t], 7 + t);
        struct command next = make_command(COMMAND_DAY_END, 9);
        uint8_t buf[256];
        size_t length = encode_one(&in, buf, sizeof buf);
        CHECK_EQ_I64(length, command_encoded_size(types[t]));
        /* The first form: the same bytes without the last one, the count. */
        size_t first = length - 1;
        put_u16_at(buf + 2, (uint16_t)(first - 4));
        size_t next_length = encode_one(&next, buf + first, sizeof buf - first);
        struct command expected = in;
        if (types[t] == COMMAND_MARKET_CREATE)
            expected.u.market_create.odds_count = 0;
        else if (types[t] == COMMAND_MARKET_SET_ODDS)
            expected.u.market_set_odds.odds_count = 0;
        else
            expected.u.market_settle.result_count = 0;
        struct byte_reader reader;
        byte_reader_init(&reader, buf, first + next_length);
        struct command out;
        memset(&out, 0xAB, sizeof out);
        CHECK_EQ_I64(command_decode(&reader, &out), 0);
        CHECK(memcmp(&out, &expected, sizeof out) == 0);
        CHECK_EQ_I64(reader.offset, first);
        CHECK_EQ_I64(command_decode(&reader, &out), 0);
        CHECK(memcmp(&out, &next, sizeof out) == 0);
        put_u16_at(buf + 2, (uint16_t)(first - 4 - 1));
        CHECK_EQ_I64(decode_bytes(buf, first, &out), ERR_DECODE_MALFORMED);
    }
}

/* ---- Batches. ---- */

TEST(batch_round_trip)
{
    struct command in[COMMAND_TYPE_COUNT];
    struct command out[COMMAND_TYPE_COUNT];
    uint32_t count = make_every_type(in, 100);
    uint8_t buf[BUFFER_SIZE];
    size_t length = 0;
    CHECK_EQ_I64(batch_encode(0x0102030405060708ull, in, count, buf, sizeof buf, &length), 0);
    size_t expected = 20 + 8;
    for (uint32_t i = 0; i < count; i++)
        expected += 4 + 24 + payload_sizes[in[i].type];
    CHECK_EQ_I64(length, expected);
    CHECK_EQ_I64(batch_encoded_size(in, count), expected);
    memset(out, 0xCD, sizeof out);
    uint64_t timestamp_ns = 0;
    uint32_t decoded = 0;
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, count, &decoded), 0);
    CHECK_EQ_I64(decoded, count);
    CHECK(timestamp_ns == 0x0102030405060708ull);
    CHECK(memcmp(in, out, count * sizeof in[0]) == 0);

    /* An empty batch is valid: 28 bytes. */
    CHECK_EQ_I64(batch_encode(7, NULL, 0, buf, sizeof buf, &length), 0);
    CHECK_EQ_I64(length, 28);
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, 0, &decoded), 0);
    CHECK_EQ_I64(decoded, 0);
    CHECK_EQ_I64(timestamp_ns, 7);
}

TEST(batch_golden_header)
{
    struct command c = make_command(COMMAND_DAY_END, 1);
    uint8_t buf[128];
    size_t length = 0;
    CHECK_EQ_I64(batch_encode(0x1122334455667788ull, &c, 1, buf, sizeof buf, &length), 0);
    CHECK_EQ_I64(length, 20 + 4 + 24 + 4 + 8);
    static const uint8_t header[] = {'N', 'D', 'C', 'B', 1, 0, 0, 0,
                                     0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                                     1, 0, 0, 0};
    CHECK(memcmp(buf, header, sizeof header) == 0);
    uint8_t one[64];
    CHECK_EQ_I64(encode_one(&c, one, sizeof one), 32);
    CHECK(memcmp(buf + 20, one, 32) == 0);
    uint64_t checksum = XXH3_64bits(buf, 52);
    for (int i = 0; i < 8; i++)
        CHECK_EQ_I64(buf[52 + i], (uint8_t)(checksum >> (8 * i)));
    struct batch_header h;
    CHECK_EQ_I64(batch_decode_header(buf, length, &h), 0);
    CHECK_EQ_I64(h.magic, BATCH_MAGIC);
    CHECK_EQ_I64(h.format_version, 1);
    CHECK_EQ_I64(h.flags, 0);
    CHECK(h.timestamp_ns == 0x1122334455667788ull);
    CHECK_EQ_I64(h.command_count, 1);
    CHECK_EQ_I64(batch_decode_header(buf, 19, &h), ERR_DECODE_NEED_MORE);
}

TEST(batch_every_prefix_needs_more)
{
    struct command in[COMMAND_TYPE_COUNT];
    struct command out[COMMAND_TYPE_COUNT];
    uint32_t count = make_every_type(in, 200);
    uint8_t buf[BUFFER_SIZE];
    size_t length = 0;
    CHECK_EQ_I64(batch_encode(1, in, count, buf, sizeof buf, &length), 0);
    for (size_t prefix = 0; prefix < length; prefix++) {
        /* A copy of exactly prefix bytes, so ASan sees any overread. */
        uint8_t *copy = malloc(prefix > 0 ? prefix : 1);
        CHECK(copy != NULL);
        memcpy(copy, buf, prefix);
        uint64_t timestamp_ns = 99;
        uint32_t decoded = 99;
        int rv = batch_decode(copy, prefix, &timestamp_ns, out, count, &decoded);
        free(copy);
        CHECK_EQ_I64(rv, ERR_DECODE_NEED_MORE);
        CHECK_EQ_I64(decoded, 0);
        CHECK_EQ_I64(timestamp_ns, 0);
    }
}

TEST(batch_every_byte_corruption_is_error)
{
    struct command in[COMMAND_TYPE_COUNT];
    struct command out[COMMAND_TYPE_COUNT];
    uint32_t count = make_every_type(in, 300);
    uint8_t buf[BUFFER_SIZE];
    uint8_t bad[BUFFER_SIZE];
    size_t length = 0;
    CHECK_EQ_I64(batch_encode(1, in, count, buf, sizeof buf, &length), 0);
    static const uint8_t masks[] = {0x01, 0x02, 0x10, 0x80, 0xFF, 0x5A};
    for (size_t at = 0; at < length; at++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(bad, buf, length);
            bad[at] ^= masks[m];
            uint64_t timestamp_ns;
            uint32_t decoded = 99;
            int rv = batch_decode(bad, length, &timestamp_ns, out, count, &decoded);
            CHECK(rv < 0);
            CHECK_EQ_I64(decoded, 0);
            if (at >= length - BATCH_TRAILER_SIZE || (at >= 8 && at < 16))
                CHECK_EQ_I64(rv, ERR_CHECKSUM); /* checksum or timestamp */
            if (at < 4)
                CHECK_EQ_I64(rv, ERR_DECODE_MALFORMED); /* magic */
            if (at == 4 || at == 5)
                CHECK_EQ_I64(rv, ERR_VERSION);
        }
    }
}

TEST(batch_wrong_version)
{
    struct command in[2] = {make_command(COMMAND_CASH_DEPOSIT, 1),
                            make_command(COMMAND_BET_PLACE, 2)};
    struct command out[2];
    uint8_t buf[256];
    size_t length = 0;
    CHECK_EQ_I64(batch_encode(1, in, 2, buf, sizeof buf, &length), 0);
    uint64_t timestamp_ns;
    uint32_t decoded;
    put_u16_at(buf + 4, 2);
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, 2, &decoded), ERR_VERSION);
    batch_reseal(buf, length);
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, 2, &decoded), ERR_VERSION);
    /* Even a prefix names the version once the header is whole. */
    CHECK_EQ_I64(batch_decode(buf, 20, &timestamp_ns, out, 2, &decoded), ERR_VERSION);
    put_u16_at(buf + 4, 1);
    batch_reseal(buf, length);
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, 2, &decoded), 0);
    /* The second command's version, with a valid checksum. */
    size_t second = 20 + command_encoded_size(COMMAND_CASH_DEPOSIT);
    put_u16_at(buf + second, 2);
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, 2, &decoded), ERR_CHECKSUM);
    batch_reseal(buf, length);
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, 2, &decoded), ERR_VERSION);
    CHECK_EQ_I64(decoded, 0);
}

TEST(batch_malformed)
{
    struct command in[3] = {make_command(COMMAND_ORDER_PLACE, 1),
                            make_command(COMMAND_ORDER_CANCEL, 2),
                            make_command(COMMAND_MARKET_SETTLE, 3)};
    struct command out[3];
    uint8_t buf[512];
    uint8_t bad[512];
    size_t length = 0;
    CHECK_EQ_I64(batch_encode(1, in, 3, buf, sizeof buf, &length), 0);
    uint64_t timestamp_ns;
    uint32_t decoded;
    memcpy(bad, buf, length);
    put_u32_at(bad + 16, BATCH_COMMANDS_MAX + 1);
    CHECK_EQ_I64(batch_decode(bad, length, &timestamp_ns, out, 3, &decoded),
                 ERR_DECODE_MALFORMED);
    put_u32_at(bad + 16, UINT32_MAX);
    CHECK_EQ_I64(batch_decode(bad, length, &timestamp_ns, out, 3, &decoded),
                 ERR_DECODE_MALFORMED);
    memcpy(bad, buf, length);
    put_u16_at(bad + 6, 1); /* flags */
    batch_reseal(bad, length);
    CHECK_EQ_I64(batch_decode(bad, length, &timestamp_ns, out, 3, &decoded),
                 ERR_DECODE_MALFORMED);
    memcpy(bad, buf, length);
    bad[length] = 0; /* one byte after the checksum */
    CHECK_EQ_I64(batch_decode(bad, length + 1, &timestamp_ns, out, 3, &decoded),
                 ERR_DECODE_MALFORMED);
    /* Count 2 of 3: the third command is read as checksum plus junk. */
    memcpy(bad, buf, length);
    put_u32_at(bad + 16, 2);
    CHECK_EQ_I64(batch_decode(bad, length, &timestamp_ns, out, 3, &decoded),
                 ERR_DECODE_MALFORMED);
    /* A resealed unknown command type and a resealed reserved field. */
    memcpy(bad, buf, length);
    put_u16_at(bad + 24, 0x4000);
    batch_reseal(bad, length);
    CHECK_EQ_I64(batch_decode(bad, length, &timestamp_ns, out, 3, &decoded),
                 ERR_DECODE_MALFORMED);
    memcpy(bad, buf, length);
    put_u16_at(bad + 26, 1);
    batch_reseal(bad, length);
    CHECK_EQ_I64(batch_decode(bad, length, &timestamp_ns, out, 3, &decoded),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, 2, &decoded), ERR_CAPACITY);
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, 3, &decoded), 0);
    CHECK_EQ_I64(decoded, 3);
}

TEST(batch_encode_errors)
{
    struct command in[2] = {make_command(COMMAND_ORDER_PLACE, 1),
                            make_command(COMMAND_ORDER_CANCEL, 2)};
    uint8_t buf[256];
    size_t length = 99;
    size_t need = batch_encoded_size(in, 2);
    CHECK_EQ_I64(need, 20 + 59 + 36 + 8);
    CHECK_EQ_I64(batch_encode(1, in, 2, buf, need - 1, &length), ERR_CAPACITY);
    CHECK_EQ_I64(length, 0);
    CHECK_EQ_I64(batch_encode(1, in, 2, buf, need, &length), 0);
    CHECK_EQ_I64(length, need);
    CHECK_EQ_I64(batch_encode(1, in, BATCH_COMMANDS_MAX + 1, buf, sizeof buf, &length),
                 ERR_USAGE);
    in[1].type = COMMAND_NONE;
    CHECK_EQ_I64(batch_encoded_size(in, 2), 0);
    CHECK_EQ_I64(batch_encode(1, in, 2, buf, sizeof buf, &length), ERR_USAGE);
}

/* The largest batch a writer may produce fits BATCH_SIZE_MAX exactly. */
TEST(batch_largest)
{
    for (uint32_t i = 0; i < BATCH_COMMANDS_MAX; i++)
        big_in[i] = make_command(COMMAND_ACCOUNT_SET_SECRET, i);
    size_t length = 0;
    CHECK_EQ_I64(batch_encode(5, big_in, BATCH_COMMANDS_MAX, big_buffer, sizeof big_buffer,
                              &length),
                 0);
    CHECK_EQ_I64(length, BATCH_SIZE_MAX);
    uint64_t timestamp_ns;
    uint32_t decoded;
    CHECK_EQ_I64(batch_decode(big_buffer, length, &timestamp_ns, big_out, BATCH_COMMANDS_MAX,
                              &decoded),
                 0);
    CHECK_EQ_I64(decoded, BATCH_COMMANDS_MAX);
    CHECK(memcmp(big_in, big_out, sizeof big_in) == 0);
}

/* A batch whose commands carry 3 unknown trailing bytes each. */
TEST(batch_skips_trailing_fields)
{
    struct command in[COMMAND_TYPE_COUNT];
    struct command out[COMMAND_TYPE_COUNT];
    uint32_t count = make_every_type(in, 400);
    uint8_t buf[BUFFER_SIZE];
    size_t at = 20;
    put_u32_at(buf, BATCH_MAGIC);
    put_u16_at(buf + 4, 1);
    put_u16_at(buf + 6, 0);
    memset(buf + 8, 0, 8);
    put_u32_at(buf + 16, count);
    for (uint32_t i = 0; i < count; i++) {
        size_t one = encode_one(&in[i], buf + at, sizeof buf - at);
        CHECK(one > 0);
        put_u16_at(buf + at + 2, (uint16_t)(one - 4 + 3));
        memset(buf + at + one, 0xEE, 3);
        at += one + 3;
    }
    size_t length = at + BATCH_TRAILER_SIZE;
    batch_reseal(buf, length);
    uint64_t timestamp_ns;
    uint32_t decoded;
    CHECK_EQ_I64(batch_decode(buf, length, &timestamp_ns, out, count, &decoded), 0);
    CHECK_EQ_I64(decoded, count);
    CHECK(memcmp(in, out, count * sizeof in[0]) == 0);
}

/* ---- Fuzz. ---- */

#define FUZZ_SEED 0x6E6F646F776E31ull
#define FUZZ_RANDOM_RUNS 100000u
#define FUZZ_MUTATED_RUNS 100000u
#define FUZZ_CAPACITY 64u

/* Whatever decodes must survive a second round trip unchanged. */
static int fuzz_stable(const struct command *commands, uint32_t count, uint64_t timestamp_ns)
{
    static uint8_t again[BUFFER_SIZE * 2];
    static struct command back[FUZZ_CAPACITY];
    size_t length = 0;
    if (batch_encode(timestamp_ns, commands, count, again, sizeof again, &length) != 0)
        return 0;
    uint64_t back_ns = 0;
    uint32_t back_count = 0;
    if (batch_decode(again, length, &back_ns, back, FUZZ_CAPACITY, &back_count) != 0)
        return 0;
    return back_count == count && back_ns == timestamp_ns &&
           memcmp(back, commands, count * sizeof back[0]) == 0;
}

static int fuzz_known_result(int rv)
{
    return rv == 0 || rv == ERR_DECODE_NEED_MORE || rv == ERR_DECODE_MALFORMED ||
           rv == ERR_VERSION || rv == ERR_CHECKSUM || rv == ERR_CAPACITY;
}

TEST(fuzz_random_bytes)
{
    uint64_t state = FUZZ_SEED;
    static struct command out[FUZZ_CAPACITY];
    for (uint32_t run = 0; run < FUZZ_RANDOM_RUNS; run++) {
        size_t size = (size_t)(xorshift(&state) % 200);
        uint8_t *data = malloc(size > 0 ? size : 1);
        CHECK(data != NULL);
        fill_bytes(data, size, &state);
        /* A valid magic and version in half the runs, to get further in. */
        if (size >= 8 && (run & 1)) {
            put_u32_at(data, BATCH_MAGIC);
            put_u16_at(data + 4, 1);
            data[6] = data[7] = 0;
            if (size >= 20)
                put_u32_at(data + 16, (uint32_t)(xorshift(&state) % 4));
        }
        uint64_t timestamp_ns;
        uint32_t count;
        int rv = batch_decode(data, size, &timestamp_ns, out, FUZZ_CAPACITY, &count);
        struct byte_reader reader;
        byte_reader_init(&reader, data, size);
        struct command one;
        int one_rv = command_decode(&reader, &one);
        free(data);
        CHECK(fuzz_known_result(rv));
        CHECK(fuzz_known_result(one_rv));
        CHECK(rv != 0 || fuzz_stable(out, count, timestamp_ns));
    }
}

/* One random change: flip, set, truncate, extend or rewrite a length. */
static size_t fuzz_mutate(uint8_t *data, size_t length, size_t capacity, uint64_t *state)
{
    uint64_t r = xorshift(state);
    size_t at = length == 0 ? 0 : (size_t)((r >> 8) % length);
    switch (r % 5) {
    case 0: data[at] ^= (uint8_t)(1u << ((r >> 40) % 8)); return length;
    case 1: data[at] = (uint8_t)(r >> 48); return length;
    case 2: return at;
    case 3: {
        size_t extra = (size_t)((r >> 40) % 16);
        extra = length + extra > capacity ? capacity - length : extra;
        fill_bytes(data + length, extra, state);
        return length + extra;
    }
    default:
        if (at + 1 < length)
            put_u16_at(data + at, (uint16_t)((r >> 32) % 128));
        return length;
    }
}

TEST(fuzz_mutated_batches)
{
    uint64_t state = FUZZ_SEED ^ 0xFFFF;
    static struct command in[FUZZ_CAPACITY];
    static struct command out[FUZZ_CAPACITY];
    static uint8_t valid[BUFFER_SIZE];
    for (uint32_t run = 0; run < FUZZ_MUTATED_RUNS; run++) {
        uint32_t count = (uint32_t)(xorshift(&state) % 6);
        for (uint32_t i = 0; i < count; i++) {
            uint16_t type = (uint16_t)(1 + xorshift(&state) % (COMMAND_TYPE_COUNT - 1));
            in[i] = make_command(type, xorshift(&state));
        }
        size_t length = 0;
        CHECK_EQ_I64(batch_encode(run, in, count, valid, sizeof valid, &length), 0);
        uint8_t *data = malloc(length + 64);
        CHECK(data != NULL);
        memcpy(data, valid, length);
        size_t size = length;
        uint32_t mutations = 1 + (uint32_t)(xorshift(&state) % 3);
        for (uint32_t m = 0; m < mutations; m++)
            size = fuzz_mutate(data, size, length + 64, &state);
        /* Resealed in half the runs, so the commands themselves are tried. */
        int resealed = (run & 1) && size >= 28;
        if (resealed)
            batch_reseal(data, size);
        int same = size == length && memcmp(data, valid, length) == 0;
        uint8_t *exact = malloc(size > 0 ? size : 1); /* exactly size, for ASan */
        CHECK(exact != NULL);
        memcpy(exact, data, size);
        free(data);
        uint64_t timestamp_ns;
        uint32_t decoded;
        int rv = batch_decode(exact, size, &timestamp_ns, out, FUZZ_CAPACITY, &decoded);
        free(exact);
        CHECK(fuzz_known_result(rv));
        CHECK(rv != 0 || resealed || same); /* unsealed damage never decodes */
        CHECK(rv != 0 || fuzz_stable(out, decoded, timestamp_ns));
        if (rv == 0 && same)
            CHECK(decoded == count && memcmp(in, out, count * sizeof in[0]) == 0);
    }
}

TEST_MAIN()
