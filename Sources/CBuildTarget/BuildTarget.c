#include "CBuildTarget.h"

const char *cnn_dist_compiled_features(void) {
    return ""
#ifdef __SSE4_2__
        " sse4_2"
#endif
#ifdef __AVX__
        " avx"
#endif
#ifdef __AVX2__
        " avx2"
#endif
#ifdef __FMA__
        " fma"
#endif
#ifdef __F16C__
        " f16c"
#endif
#ifdef __AVX512F__
        " avx512f"
#endif
#ifdef __AVX512BW__
        " avx512bw"
#endif
#ifdef __AVX512VL__
        " avx512vl"
#endif
#ifdef __AVX512VNNI__
        " avx512_vnni"
#endif
#ifdef __AVX512BF16__
        " avx512_bf16"
#endif
#ifdef __AMX_TILE__
        " amx_tile"
#endif
#ifdef __AMX_BF16__
        " amx_bf16"
#endif
        ;
}

int cnn_dist_compiled_avx512f(void) {
#ifdef __AVX512F__
    return 1;
#else
    return 0;
#endif
}
