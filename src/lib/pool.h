/* A pool of fixed-size slots, addressed by uint32_t index.
 *
 * The pool owns only the free-slot stack; the caller owns the array of
 * objects the indexes point into. Both are allocated once, at init. A pool
 * hands out the most recently freed slot first, so which slot an object
 * lands in depends on history: nothing observable may depend on a slot
 * index (snapshots and digests walk objects in a canonical order).
 */
#ifndef NODOWN_LIB_POOL_H
#define NODOWN_LIB_POOL_H

#include <assert.h>
#include <stdint.h>

/* Indexes into pools are uint32_t; UINT32_MAX is "none". */
#define INDEX_NONE UINT32_MAX

struct pool {
    uint32_t *free_slots; /* stack of free indexes */
    uint32_t free_count;
    uint32_t capacity;
};

/* Allocates the free stack; returns 0 or -1 when out of memory. */
int pool_init(struct pool *pool, uint32_t capacity);
void pool_free(struct pool *pool);

/* Marks every slot free again, lowest index handed out first. */
void pool_reset(struct pool *pool);

static inline uint32_t pool_used(const struct pool *pool)
{
    assert(pool->free_count <= pool->capacity);
    return pool->capacity - pool->free_count;
}

/* Returns a free index, or INDEX_NONE when the pool is exhausted. */
static inline uint32_t pool_acquire(struct pool *pool)
{
    if (pool->free_count == 0)
        return INDEX_NONE;
    uint32_t slot = pool->free_slots[--pool->free_count];
    assert(slot < pool->capacity);
    return slot;
}

static inline void pool_release(struct pool *pool, uint32_t slot)
{
    assert(slot < pool->capacity);
    assert(pool->free_count < pool->capacity);
    pool->free_slots[pool->free_count++] = slot;
}

#endif
