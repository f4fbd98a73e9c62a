/* The free-slot stack behind every pool (see pool.h). */
#include "lib/pool.h"

#include "lib/mem.h"

int pool_init(struct pool *pool, uint32_t capacity)
{
    assert(capacity > 0);
    pool->free_slots = mem_array_alloc(capacity, sizeof(uint32_t));
    if (pool->free_slots == NULL)
        return -1;
    pool->capacity = capacity;
    pool_reset(pool);
    return 0;
}

void pool_free(struct pool *pool)
{
    mem_free(pool->free_slots);
    pool->free_slots = NULL;
    pool->free_count = 0;
    pool->capacity = 0;
}

void pool_reset(struct pool *pool)
{
    /* Stack top is the lowest index, so a fresh pool fills 0, 1, 2 ... */
    for (uint32_t i = 0; i < pool->capacity; i++)
        pool->free_slots[i] = pool->capacity - 1 - i;
    pool->free_count = pool->capacity;
    assert(pool_used(pool) == 0);
}
