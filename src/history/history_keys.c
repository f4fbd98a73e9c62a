/* Sorting the archive's keys (history_keys.h): a stable radix sort by
 * key, a byte at a time, skipping the bytes every key shares. One writer
 * thread sorts at a time (its counts are static: 8 KiB off the stack). */
#include "history/history_keys.h"

#include <string.h>

void history_keys_sort(struct history_key *keys, struct history_key *scratch, uint32_t count)
{
    /* Every byte's counts in one pass; a byte every key shares is skipped. */
    static uint32_t counts[8][256];
    memset(counts, 0, sizeof counts);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t key = (uint64_t)keys[i].key;
        for (uint32_t byte = 0; byte < 8; byte++)
            counts[byte][(key >> (8 * byte)) & 0xFF]++;
    }
    struct history_key *from = keys;
    struct history_key *to = scratch;
    for (uint32_t byte = 0; byte < 8 && count > 0; byte++) {
        uint32_t shift = 8 * byte;
        uint32_t *offsets = counts[byte];
        if (offsets[((uint64_t)from[0].key >> shift) & 0xFF] == count)
            continue; /* every key has this byte: the order stays */
        uint32_t start = 0;
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t n = offsets[b];
            offsets[b] = start;
            start += n;
        }
        for (uint32_t i = 0; i < count; i++)
            to[offsets[((uint64_t)from[i].key >> shift) & 0xFF]++] = from[i];
        struct history_key *swap = from;
        from = to;
        to = swap;
    }
    if (from != keys)
        memcpy(keys, from, count * sizeof *keys);
}

uint32_t history_keys_unique(struct history_key *keys, uint32_t count)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count; i++)
        if (kept == 0 || keys[i].key != keys[kept - 1].key || keys[i].seq != keys[kept - 1].seq ||
            keys[i].ref != keys[kept - 1].ref)
            keys[kept++] = keys[i];
    return kept;
}
