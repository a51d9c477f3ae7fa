// AMX and AVX512-BF16 micro-kernels; the contract and packed layouts are in the header.
#include "CBFloat16Kernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#include <errno.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CNN_ARCH_REQ_XCOMP_PERM 0x1023
#define CNN_XFEATURE_XTILEDATA 18

int cnn_amx_request_permission(void) {
    if (syscall(SYS_arch_prctl, CNN_ARCH_REQ_XCOMP_PERM, CNN_XFEATURE_XTILEDATA) != 0) return errno;
    return 0;
}

/// The 64-byte tile configuration LDTILECFG reads (palette 1).
typedef struct {
    uint8_t palette_id;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed, aligned(64))) cnn_tile_config;

// Tiles 0–3: the 32×32 Float32 result as four 16×16 quarters; 4–5: the two 16×32 bf16 A
// tiles; 6–7: the two VNNI B tiles (16 k pairs × 16 columns × 2). Every tile is 16 rows of 64 bytes.
__attribute__((target("amx-tile,amx-bf16")))
void cnn_bf16_amx_panel(const uint16_t *a, const uint16_t *b, float *c, long ldc, long kblocks,
                        long column_panels) {
    cnn_tile_config config;
    memset(&config, 0, sizeof config);
    config.palette_id = 1;
    for (int t = 0; t < 8; t++) {
        config.rows[t] = 16;
        config.colsb[t] = 64;
    }
    _tile_loadconfig(&config);
    const long stride = ldc * (long)sizeof(float);
    for (long cb = 0; cb < column_panels; cb++) {
        const uint16_t *bp = b + cb * kblocks * 1024;
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (long kb = 0; kb < kblocks; kb++) {
            _tile_loadd(4, a + kb * 1024, 64);
            _tile_loadd(5, a + kb * 1024 + 512, 64);
            _tile_loadd(6, bp + kb * 1024, 64);
            _tile_loadd(7, bp + kb * 1024 + 512, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
        float *cc = c + cb * 32;
        _tile_stored(0, cc, stride);
        _tile_stored(1, cc + 16, stride);
        _tile_stored(2, cc + 16 * ldc, stride);
        _tile_stored(3, cc + 16 * ldc + 16, stride);
    }
    _tile_release();
}

// Eight rows × 32 columns per register tile: 16 zmm accumulators, 2 for the B pair-row and
// 1 for the broadcast A pair, as the Float32 kernel (GEMMMicroKernel.swift) uses them. The four
// 8-row groups of a 32×32 block take the depth in chunks of CNN_AVX512_CHUNK kblocks (16 KiB
// of B), so the chunk stays in L1 while all four groups read it; a group's sums wait in
// `sums` between chunks (as Float32, so the order of the additions, and the result, are
// unchanged) and reach c after the last one.
#define CNN_AVX512_CHUNK 8
__attribute__((target("avx512f,avx512bf16")))
void cnn_bf16_avx512_panel(const uint16_t *a, const uint16_t *b, float *c, long ldc, long kblocks,
                           long column_panels) {
    // Contiguous, not C's rows: rows ldc apart (8 KiB for n = 2048) fall in the same few L1
    // sets, where they missed on every chunk and evicted B's lines.
    float sums[32 * 32] __attribute__((aligned(64)));
    for (long cb = 0; cb < column_panels; cb++) {
        const uint16_t *bp = b + cb * kblocks * 1024;
        for (long k0 = 0; k0 < kblocks; k0 += CNN_AVX512_CHUNK) {
            const long k1 = k0 + CNN_AVX512_CHUNK < kblocks ? k0 + CNN_AVX512_CHUNK : kblocks;
            const int last = k1 == kblocks;
            for (int group = 0; group < 4; group++) {
                __m512 acc[8][2];
                float *rows = c + group * 8 * ldc + cb * 32;
                float *held = sums + group * 8 * 32;
                for (int r = 0; r < 8; r++) {
                    acc[r][0] = k0 == 0 ? _mm512_setzero_ps() : _mm512_load_ps(held + r * 32);
                    acc[r][1] = k0 == 0 ? _mm512_setzero_ps() : _mm512_load_ps(held + r * 32 + 16);
                }
                const long rowOffset = (group / 2) * 512 + (group % 2) * 8 * 32;
                for (long kb = k0; kb < k1; kb++) {
                    const uint16_t *ab = a + kb * 1024 + rowOffset;
                    const uint16_t *bb = bp + kb * 1024;
                    // Prefetches, without which the kernel waited on its loads. The next chunk of
                    // B (after the last chunk, the next panel's first) comes from L3 eight lines
                    // per kblock of each group while the four groups work on this one: all of its
                    // 256 lines when this chunk is whole, fewer after a short last chunk. This
                    // group's eight A rows two kblocks on come from L2. The addresses may lie past
                    // the buffers (a prefetch never faults), so they are formed as integers.
                    const uintptr_t nextB = (uintptr_t)bp + (uintptr_t)k1 * 2048
                        + (uintptr_t)(group * CNN_AVX512_CHUNK + (kb - k0)) * 512;
                    for (int line = 0; line < 8; line++) _mm_prefetch((const char *)(nextB + line * 64), _MM_HINT_T0);
                    const uintptr_t laterA = (uintptr_t)ab + 2 * 2048;
                    for (int r = 0; r < 8; r++) _mm_prefetch((const char *)(laterA + r * 64), _MM_HINT_T0);
                    for (int p = 0; p < 16; p++) {
                        __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(bb + p * 32));
                        __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(bb + 512 + p * 32));
                        for (int r = 0; r < 8; r++) {
                            int32_t pair;
                            memcpy(&pair, ab + r * 32 + 2 * p, sizeof pair);
                            __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
                            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
                            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
                        }
                    }
                }
                for (int r = 0; r < 8; r++) {
                    if (last) {
                        _mm512_storeu_ps(rows + r * ldc, acc[r][0]);
                        _mm512_storeu_ps(rows + r * ldc + 16, acc[r][1]);
                    } else {
                        _mm512_store_ps(held + r * 32, acc[r][0]);
                        _mm512_store_ps(held + r * 32 + 16, acc[r][1]);
                    }
                }
            }
        }
    }
}

#else
// Not x86-64 Linux: no AMX or AVX512-BF16; Swift never calls these (CPUFeatures reports neither).
int cnn_amx_request_permission(void) { return 38; /* ENOSYS */ }
void cnn_bf16_amx_panel(const uint16_t *a, const uint16_t *b, float *c, long ldc, long kblocks,
                        long column_panels) {
    (void)a; (void)b; (void)c; (void)ldc; (void)kblocks; (void)column_panels;
    __builtin_trap();
}
void cnn_bf16_avx512_panel(const uint16_t *a, const uint16_t *b, float *c, long ldc, long kblocks,
                           long column_panels) {
    (void)a; (void)b; (void)c; (void)ldc; (void)kblocks; (void)column_panels;
    __builtin_trap();
}
#endif
