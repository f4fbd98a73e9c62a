/* An open-addressing hash index from a key to a pool slot.
 *
 * The table stores only slot indexes (4 bytes an entry); the key lives in
 * the pooled object, so a lookup compares through a callback the caller
 * passes. Linear probing; removal shifts later entries back instead of
 * leaving tombstones, so the table never degrades. The capacity is a power
 * of two at least twice the pool's, so the load factor stays <= 1/2 and
 * every probe sequence ends at an empty entry.
 *
 * All functions are static inline so that the callbacks, which are static
 * functions of the caller, are inlined away on the hot path.
 */
#ifndef NODOWN_LIB_INDEX_TABLE_H
#define NODOWN_LIB_INDEX_TABLE_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/pool.h" /* INDEX_NONE */

struct index_table {
    uint32_t *entries; /* slot, or INDEX_NONE when empty */
    uint32_t mask;     /* capacity - 1 */
    uint32_t count;
};

/* Does slot hold the key? */
typedef bool (*index_match_cb)(const void *context, uint32_t slot, const void *key);
/* The hash of the key held by slot. */
typedef uint64_t (*index_hash_cb)(const void *context, uint32_t slot);

int index_table_init(struct index_table *table, uint32_t slots_max);
void index_table_free(struct index_table *table);
void index_table_clear(struct index_table *table);

/* Returns the entry position holding key, or INDEX_NONE. */
static inline uint32_t index_table_find(const struct index_table *table, uint64_t hash,
                                        index_match_cb match_cb, const void *context,
                                        const void *key)
{
    uint32_t position = (uint32_t)hash & table->mask;
    for (uint32_t probes = 0; probes <= table->mask; probes++) {
        uint32_t slot = table->entries[position];
        if (slot == INDEX_NONE)
            return INDEX_NONE;
        if (match_cb(context, slot, key))
            return position;
        position = (position + 1) & table->mask;
    }
    return INDEX_NONE;
}

/* Inserts slot under hash; the key must not be present already. */
static inline void index_table_insert(struct index_table *table, uint64_t hash,
                                      uint32_t slot)
{
    assert(slot != INDEX_NONE);
    assert(table->count < table->mask); /* one entry stays empty */
    uint32_t position = (uint32_t)hash & table->mask;
    while (table->entries[position] != INDEX_NONE)
        position = (position + 1) & table->mask;
    table->entries[position] = slot;
    table->count++;
}

/* Removes the entry at position (from index_table_find), shifting back the
 * entries after it whose home position allows it. */
static inline void index_table_remove_at(struct index_table *table, uint32_t position,
                                         index_hash_cb hash_cb, const void *context)
{
    assert(position <= table->mask);
    assert(table->entries[position] != INDEX_NONE);
    uint32_t hole = position;
    uint32_t next = (hole + 1) & table->mask;
    while (table->entries[next] != INDEX_NONE) {
        uint32_t home = (uint32_t)hash_cb(context, table->entries[next]) & table->mask;
        /* The entry at next may move to hole if hole lies cyclically in
         * [home, next), i.e. it would still be found from its home. */
        uint32_t distance_hole = (hole - home) & table->mask;
        uint32_t distance_next = (next - home) & table->mask;
        if (distance_hole < distance_next) {
            table->entries[hole] = table->entries[next];
            hole = next;
        }
        next = (next + 1) & table->mask;
    }
    table->entries[hole] = INDEX_NONE;
    table->count--;
}

#endif
