/* A hint to the CPU to start loading a cache line now. gcc and clang
 * spell it __builtin_prefetch; C11 has no spelling, so other compilers
 * get nothing, which is always correct: a prefetch changes only timing. */
#ifndef NODOWN_LIB_PREFETCH_H
#define NODOWN_LIB_PREFETCH_H

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)(address))
#endif

#endif
