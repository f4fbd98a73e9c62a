/* The field helpers of field_io.h. */
#include "lib/field_io.h"

void io_bytes(struct field_io *io, void *data, size_t size)
{
    if (io->writer != NULL)
        byte_put(io->writer, data, size);
    else if (io->reader != NULL)
        byte_get(io->reader, data, size);
    io->size_bytes += size;
}

void io_u8(struct field_io *io, uint8_t *value)
{
    io_bytes(io, value, 1);
}

void io_u16(struct field_io *io, uint16_t *value)
{
    if (io->writer != NULL)
        byte_put_u16(io->writer, *value);
    else if (io->reader != NULL)
        *value = byte_get_u16(io->reader);
    io->size_bytes += 2;
}

void io_u32(struct field_io *io, uint32_t *value)
{
    if (io->writer != NULL)
        byte_put_u32(io->writer, *value);
    else if (io->reader != NULL)
        *value = byte_get_u32(io->reader);
    io->size_bytes += 4;
}

void io_i32(struct field_io *io, int32_t *value)
{
    uint32_t bits = (uint32_t)*value;
    io_u32(io, &bits);
    *value = (int32_t)bits;
}

void io_u64(struct field_io *io, uint64_t *value)
{
    if (io->writer != NULL)
        byte_put_u64(io->writer, *value);
    else if (io->reader != NULL)
        *value = byte_get_u64(io->reader);
    io->size_bytes += 8;
}

void io_i64(struct field_io *io, int64_t *value)
{
    uint64_t bits = (uint64_t)*value;
    io_u64(io, &bits);
    *value = (int64_t)bits;
}
