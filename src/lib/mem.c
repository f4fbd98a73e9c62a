/* Start-up allocation (see mem.h).
 *
 * Every array is aligned to a cache line, so that an object laid out to
 * fit a line (struct account) does, and is written once here, so that its
 * pages are in memory before the first command: the apply path never takes
 * a page fault, and a node's memory use is what it is from the start. */
#include "lib/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MEM_ALIGNMENT 64u

void *mem_array_alloc(size_t count, size_t size)
{
    if (count != 0 && size > SIZE_MAX / count)
        return NULL;
    size_t bytes = count * size;
    bytes = (bytes + MEM_ALIGNMENT - 1) / MEM_ALIGNMENT * MEM_ALIGNMENT;
    if (bytes == 0)
        bytes = MEM_ALIGNMENT;
    void *memory = aligned_alloc(MEM_ALIGNMENT, bytes);
    if (memory != NULL)
        memset(memory, 0, bytes);
    return memory;
}

void mem_free(void *memory)
{
    free(memory);
}
