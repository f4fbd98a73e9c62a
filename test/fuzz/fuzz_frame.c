/* Seeded fuzz of the frame decoder (src/codec/frame.h), deterministic
 * from its seed.
 *
 *   fuzz_frame [--seed S] [--cases N]      (defaults: seed 1, 200000 cases)
 *
 * Each case is one of: random bytes (often behind a plausible header, so
 * that payload walkers are reached), a valid random frame with a few bytes
 * flipped, set, cut or appended, or a valid random frame as it is. Every
 * case is copied into a heap block of exactly its size, so that ASan sees
 * any read past it. Four properties, each counted once in the closing line
 * "<argv0>: N passed, N failed":
 *   1. decode returns 0, ERR_DECODE_NEED_MORE or ERR_DECODE_MALFORMED, and
 *      on 0 consumes 4 + the length field, within the input (0 otherwise);
 *   2. what decodes re-encodes to the same bytes (a COMMAND, whose codec
 *      skips unknown trailing fields, to a frame that decodes to the same
 *      command);
 *   3. a valid frame as generated decodes, and its proper prefixes ask for
 *      more;
 *   4. appending bytes never changes a verdict of 0 or MALFORMED: the
 *      decoder never looks past the frame it reports;
 *   5. up to eight valid frames sent back to back on one connection, read
 *      in pieces of any size into a session's input buffer (FRAME_BUFFER_SIZE
 *      bytes, what is left of a frame moved to its front, as the gateway
 *      does), decode as the same frames, in order, with nothing left.
 * A failure prints the seed and the case: rerun with the same seed.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/command_codec.h"
#include "codec/frame.h"
#include "core/event.h"
#include "core/odds.h"
#include "core/result.h"

#define PROPERTY_COUNT 5
#define SEQUENCE_FRAMES_MAX 8u
#define RANDOM_SIZE_MAX 400u

struct fuzz {
    uint64_t state;
    uint64_t case_index;
    uint32_t failures[PROPERTY_COUNT];
    uint64_t verdicts[3]; /* ok, need more, malformed */
    struct frame frame;
    struct frame decoded;
    struct frame again;
    uint8_t bytes[FRAME_BUFFER_SIZE + 64];
    uint8_t encoded[FRAME_BUFFER_SIZE];
    /* Property 5: frames one after another, as one connection sends them. */
    uint8_t stream[SEQUENCE_FRAMES_MAX * FRAME_BUFFER_SIZE];
    size_t ends[SEQUENCE_FRAMES_MAX];   /* where each frame of stream ends */
    uint8_t input[FRAME_BUFFER_SIZE];   /* a session's input buffer */
};

