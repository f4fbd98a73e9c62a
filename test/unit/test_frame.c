/* Tests of the frame codec of the native protocol (src/codec/frame.h).
 *
 * Sizes and golden bytes are written out by hand from docs/protocol.md, not
 * computed by the codec. Every sample frame has its fields set to distinct
 * values and is compared whole with memcmp after a round trip (both sides
 * start zeroed). Every proper prefix of every sample must ask for more
 * bytes; the malformed cases are built by hand, one rule each.
 */
#include <stddef.h>

#include "codec/command_codec.h"
#include "codec/frame.h"
#include "core/odds.h"
#include "core/result.h"
#include "test.h"

/* ---- Samples. ---- */

static void sample_command(struct command *command)
{
    memset(command, 0, sizeof *command);
    command->type = COMMAND_ORDER_PLACE;
    command->sender_account_id = 0x11223344u;
    command->client_id = 0x0102030405060708u;
    command->client_seq = 0x1112131415161718u;
    command->u.order_place.instrument_id = 7;
    command->u.order_place.side = SIDE_SELL;
    command->u.order_place.order_type = ORDER_TYPE_LIMIT;
    command->u.order_place.time_in_force = TIF_IOC;
    command->u.order_place.price_ticks = 123456;
    command->u.order_place.quantity = -5;
    command->u.order_place.client_order_id = 0xA1A2A3A4A5A6A7A8u;
}

static void sample_query(struct frame *frame, uint16_t query_type)
{
    struct frame_query *query = &frame->u.query;
    query->query_type = query_type;
    query->request_id = 0x5152535455565758u;
    switch (query_type) {
    case QUERY_ACCOUNT:
        query->u.account.account_id = 0x01020304u;
        break;
    case QUERY_POSITIONS:
        query->u.positions.account_id = 0x01020304u;
        query->u.positions.instrument_id_from = 0x05060708u;
        break;
    case QUERY_ORDER:
        query->u.order.order_id = 0x0908070605040302u;
        break;
    case QUERY_BOOK:
        query->u.book.instrument_id = 3;
        query->u.book.level_count = QUERY_LEVELS_MAX;
        break;
    case QUERY_EXPOSURE:
        query->u.exposure.account_id = 9;
        query->u.exposure.market_id = 0x0A0B0C0Du;
        break;
    default:
        query->u.odds.market_id = 0x0A0B0C0Du;
        query->u.odds.odds_format = ODDS_FORMAT_FRACTIONAL;
        break;
    }
}

static void sample_result_account(struct query_account *account)
{
    account->account_id = 0x01020304u;
    account->parent_id = 0x05060708u;
    account->kind = ACCOUNT_KIND_MEMBER;
    account->status = ACCOUNT_STATUS_SUSPENDED;
    int64_t *fields[] = {&account->balance_minor, &account->credit_limit_minor,
                         &account->reserved_minor, &account->stake_open_minor,
                         &account->available_minor, &account->order_quantity_max,
                         &account->order_notional_max_minor, &account->bet_stake_max_minor,
                         &account->exposure_limit_minor, &account->day_fees_minor};
    for (int i = 0; i < 10; i++)
        *fields[i] = -(int64_t)(i + 1) * 1000003 - ((int64_t)i << 40);
    for (int i = 0; i < MARKET_TYPE_COUNT; i++) {
        account->pt_share_bp[i] = (uint16_t)(100 + i);
        account->pt_max_bp[i] = (uint16_t)(9000 + i);
    }
}

static void sample_result_rows(struct frame_query_result *result, uint16_t query_type)
{
    switch (query_type) {
    case QUERY_POSITIONS:
        result->u.positions.account_id = 77;
        result->u.positions.more = 1;
        result->u.positions.count = 3;
        for (uint32_t i = 0; i < 3; i++) {
            result->u.positions.positions[i].instrument_id = 10 + i;
            result->u.positions.positions[i].quantity = -(int64_t)i * 5 - 1;
            result->u.positions.positions[i].quantity_reserved = (int64_t)i << 33;
        }
        break;
    case QUERY_ORDER:
        result->u.order = (struct query_order){0x0102030405060708u, 0x1112131415161718u, 21, 22,
                                               SIDE_SELL, 3, 1234, 500, 250, 0};
        break;
    case QUERY_BOOK:
        result->u.book.instrument_id = 4;
        result->u.book.phase = PHASE_OPEN;
        result->u.book.last_price_ticks = 10050;
        result->u.book.bid_count = 2;
        result->u.book.ask_count = 1;
        result->u.book.bids[0] = (struct query_level){10049, 7};
        result->u.book.bids[1] = (struct query_level){10048, 8};
        result->u.book.asks[0] = (struct query_level){10051, 9};
        break;
    case QUERY_EXPOSURE:
        result->u.exposure.account_id = 5;
        result->u.exposure.market_id = 6;
        result->u.exposure.selection_count = 3;
        result->u.exposure.worst_minor = -98765;
        for (int i = 0; i < 3; i++) {
            result->u.exposure.win_liability_minor[i] = 1000 * (i + 1);
            result->u.exposure.stake_in_minor[i] = -7 * (i + 1);
        }
        break;
    default:
        result->u.odds.market_id = 8;
        result->u.odds.market_type = MARKET_TYPE_HANDICAP;
        result->u.odds.status = MARKET_STATUS_SUSPENDED;
        result->u.odds.odds_format = ODDS_FORMAT_FRACTIONAL;
        result->u.odds.selection_count = 2;
        result->u.odds.line_quarters = -3;
        result->u.odds.prices[0] = (struct query_price){2150, 0, 23, 20};
        result->u.odds.prices[1] = (struct query_price){1870, 0, 87, 100};
        break;
    }
}

