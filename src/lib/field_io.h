/* One description of a record's fields serves to write it, read it and
 * count its bytes: each io_* call writes the field when the context has a
 * writer, reads it when it has a reader, and always adds its size. The
 * command codec and the frame codec describe their records with it, so
 * their encoders and decoders cannot drift apart. */
#ifndef NODOWN_LIB_FIELD_IO_H
#define NODOWN_LIB_FIELD_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"

struct field_io {
    struct byte_writer *writer; /* set: write */
    struct byte_reader *reader; /* set: read; neither: count */
    size_t size_bytes;
    bool invalid;               /* a codec's own rule of a field is broken */
};

/* Inline, like the byte primitives under them: one call per field. */
static inline void io_bytes(struct field_io *io, void *data, size_t size)
{
    if (io->writer != NULL)
        byte_put(io->writer, data, size);
    else if (io->reader != NULL)
        byte_get(io->reader, data, size);
    io->size_bytes += size;
}

static inline void io_u8(struct field_io *io, uint8_t *value)
{
    io_bytes(io, value, 1);
}

static inline void io_u16(struct field_io *io, uint16_t *value)
{
    if (io->writer != NULL)
        byte_put_u16(io->writer, *value);
    else if (io->reader != NULL)
        *value = byte_get_u16(io->reader);
    io->size_bytes += 2;
}

static inline void io_u32(struct field_io *io, uint32_t *value)
{
    if (io->writer != NULL)
        byte_put_u32(io->writer, *value);
    else if (io->reader != NULL)
        *value = byte_get_u32(io->reader);
    io->size_bytes += 4;
}

static inline void io_i32(struct field_io *io, int32_t *value)
{
    uint32_t bits = (uint32_t)*value;
    io_u32(io, &bits);
    *value = (int32_t)bits;
}

static inline void io_u64(struct field_io *io, uint64_t *value)
{
    if (io->writer != NULL)
        byte_put_u64(io->writer, *value);
    else if (io->reader != NULL)
        *value = byte_get_u64(io->reader);
    io->size_bytes += 8;
}

static inline void io_i64(struct field_io *io, int64_t *value)
{
    uint64_t bits = (uint64_t)*value;
    io_u64(io, &bits);
    *value = (int64_t)bits;
}

#endif
