// A software prefetch, for loops whose next loads the hardware prefetchers cannot predict
// (the Winograd input transform reads six rows per tile, then jumps a whole plane to the next
// channel). Swift has no prefetch of its own.
#ifndef CNN_DIST_PREFETCH_H
#define CNN_DIST_PREFETCH_H

/// Asks for the cache line holding `address` to be loaded into every cache level, for reading.
static inline void cnn_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
