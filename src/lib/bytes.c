/* The byte writer and reader of bytes.h. */
#include "lib/bytes.h"

#include <assert.h>
#include <string.h>

#include "core/result.h"

void byte_writer_init(struct byte_writer *writer, byte_flush_cb flush_cb, void *context)
{
    assert(flush_cb != NULL);
    writer->used = 0;
    writer->total_bytes = 0;
    writer->flush_cb = flush_cb;
    writer->context = context;
    writer->error = 0;
}

static void byte_writer_flush(struct byte_writer *writer)
{
    if (writer->used == 0)
        return;
    if (writer->error == 0)
        writer->error = writer->flush_cb(writer->context, writer->chunk, writer->used);
    writer->used = 0;
}

void byte_put(struct byte_writer *writer, const void *data, size_t size)
{
    const uint8_t *bytes = data;
    writer->total_bytes += size;
    while (size > 0) {
        size_t room = BYTE_WRITER_CHUNK_SIZE - writer->used;
        size_t take = size < room ? size : room;
        memcpy(writer->chunk + writer->used, bytes, take);
        writer->used += take;
        bytes += take;
        size -= take;
        if (writer->used == BYTE_WRITER_CHUNK_SIZE)
            byte_writer_flush(writer);
    }
    assert(writer->used < BYTE_WRITER_CHUNK_SIZE);
}

void byte_put_u8(struct byte_writer *writer, uint8_t value)
{
    byte_put(writer, &value, 1);
}

void byte_put_u16(struct byte_writer *writer, uint16_t value)
{
    uint8_t bytes[2] = {(uint8_t)value, (uint8_t)(value >> 8)};
    byte_put(writer, bytes, sizeof bytes);
}

void byte_put_u32(struct byte_writer *writer, uint32_t value)
{
    uint8_t bytes[4];
    for (int i = 0; i < 4; i++)
        bytes[i] = (uint8_t)(value >> (8 * i));
    byte_put(writer, bytes, sizeof bytes);
}

void byte_put_u64(struct byte_writer *writer, uint64_t value)
{
    uint8_t bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(value >> (8 * i));
    byte_put(writer, bytes, sizeof bytes);
}

void byte_put_i64(struct byte_writer *writer, int64_t value)
{
    byte_put_u64(writer, (uint64_t)value);
}

int byte_writer_finish(struct byte_writer *writer)
{
    byte_writer_flush(writer);
    return writer->error;
}

int byte_buffer_flush(void *context, const uint8_t *data, size_t size)
{
    struct byte_buffer *buffer = context;
    if (buffer->capacity - buffer->length < size)
        return ERR_CAPACITY;
    memcpy(buffer->data + buffer->length, data, size);
    buffer->length += size;
    return 0;
}

void byte_reader_init(struct byte_reader *reader, const void *data, size_t size)
{
    reader->data = data;
    reader->size = size;
    reader->offset = 0;
    reader->error = 0;
}

void byte_get(struct byte_reader *reader, void *out, size_t size)
{
    if (reader->error != 0 || byte_reader_left(reader) < size) {
        reader->error = ERR_DECODE_NEED_MORE;
        memset(out, 0, size);
        return;
    }
    memcpy(out, reader->data + reader->offset, size);
    reader->offset += size;
    assert(reader->offset <= reader->size);
}

uint8_t byte_get_u8(struct byte_reader *reader)
{
    uint8_t value;
    byte_get(reader, &value, 1);
    return value;
}

uint16_t byte_get_u16(struct byte_reader *reader)
{
    uint8_t bytes[2];
    byte_get(reader, bytes, sizeof bytes);
    return (uint16_t)(bytes[0] | (bytes[1] << 8));
}

uint32_t byte_get_u32(struct byte_reader *reader)
{
    uint8_t bytes[4];
    byte_get(reader, bytes, sizeof bytes);
    uint32_t value = 0;
    for (int i = 3; i >= 0; i--)
        value = (value << 8) | bytes[i];
    return value;
}

uint64_t byte_get_u64(struct byte_reader *reader)
{
    uint8_t bytes[8];
    byte_get(reader, bytes, sizeof bytes);
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = (value << 8) | bytes[i];
    return value;
}

int64_t byte_get_i64(struct byte_reader *reader)
{
    return (int64_t)byte_get_u64(reader);
}
