/* The byte writer and reader of bytes.h. */
#include "lib/bytes.h"

#include <assert.h>
#include <string.h>

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

void byte_put_slow(struct byte_writer *writer, const void *data, size_t size)
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

int byte_writer_finish(struct byte_writer *writer)
{
    byte_writer_flush(writer);
    return writer->error;
}

int byte_buffer_flush(void *context, const uint8_t *data, size_t size)
{
    struct byte_buffer *buffer = context;
    if (buffer->capacity - buffer->length < size)
        return BYTE_ERROR_FULL;
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