static void sample_query_result(struct frame *frame, uint16_t query_type)
{
    struct frame_query_result *result = &frame->u.query_result;
    result->request_id = 0x6162636465666768u;
    result->result = RESULT_OK;
    result->query_type = query_type;
    if (query_type == QUERY_ACCOUNT)
        sample_result_account(&result->u.account);
    else
        sample_result_rows(result, query_type);
}

/* A frame of this type with distinct values; variant picks the query type
 * of QUERY and QUERY_RESULT (1..QUERY_TYPE_COUNT - 1), and LOGON_OK's
 * form: 1 version 1 (no window), 2 version 2. */
static void sample_frame(struct frame *frame, uint8_t type, uint16_t variant)
{
    memset(frame, 0, sizeof *frame);
    frame->type = type;
    switch (type) {
    case FRAME_HELLO:
        frame->u.hello = (struct frame_hello){1, 2, 0x0807060504030201u};
        break;
    case FRAME_WELCOME:
        frame->u.welcome = (struct frame_welcome){1, 0xA0B0C0D0u, 0x0102030405060708u};
        break;
    case FRAME_LOGON:
        frame->u.logon.account_id = 0x31323334u;
        frame->u.logon.secret_size = 6;
        memcpy(frame->u.logon.secret, "s3cr\0t", 6);
        break;
    case FRAME_LOGON_OK:
        frame->u.logon_ok = (struct frame_logon_ok){0x31323334u, 0x4142434445464748u,
                                                    variant == 2 ? 32 : 0};
        break;
    case FRAME_COMMAND:
        sample_command(&frame->u.command);
        break;
    case FRAME_OUTCOME:
        frame->u.outcome = (struct frame_outcome){0x0102030405060708u, REJECT_ODDS_CHANGED,
                                                  COMMAND_BET_PLACE, 1, 0x1112131415161718u,
                                                  -2, 0x2122232425262728u, 0, 0};
        break;
    case FRAME_ERROR:
        frame_error_set(frame, FRAME_ERROR_OVERLOADED, "queue full: 4096 frames");
        break;
    case FRAME_PING:
    case FRAME_PONG:
        frame->u.ping.nonce = 0xF1F2F3F4F5F6F7F8u;
        break;
    case FRAME_QUERY:
        sample_query(frame, variant);
        break;
    default:
        sample_query_result(frame, variant);
        break;
    }
}

/* Payload bytes of each sample, from docs/protocol.md. */
static size_t sample_payload_size(uint8_t type, uint16_t variant)
{
    static const size_t query_sizes[QUERY_TYPE_COUNT] = {0, 14, 18, 18, 16, 18, 15};
    static const size_t result_sizes[QUERY_TYPE_COUNT] = {
        0, 12 + 102, 12 + 7 + 3 * 20, 12 + 50, 12 + 17 + 3 * 16, 12 + 65, 12 + 96};
    static const size_t sizes[FRAME_TYPE_COUNT] = {0, 16, 14, 6 + 6, 12, 4 + 24 + 31, 37,
                                                   4 + 23, 8, 8};
    if (type == FRAME_QUERY)
        return query_sizes[variant];
    if (type == FRAME_QUERY_RESULT)
        return result_sizes[variant];
    if (type == FRAME_LOGON_OK && variant == 2)
        return sizes[type] + 2; /* version 2: the session window */
    return sizes[type];
}

/* Encodes f into buffer and checks the size; returns the size or 0. */
static size_t encode_checked(const struct frame *frame, uint8_t *buffer, size_t capacity)
{
    size_t length = 0;
    if (frame_encode(frame, buffer, capacity, &length) != 0)
        return 0;
    if (length != frame_encoded_size(frame))
        return 0;
    return length;
}

