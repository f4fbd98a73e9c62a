/* Start-up allocation. Everything nodown's core keeps is allocated once,
 * through these two calls, before the first command is applied; the core
 * itself never calls malloc (checked by tools/tidy.sh). */
#ifndef NODOWN_LIB_MEM_H
#define NODOWN_LIB_MEM_H

#include <stddef.h>

/* Zeroed, cache-line aligned, already touched memory for count objects
 * of size bytes, or NULL. */
void *mem_array_alloc(size_t count, size_t size);
void mem_free(void *memory);

#endif
