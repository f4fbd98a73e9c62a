/* Tests of the FIX 4.4 tag=value codec (src/fix/fix_msg.h): messages are
 * written with the writer, framed and parsed back; the broken ones are
 * made by hand, one rule each. */
#include "fix/fix_msg.h"
#include "test.h"

static size_t sample(char *buf, size_t capacity, const char **start)
{
    struct fix_writer w;
    fix_write_begin(&w, buf, capacity, "D");
    fix_write_str(&w, 49, "CLIENT1");
    fix_write_str(&w, 56, "NODOWN");
    fix_write_u64(&w, 34, 12);
    fix_write_str(&w, 52, "20260101-00:00:00.000");
    fix_write_i64(&w, 44, -5);
    size_t size = 0;
    *start = fix_write_end(&w, &size);
    return size;
}

TEST(round_trip)
{
    char buf[512];
    const char *m = NULL;
    size_t size = sample(buf, sizeof buf, &m);
    CHECK(m != NULL);
    CHECK(memcmp(m, "8=FIX.4.4\0019=", 12) == 0);
    size_t framed = 0;
    const char *why = NULL;
    CHECK_EQ_I64(fix_frame(m, size, &framed, &why), FIX_FRAME_WHOLE);
    CHECK_EQ_I64(framed, size);
    for (size_t cut = 0; cut < size; cut++)
        CHECK_EQ_I64(fix_frame(m, cut, &framed, &why), FIX_FRAME_NEED_MORE);
    struct fix_msg msg;
    enum fix_reject_reason reason;
    uint32_t ref = 0;
    CHECK_EQ_I64(fix_parse(m, size, &msg, &reason, &ref, &why), FIX_PARSE_OK);
    uint64_t seq = 0;
    bool present = false;
    CHECK(fix_get_u64(&msg, 34, &seq, &present));
    CHECK_EQ_I64(seq, 12);
    char text[16];
    CHECK(fix_get_text(&msg, 49, text, sizeof text));
    CHECK_STR(text, "CLIENT1");
    CHECK(!fix_get_u64(&msg, 44, &seq, &present));
    CHECK(present);
    CHECK(!fix_get_flag(&msg, 43));
}

TEST(bad_checksum_is_garbled)
{
    char buf[512];
    const char *m = NULL;
    size_t size = sample(buf, sizeof buf, &m);
    char copy[512];
    memcpy(copy, m, size);
    copy[size - 2] = copy[size - 2] == '9' ? '0' : (char)(copy[size - 2] + 1);
    struct fix_msg msg;
    enum fix_reject_reason reason;
    uint32_t ref = 0;
    const char *why = NULL;
    CHECK_EQ_I64(fix_parse(copy, size, &msg, &reason, &ref, &why), FIX_PARSE_GARBLED);
    CHECK_EQ_I64(ref, 10);
}

TEST(bad_framing)
{
    size_t framed = 0;
    const char *why = NULL;
    const char garbage[] = "hello world\001";
    CHECK_EQ_I64(fix_frame(garbage, sizeof garbage - 1, &framed, &why), FIX_FRAME_BAD);
    const char wrong_length[] = "8=FIX.4.4\0019=5\00135=0\00149=A\00110=000\001";
    CHECK_EQ_I64(fix_frame(wrong_length, sizeof wrong_length - 1, &framed, &why),
                 FIX_FRAME_BAD);
    const char not_number[] = "8=FIX.4.4\0019=x\001";
    CHECK_EQ_I64(fix_frame(not_number, sizeof not_number - 1, &framed, &why), FIX_FRAME_BAD);
    const char huge[] = "8=FIX.4.4\0019=99999\001";
    CHECK_EQ_I64(fix_frame(huge, sizeof huge - 1, &framed, &why), FIX_FRAME_BAD);
}

static enum fix_parse_result parse_body(const char *body, uint32_t *ref)
{
    static char buf[1024];
    size_t n = strlen(body);
    int head = snprintf(buf, sizeof buf, "8=FIX.4.4\0019=%zu\001%s", n, body);
    unsigned sum = 0;
    for (int i = 0; i < head; i++)
        sum += (unsigned char)buf[i];
    snprintf(buf + head, sizeof buf - (size_t)head, "10=%03u\001", sum % 256u);
    size_t size = (size_t)head + 7;
    size_t framed = 0;
    const char *why = NULL;
    if (fix_frame(buf, size, &framed, &why) != FIX_FRAME_WHOLE)
        return (enum fix_parse_result)-1;
    struct fix_msg msg;
    enum fix_reject_reason reason;
    return fix_parse(buf, size, &msg, &reason, ref, &why);
}

TEST(rejects)
{
    uint32_t ref = 0;
    CHECK_EQ_I64(parse_body("35=0\00149=A\00156=B\00134=1\00152=x\001", &ref), FIX_PARSE_OK);
    CHECK_EQ_I64(parse_body("35=0\00149=A\00156=B\00134=1\001", &ref), FIX_PARSE_REJECT);
    CHECK_EQ_I64(ref, 52);
    CHECK_EQ_I64(parse_body("49=A\00135=0\00156=B\00134=1\00152=x\001", &ref), FIX_PARSE_REJECT);
    CHECK_EQ_I64(ref, 35);
    CHECK_EQ_I64(parse_body("35=0\00149=A\00156=B\00134=1\00152=x\001abc\001", &ref),
                 FIX_PARSE_REJECT);
    CHECK_EQ_I64(parse_body("35=0\00149=A\00156=B\00134=1\00152=x\00158=\001", &ref),
                 FIX_PARSE_REJECT);
    CHECK_EQ_I64(ref, 58);
}

TEST(time_format)
{
    char out[FIX_TIME_SIZE];
    fix_time(1767225600123, out);
    CHECK_STR(out, "20260101-00:00:00.123");
}

TEST_MAIN()
