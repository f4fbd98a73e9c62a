/* A copy of part of the stream in one file (stream_copy.h): written from
 * NATS by a reader that never publishes, read back by every replay. */
#include "ops/stream_copy.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "lib/clock.h"
#include "replica/journal.h"

static void copy_put_u32(uint8_t *out, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(value >> (8 * i));
}

static void copy_put_u64(uint8_t *out, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(value >> (8 * i));
}

static uint32_t copy_get_u32(const uint8_t *in)
{
    uint32_t value = 0;
    for (int i = 0; i < 4; i++)
        value |= (uint32_t)in[i] << (8 * i);
    return value;
}

static uint64_t copy_get_u64(const uint8_t *in)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value |= (uint64_t)in[i] << (8 * i);
    return value;
}

/* The state of one copy from NATS, for the message callback. */
struct copy_writer {
    FILE *file;
    uint64_t until;
    struct stream_copy_summary *summary;
};

static int copy_message(void *context, uint64_t stream_seq, uint64_t timestamp_ns,
                        const void *data, size_t size)
{
    struct copy_writer *writer = context;
    if (writer->until != 0 && stream_seq > writer->until)
        return 1; /* past the end asked for: stop */
    if (size > STREAM_COPY_MESSAGE_SIZE_MAX)
        return ERR_CAPACITY;
    uint8_t header[20];
    copy_put_u64(header, stream_seq);
    copy_put_u64(header + 8, timestamp_ns);
    copy_put_u32(header + 16, (uint32_t)size);
    if (fwrite(header, 1, sizeof header, writer->file) != sizeof header ||
        fwrite(data, 1, size, writer->file) != size)
        return ERR_IO;
    if (writer->summary->messages == 0)
        writer->summary->first_seq = stream_seq;
    writer->summary->last_seq = stream_seq;
    writer->summary->messages++;
    return 0;
}

/* Opens the stream read-only: it must exist, with whatever replicas it
 * has (1 on the embedded default, 3 or 5 on a cluster). */
static int copy_journal_open(struct journal **journal, const char *urls, char *errmsg,
                             size_t errmsg_size)
{
    static const int replicas[] = {1, 3, 5};
    int rv = ERR_IO;
    for (size_t i = 0; i < sizeof replicas / sizeof replicas[0]; i++) {
        struct journal_config config = journal_config_stream(urls, replicas[i]);
        config.must_exist = true;
        rv = journal_open(journal, &config, errmsg, errmsg_size);
        if (rv == 0 || rv == ERR_NOT_FOUND || rv == ERR_VERSION)
            return rv;
    }
    return rv;
}

/* Reads from from_seq to end into writer's file. */
static int copy_read_all(struct journal *journal, struct copy_writer *writer, uint64_t from_seq,
                         uint64_t end, char *errmsg, size_t errmsg_size)
{
    uint64_t next = from_seq;
    int64_t start_ms = clock_now_ms();
    int64_t last_progress_ms = start_ms;
    while (next <= end) {
        int64_t now_ms = clock_now_ms();
        if (now_ms - last_progress_ms > STREAM_COPY_IDLE_TIMEOUT_MS ||
            now_ms - start_ms > STREAM_COPY_TOTAL_TIMEOUT_MS) {
            snprintf(errmsg, errmsg_size, "stream: no message %" PRIu64 " after %d ms", next,
                     STREAM_COPY_IDLE_TIMEOUT_MS);
            return ERR_TIMEOUT;
        }
        uint64_t after = next;
        int rv = journal_read(journal, next, 4096, 1000, copy_message, writer, &after);
        if (rv == 1)
            return 0; /* past until */
        if (rv != 0) {
            snprintf(errmsg, errmsg_size, "stream: %s", rv == ERR_IO ? journal_error(journal)
                                                                     : err_text(rv));
            return rv;
        }
        if (after != next)
            last_progress_ms = clock_now_ms();
        next = after;
    }
    return 0;
}

int stream_copy_from_nats(const char *urls, uint64_t from_seq, uint64_t until, const char *path,
                          struct stream_copy_summary *summary, char *errmsg,
                          size_t errmsg_size)
{
    assert(from_seq >= 1);
    memset(summary, 0, sizeof *summary);
    struct journal *journal = NULL;
    int rv = copy_journal_open(&journal, urls, errmsg, errmsg_size);
    if (rv != 0)
        return rv;
    FILE *file = NULL;
    rv = journal_last_seq(journal, &summary->stream_last_seq);
    if (rv != 0) {
        snprintf(errmsg, errmsg_size, "stream info: %s", journal_error(journal));
        goto done;
    }
    file = fopen(path, "wb");
    uint8_t header[8];
    copy_put_u32(header, STREAM_COPY_MAGIC);
    copy_put_u32(header + 4, STREAM_COPY_VERSION);
    if (file == NULL || fwrite(header, 1, sizeof header, file) != sizeof header) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, strerror(errno));
        rv = ERR_IO;
        goto done;
    }
    uint64_t end = summary->stream_last_seq;
    if (until != 0 && until < end)
        end = until;
    struct copy_writer writer = {file, end, summary};
    rv = copy_read_all(journal, &writer, from_seq, end, errmsg, errmsg_size);
done:
    if (file != NULL && fclose(file) != 0 && rv == 0) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, strerror(errno));
        rv = ERR_IO;
    }
    journal_close(journal);
    assert(rv != 0 || summary->messages == 0 || summary->last_seq >= summary->first_seq);
    return rv;
}

int stream_copy_open(struct stream_copy_reader *reader, const char *path, char *errmsg,
                     size_t errmsg_size)
{
    memset(reader, 0, sizeof *reader);
    reader->file = fopen(path, "rb");
    if (reader->file == NULL) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    uint8_t header[8];
    if (fread(header, 1, sizeof header, reader->file) != sizeof header ||
        copy_get_u32(header) != STREAM_COPY_MAGIC) {
        snprintf(errmsg, errmsg_size, "%s: not a copy of a stream", path);
        stream_copy_close(reader);
        return ERR_IO;
    }
    if (copy_get_u32(header + 4) != STREAM_COPY_VERSION) {
        snprintf(errmsg, errmsg_size, "%s: stream copy format %u, this build reads %u", path,
                 copy_get_u32(header + 4), STREAM_COPY_VERSION);
        stream_copy_close(reader);
        return ERR_VERSION;
    }
    reader->data = malloc(STREAM_COPY_MESSAGE_SIZE_MAX);
    if (reader->data == NULL) {
        stream_copy_close(reader);
        return ERR_NOMEM;
    }
    return 0;
}

int stream_copy_next(struct stream_copy_reader *reader, uint64_t *stream_seq,
                     uint64_t *timestamp_ns, const uint8_t **data, size_t *size)
{
    assert(reader->file != NULL);
    uint8_t header[20];
    size_t got = fread(header, 1, sizeof header, reader->file);
    if (got == 0 && feof(reader->file))
        return 0;
    if (got != sizeof header)
        return ERR_DECODE_MALFORMED;
    *stream_seq = copy_get_u64(header);
    *timestamp_ns = copy_get_u64(header + 8);
    uint32_t length = copy_get_u32(header + 16);
    if (length > STREAM_COPY_MESSAGE_SIZE_MAX ||
        fread(reader->data, 1, length, reader->file) != length)
        return ERR_DECODE_MALFORMED;
    *data = reader->data;
    *size = length;
    return 1;
}

void stream_copy_close(struct stream_copy_reader *reader)
{
    if (reader->file != NULL)
        fclose(reader->file);
    free(reader->data);
    memset(reader, 0, sizeof *reader);
}
