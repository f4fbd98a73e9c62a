/* Heap sort of an index array by a caller's order: in place, no
 * allocation, O(n log n) whatever the input, and deterministic. Used where
 * objects kept in a hash table must be written in a canonical order. */
#ifndef NODOWN_LIB_SORT_H
#define NODOWN_LIB_SORT_H

#include <stdint.h>

/* Negative, zero or positive as a sorts before, with or after b. */
typedef int (*sort_compare_cb)(const void *context, uint32_t a, uint32_t b);

void sort_indexes(uint32_t *indexes, uint32_t count, sort_compare_cb compare_cb,
                  const void *context);

#endif
