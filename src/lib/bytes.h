/* Little-endian byte writer and reader for every versioned format.
 *
 * The writer fills a chunk and hands it to a flush callback when full, so
 * one encoder can write a file, fill a buffer or feed a hash. The reader
 * never reads past its end: a short read sets a sticky error and returns
 * zeros, and the decoder checks the error once per record. Both keep their
 * error instead of asserting: bytes come from outside.
 */
#ifndef NODOWN_LIB_BYTES_H
#define NODOWN_LIB_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BYTE_WRITER_CHUNK_SIZE 4096u

/* The errors a writer or a reader keeps. The codecs pass them on as
 * core/result.h's ERR_DECODE_NEED_MORE and ERR_CAPACITY, whose numbers
 * they are (codec/command_codec.c checks). */
enum byte_error {
    BYTE_ERROR_SHORT = -4, /* a read past the end: more bytes are needed */
    BYTE_ERROR_FULL = -9,  /* a byte_buffer has no room left */
};

/* Returns 0, or a negative error that the writer keeps. */
typedef int (*byte_flush_cb)(void *context, const uint8_t *data, size_t size);

struct byte_writer {
    uint8_t chunk[BYTE_WRITER_CHUNK_SIZE];
    size_t used;
    uint64_t total_bytes;
    byte_flush_cb flush_cb;
    void *context;
    int error;
};

void byte_writer_init(struct byte_writer *writer, byte_flush_cb flush_cb, void *context);
/* What byte_put does when the chunk fills: copies and flushes, chunk by
 * chunk. */
void byte_put_slow(struct byte_writer *writer, const void *data, size_t size);

/* The primitives are inline: the codecs call them once per field, and a
 * call each would cost more than the copy (replay decodes millions of
 * commands a second). */
static inline void byte_put(struct byte_writer *writer, const void *data, size_t size)
{
    if (BYTE_WRITER_CHUNK_SIZE - writer->used <= size) {
        byte_put_slow(writer, data, size);
        return;
    }
    memcpy(writer->chunk + writer->used, data, size);
    writer->used += size;
    writer->total_bytes += size;
}

static inline void byte_put_u8(struct byte_writer *writer, uint8_t value)
{
    byte_put(writer, &value, 1);
}

static inline void byte_put_u16(struct byte_writer *writer, uint16_t value)
{
    uint8_t bytes[2] = {(uint8_t)value, (uint8_t)(value >> 8)};
    byte_put(writer, bytes, sizeof bytes);
}

static inline void byte_put_u32(struct byte_writer *writer, uint32_t value)
{
    uint8_t bytes[4];
    for (int i = 0; i < 4; i++)
        bytes[i] = (uint8_t)(value >> (8 * i));
    byte_put(writer, bytes, sizeof bytes);
}

static inline void byte_put_u64(struct byte_writer *writer, uint64_t value)
{
    uint8_t bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(value >> (8 * i));
    byte_put(writer, bytes, sizeof bytes);
}

static inline void byte_put_i64(struct byte_writer *writer, int64_t value)
{
    byte_put_u64(writer, (uint64_t)value);
}
/* Flushes what is left; returns the writer's error or 0. */
int byte_writer_finish(struct byte_writer *writer);

/* A flush target that appends to a caller's fixed buffer. */
struct byte_buffer {
    uint8_t *data;
    size_t capacity;
    size_t length;
};
int byte_buffer_flush(void *context, const uint8_t *data, size_t size);

struct byte_reader {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int error; /* 0, or BYTE_ERROR_SHORT after a short read */
};

void byte_reader_init(struct byte_reader *reader, const void *data, size_t size);

static inline size_t byte_reader_left(const struct byte_reader *reader)
{
    return reader->size - reader->offset;
}

static inline void byte_get(struct byte_reader *reader, void *out, size_t size)
{
    if (reader->error != 0 || byte_reader_left(reader) < size) {
        reader->error = BYTE_ERROR_SHORT;
        memset(out, 0, size);
        return;
    }
    memcpy(out, reader->data + reader->offset, size);
    reader->offset += size;
}

static inline uint8_t byte_get_u8(struct byte_reader *reader)
{
    uint8_t value;
    byte_get(reader, &value, 1);
    return value;
}

static inline uint16_t byte_get_u16(struct byte_reader *reader)
{
    uint8_t bytes[2];
    byte_get(reader, bytes, sizeof bytes);
    return (uint16_t)(bytes[0] | (bytes[1] << 8));
}

static inline uint32_t byte_get_u32(struct byte_reader *reader)
{
    uint8_t bytes[4];
    byte_get(reader, bytes, sizeof bytes);
    uint32_t value = 0;
    for (int i = 3; i >= 0; i--)
        value = (value << 8) | bytes[i];
    return value;
}

static inline uint64_t byte_get_u64(struct byte_reader *reader)
{
    uint8_t bytes[8];
    byte_get(reader, bytes, sizeof bytes);
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = (value << 8) | bytes[i];
    return value;
}

static inline int64_t byte_get_i64(struct byte_reader *reader)
{
    return (int64_t)byte_get_u64(reader);
}

#endif
