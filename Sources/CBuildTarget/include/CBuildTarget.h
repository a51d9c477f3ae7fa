#ifndef CNN_DIST_BUILD_TARGET_H
#define CNN_DIST_BUILD_TARGET_H

/// The SIMD features this file was compiled for (" sse4_2 avx avx2 fma …"), read from the C
/// compiler's target macros. Built with the kernels' CPU target (CNN_DIST_CPU), so it names
/// what the kernels assume, as of the build that compiled them.
const char *cnn_dist_compiled_features(void);

#endif
