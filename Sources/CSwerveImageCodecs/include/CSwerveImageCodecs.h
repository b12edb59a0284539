// A thin, crash-proof layer over libjpeg(-turbo) and libpng for SwerveImage.
//
// Both libraries report fatal errors by calling a handler that must not return (libjpeg's
// default one calls exit()). Every function here that calls into a library sets up its own
// setjmp() first and installs handlers that longjmp() back to it, so a corrupt image becomes
// a return value of -1 and a message, never a crash. The longjmp only ever crosses frames of
// the libraries and of this shim, never Swift frames.
//
// Contexts are not thread-safe; use one per decode.
#ifndef CSWERVE_IMAGE_CODECS_H
#define CSWERVE_IMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The longest message a context keeps, including the terminating NUL.
#define SWV_MESSAGE_CAPACITY 256

// MARK: JPEG

/// An opaque JPEG decoding context.
typedef struct swv_jpeg swv_jpeg;

/// What a JPEG header declares.
typedef struct {
    uint32_t width;
    uint32_t height;
    /// Components in the file: 1 (gray), 3 (YCbCr or RGB) or 4 (CMYK or YCCK).
    int32_t components;
    /// 1 when the pixels will come out as 4 CMYK bytes per pixel, 0 for 3 RGB bytes.
    int32_t is_cmyk;
    /// 1 when an Adobe APP14 marker was seen (CMYK values are then stored inverted).
    int32_t saw_adobe_marker;
    /// 1 for a progressive JPEG.
    int32_t progressive;
} swv_jpeg_header;

/// Creates a context that reads `size` bytes at `data`, which must stay valid until it is
/// destroyed. Returns NULL only when memory is exhausted.
swv_jpeg *swv_jpeg_create(const uint8_t *data, size_t size);
/// Releases the context and everything libjpeg allocated for it.
void swv_jpeg_destroy(swv_jpeg *jpeg);
/// Reads the markers up to the first scan and fills `header`. Allocates no pixel memory.
/// Returns 0, or -1 with a message.
int swv_jpeg_read_header(swv_jpeg *jpeg, swv_jpeg_header *header);
/// Starts decompression (RGB output, or CMYK for 4-component files) with libjpeg's default
/// accurate integer IDCT and fancy upsampling. Returns 0, or -1 with a message.
int swv_jpeg_start(swv_jpeg *jpeg);
/// Narrows the decoded columns to at least `*width` from `*x` (call after swv_jpeg_start,
/// before reading rows): libjpeg-turbo widens the window to whole blocks and stores the columns
/// each row will then hold in `*x` and `*width`. Returns 0, or -1 with a message.
int swv_jpeg_crop(swv_jpeg *jpeg, uint32_t *x, uint32_t *width);
/// Skips `rows` rows without producing them (their data is still entropy-decoded, so damage
/// there still shows); stores how many in `skipped`. Do not skip the last row: skipping to the
/// end stops reading the file, so damage after it would not show. Returns 0, or -1 with a message.
int swv_jpeg_skip_rows(swv_jpeg *jpeg, uint32_t rows, uint32_t *skipped);
/// Decodes up to `max_rows` rows into `rows`; stores how many in `rows_read`.
/// Returns 0, or -1 with a message.
int swv_jpeg_read_rows(swv_jpeg *jpeg, uint8_t **rows, uint32_t max_rows, uint32_t *rows_read);
/// Reads the rest of the file up to the end-of-image marker, which is where corrupt
/// entropy-coded data shows (bytes left over). Returns 0, or -1 with a message.
int swv_jpeg_finish(swv_jpeg *jpeg);
/// The message of the last failure (empty when none).
const char *swv_jpeg_message(const swv_jpeg *jpeg);

// MARK: PNG

/// An opaque PNG decoding context.
typedef struct swv_png swv_png;

/// What a PNG header (IHDR) declares.
typedef struct {
    uint32_t width;
    uint32_t height;
    /// Bits per sample: 1, 2, 4, 8 or 16.
    int32_t bit_depth;
    /// PNG colour type: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA.
    int32_t color_type;
    /// 1 for Adam7 interlacing.
    int32_t interlaced;
} swv_png_header;

/// Creates a context that reads `size` bytes at `data`, which must stay valid until it is
/// destroyed. Returns NULL only when memory is exhausted.
swv_png *swv_png_create(const uint8_t *data, size_t size);
/// Releases the context and everything libpng allocated for it.
void swv_png_destroy(swv_png *png);
/// Reads the chunks up to the image data and fills `header`. Allocates no pixel memory.
/// Returns 0, or -1 with a message.
int swv_png_read_header(swv_png *png, swv_png_header *header);
/// Sets up the transformations to 8-bit RGB (palette expanded, gray replicated, alpha and
/// transparency dropped, 16-bit samples reduced to their high byte) and decodes the whole
/// image into `rows` (height pointers to width * 3 bytes each). Returns 0, or -1 with a message.
int swv_png_read_rgb(swv_png *png, uint8_t **rows);
/// The message of the last failure (empty when none).
const char *swv_png_message(const swv_png *png);

#ifdef __cplusplus
}
#endif

#endif
