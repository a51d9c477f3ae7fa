// The bfloat16 micro-kernels Swift cannot express: AMX tile instructions take immediate
// tile numbers, and VDPBF16PS has no Swift spelling. Each function is compiled for its
// instruction set with a target attribute, so this file builds with any x86-64 compiler
// whatever -march says; Swift calls a kernel only after CPUFeatures found the instructions.
// Packing, blocking, threading and dispatch are Swift's (TensorCore/BFloat16GEMM*.swift).
//
// Packed layouts (bf16 as uint16_t), for one 32-row panel of A and one 32-column panel of
// B over kblocks blocks of 32 k values (zero-padded):
//   A: [kblock][row tile t: 2][row r: 16][k: 32]          -> A(t·16 + r, kblock·32 + k)
//   B: [kblock][column tile h: 2][k pair p: 16][column j: 16][2] -> B(kblock·32 + 2p + s, h·16 + j)
// A 16×32 slice of A is one AMX A tile, a 16×16×2 slice of B one VNNI-packed B tile (and
// one row of it one VDPBF16PS operand); each kblock of a panel is 1024 values.
#ifndef CNN_DIST_BFLOAT16_KERNELS_H
#define CNN_DIST_BFLOAT16_KERNELS_H

#include <stdint.h>

/// Asks Linux for permission to use AMX tile data (arch_prctl ARCH_REQ_XCOMP_PERM,
/// XFEATURE_XTILEDATA); 0 when granted (or not needed), else the errno.
int cnn_amx_request_permission(void);

/// c[0..<32][cb·32 ..< cb·32+32] = A panel · B panel cb, for cb in 0..<column_panels, where
/// B panel cb starts at b + cb·kblocks·1024; c is Float32 with row stride ldc floats,
/// overwritten (not accumulated). AMX tiles: configures, computes, then releases the tile
/// state (tilerelease) so no worker thread keeps it between calls.
void cnn_bf16_amx_panel(const uint16_t *a, const uint16_t *b, float *c, long ldc, long kblocks,
                        long column_panels);

/// The same contract with AVX512-BF16 (VDPBF16PS), 8×32 register tiles. Partial sums wait
/// between chunks of the depth in a 4 KiB block on the stack; c is written once per panel,
/// after its last chunk, so c must not overlap a or b (later panels still read them).
void cnn_bf16_avx512_panel(const uint16_t *a, const uint16_t *b, float *c, long ldc, long kblocks,
                           long column_panels);

#endif