static int decode_rv(const uint8_t *data, size_t size)
{
    struct frame frame;
    size_t consumed = 99;
    int rv = frame_decode(data, size, &frame, &consumed);
    if (rv != 0 && consumed != 0)
        return 1000; /* consumed must be 0 on error */
    return rv;
}

static void put_u32(uint8_t *at, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        at[i] = (uint8_t)(value >> (8 * i));
}

static void put_u16(uint8_t *at, uint16_t value)
{
    at[0] = (uint8_t)value;
    at[1] = (uint8_t)(value >> 8);
}

/* ---- Round trips. ---- */

static int round_trip_one(uint8_t type, uint16_t variant)
{
    static uint8_t buffer[FRAME_BUFFER_SIZE];
    static struct frame in;
    static struct frame out;
    sample_frame(&in, type, variant);
    size_t length = encode_checked(&in, buffer, sizeof buffer);
    if (length != FRAME_HEADER_SIZE + sample_payload_size(type, variant))
        return 1;
    uint32_t declared = (uint32_t)buffer[0] | (uint32_t)buffer[1] << 8;
    if (declared != length - 4 || buffer[2] != 0 || buffer[3] != 0 || buffer[4] != type)
        return 2;
    memset(&out, 0xEE, sizeof out);
    size_t consumed = 0;
    if (frame_decode(buffer, length, &out, &consumed) != 0 || consumed != length)
        return 3;
    if (out.type != in.type)
        return 4;
    uint8_t again[FRAME_BUFFER_SIZE];
    size_t again_length = encode_checked(&out, again, sizeof again);
    if (again_length != length || memcmp(again, buffer, length) != 0)
        return 5;
    /* Every proper prefix asks for more. */
    for (size_t cut = 0; cut < length; cut++)
        if (decode_rv(buffer, cut) != ERR_DECODE_NEED_MORE)
            return 6;
    return 0;
}

TEST(round_trip_every_type)
{
    for (uint8_t type = FRAME_HELLO; type < FRAME_TYPE_COUNT; type++) {
        uint16_t variants = type >= FRAME_QUERY      ? QUERY_TYPE_COUNT - 1
                            : type == FRAME_LOGON_OK ? 2
                                                     : 1;
        for (uint16_t variant = 1; variant <= variants; variant++) {
            int rv = round_trip_one(type, variant);
            if (rv != 0)
                fprintf(stderr, "  type %s variant %u: step %d\n", frame_type_name(type),
                        variant, rv);
            CHECK_EQ_I64(rv, 0);
        }
    }
}

/* The decoded struct equals the sample field by field (memcmp of the
 * member, both sides zeroed before they were filled). */
TEST(round_trip_struct_equal)
{
    static struct frame in;
    static struct frame out;
    uint8_t buffer[FRAME_BUFFER_SIZE];
    for (uint8_t type = FRAME_HELLO; type < FRAME_TYPE_COUNT; type++) {
        uint16_t variants = type >= FRAME_QUERY      ? QUERY_TYPE_COUNT - 1
                            : type == FRAME_LOGON_OK ? 2
                                                     : 1;
        for (uint16_t variant = 1; variant <= variants; variant++) {
            sample_frame(&in, type, variant);
            memset(&out, 0, sizeof out);
            size_t length = encode_checked(&in, buffer, sizeof buffer);
            CHECK(length > 0);
            size_t consumed = 0;
            CHECK_EQ_I64(frame_decode(buffer, length, &out, &consumed), 0);
            CHECK(memcmp(&in, &out, sizeof in) == 0);
        }
    }
}

TEST(golden_hello)
{
    struct frame frame;
    sample_frame(&frame, FRAME_HELLO, 1);
    uint8_t buffer[64];
    size_t length = encode_checked(&frame, buffer, sizeof buffer);
    const uint8_t expected[] = {17, 0, 0, 0, 1, 'N', 'D', 'W', 'N', 1, 0, 2, 0,
                                1,  2, 3, 4, 5, 6, 7, 8};
    CHECK_EQ_I64(length, sizeof expected);
    CHECK(memcmp(buffer, expected, sizeof expected) == 0);
}

