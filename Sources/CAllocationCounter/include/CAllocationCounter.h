#ifndef CALLOCATIONCOUNTER_H
#define CALLOCATIONCOUNTER_H
// Heap-allocation counter for `cnn-dist bench train`. Linked only into the cnn-dist
// executable, whose malloc/calloc/realloc/free/posix_memalign/aligned_alloc/memalign/valloc
// then take precedence over glibc's for the whole process (the Swift runtime, Foundation,
// Open MPI included) and forward to glibc's __libc_* entry points.

#include <stddef.h>
#include <stdint.h>

/// Allocation calls so far in this process (malloc, calloc, realloc, posix_memalign,
/// aligned_alloc, memalign, valloc), all threads.
uint64_t allocation_count(void);
/// free calls with a non-null pointer so far.
uint64_t deallocation_count(void);
/// 1 when this process's malloc is the counting one (the symbols were interposed).
int allocation_counter_active(void);
/// Makes `count` heap allocations (and frees them) through an opaque function pointer, so the
/// optimiser cannot elide them: a known workload for checking that the counter counts.
void allocation_counter_probe(int count);

#endif
