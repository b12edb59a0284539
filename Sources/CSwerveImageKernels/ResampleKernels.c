// The resampler's inner loops, built once per instruction set: see CSwerveImageKernels.h.
#include "CSwerveImageKernels.h"

#include <string.h>

typedef int32_t swv_i32x4 __attribute__((vector_size(16)));
typedef uint8_t swv_u8x4 __attribute__((vector_size(4)));
typedef int32_t swv_i32x8 __attribute__((vector_size(32)));
typedef uint8_t swv_u8x8 __attribute__((vector_size(8)));

#define SWV_HALF_VALUE (1 << (SWV_RESAMPLE_PRECISION_BITS - 1))
#define SWV_HALF4 ((swv_i32x4){SWV_HALF_VALUE, SWV_HALF_VALUE, SWV_HALF_VALUE, SWV_HALF_VALUE})
#define SWV_HALF8                                                                                   \
    ((swv_i32x8){SWV_HALF_VALUE, SWV_HALF_VALUE, SWV_HALF_VALUE, SWV_HALF_VALUE, SWV_HALF_VALUE,    \
                 SWV_HALF_VALUE, SWV_HALF_VALUE, SWV_HALF_VALUE})

// Shifts a vector of fixed-point sums down and clamps each lane to 0…255, in place. A macro,
// because a function taking a 256-bit vector would have a different ABI in each build.
#define SWV_CLIP8(sum)                                                                        \
    do {                                                                                      \
        (sum) >>= SWV_RESAMPLE_PRECISION_BITS;                                                \
        (sum) = __builtin_elementwise_min(__builtin_elementwise_max((sum), (sum) ^ (sum)),     \
                                          ((sum) ^ (sum)) + 255);                             \
    } while (0)

// The baseline build: SSE2 on x86-64, whatever the target has elsewhere.
#define SWV_KERNEL(name) name##_baseline
#include "ResampleKernelBodies.h"
#undef SWV_KERNEL

#if defined(__x86_64__) && defined(__clang__)
#define SWV_X86_LEVELS 1

#pragma clang attribute push(__attribute__((target("sse4.1"))), apply_to = function)
#define SWV_KERNEL(name) name##_sse41
#include "ResampleKernelBodies.h"
#undef SWV_KERNEL
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#define SWV_KERNEL(name) name##_avx2
#include "ResampleKernelBodies.h"
#undef SWV_KERNEL
#pragma clang attribute pop
#endif

static const swv_resample_kernels kernels[] = {
    {"baseline", horizontal_baseline, vertical_baseline},
#ifdef SWV_X86_LEVELS
    {"sse4.1", horizontal_sse41, vertical_sse41},
    {"avx2", horizontal_avx2, vertical_avx2},
#endif
};

static int supported(int level) {
    if (level < 0 || level >= (int)(sizeof kernels / sizeof kernels[0])) {
        return 0;
    }
#ifdef SWV_X86_LEVELS
    __builtin_cpu_init();
    if (level == 1) {
        return __builtin_cpu_supports("sse4.1");
    }
    if (level == 2) {
        return __builtin_cpu_supports("avx2");
    }
#endif
    return 1;
}

const swv_resample_kernels *swv_resample_kernels_at(int level) { return supported(level) ? &kernels[level] : NULL; }

const swv_resample_kernels *swv_resample_kernels_best(void) {
    int level = (int)(sizeof kernels / sizeof kernels[0]) - 1;
    while (!supported(level)) {
        level--;
    }
    return &kernels[level];
}

void swv_normalize_row(const uint8_t *row, size_t pixels, const float *table, const int32_t order[3], float *out0,
                       float *out1, float *out2, size_t step) {
    const float *lut0 = table, *lut1 = table + 256, *lut2 = table + 512;
    const uint8_t *in0 = row + order[0], *in1 = row + order[1], *in2 = row + order[2];
    for (size_t x = 0; x < pixels; x++) {
        out0[x * step] = lut0[in0[x * 3]];
        out1[x * step] = lut1[in1[x * 3]];
        out2[x * step] = lut2[in2[x * 3]];
    }
}
