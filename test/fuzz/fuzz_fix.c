/* Seeded fuzz of the FIX 4.4 tag=value codec (src/fix/fix_msg.h),
 * deterministic from its seed.
 *
 *   fuzz_fix [--seed S] [--cases N]      (defaults: seed 1, 200000 cases)
 *
 * Each case is random bytes (often behind a plausible "8=FIX.4.4 9=n"
 * start), a valid random message with a few bytes flipped, cut or
 * appended, or a valid random message as written. Every case is copied
 * into a heap block of exactly its size, so that ASan sees a read past it.
 * Four properties, counted once each in the closing line
 * "<argv0>: N passed, N failed":
 *   1. fix_frame answers WHOLE, NEED_MORE or BAD, a whole message within
 *      the input and the size limit, and a reason with BAD;
 *   2. fix_parse of a framed message answers OK, REJECT or GARBLED; on OK
 *      every field lies inside the message and its value has no SOH;
 *   3. a valid message as written frames whole, its proper prefixes ask
 *      for more, it parses and its values read back the same;
 *   4. appending bytes never changes a verdict of WHOLE (nor its size) or
 *      BAD: fix_frame never looks past the message it reports.
 * A failure prints the case: rerun with the same seed.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/fix_msg.h"

#define PROPERTY_COUNT 4
#define RANDOM_SIZE_MAX 300u

struct fuzz {
    uint64_t state;
    uint64_t case_index;
    uint32_t failures[PROPERTY_COUNT];
    uint64_t verdicts[3]; /* whole, need more, bad */
    uint64_t parsed[3];   /* ok, reject, garbled */
    char bytes[FIX_MSG_SIZE_MAX + 64];
    char written[FIX_MSG_SIZE_MAX];
    struct fix_msg msg;
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

static void fail(struct fuzz *fuzz, int property, const char *what)
{
    if (fuzz->failures[property]++ < 5)
        fprintf(stderr, "  case %" PRIu64 ": property %d: %s\n", fuzz->case_index,
                property + 1, what);
}

/* A valid message: a random type, the header fields and up to 12 random
 * fields (tags 100..999, values of printable bytes). Returns its size. */
static size_t random_message(struct fuzz *fuzz, const char **start, uint64_t *seq)
{
    static const char *const types[] = {"0", "1", "2", "4", "5", "A", "D", "F", "G", "8", "ZZ"};
    struct fix_writer w;
    fix_write_begin(&w, fuzz->written, sizeof fuzz->written,
                    types[below(fuzz, sizeof types / sizeof types[0])]);
    fix_write_str(&w, 49, "SENDER");
    fix_write_str(&w, 56, "NODOWN");
    *seq = next_random(fuzz) % 1000000000u;
    fix_write_u64(&w, 34, *seq);
    fix_write_str(&w, 52, "20260101-00:00:00.000");
    uint32_t extra = below(fuzz, 13);
    for (uint32_t i = 0; i < extra; i++) {
        char value[32];
        uint32_t n = 1 + below(fuzz, sizeof value - 1);
        for (uint32_t j = 0; j < n; j++)
            value[j] = (char)(' ' + below(fuzz, 95));
        fix_write_mem(&w, 100 + below(fuzz, 900), value, n);
    }
    size_t size = 0;
    *start = fix_write_end(&w, &size);
    return *start == NULL ? 0 : size;
}

static void check_fields(struct fuzz *fuzz, const char *data, size_t size)
{
    for (uint32_t i = 0; i < fuzz->msg.count; i++) {
        const struct fix_field *f = &fuzz->msg.fields[i];
        if ((size_t)f->offset + f->length > size || f->length == 0 ||
            memchr(data + f->offset, FIX_SOH, f->length) != NULL) {
            fail(fuzz, 1, "a parsed field outside the message or holding SOH");
            return;
        }
    }
}

/* Properties 1, 2 and 4 on bytes[0..size). */
static void check_bytes(struct fuzz *fuzz, size_t size)
{
    char *copy = malloc(size + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, fuzz->bytes, size);
    size_t whole = 0;
    const char *why = NULL;
    enum fix_frame_result verdict = fix_frame(copy, size, &whole, &why);
    if (verdict > FIX_FRAME_BAD || (verdict == FIX_FRAME_BAD && why == NULL) ||
        (verdict == FIX_FRAME_WHOLE && (whole > size || whole > FIX_MSG_SIZE_MAX)))
        fail(fuzz, 0, "fix_frame's verdict or size out of bounds");
    fuzz->verdicts[verdict <= FIX_FRAME_BAD ? verdict : 2]++;
    if (verdict == FIX_FRAME_WHOLE && whole <= size) {
        char *message = malloc(whole);
        if (message == NULL)
            abort();
        memcpy(message, copy, whole);
        enum fix_reject_reason reason;
        uint32_t ref = 0;
        enum fix_parse_result parsed = fix_parse(message, whole, &fuzz->msg, &reason, &ref, &why);
        if (parsed > FIX_PARSE_GARBLED)
            fail(fuzz, 1, "fix_parse's verdict out of bounds");
        else
            fuzz->parsed[parsed]++;
        if (parsed == FIX_PARSE_OK)
            check_fields(fuzz, message, whole);
        free(message);
    }
    if (verdict != FIX_FRAME_NEED_MORE && size + 8 <= sizeof fuzz->bytes) {
        memset(fuzz->bytes + size, (int)below(fuzz, 256), 8);
        size_t again = 0;
        if (fix_frame(fuzz->bytes, size + 8, &again, &why) != verdict ||
            (verdict == FIX_FRAME_WHOLE && again != whole))
            fail(fuzz, 3, "appended bytes changed fix_frame's verdict");
    }
    free(copy);
}

