/* Allocation for index_table.h; the probing lives in the header. */
#include "lib/index_table.h"

#include <string.h>

#include "lib/mem.h"

int index_table_init(struct index_table *table, uint32_t slots_max)
{
    uint64_t capacity = 16;
    while (capacity < (uint64_t)slots_max * 2)
        capacity *= 2;
    assert(capacity <= ((uint64_t)1 << 31));
    table->entries = mem_array_alloc(capacity, sizeof(uint32_t));
    if (table->entries == NULL)
        return -1;
    table->mask = (uint32_t)(capacity - 1);
    index_table_clear(table);
    return 0;
}

void index_table_free(struct index_table *table)
{
    mem_free(table->entries);
    table->entries = NULL;
    table->mask = 0;
    table->count = 0;
}

void index_table_clear(struct index_table *table)
{
    /* INDEX_NONE is all ones, so a byte fill writes it. */
    memset(table->entries, 0xff, ((size_t)table->mask + 1) * sizeof(uint32_t));
    table->count = 0;
}