/* LOGON_OK: 12 bytes in version 1, 14 with the session window in 2. */
TEST(golden_logon_ok)
{
    struct frame frame;
    uint8_t buffer[64];
    sample_frame(&frame, FRAME_LOGON_OK, 1);
    const uint8_t v1[] = {13, 0, 0, 0, FRAME_LOGON_OK, 0x34, 0x33, 0x32, 0x31,
                          0x48, 0x47, 0x46, 0x45, 0x44, 0x43, 0x42, 0x41};
    CHECK_EQ_I64(encode_checked(&frame, buffer, sizeof buffer), sizeof v1);
    CHECK(memcmp(buffer, v1, sizeof v1) == 0);
    sample_frame(&frame, FRAME_LOGON_OK, 2);
    uint8_t v2[sizeof v1 + 2];
    memcpy(v2, v1, sizeof v1);
    v2[0] = 15;
    v2[sizeof v1] = 32;
    v2[sizeof v1 + 1] = 0;
    CHECK_EQ_I64(encode_checked(&frame, buffer, sizeof buffer), sizeof v2);
    CHECK(memcmp(buffer, v2, sizeof v2) == 0);
    /* A window of 0, or one byte of it, is malformed. */
    v2[sizeof v1] = 0;
    CHECK_EQ_I64(decode_rv(v2, sizeof v2), ERR_DECODE_MALFORMED);
    v2[0] = 14;
    CHECK_EQ_I64(decode_rv(v2, sizeof v2 - 1), ERR_DECODE_MALFORMED);
}

TEST(golden_outcome)
{
    struct frame frame;
    sample_frame(&frame, FRAME_OUTCOME, 1);
    uint8_t buffer[64];
    size_t length = encode_checked(&frame, buffer, sizeof buffer);
    const uint8_t expected[] = {38, 0, 0, 0, 6,                           /* header */
                                8, 7, 6, 5, 4, 3, 2, 1,                   /* client_seq */
                                REJECT_ODDS_CHANGED, 0, COMMAND_BET_PLACE, 0, 1,
                                0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, /* id */
                                0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, /* -2 */
                                0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21};
    CHECK_EQ_I64(length, sizeof expected);
    CHECK(memcmp(buffer, expected, sizeof expected) == 0);
}

TEST(golden_error_and_command)
{
    struct frame frame;
    frame_error_set(&frame, FRAME_ERROR_LOGON_FAILED, "no");
    uint8_t buffer[128];
    size_t length = encode_checked(&frame, buffer, sizeof buffer);
    const uint8_t expected[] = {7, 0, 0, 0, 7, 4, 0, 2, 0, 'n', 'o'};
    CHECK_EQ_I64(length, sizeof expected);
    CHECK(memcmp(buffer, expected, sizeof expected) == 0);
    /* A COMMAND's payload is exactly command_encode's bytes. */
    sample_frame(&frame, FRAME_COMMAND, 1);
    length = encode_checked(&frame, buffer, sizeof buffer);
    uint8_t alone[128];
    struct byte_buffer target = {alone, sizeof alone, 0};
    struct byte_writer writer;
    byte_writer_init(&writer, byte_buffer_flush, &target);
    CHECK_EQ_I64(command_encode(&frame.u.command, &writer), 0);
    CHECK_EQ_I64(byte_writer_finish(&writer), 0);
    CHECK_EQ_I64(length, FRAME_HEADER_SIZE + target.length);
    CHECK_EQ_I64(buffer[0], 1 + target.length);
    CHECK(memcmp(buffer + FRAME_HEADER_SIZE, alone, target.length) == 0);
}

/* Payloads at their maxima: a 256-byte secret, 1024 bytes of text, a full
 * page of positions, full book sides. */
TEST(round_trip_maxima)
{
    static struct frame frame;
    static struct frame out;
    static uint8_t buffer[FRAME_BUFFER_SIZE];
    size_t consumed = 0;
    sample_frame(&frame, FRAME_LOGON, 1);
    frame.u.logon.secret_size = FRAME_SECRET_SIZE_MAX;
    for (uint32_t i = 0; i < FRAME_SECRET_SIZE_MAX; i++)
        frame.u.logon.secret[i] = (uint8_t)(i * 7);
    CHECK_EQ_I64(encode_checked(&frame, buffer, sizeof buffer), 5 + 6 + 256);
    CHECK_EQ_I64(frame_decode(buffer, sizeof buffer, &out, &consumed), 0);
    CHECK(memcmp(&out, &frame, sizeof frame) == 0);

    sample_frame(&frame, FRAME_QUERY_RESULT, QUERY_POSITIONS);
    frame.u.query_result.u.positions.count = QUERY_POSITIONS_MAX;
    for (uint32_t i = 0; i < QUERY_POSITIONS_MAX; i++)
        frame.u.query_result.u.positions.positions[i] = (struct query_position){i, -1, 2};
    CHECK_EQ_I64(encode_checked(&frame, buffer, sizeof buffer), 5 + 12 + 7 + 128 * 20);
    CHECK_EQ_I64(frame_decode(buffer, sizeof buffer, &out, &consumed), 0);
    CHECK(memcmp(&out, &frame, sizeof frame) == 0);

    sample_frame(&frame, FRAME_QUERY_RESULT, QUERY_BOOK);
    frame.u.query_result.u.book.bid_count = QUERY_LEVELS_MAX;
    frame.u.query_result.u.book.ask_count = QUERY_LEVELS_MAX;
    for (uint32_t i = 0; i < QUERY_LEVELS_MAX; i++) {
        frame.u.query_result.u.book.bids[i] = (struct query_level){1000 - i, i + 1};
        frame.u.query_result.u.book.asks[i] = (struct query_level){1001 + i, i + 2};
    }
    CHECK_EQ_I64(encode_checked(&frame, buffer, sizeof buffer), 5 + 12 + 17 + 128 * 16);
    CHECK_EQ_I64(frame_decode(buffer, sizeof buffer, &out, &consumed), 0);
    CHECK(memcmp(&out, &frame, sizeof frame) == 0);
}