/* Property 3 on a valid message. */
static void check_valid(struct fuzz *fuzz, const char *m, size_t size, uint64_t seq)
{
    size_t whole = 0;
    const char *why = NULL;
    if (fix_frame(m, size, &whole, &why) != FIX_FRAME_WHOLE || whole != size) {
        fail(fuzz, 2, "a written message does not frame whole");
        return;
    }
    size_t cut = below(fuzz, (uint32_t)size);
    if (fix_frame(m, cut, &whole, &why) != FIX_FRAME_NEED_MORE)
        fail(fuzz, 2, "a proper prefix does not ask for more");
    enum fix_reject_reason reason;
    uint32_t ref = 0;
    uint64_t back = 0;
    bool present = false;
    if (fix_parse(m, size, &fuzz->msg, &reason, &ref, &why) != FIX_PARSE_OK ||
        !fix_get_u64(&fuzz->msg, 34, &back, &present) || back != seq)
        fail(fuzz, 2, "a written message does not parse back the same");
}

/* Writes the right CheckSum(10) over a damaged message that still ends in
 * one, so that the parser, not the checksum, meets the damage. */
static void checksum_mend(char *bytes, size_t size)
{
    if (size < 7 || memcmp(bytes + size - 7, "10=", 3) != 0)
        return;
    unsigned sum = 0;
    for (size_t i = 0; i + 7 < size; i++)
        sum += (unsigned char)bytes[i];
    sum %= 256u;
    bytes[size - 4] = (char)('0' + sum / 100u);
    bytes[size - 3] = (char)('0' + sum / 10u % 10u);
    bytes[size - 2] = (char)('0' + sum % 10u);
}

static void run_case(struct fuzz *fuzz)
{
    uint64_t seq = 0;
    const char *m = NULL;
    size_t size = random_message(fuzz, &m, &seq);
    if (size == 0) {
        fail(fuzz, 2, "a random message did not fit");
        return;
    }
    uint32_t kind = below(fuzz, 4);
    if (kind == 0) {
        check_valid(fuzz, m, size, seq);
        memcpy(fuzz->bytes, m, size);
    } else if (kind == 1) { /* random bytes, maybe behind a plausible start */
        size = below(fuzz, RANDOM_SIZE_MAX);
        for (size_t i = 0; i < size; i++)
            fuzz->bytes[i] = below(fuzz, 3) == 0 ? FIX_SOH : (char)next_random(fuzz);
        if (below(fuzz, 2) == 0 && size > 16)
            memcpy(fuzz->bytes, "8=FIX.4.4\0019=", 12);
    } else { /* a valid message damaged */
        memcpy(fuzz->bytes, m, size);
        uint32_t changes = 1 + below(fuzz, 3);
        for (uint32_t i = 0; i < changes; i++)
            fuzz->bytes[below(fuzz, (uint32_t)size)] = (char)next_random(fuzz);
        if (kind == 3)
            size = below(fuzz, (uint32_t)size + 1);
        else if (below(fuzz, 2) == 0)
            checksum_mend(fuzz->bytes, size);
    }
    check_bytes(fuzz, size);
}

static int parse_args(int argc, char **argv, uint64_t *seed, uint64_t *cases)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        char *end = NULL;
        uint64_t value = strtoull(argv[i + 1], &end, 10);
        if (end == argv[i + 1] || *end != '\0')
            return -1;
        if (strcmp(argv[i], "--seed") == 0)
            *seed = value;
        else if (strcmp(argv[i], "--cases") == 0)
            *cases = value;
        else
            return -1;
    }
    return argc % 2 == 1 ? 0 : -1;
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
    fuzz.state = (seed ^ 0x9E3779B97F4A7C15ULL) | 1;
    for (fuzz.case_index = 0; fuzz.case_index < cases; fuzz.case_index++)
        run_case(&fuzz);
    printf("%s: seed %" PRIu64 ", %" PRIu64 " cases: %" PRIu64 " whole (%" PRIu64 " ok, %" PRIu64
           " rejected, %" PRIu64 " garbled), %" PRIu64 " need more, %" PRIu64 " bad\n",
           argv[0], seed, cases, fuzz.verdicts[0], fuzz.parsed[0], fuzz.parsed[1], fuzz.parsed[2],
           fuzz.verdicts[1], fuzz.verdicts[2]);
    int failed = 0;
    for (int i = 0; i < PROPERTY_COUNT; i++)
        failed += fuzz.failures[i] > 0;
    if (failed > 0)
        printf("%s: replay with --seed %" PRIu64 " --cases %" PRIu64 "\n", argv[0], seed, cases);
    printf("%s: %d passed, %d failed\n", argv[0], PROPERTY_COUNT - failed, failed);
    return failed == 0 ? 0 : 1;
}