/* xorshift64*: deterministic from the seed, good enough for test data. */
static uint64_t next_random(struct fuzz *fuzz)
{
    uint64_t x = fuzz->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    fuzz->state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t below(struct fuzz *fuzz, uint32_t bound)
{
    return (uint32_t)(next_random(fuzz) % bound);
}

static void fill_random(struct fuzz *fuzz, void *data, size_t size)
{
    uint8_t *bytes = data;
    for (size_t i = 0; i < size; i++)
        bytes[i] = (uint8_t)next_random(fuzz);
}

static void fail(struct fuzz *fuzz, int property, const char *what)
{
    if (fuzz->failures[property]++ < 5)
        fprintf(stderr, "  case %" PRIu64 ": property %d: %s\n", fuzz->case_index,
                property + 1, what);
}

/* ---- Random valid frames. ---- */

static void random_query(struct fuzz *fuzz, struct frame_query *query)
{
    query->query_type = (uint16_t)(1 + below(fuzz, QUERY_TYPE_COUNT - 1));
    query->u.book.level_count = (uint16_t)(1 + below(fuzz, QUERY_LEVELS_MAX));
    if (query->query_type == QUERY_ODDS)
        query->u.odds.odds_format = (uint8_t)below(fuzz, ODDS_FORMAT_COUNT);
}

static void random_query_result(struct fuzz *fuzz, struct frame_query_result *result)
{
    result->query_type = (uint16_t)(1 + below(fuzz, QUERY_TYPE_COUNT - 1));
    result->result = below(fuzz, 4) == 0 ? (uint16_t)below(fuzz, RESULT_CODE_COUNT) : 0;
    switch (result->query_type) {
    case QUERY_POSITIONS:
        result->u.positions.more = (uint8_t)below(fuzz, 2);
        result->u.positions.count = (uint16_t)below(fuzz, QUERY_POSITIONS_MAX + 1);
        break;
    case QUERY_BOOK:
        result->u.book.bid_count = (uint16_t)below(fuzz, QUERY_LEVELS_MAX + 1);
        result->u.book.ask_count = (uint16_t)below(fuzz, QUERY_LEVELS_MAX + 1);
        break;
    case QUERY_EXPOSURE:
        result->u.exposure.selection_count = (uint8_t)below(fuzz, SELECTIONS_MAX + 1);
        break;
    case QUERY_ODDS:
        result->u.odds.selection_count = (uint8_t)below(fuzz, SELECTIONS_MAX + 1);
        result->u.odds.odds_format = (uint8_t)below(fuzz, ODDS_FORMAT_COUNT);
        break;
    case QUERY_ORDER: /* open (0), or 1 + how it finished (version 3) */
        result->u.order.done = (uint8_t)below(fuzz, 2 + DONE_OUTSIDE_BAND);
        break;
    default:
        break;
    }
}

/* Random bytes everywhere, then each rule of the type made to hold. */
static void random_frame(struct fuzz *fuzz, struct frame *frame)
{
    fill_random(fuzz, frame, sizeof *frame);
    frame->type = (uint8_t)(1 + below(fuzz, FRAME_TYPE_COUNT - 1));
    switch (frame->type) {
    case FRAME_HELLO:
        frame->u.hello.version_min = (uint16_t)(1 + below(fuzz, 3));
        frame->u.hello.version_max = (uint16_t)(frame->u.hello.version_min + below(fuzz, 3));
        break;
    case FRAME_WELCOME:
        frame->u.welcome.version = (uint16_t)(1 + below(fuzz, 3));
        break;
    case FRAME_LOGON:
        frame->u.logon.secret_size = (uint16_t)below(fuzz, FRAME_SECRET_SIZE_MAX + 1);
        break;
    case FRAME_COMMAND:
        frame->u.command.type = (uint16_t)(1 + below(fuzz, COMMAND_TYPE_COUNT - 1));
        break;
    case FRAME_OUTCOME:
        frame->u.outcome.duplicate = (uint8_t)below(fuzz, 2);
        /* Version 3's field: present or not, never negative. */
        frame->u.outcome.has_replace_filled = (uint8_t)below(fuzz, 2);
        frame->u.outcome.replace_filled = (int64_t)below(fuzz, 1u << 30);
        break;
    case FRAME_ERROR:
        frame->u.error.code = (uint16_t)(1 + below(fuzz, 20));
        frame->u.error.text_size = (uint16_t)below(fuzz, below(fuzz, 8) == 0 ? 1025 : 64);
        break;
    case FRAME_QUERY:
        random_query(fuzz, &frame->u.query);
        break;
    case FRAME_QUERY_RESULT:
        random_query_result(fuzz, &frame->u.query_result);
        break;
    default:
        break;
    }
}

/* ---- The checks. ---- */

/* Property 2: decoded re-encodes to what was read. */
static void check_reencode(struct fuzz *fuzz, const uint8_t *data, size_t consumed)
{
    size_t length = 0;
    if (frame_encode(&fuzz->decoded, fuzz->encoded, sizeof fuzz->encoded, &length) != 0) {
        fail(fuzz, 1, "a decoded frame does not encode");
        return;
    }
    if (fuzz->decoded.type != FRAME_COMMAND) {
        if (length != consumed || memcmp(fuzz->encoded, data, length) != 0)
            fail(fuzz, 1, "re-encoding gives other bytes");
        return;
    }
    size_t again_consumed = 0;
    if (frame_decode(fuzz->encoded, length, &fuzz->again, &again_consumed) != 0 ||
        again_consumed != length ||
        memcmp(&fuzz->again.u.command, &fuzz->decoded.u.command, sizeof(struct command)) != 0)
        fail(fuzz, 1, "a re-encoded command decodes to another command");
}

/* Decodes data[0..size) from an exact heap copy; checks properties 1 and
 * 2. Returns the verdict. */
static int check_decode(struct fuzz *fuzz, const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size == 0 ? 1 : size);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    size_t consumed = 12345;
    int rv = frame_decode(copy, size, &fuzz->decoded, &consumed);
    if (rv == 0) {
        uint32_t length = (uint32_t)copy[0] | (uint32_t)copy[1] << 8 |
                          (uint32_t)copy[2] << 16 | (uint32_t)copy[3] << 24;
        if (consumed > size || consumed != 4 + (size_t)length)
            fail(fuzz, 0, "consumed is not the frame's size");
        else
            check_reencode(fuzz, copy, consumed);
    } else if (rv != ERR_DECODE_NEED_MORE && rv != ERR_DECODE_MALFORMED) {
        fail(fuzz, 0, "an error other than need-more or malformed");
    } else if (consumed != 0) {
        fail(fuzz, 0, "consumed is not 0 on error");
    }
    fuzz->verdicts[rv == 0 ? 0 : rv == ERR_DECODE_NEED_MORE ? 1 : 2]++;
    free(copy);
    return rv;
}