TEST(error_text_cut_at_utf8_boundary)
{
    static char text[FRAME_TEXT_SIZE_MAX + 8];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    /* A 3-byte character (U+20AC, E2 82 AC) across the 1024-byte mark. */
    text[1022] = (char)0xE2;
    text[1023] = (char)0x82;
    text[1024] = (char)0xAC;
    struct frame frame;
    frame_error_set(&frame, FRAME_ERROR_SHUTTING_DOWN, text);
    CHECK_EQ_I64(frame.u.error.text_size, 1022);
    CHECK_EQ_I64(frame.u.error.text[1022], '\0');
    frame_error_set(&frame, FRAME_ERROR_SHUTTING_DOWN, "short");
    CHECK_EQ_I64(frame.u.error.text_size, 5);
    CHECK_STR(frame.u.error.text, "short");
    memset(text, 'b', sizeof text - 1);
    frame_error_set(&frame, FRAME_ERROR_SHUTTING_DOWN, text);
    CHECK_EQ_I64(frame.u.error.text_size, FRAME_TEXT_SIZE_MAX);
}

TEST(two_frames_back_to_back)
{
    struct frame ping;
    struct frame outcome;
    sample_frame(&ping, FRAME_PING, 1);
    sample_frame(&outcome, FRAME_OUTCOME, 1);
    uint8_t buffer[256];
    size_t first = encode_checked(&ping, buffer, sizeof buffer);
    size_t second = encode_checked(&outcome, buffer + first, sizeof buffer - first);
    CHECK(first == 13 && second == 42);
    struct frame out;
    size_t consumed = 0;
    CHECK_EQ_I64(frame_decode(buffer, first + second, &out, &consumed), 0);
    CHECK_EQ_I64(consumed, first);
    CHECK_EQ_I64(out.type, FRAME_PING);
    CHECK_EQ_I64(out.u.ping.nonce, (int64_t)0xF1F2F3F4F5F6F7F8u);
    CHECK_EQ_I64(frame_decode(buffer + first, second + 3, &out, &consumed), 0);
    CHECK_EQ_I64(consumed, second);
    CHECK_EQ_I64(out.type, FRAME_OUTCOME);
    CHECK_EQ_I64(out.u.outcome.stream_seq, 0x2122232425262728);
}

/* ---- Malformed input. ---- */

/* Encodes a sample, sets its byte at to value, and returns the decode. */
static int decode_mutated(uint8_t type, uint16_t variant, size_t at, uint8_t value)
{
    static struct frame frame;
    uint8_t buffer[FRAME_BUFFER_SIZE];
    sample_frame(&frame, type, variant);
    size_t length = encode_checked(&frame, buffer, sizeof buffer);
    if (length == 0 || at >= length)
        return 2000;
    buffer[at] = value;
    return decode_rv(buffer, length);
}

TEST(malformed_header)
{
    uint8_t bytes[16] = {0};
    CHECK_EQ_I64(decode_rv(bytes, 4), ERR_DECODE_MALFORMED); /* length 0 */
    CHECK(!frame_is_too_large(bytes, 4));
    put_u32(bytes, FRAME_SIZE_MAX + 1);
    CHECK_EQ_I64(decode_rv(bytes, 4), ERR_DECODE_MALFORMED); /* oversized: known at once */
    CHECK(frame_is_too_large(bytes, 4));
    CHECK(!frame_is_too_large(bytes, 3));
    put_u32(bytes, 0xFFFFFFFFu);
    CHECK_EQ_I64(decode_rv(bytes, 4), ERR_DECODE_MALFORMED);
    put_u32(bytes, FRAME_SIZE_MAX);
    CHECK_EQ_I64(decode_rv(bytes, 4), ERR_DECODE_NEED_MORE); /* the maximum is allowed... */
    CHECK(!frame_is_too_large(bytes, 4));
    bytes[4] = FRAME_PING;
    CHECK_EQ_I64(decode_rv(bytes, 5), ERR_DECODE_MALFORMED); /* ...but not for a PING */
    put_u32(bytes, 9);
    const uint8_t unknown[] = {0, FRAME_TYPE_COUNT, 12, 200, 255};
    for (size_t i = 0; i < sizeof unknown; i++) {
        bytes[4] = unknown[i];
        CHECK_EQ_I64(decode_rv(bytes, 5), ERR_DECODE_MALFORMED);
    }
    /* A fixed-size type with the wrong length, shorter or longer. */
    bytes[4] = FRAME_PING;
    put_u32(bytes, 8);
    CHECK_EQ_I64(decode_rv(bytes, 5), ERR_DECODE_MALFORMED);
    put_u32(bytes, 10);
    CHECK_EQ_I64(decode_rv(bytes, 5), ERR_DECODE_MALFORMED);
    put_u32(bytes, 9);
    CHECK_EQ_I64(decode_rv(bytes, 13), 0);
    CHECK_EQ_I64(decode_rv(bytes, 12), ERR_DECODE_NEED_MORE);
    /* A variable type below its minimum (LOGON needs 6 bytes). */
    bytes[4] = FRAME_LOGON;
    put_u32(bytes, 1 + 5);
    CHECK_EQ_I64(decode_rv(bytes, 5), ERR_DECODE_MALFORMED);
}

