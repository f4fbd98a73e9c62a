/* The heap sort of sort.h. */
#include "lib/sort.h"

#include <assert.h>

static void sort_sift_down(uint32_t *indexes, uint32_t root, uint32_t count,
                           sort_compare_cb compare_cb, const void *context)
{
    for (;;) {
        uint32_t largest = root;
        uint32_t left = 2 * root + 1;
        uint32_t right = left + 1;
        if (left < count && compare_cb(context, indexes[left], indexes[largest]) > 0)
            largest = left;
        if (right < count && compare_cb(context, indexes[right], indexes[largest]) > 0)
            largest = right;
        if (largest == root)
            return;
        uint32_t swap = indexes[root];
        indexes[root] = indexes[largest];
        indexes[largest] = swap;
        root = largest;
    }
}

void sort_indexes(uint32_t *indexes, uint32_t count, sort_compare_cb compare_cb,
                  const void *context)
{
    if (count < 2)
        return;
    for (uint32_t i = count / 2; i-- > 0;)
        sort_sift_down(indexes, i, count, compare_cb, context);
    for (uint32_t end = count - 1; end > 0; end--) {
        uint32_t swap = indexes[0];
        indexes[0] = indexes[end];
        indexes[end] = swap;
        sort_sift_down(indexes, 0, end, compare_cb, context);
    }
    for (uint32_t i = 1; i < count; i++)
        assert(compare_cb(context, indexes[i - 1], indexes[i]) <= 0);
}