/* Property 4: three random bytes more change nothing decided. */
static void check_extension(struct fuzz *fuzz, uint8_t *data, size_t size, int verdict)
{
    if (verdict == ERR_DECODE_NEED_MORE)
        return;
    size_t consumed_before = 0;
    struct frame scratch;
    if (verdict == 0)
        frame_decode(data, size, &scratch, &consumed_before);
    fill_random(fuzz, data + size, 3);
    size_t consumed = 0;
    int rv = frame_decode(data, size + 3, &fuzz->decoded, &consumed);
    if (rv != verdict || consumed != consumed_before)
        fail(fuzz, 3, "more bytes changed the verdict");
}

static void mutate(struct fuzz *fuzz, uint8_t *data, size_t *size)
{
    uint32_t count = 1 + below(fuzz, 4);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t how = below(fuzz, 6);
        if (how == 0 && *size > 0) {
            *size = below(fuzz, (uint32_t)*size); /* cut */
        } else if (how == 1 && *size + 8 <= FRAME_BUFFER_SIZE) {
            uint32_t extra = below(fuzz, 8); /* append */
            fill_random(fuzz, data + *size, extra);
            *size += extra;
        } else if (how == 2 && *size >= 4) {
            data[below(fuzz, 4)] = (uint8_t)next_random(fuzz); /* the length */
        } else if (how == 3 && *size > 0) {
            data[below(fuzz, (uint32_t)*size)] = (uint8_t)next_random(fuzz);
        } else if (*size > 0) {
            data[below(fuzz, (uint32_t)*size)] ^= (uint8_t)(1u << below(fuzz, 8));
        }
    }
}

/* Random bytes, half of them behind a length and a type that exist. */
static size_t random_bytes(struct fuzz *fuzz, uint8_t *data)
{
    size_t size = below(fuzz, RANDOM_SIZE_MAX);
    fill_random(fuzz, data, size);
    if (size >= FRAME_HEADER_SIZE && below(fuzz, 2) == 0) {
        uint32_t length = 1 + below(fuzz, (uint32_t)size);
        for (int i = 0; i < 4; i++)
            data[i] = (uint8_t)(length >> (8 * i));
        data[4] = (uint8_t)(1 + below(fuzz, FRAME_TYPE_COUNT - 1));
    }
    return size;
}

/* Property 3: a generated frame encodes, decodes whole, and a few of its
 * proper prefixes (the first six, and three at random) ask for more. */
static void check_valid(struct fuzz *fuzz, size_t size)
{
    if (check_decode(fuzz, fuzz->bytes, size) != 0) {
        fail(fuzz, 2, "a valid frame does not decode");
        return;
    }
    for (uint32_t i = 0; i < 9; i++) {
        size_t cut = i < 6 ? i : below(fuzz, (uint32_t)size);
        if (check_decode(fuzz, fuzz->bytes, cut) != ERR_DECODE_NEED_MORE)
            fail(fuzz, 2, "a proper prefix of a valid frame does not ask for more");
    }
}

/* Property 5, reading: decodes what input holds, frame by frame, checking
 * each against the one sent; returns the bytes left (a frame's start). */
