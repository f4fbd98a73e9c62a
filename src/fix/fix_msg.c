/* FIX 4.4 tag=value framing, parsing and writing (fix_msg.h). */
#include "fix/fix_msg.h"

#include <assert.h>
#include <string.h>
#include <time.h>

static const char fix_prefix[] = "8=" FIX_BEGIN_STRING "\001" "9=";
#define FIX_PREFIX_SIZE (sizeof fix_prefix - 1u)
#define FIX_TRAILER_SIZE 7u /* 10=nnn<SOH> */
#define FIX_BODY_DIGITS_MAX 5u

enum fix_frame_result fix_frame(const char *buf, size_t size, size_t *msg_size,
                                const char **why)
{
    assert(buf != NULL || size == 0);
    size_t head = size < FIX_PREFIX_SIZE ? size : FIX_PREFIX_SIZE;
    if (memcmp(buf, fix_prefix, head) != 0) {
        *why = "message does not begin with 8=FIX.4.4 and 9=BodyLength";
        return FIX_FRAME_BAD;
    }
    if (size <= FIX_PREFIX_SIZE)
        return FIX_FRAME_NEED_MORE;
    size_t at = FIX_PREFIX_SIZE;
    size_t body = 0;
    while (at < size && buf[at] >= '0' && buf[at] <= '9') {
        if (at - FIX_PREFIX_SIZE >= FIX_BODY_DIGITS_MAX) {
            *why = "BodyLength(9) too long";
            return FIX_FRAME_BAD;
        }
        body = body * 10u + (size_t)(buf[at] - '0');
        at++;
    }
    if (at == size)
        return FIX_FRAME_NEED_MORE;
    if (buf[at] != FIX_SOH || at == FIX_PREFIX_SIZE) {
        *why = "BodyLength(9) is not a number";
        return FIX_FRAME_BAD;
    }
    at++;
    size_t total = at + body + FIX_TRAILER_SIZE;
    if (total > FIX_MSG_SIZE_MAX) {
        *why = "message longer than the acceptor's limit (4096 bytes)";
        return FIX_FRAME_BAD;
    }
    if (size < total)
        return FIX_FRAME_NEED_MORE;
    const char *trailer = buf + at + body;
    if (body == 0 || trailer[-1] != FIX_SOH || memcmp(trailer, "10=", 3) != 0 ||
        trailer[6] != FIX_SOH) {
        *why = "BodyLength(9) does not end where CheckSum(10) begins";
        return FIX_FRAME_BAD;
    }
    *msg_size = total;
    return FIX_FRAME_WHOLE;
}

static bool fix_parse_tag(const char *data, size_t size, size_t *at, uint32_t *tag)
{
    uint32_t value = 0;
    size_t start = *at;
    while (*at < size && data[*at] >= '0' && data[*at] <= '9' && *at - start < 9) {
        value = value * 10u + (uint32_t)(data[*at] - '0');
        (*at)++;
    }
    if (*at == start || *at >= size || data[*at] != '=' || data[start] == '0')
        return false;
    (*at)++;
    *tag = value;
    return true;
}

static enum fix_parse_result fix_reject(enum fix_reject_reason *reason, uint32_t *ref_tag,
                                        const char **why, enum fix_reject_reason r,
                                        uint32_t tag, const char *text)
{
    *reason = r;
    *ref_tag = tag;
    *why = text;
    return FIX_PARSE_REJECT;
}

static bool fix_checksum_ok(const char *data, size_t size)
{
    assert(size >= FIX_TRAILER_SIZE);
    unsigned sum = 0;
    for (size_t i = 0; i + FIX_TRAILER_SIZE < size; i++)
        sum += (unsigned char)data[i];
    const char *d = data + size - 4;
    if (d[0] < '0' || d[0] > '9' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9')
        return false;
    unsigned said = (unsigned)(d[0] - '0') * 100u + (unsigned)(d[1] - '0') * 10u +
                    (unsigned)(d[2] - '0');
    return said == sum % 256u;
}

enum fix_parse_result fix_parse(const char *data, size_t size, struct fix_msg *msg,
                                enum fix_reject_reason *reason, uint32_t *ref_tag,
                                const char **why)
{
    assert(size >= FIX_PREFIX_SIZE + FIX_TRAILER_SIZE);
    msg->data = data;
    msg->size = size;
    msg->count = 0;
    *ref_tag = 0;
    if (!fix_checksum_ok(data, size)) {
        *reason = FIX_REJECT_VALUE_INCORRECT;
        *ref_tag = 10;
        *why = "CheckSum(10) does not match the message";
        return FIX_PARSE_GARBLED;
    }
    size_t at = 0;
    while (at < size) {
        uint32_t tag = 0;
        if (!fix_parse_tag(data, size, &at, &tag))
            return fix_reject(reason, ref_tag, why, FIX_REJECT_INVALID_TAG, 0,
                              "malformed tag=value field");
        size_t start = at;
        while (at < size && data[at] != FIX_SOH)
            at++;
        if (at == size)
            return fix_reject(reason, ref_tag, why, FIX_REJECT_FORMAT, tag,
                              "field not ended by SOH");
        if (at == start)
            return fix_reject(reason, ref_tag, why, FIX_REJECT_NO_VALUE, tag,
                              "tag without a value");
        if (msg->count == FIX_FIELDS_MAX)
            return fix_reject(reason, ref_tag, why, FIX_REJECT_OTHER, tag,
                              "more fields than the acceptor takes (96)");
        struct fix_field *f = &msg->fields[msg->count++];
        f->tag = tag;
        f->offset = (uint32_t)start;
        f->length = (uint32_t)(at - start);
        at++;
    }
    if (msg->count < 4 || msg->fields[2].tag != 35)
        return fix_reject(reason, ref_tag, why, FIX_REJECT_ORDER, 35,
                          "MsgType(35) must be the third field");
    static const uint32_t required[] = {49, 56, 34, 52};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (fix_get(msg, required[i], NULL) == NULL)
            return fix_reject(reason, ref_tag, why, FIX_REJECT_REQUIRED_MISSING, required[i],
                              "required header field missing");
    return FIX_PARSE_OK;
}

const char *fix_get(const struct fix_msg *msg, uint32_t tag, size_t *length)
{
    for (uint32_t i = 0; i < msg->count; i++)
        if (msg->fields[i].tag == tag) {
            if (length != NULL)
                *length = msg->fields[i].length;
            return msg->data + msg->fields[i].offset;
        }
    return NULL;
}

bool fix_get_u64(const struct fix_msg *msg, uint32_t tag, uint64_t *value, bool *present)
{
    size_t length = 0;
    const char *v = fix_get(msg, tag, &length);
    *present = v != NULL;
    if (v == NULL || length == 0 || length > 18)
        return false;
    uint64_t out = 0;
    for (size_t i = 0; i < length; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        out = out * 10u + (uint64_t)(v[i] - '0');
    }
    *value = out;
    return true;
}

bool fix_get_text(const struct fix_msg *msg, uint32_t tag, char *out, size_t size)
{
    assert(size > 0);
    size_t length = 0;
    const char *v = fix_get(msg, tag, &length);
    if (v == NULL) {
        out[0] = '\0';
        return false;
    }
    if (length > size - 1)
        length = size - 1;
    memcpy(out, v, length);
    out[length] = '\0';
    return true;
}

bool fix_get_flag(const struct fix_msg *msg, uint32_t tag)
{
    size_t length = 0;
    const char *v = fix_get(msg, tag, &length);
    return v != NULL && length == 1 && v[0] == 'Y';
}

static void fix_put(struct fix_writer *w, const char *bytes, size_t length)
{
    if (w->overflow || w->capacity - w->end < length) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->end, bytes, length);
    w->end += length;
}

