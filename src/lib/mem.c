/* Start-up allocation (see mem.h).
 *
 * Every array is aligned to a cache line, so that an object laid out to
 * fit a line (struct account) does, and is written once here, so that its
 * pages are in memory before the first command: the apply path never takes
 * a page fault, and a node's memory use is what it is from the start.
 *
 * Arrays of 2 MiB or more are aligned to 2 MiB and offered to the kernel
 * for transparent huge pages (Linux's madvise(MADV_HUGEPAGE); a hint, and
 * harmless where THP is off). The reason is the snapshot fork: its pause is
 * the copy of the page tables, one entry per 4 KiB page but one per 2 MiB
 * huge page, so a node with gigabytes of state forks in well under a
 * millisecond (docs/node.md). Fewer TLB misses on the apply path come with
 * it. */
#define _DEFAULT_SOURCE /* madvise */
#include "lib/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_ALIGNMENT 64u
#define MEM_HUGE_PAGE ((size_t)2 << 20)

void *mem_array_alloc(size_t count, size_t size)
{
    if (count != 0 && size > SIZE_MAX / count)
        return NULL;
    size_t bytes = count * size;
    size_t alignment = bytes >= MEM_HUGE_PAGE ? MEM_HUGE_PAGE : MEM_ALIGNMENT;
    if (bytes > SIZE_MAX - alignment)
        return NULL;
    bytes = (bytes + alignment - 1) / alignment * alignment;
    if (bytes == 0)
        bytes = MEM_ALIGNMENT;
    void *memory = aligned_alloc(alignment, bytes);
    if (memory == NULL)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (alignment == MEM_HUGE_PAGE)
        (void)madvise(memory, bytes, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
    memset(memory, 0, bytes);
    return memory;
}

void mem_free(void *memory)
{
    free(memory);
}