TEST(malformed_handshake)
{
    /* HELLO: magic, version_min 0, version_min above version_max. */
    CHECK_EQ_I64(decode_mutated(FRAME_HELLO, 1, 5, 'X'), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_HELLO, 1, 8, 'X'), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_HELLO, 1, 9, 0), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_HELLO, 1, 9, 3), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_HELLO, 1, 9, 2), 0);
    CHECK_EQ_I64(decode_mutated(FRAME_WELCOME, 1, 5, 0), ERR_DECODE_MALFORMED);
    /* LOGON: secret_size 7 for 6 bytes, 5 for 6 bytes, 257. */
    CHECK_EQ_I64(decode_mutated(FRAME_LOGON, 1, 9, 7), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_LOGON, 1, 9, 5), ERR_DECODE_MALFORMED);
    uint8_t bytes[5 + 6 + 257] = {0};
    put_u32(bytes, 1 + 6 + 256);
    bytes[4] = FRAME_LOGON;
    put_u16(bytes + 9, 256);
    CHECK_EQ_I64(decode_rv(bytes, 5 + 6 + 256), 0);
    put_u32(bytes, 1 + 6 + 257);
    put_u16(bytes + 9, 257);
    CHECK_EQ_I64(decode_rv(bytes, sizeof bytes), ERR_DECODE_MALFORMED);
}

TEST(malformed_error_outcome)
{
    /* OUTCOME duplicate must be 0 or 1 (offset 5 + 12). */
    CHECK_EQ_I64(decode_mutated(FRAME_OUTCOME, 1, 17, 2), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_OUTCOME, 1, 17, 0), 0);
    /* ERROR: code 0; text_size one more or one less than the text. */
    uint8_t bytes[5 + 4 + FRAME_TEXT_SIZE_MAX + 1] = {0};
    put_u32(bytes, 1 + 4 + 3);
    bytes[4] = FRAME_ERROR;
    put_u16(bytes + 7, 3);
    CHECK_EQ_I64(decode_rv(bytes, 12), ERR_DECODE_MALFORMED); /* code 0 */
    put_u16(bytes + 5, 999);
    CHECK_EQ_I64(decode_rv(bytes, 12), 0); /* unknown codes are allowed */
    put_u16(bytes + 7, 4);
    CHECK_EQ_I64(decode_rv(bytes, 12), ERR_DECODE_MALFORMED);
    put_u16(bytes + 7, 2);
    CHECK_EQ_I64(decode_rv(bytes, 12), ERR_DECODE_MALFORMED);
    /* Text too long: 1025 bytes. */
    put_u32(bytes, 1 + 4 + FRAME_TEXT_SIZE_MAX + 1);
    put_u16(bytes + 7, FRAME_TEXT_SIZE_MAX + 1);
    CHECK_EQ_I64(decode_rv(bytes, sizeof bytes), ERR_DECODE_MALFORMED);
    put_u32(bytes, 1 + 4 + FRAME_TEXT_SIZE_MAX);
    put_u16(bytes + 7, FRAME_TEXT_SIZE_MAX);
    CHECK_EQ_I64(decode_rv(bytes, sizeof bytes - 1), 0);
}

