// Interposes the C allocator in the cnn-dist executable and counts calls.
// The executable exports these symbols, so the dynamic linker binds every library's
// malloc & co. to them; each forwards to glibc's internal entry points.
#include "CAllocationCounter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);

static _Atomic uint64_t allocations;
static _Atomic uint64_t deallocations;

// A sanitizer build (swift build --sanitize=address|thread) owns malloc itself: forwarding its
// calls to glibc's entry points would hand its pointers to the wrong allocator. There the
// counter steps aside and `allocation_counter_active` reports 0, as when interposition lost.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SANITIZER_OWNS_MALLOC 1
#endif
#endif

static inline void counted(void) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

#ifndef SANITIZER_OWNS_MALLOC
__attribute__((visibility("default"))) void *malloc(size_t size) {
    counted();
    return __libc_malloc(size);
}

__attribute__((visibility("default"))) void *calloc(size_t count, size_t size) {
    counted();
    return __libc_calloc(count, size);
}

__attribute__((visibility("default"))) void *realloc(void *pointer, size_t size) {
    counted();
    return __libc_realloc(pointer, size);
}

__attribute__((visibility("default"))) void free(void *pointer) {
    if (pointer) atomic_fetch_add_explicit(&deallocations, 1, memory_order_relaxed);
    __libc_free(pointer);
}

__attribute__((visibility("default"))) void *memalign(size_t alignment, size_t size) {
    counted();
    return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t alignment, size_t size) {
    counted();
    return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    counted();
    void *pointer = __libc_memalign(alignment, size);
    if (!pointer && size) return ENOMEM;
    *result = pointer;
    return 0;
}

__attribute__((visibility("default"))) void *valloc(size_t size) {
    counted();
    return __libc_valloc(size);
}
#endif

uint64_t allocation_count(void) {
    return atomic_load_explicit(&allocations, memory_order_relaxed);
}

uint64_t deallocation_count(void) {
    return atomic_load_explicit(&deallocations, memory_order_relaxed);
}

static void *(*volatile probe_allocate)(size_t) = malloc;
static void (*volatile probe_free)(void *) = free;

int allocation_counter_active(void) {
    // strdup lives in glibc and calls malloc through its PLT, which reaches this file's
    // malloc only if the executable's definition won symbol resolution.
    extern char *strdup(const char *);
    uint64_t before = atomic_load_explicit(&allocations, memory_order_relaxed);
    char *copy = strdup("x");
    uint64_t after = atomic_load_explicit(&allocations, memory_order_relaxed);
    probe_free(copy);
    return after > before;
}

void allocation_counter_probe(int count) {
    for (int i = 0; i < count; i++) {
        void *pointer = probe_allocate(64);
        probe_free(pointer);
    }
}
