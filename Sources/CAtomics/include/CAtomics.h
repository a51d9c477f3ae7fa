// Atomic loads, stores and increments on plain integers, and the CPU's spin-wait hint, for
// TensorCore's worker pool (Swift's Synchronization module needs macOS 15 on Apple
// platforms; these compile anywhere clang does).
#ifndef CNN_DIST_ATOMICS_H
#define CNN_DIST_ATOMICS_H

#include "Prefetch.h"

static inline long cnn_atomic_load(const long *value) { return __atomic_load_n(value, __ATOMIC_ACQUIRE); }

static inline void cnn_atomic_store(long *value, long newValue) { __atomic_store_n(value, newValue, __ATOMIC_RELEASE); }

/// Adds `delta` and returns the value before.
static inline long cnn_atomic_fetch_add(long *value, long delta) {
    return __atomic_fetch_add(value, delta, __ATOMIC_ACQ_REL);
}

/// Orders the loads before it ahead of the loads after it (a seqlock's second read).
static inline void cnn_atomic_acquire_fence(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }

/// Orders the stores before it ahead of the stores after it (a seqlock writer's mark before its data).
static inline void cnn_atomic_release_fence(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }

/// Tells the core this thread is spinning (x86 PAUSE, ARM YIELD): saves power and lets the
/// sibling hyper-thread run.
static inline void cnn_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