TEST(malformed_command)
{
    /* Command format version 2, unknown command type, reserved not 0. */
    CHECK_EQ_I64(decode_mutated(FRAME_COMMAND, 1, 5, 2), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_COMMAND, 1, 9, 200), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_COMMAND, 1, 11, 1), ERR_DECODE_MALFORMED);
    /* Record length beyond the frame; shorter than the type's fields. */
    CHECK_EQ_I64(decode_mutated(FRAME_COMMAND, 1, 7, 24 + 31 + 1), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_COMMAND, 1, 7, 24 + 30), ERR_DECODE_MALFORMED);
    /* A byte after the command, inside the frame. */
    struct frame frame;
    sample_frame(&frame, FRAME_COMMAND, 1);
    uint8_t buffer[256];
    size_t length = encode_checked(&frame, buffer, sizeof buffer);
    CHECK(length > 0);
    buffer[length] = 0;
    put_u32(buffer, (uint32_t)(length + 1 - 4));
    CHECK_EQ_I64(decode_rv(buffer, length + 1), ERR_DECODE_MALFORMED);
    /* A longer record (a newer command with a field appended) is fine:
     * the command codec skips the field. */
    buffer[length] = 0x77;
    buffer[7] = (uint8_t)(24 + 31 + 1);
    struct frame out;
    size_t consumed = 0;
    CHECK_EQ_I64(frame_decode(buffer, length + 1, &out, &consumed), 0);
    CHECK_EQ_I64(consumed, length + 1);
    CHECK(memcmp(&out.u.command, &frame.u.command, sizeof out.u.command) == 0);
}

TEST(malformed_query)
{
    /* Query type 0 and 7; book level_count 0 and 65; odds format 6. */
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY, QUERY_ACCOUNT, 5, 0), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY, QUERY_ACCOUNT, 5, 7), ERR_DECODE_MALFORMED);
    /* account (14 bytes) read as order (18): sizes do not match. */
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY, QUERY_ACCOUNT, 5, QUERY_ORDER),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY, QUERY_BOOK, 19, 0), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY, QUERY_BOOK, 19, 65), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY, QUERY_BOOK, 19, 1), 0);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY, QUERY_ODDS, 19, 6), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY, QUERY_ODDS, 19, 5), 0);
}

TEST(malformed_query_result)
{
    /* Query type 0; rows after a failed result; positions more = 2, count
     * above the rows present, count above the maximum; 4 selections. */
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY_RESULT, QUERY_ORDER, 15, 0), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY_RESULT, QUERY_ORDER, 13, REJECT_ORDER_UNKNOWN),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY_RESULT, QUERY_POSITIONS, 21, 2),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY_RESULT, QUERY_POSITIONS, 22, 4),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY_RESULT, QUERY_POSITIONS, 23, 1),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY_RESULT, QUERY_EXPOSURE, 25, 4),
                 ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY_RESULT, QUERY_ODDS, 24, 4), ERR_DECODE_MALFORMED);
    CHECK_EQ_I64(decode_mutated(FRAME_QUERY_RESULT, QUERY_ODDS, 23, 6), ERR_DECODE_MALFORMED);
    /* A failed result is exactly 12 bytes of payload. */
    uint8_t bytes[17] = {0};
    put_u32(bytes, 13);
    bytes[4] = FRAME_QUERY_RESULT;
    bytes[5] = 42;
    put_u16(bytes + 13, REJECT_NOT_AUTHORIZED);
    put_u16(bytes + 15, QUERY_EXPOSURE);
    struct frame out;
    size_t consumed = 0;
    CHECK_EQ_I64(frame_decode(bytes, sizeof bytes, &out, &consumed), 0);
    CHECK_EQ_I64(out.u.query_result.request_id, 42);
    CHECK_EQ_I64(out.u.query_result.result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(out.u.query_result.query_type, QUERY_EXPOSURE);
    put_u16(bytes + 13, RESULT_OK);
    CHECK_EQ_I64(decode_rv(bytes, sizeof bytes), ERR_DECODE_MALFORMED);
}

/* ---- The encoder refuses what the decoder would. ---- */

