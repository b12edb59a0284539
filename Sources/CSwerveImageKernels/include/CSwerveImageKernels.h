// The inner loops of SwerveImage's resampler and normaliser, in C so that the resampling
// kernels can be built for several instruction sets in one binary and the best one the CPU has
// picked at run time: Swift compiles a module for one CPU, the x86-64 baseline (SSE2), which
// has no 32-bit vector multiply or min/max. On x86-64 there are three builds (baseline, SSE4.1,
// AVX2); elsewhere one.
//
// The arithmetic is Pillow's 8-bit resampling (`Resample.c`): weights in 22-bit fixed point,
// each sum started at one half, shifted down and clamped to 0…255. Every build gives the same
// bytes; only the speed differs.
#ifndef CSWERVE_IMAGE_KERNELS_H
#define CSWERVE_IMAGE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Fixed-point fraction bits of the weights (Pillow's `PRECISION_BITS`).
#define SWV_RESAMPLE_PRECISION_BITS 22

/// One build of the resampling kernels.
typedef struct {
    /// "baseline", "sse4.1" or "avx2".
    const char *name;

    /// The horizontal pass over `rows` rows of 3-channel pixels: in each row, output pixel `i`
    /// (of `outputs`) is the sum over `t < count[i]` of source pixel `first[i] + t` times
    /// `weights[i * taps + t]`.
    ///
    /// Source rows start at `source` and are `stride` bytes apart, and every output reads
    /// inside its row (`(first[i] + count[i]) * 3 <= stride`); `readable` is how many bytes may
    /// be read from `source` (at least to the end of the last row), so that pixels followed by a
    /// readable byte are loaded 4 bytes at a time. Output rows of `outputs × 3` bytes start at
    /// `out`, `out_stride` bytes apart.
    void (*horizontal)(const uint8_t *source, size_t stride, int32_t rows, size_t readable, uint8_t *out,
                       size_t out_stride, int32_t outputs, const int32_t *first, const int32_t *count,
                       const int32_t *weights, int32_t taps);

    /// One output row of the vertical pass: sample `s` (of `samples`) is the sum over
    /// `t < count` of `rows[t × stride + s]` times `weights[t]`. `out` gets `samples` bytes.
    void (*vertical)(const uint8_t *rows, size_t stride, int32_t count, const int32_t *weights, size_t samples,
                     uint8_t *out);
} swv_resample_kernels;

/// The build for `level` (0 baseline, 1 SSE4.1, 2 AVX2), or NULL where there is none or the
/// CPU cannot run it.
const swv_resample_kernels *swv_resample_kernels_at(int level);

/// The fastest build this CPU runs.
const swv_resample_kernels *swv_resample_kernels_best(void);

/// Normalises one row of `pixels` 3-channel pixels through a table: output channel `c` of
/// pixel `x` is `table[c × 256 + row[x × 3 + order[c]]]`, written to `out_c[x × step]` (step 1
/// for planes, NCHW; 3 for interleaved channels, NHWC).
void swv_normalize_row(const uint8_t *row, size_t pixels, const float *table, const int32_t order[3], float *out0,
                       float *out1, float *out2, size_t step);

#ifdef __cplusplus
}
#endif

#endif
