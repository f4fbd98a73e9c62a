/* Snapshots and the state digest: one canonical encoding of the whole
 * state, written to a file or buffer as a snapshot, or fed to a hash as the
 * digest. Canonical means: objects in id order, orders in price-time order,
 * hash-keyed objects sorted by key, and nothing derived (exposures, level
 * totals, indexes) written at all; so two states that behave the same
 * encode the same, whatever their memory layout or pool history.
 *
 * Snapshot, format version 2 (little-endian):
 *   u32 magic "NDSS"   u32 format_version   u64 body_size   u64 body_xxh3_64
 *   body: see docs/formats.md
 * Version 2 adds the session bounds' fields (logic version 3) to a state
 * from logic version 3; below it, its body is version 1's. Both are read.
 * Which one is written depends on the state's logic version only
 * (snapshot_format_written), so that a node never writes a snapshot that
 * another node of its cluster cannot read (docs/upgrades.md).
 */
#ifndef NODOWN_CORE_SNAPSHOT_H
#define NODOWN_CORE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/state.h"
#include "lib/bytes.h"

#define SNAPSHOT_MAGIC 0x5353444Eu /* "NDSS" */
#define SNAPSHOT_FORMAT_VERSION 2u
#define SNAPSHOT_FORMAT_VERSION_MIN 1u
#define SNAPSHOT_HEADER_SIZE 24u

/* Writes the canonical body (no header). Returns the writer's error. */
int snapshot_encode_body(const struct engine *engine, struct byte_writer *writer);

/* Writes header + body into buffer; *length gets the size. Returns 0 or
 * ERR_CAPACITY when the buffer is too small. */
int snapshot_encode(const struct engine *engine, uint8_t *buffer, size_t capacity,
                    size_t *length);

/* The format version a snapshot of a state at logic_version is written
 * in: 1 below logic version 3, whose body is version 1's, and 2 from it.
 * Version 2 is written only once ACTIVATE_LOGIC 3 has applied, and every
 * node that applies it runs a build that reads version 2; before, a build
 * of the first release (which reads version 1 only) may share the stream,
 * and may fetch a snapshot from this node (serve --join). */
uint32_t snapshot_format_written(uint32_t logic_version);

/* The 24-byte header of a snapshot of a state at logic_version whose body
 * has body_size bytes and XXH3-64 checksum: for writers that stream the
 * body elsewhere first. */
void snapshot_header_encode(uint8_t header[SNAPSHOT_HEADER_SIZE], uint32_t logic_version,
                            uint64_t body_size, uint64_t body_checksum);

/* The exact size snapshot_encode will need. */
size_t snapshot_size(const struct engine *engine);

/* Decodes a snapshot into engine, which must be fresh from engine_init.
 * Returns 0, or ERR_DECODE_NEED_MORE (truncated), ERR_DECODE_MALFORMED,
 * ERR_VERSION, ERR_CHECKSUM or ERR_CAPACITY, with a sentence in errmsg;
 * on error the engine is left half-filled and must be freed. */
int snapshot_decode(struct engine *engine, const uint8_t *data, size_t size, char *errmsg,
                    size_t errmsg_size);

#endif
