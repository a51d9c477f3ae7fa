#ifndef CNN_DIST_BUILD_TARGET_H
#define CNN_DIST_BUILD_TARGET_H

/// The SIMD features this file was compiled for (" sse4_2 avx avx2 fma …"), read from the C
/// compiler's target macros. Built with the kernels' CPU target (CNN_DIST_CPU), so it names
/// what the kernels assume, as of the build that compiled them.
const char *cnn_dist_compiled_features(void);

/// 1 when the kernels were compiled for AVX-512 (32 vector registers of 16 floats), else 0:
/// the GEMM picks its register tile by this, since a tile sized for 32 registers spills
/// when the same Swift SIMD16 code compiles to pairs of 8-lane AVX2 registers.
int cnn_dist_compiled_avx512f(void);

#endif
