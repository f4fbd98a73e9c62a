/* Integer hashing for the in-memory index tables.
 *
 * The tables are never iterated for anything observable (see
 * docs/determinism.md), so the hash only has to spread keys well; it is
 * still a fixed function, so a table's layout depends only on what was
 * inserted and removed, never on addresses.
 */
#ifndef NODOWN_LIB_HASH_H
#define NODOWN_LIB_HASH_H

#include <stdint.h>

/* The finalizer of splitmix64: a bijection on 64-bit words. */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static inline uint64_t hash_pair64(uint64_t a, uint64_t b)
{
    return hash_mix64(a * 0x9e3779b97f4a7c15ULL ^ hash_mix64(b));
}

#endif