static size_t sequence_decode(struct fuzz *fuzz, size_t held, uint32_t *next)
{
    size_t at = 0;
    for (;;) {
        size_t consumed = 0;
        int rv = frame_decode(fuzz->input + at, held - at, &fuzz->decoded, &consumed);
        if (rv == ERR_DECODE_NEED_MORE)
            break;
        size_t start = *next == 0 ? 0 : fuzz->ends[*next - 1];
        if (rv != 0 || *next == SEQUENCE_FRAMES_MAX ||
            consumed != fuzz->ends[*next] - start ||
            memcmp(fuzz->input + at, fuzz->stream + start, consumed) != 0) {
            fail(fuzz, 4, "a frame of a sequence does not decode as it was sent");
            return 0;
        }
        (*next)++;
        at += consumed;
    }
    memmove(fuzz->input, fuzz->input + at, held - at);
    return held - at;
}

/* Property 5: a sequence of frames, arriving in pieces of random sizes. */
static void check_sequence(struct fuzz *fuzz)
{
    uint32_t count = 2 + below(fuzz, SEQUENCE_FRAMES_MAX - 1);
    size_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        size_t size = 0;
        random_frame(fuzz, &fuzz->frame);
        if (frame_encode(&fuzz->frame, fuzz->stream + total, FRAME_BUFFER_SIZE, &size) != 0) {
            fail(fuzz, 2, "a generated frame does not encode");
            return;
        }
        total += size;
        fuzz->ends[i] = total;
    }
    size_t sent = 0, held = 0;
    uint32_t next = 0;
    for (uint32_t reads = 0; sent < total && reads < 100000; reads++) {
        size_t room = sizeof fuzz->input - held;
        size_t piece = 1 + below(fuzz, below(fuzz, 4) == 0 ? 8 : (uint32_t)room);
        piece = piece > room ? room : piece;
        piece = piece > total - sent ? total - sent : piece;
        memcpy(fuzz->input + held, fuzz->stream + sent, piece);
        sent += piece;
        held = sequence_decode(fuzz, held + piece, &next);
    }
    if (next != count || held != 0)
        fail(fuzz, 4, "a sequence of frames does not decode whole, in order");
}

static void run_case(struct fuzz *fuzz)
{
    if (fuzz->case_index % 16 == 15) {
        check_sequence(fuzz);
        return;
    }
    uint32_t kind = below(fuzz, 4);
    size_t size = 0;
    if (kind == 0) {
        size = random_bytes(fuzz, fuzz->bytes);
    } else {
        random_frame(fuzz, &fuzz->frame);
        if (frame_encode(&fuzz->frame, fuzz->bytes, FRAME_BUFFER_SIZE, &size) != 0) {
            fail(fuzz, 2, "a generated frame does not encode");
            return;
        }
        if (kind == 1) {
            check_valid(fuzz, size);
            return;
        }
        mutate(fuzz, fuzz->bytes, &size);
    }
    int verdict = check_decode(fuzz, fuzz->bytes, size);
    check_extension(fuzz, fuzz->bytes, size, verdict);
}

static int parse_args(int argc, char **argv, uint64_t *seed, uint64_t *cases)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0)
            *seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--cases") == 0)
            *cases = strtoull(argv[i + 1], NULL, 10);
        else
            return -1;
    }
    return argc % 2 == 1 && *cases > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    uint64_t cases = 200000;
    if (parse_args(argc, argv, &seed, &cases) != 0) {
        fprintf(stderr, "usage: %s [--seed S] [--cases N]\n", argv[0]);
        return 2;
    }
    static struct fuzz fuzz;
    /* xorshift must not start at 0; mix the seed so near seeds differ. */
    fuzz.state = (seed ^ 0x9E3779B97F4A7C15ULL) | 1;
    for (fuzz.case_index = 0; fuzz.case_index < cases; fuzz.case_index++)
        run_case(&fuzz);
    printf("%s: seed %" PRIu64 ", %" PRIu64 " cases: %" PRIu64 " decoded, %" PRIu64
           " need more, %" PRIu64 " malformed\n",
           argv[0], seed, cases, fuzz.verdicts[0], fuzz.verdicts[1], fuzz.verdicts[2]);
    int failed = 0;
    for (int i = 0; i < PROPERTY_COUNT; i++)
        failed += fuzz.failures[i] > 0;
    if (failed > 0)
        printf("%s: replay with --seed %" PRIu64 " --cases %" PRIu64 "\n", argv[0], seed, cases);
    printf("%s: %d passed, %d failed\n", argv[0], PROPERTY_COUNT - failed, failed);
    return failed == 0 ? 0 : 1;
}