TEST(encode_refuses)
{
    static struct frame frame;
    uint8_t buffer[FRAME_BUFFER_SIZE];
    size_t length = 7;
    memset(&frame, 0, sizeof frame);
    CHECK_EQ_I64(frame_encode(&frame, buffer, sizeof buffer, &length), ERR_USAGE);
    CHECK_EQ_I64(length, 0);
    frame.type = FRAME_TYPE_COUNT;
    CHECK_EQ_I64(frame_encode(&frame, buffer, sizeof buffer, &length), ERR_USAGE);
    sample_frame(&frame, FRAME_HELLO, 1);
    frame.u.hello.version_min = 3;
    CHECK_EQ_I64(frame_encode(&frame, buffer, sizeof buffer, &length), ERR_USAGE);
    sample_frame(&frame, FRAME_LOGON, 1);
    frame.u.logon.secret_size = FRAME_SECRET_SIZE_MAX + 1;
    CHECK_EQ_I64(frame_encode(&frame, buffer, sizeof buffer, &length), ERR_USAGE);
    sample_frame(&frame, FRAME_COMMAND, 1);
    frame.u.command.type = COMMAND_TYPE_COUNT;
    CHECK_EQ_I64(frame_encode(&frame, buffer, sizeof buffer, &length), ERR_USAGE);
    sample_frame(&frame, FRAME_OUTCOME, 1);
    frame.u.outcome.duplicate = 2;
    CHECK_EQ_I64(frame_encode(&frame, buffer, sizeof buffer, &length), ERR_USAGE);
    sample_frame(&frame, FRAME_ERROR, 1);
    frame.u.error.code = 0;
    CHECK_EQ_I64(frame_encode(&frame, buffer, sizeof buffer, &length), ERR_USAGE);
    sample_frame(&frame, FRAME_QUERY_RESULT, QUERY_BOOK);
    frame.u.query_result.u.book.ask_count = QUERY_LEVELS_MAX + 1;
    CHECK_EQ_I64(frame_encode(&frame, buffer, sizeof buffer, &length), ERR_USAGE);
    CHECK_EQ_I64(frame_encoded_size(&frame), 0);
    /* Too small a buffer: nothing claimed written. */
    sample_frame(&frame, FRAME_OUTCOME, 1);
    CHECK_EQ_I64(frame_encode(&frame, buffer, 41, &length), ERR_CAPACITY);
    CHECK_EQ_I64(length, 0);
    CHECK_EQ_I64(frame_encode(&frame, buffer, 42, &length), 0);
    CHECK_EQ_I64(length, 42);
}

/* Version 2's appended fields: QUERY's min_seq and QUERY_RESULT's
 * applied_seq, absent (0) in version 1; 8 bytes or none, never 0. */
TEST(query_sequences)
{
    static struct frame in, out;
    uint8_t buffer[FRAME_BUFFER_SIZE];
    size_t consumed = 0;
    sample_frame(&in, FRAME_QUERY, QUERY_ACCOUNT);
    size_t v1 = encode_checked(&in, buffer, sizeof buffer);
    in.u.query.min_seq = 0x0102030405060708u;
    size_t v2 = encode_checked(&in, buffer, sizeof buffer);
    CHECK_EQ_I64(v2, v1 + 8);
    CHECK_EQ_I64(frame_decode(buffer, v2, &out, &consumed), 0);
    CHECK_EQ_I64(out.u.query.min_seq, 0x0102030405060708u);
    /* Four bytes of it: malformed. */
    buffer[0] = (uint8_t)(v2 - 4 - 4);
    CHECK_EQ_I64(decode_rv(buffer, v2 - 4), ERR_DECODE_MALFORMED);
    sample_frame(&in, FRAME_QUERY_RESULT, QUERY_BOOK);
    in.u.query_result.applied_seq = 99;
    size_t length = encode_checked(&in, buffer, sizeof buffer);
    CHECK(length > 0);
    CHECK_EQ_I64(frame_decode(buffer, length, &out, &consumed), 0);
    CHECK_EQ_I64(out.u.query_result.applied_seq, 99);
    CHECK_EQ_I64(out.u.query_result.u.book.bid_count, in.u.query_result.u.book.bid_count);
    /* A failed query's result carries it too. */
    in.u.query_result.result = REJECT_ACCOUNT_UNKNOWN;
    length = encode_checked(&in, buffer, sizeof buffer);
    CHECK_EQ_I64(length, FRAME_HEADER_SIZE + 12 + 8);
    CHECK_EQ_I64(frame_decode(buffer, length, &out, &consumed), 0);
    CHECK_EQ_I64(out.u.query_result.applied_seq, 99);
}

TEST(names)
{
    CHECK_STR(frame_type_name(FRAME_HELLO), "HELLO");
    CHECK_STR(frame_type_name(FRAME_QUERY_RESULT), "QUERY_RESULT");
    CHECK_STR(frame_type_name(0), "UNKNOWN");
    CHECK_STR(frame_type_name(FRAME_TYPE_COUNT), "UNKNOWN");
    CHECK_STR(frame_error_text(FRAME_ERROR_READ_ONLY), "read-only node");
    CHECK_STR(frame_error_text(FRAME_ERROR_MALFORMED), "malformed frame");
    CHECK_STR(frame_error_text(0), "unknown error");
    CHECK_STR(frame_error_text(FRAME_ERROR_CODE_COUNT), "unknown error");
    CHECK_STR(query_type_name(QUERY_ODDS), "odds");
    CHECK_STR(query_type_name(QUERY_TYPE_COUNT), "unknown");
    CHECK_EQ_I64(FRAME_PROTOCOL_VERSION_MIN, 1);
    CHECK_EQ_I64(FRAME_PROTOCOL_VERSION, 3);
}

TEST_MAIN()