static size_t fix_u64_digits(uint64_t value, char out[24])
{
    char rev[24];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

static void fix_put_tag(struct fix_writer *w, uint32_t tag)
{
    char digits[24];
    size_t n = fix_u64_digits(tag, digits);
    digits[n++] = '=';
    fix_put(w, digits, n);
}

void fix_write_begin(struct fix_writer *w, char *buf, size_t capacity, const char *msg_type)
{
    assert(capacity > FIX_HEADER_ROOM);
    w->buf = buf;
    w->capacity = capacity;
    w->body_start = FIX_HEADER_ROOM;
    w->end = FIX_HEADER_ROOM;
    w->overflow = false;
    fix_write_str(w, 35, msg_type);
}

void fix_write_mem(struct fix_writer *w, uint32_t tag, const char *value, size_t length)
{
    fix_put_tag(w, tag);
    fix_put(w, value, length);
    fix_put(w, "\001", 1);
}

void fix_write_str(struct fix_writer *w, uint32_t tag, const char *value)
{
    fix_write_mem(w, tag, value, strlen(value));
}

void fix_write_u64(struct fix_writer *w, uint32_t tag, uint64_t value)
{
    char digits[24];
    size_t n = fix_u64_digits(value, digits);
    fix_write_mem(w, tag, digits, n);
}

void fix_write_i64(struct fix_writer *w, uint32_t tag, int64_t value)
{
    char digits[24];
    size_t n = 0;
    uint64_t magnitude = (uint64_t)value;
    if (value < 0) {
        digits[n++] = '-';
        magnitude = 0u - magnitude;
    }
    n += fix_u64_digits(magnitude, digits + n);
    fix_write_mem(w, tag, digits, n);
}

const char *fix_write_end(struct fix_writer *w, size_t *size)
{
    if (w->overflow || w->capacity - w->end < FIX_TRAILER_SIZE)
        return NULL;
    char head[FIX_HEADER_ROOM];
    char digits[24];
    size_t body = w->end - w->body_start;
    size_t n = fix_u64_digits(body, digits);
    size_t head_size = FIX_PREFIX_SIZE + n + 1;
    assert(head_size <= FIX_HEADER_ROOM);
    memcpy(head, fix_prefix, FIX_PREFIX_SIZE);
    memcpy(head + FIX_PREFIX_SIZE, digits, n);
    head[head_size - 1] = FIX_SOH;
    char *start = w->buf + w->body_start - head_size;
    memcpy(start, head, head_size);
    unsigned sum = 0;
    for (const char *p = start; p < w->buf + w->end; p++)
        sum += (unsigned char)*p;
    sum %= 256u;
    char trailer[FIX_TRAILER_SIZE] = {'1', '0', '=', (char)('0' + sum / 100u),
                                      (char)('0' + sum / 10u % 10u), (char)('0' + sum % 10u),
                                      FIX_SOH};
    memcpy(w->buf + w->end, trailer, FIX_TRAILER_SIZE);
    w->end += FIX_TRAILER_SIZE;
    *size = (size_t)(w->buf + w->end - start);
    return start;
}

void fix_time(int64_t ms, char out[FIX_TIME_SIZE])
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    size_t n = strftime(out, FIX_TIME_SIZE, "%Y%m%d-%H:%M:%S", &tm);
    assert(n == 17);
    out[n] = '.';
    out[n + 1] = (char)('0' + ms % 1000 / 100);
    out[n + 2] = (char)('0' + ms % 100 / 10);
    out[n + 3] = (char)('0' + ms % 10);
    out[n + 4] = '\0';
}
