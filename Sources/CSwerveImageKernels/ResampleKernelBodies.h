// The bodies of the resampling kernels, included by ResampleKernels.c once per instruction set
// with SWV_KERNEL(name) naming that build's functions (the code is the same; the compiler
// vectorises it for the target). Not a public header.

static void SWV_KERNEL(horizontal)(const uint8_t *source, size_t stride, int32_t rows, size_t readable, uint8_t *out,
                                   size_t out_stride, int32_t outputs, const int32_t *first, const int32_t *count,
                                   const int32_t *weights, int32_t taps) {
    int32_t r = 0;
    // Four rows at a time share the weights, in two 8-lane vectors: each half of a vector is
    // one row's R, G, B and the next pixel's red (unused), loaded as 4 bytes. The last row of
    // a block must have a byte after it, so the last rows go one by one.
    for (; r + 4 <= rows && (size_t)(r + 4) * stride + 1 <= readable; r += 4) {
        const uint8_t *row0 = source + (size_t)r * stride;
        uint8_t *out0 = out + (size_t)r * out_stride;
        for (int32_t i = 0; i < outputs; i++) {
            const int32_t *k = weights + (size_t)i * (size_t)taps;
            const uint8_t *p = row0 + (size_t)first[i] * 3;
            swv_i32x8 sum01 = SWV_HALF8, sum23 = SWV_HALF8;
            for (int32_t t = 0; t < count[i]; t++, p += 3) {
                uint32_t a, b, c, d;
                memcpy(&a, p, 4);
                memcpy(&b, p + stride, 4);
                memcpy(&c, p + 2 * stride, 4);
                memcpy(&d, p + 3 * stride, 4);
                uint64_t ab = (uint64_t)a | ((uint64_t)b << 32), cd = (uint64_t)c | ((uint64_t)d << 32);
                swv_u8x8 bytes01, bytes23;
                memcpy(&bytes01, &ab, 8);
                memcpy(&bytes23, &cd, 8);
                sum01 += __builtin_convertvector(bytes01, swv_i32x8) * k[t];
                sum23 += __builtin_convertvector(bytes23, swv_i32x8) * k[t];
            }
            SWV_CLIP8(sum01);
            SWV_CLIP8(sum23);
            uint8_t *o = out0 + (size_t)i * 3;
            for (int c = 0; c < 3; c++) {
                o[c] = (uint8_t)sum01[c];
                o[out_stride + c] = (uint8_t)sum01[4 + c];
                o[2 * out_stride + c] = (uint8_t)sum23[c];
                o[3 * out_stride + c] = (uint8_t)sum23[4 + c];
            }
        }
    }
    for (; r < rows; r++) {
        const uint8_t *row = source + (size_t)r * stride;
        uint8_t *o = out + (size_t)r * out_stride;
        for (int32_t i = 0; i < outputs; i++, o += 3) {
            const int32_t *k = weights + (size_t)i * (size_t)taps;
            const uint8_t *p = row + (size_t)first[i] * 3;
            const int32_t n = count[i];
            swv_i32x4 sum = SWV_HALF4;
            if ((size_t)r * stride + (size_t)(first[i] + n) * 3 + 1 <= readable) {
                for (int32_t t = 0; t < n; t++, p += 3) {
                    swv_u8x4 bytes;
                    memcpy(&bytes, p, 4);
                    sum += __builtin_convertvector(bytes, swv_i32x4) * k[t];
                }
            } else {
                for (int32_t t = 0; t < n; t++, p += 3) {
                    sum += (swv_i32x4){p[0], p[1], p[2], 0} * k[t];
                }
            }
            SWV_CLIP8(sum);
            o[0] = (uint8_t)sum[0];
            o[1] = (uint8_t)sum[1];
            o[2] = (uint8_t)sum[2];
        }
    }
}

static void SWV_KERNEL(vertical)(const uint8_t *rows, size_t stride, int32_t count, const int32_t *weights,
                                 size_t samples, uint8_t *out) {
    size_t s = 0;
    for (; s + 8 <= samples; s += 8) {
        swv_i32x8 sum = SWV_HALF8;
        for (int32_t t = 0; t < count; t++) {
            swv_u8x8 bytes;
            memcpy(&bytes, rows + (size_t)t * stride + s, 8);
            sum += __builtin_convertvector(bytes, swv_i32x8) * weights[t];
        }
        SWV_CLIP8(sum);
        swv_u8x8 result = __builtin_convertvector(sum, swv_u8x8);
        memcpy(out + s, &result, 8);
    }
    for (; s < samples; s++) {
        int32_t sum = 1 << (SWV_RESAMPLE_PRECISION_BITS - 1);
        for (int32_t t = 0; t < count; t++) {
            sum += (int32_t)rows[(size_t)t * stride + s] * weights[t];
        }
        sum >>= SWV_RESAMPLE_PRECISION_BITS;
        out[s] = (uint8_t)(sum < 0 ? 0 : sum > 255 ? 255 : sum);
    }
}
