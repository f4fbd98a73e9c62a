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

#define BYTE_WRITER_CHUNK_SIZE 4096u

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
void byte_put(struct byte_writer *writer, const void *data, size_t size);
void byte_put_u8(struct byte_writer *writer, uint8_t value);
void byte_put_u16(struct byte_writer *writer, uint16_t value);
void byte_put_u32(struct byte_writer *writer, uint32_t value);
void byte_put_u64(struct byte_writer *writer, uint64_t value);
void byte_put_i64(struct byte_writer *writer, int64_t value);
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
    int error; /* 0, or ERR_DECODE_NEED_MORE after a short read */
};

void byte_reader_init(struct byte_reader *reader, const void *data, size_t size);
void byte_get(struct byte_reader *reader, void *out, size_t size);
uint8_t byte_get_u8(struct byte_reader *reader);
uint16_t byte_get_u16(struct byte_reader *reader);
uint32_t byte_get_u32(struct byte_reader *reader);
uint64_t byte_get_u64(struct byte_reader *reader);
int64_t byte_get_i64(struct byte_reader *reader);

static inline size_t byte_reader_left(const struct byte_reader *reader)
{
    return reader->size - reader->offset;
}

#endif
