/* Start-up allocation (see mem.h). */
#include "lib/mem.h"

#include <stdlib.h>

void *mem_array_alloc(size_t count, size_t size)
{
    return calloc(count, size);
}

void mem_free(void *memory)
{
    free(memory);
}
