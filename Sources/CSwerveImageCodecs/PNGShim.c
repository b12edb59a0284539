// libpng behind setjmp: see CSwerveImageCodecs.h.
#include "CSwerveImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

struct swv_png {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t offset;
    jmp_buf jump;
    char message[SWV_MESSAGE_CAPACITY];
};

// Fatal errors: keep the message and jump back into the shim function that called libpng.
static void error_fn(png_structp png_ptr, png_const_charp text) {
    struct swv_png *png = png_get_error_ptr(png_ptr);
    snprintf(png->message, sizeof png->message, "%s", text != NULL ? text : "unknown libpng error");
    longjmp(png->jump, 1);
}

// Warnings (bad ancillary chunks, odd colour profiles) never affect the pixels we keep.
static void warning_fn(png_structp png_ptr, png_const_charp text) {
    (void)png_ptr;
    (void)text;
}

static void read_fn(png_structp png_ptr, png_bytep out, size_t length) {
    struct swv_png *png = png_get_io_ptr(png_ptr);
    if (length > png->size - png->offset) {
        png_error(png_ptr, "unexpected end of file (the PNG is truncated)");
    }
    memcpy(out, png->data + png->offset, length);
    png->offset += length;
}

swv_png *swv_png_create(const uint8_t *data, size_t size) {
    struct swv_png *png = calloc(1, sizeof *png);
    if (png == NULL) {
        return NULL;
    }
    png->data = data;
    png->size = size;
    png->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, png, error_fn, warning_fn);
    if (png->png == NULL) {
        free(png);
        return NULL;
    }
    png->info = png_create_info_struct(png->png);
    if (png->info == NULL) {
        png_destroy_read_struct(&png->png, NULL, NULL);
        free(png);
        return NULL;
    }
    if (setjmp(png->jump)) {
        swv_png_destroy(png);
        return NULL;
    }
    png_set_read_fn(png->png, png, read_fn);
    // Ancillary chunks change nothing in the RGB samples we keep (colour profiles and gamma are
    // ignored, as Pillow ignores them; SwerveImage reads eXIf itself), so libpng skips them
    // instead of parsing them: compressed text and ICC profiles are never inflated.
    static const png_byte ignored[] =
        "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0sTER\0tEXt\0tIME\0zTXt";
    png_set_keep_unknown_chunks(png->png, PNG_HANDLE_CHUNK_NEVER, ignored, (int)(sizeof ignored / 5));
    return png;
}

void swv_png_destroy(swv_png *png) {
    if (png == NULL) {
        return;
    }
    png_destroy_read_struct(&png->png, &png->info, NULL);
    free(png);
}

int swv_png_read_header(swv_png *png, swv_png_header *header) {
    if (setjmp(png->jump)) {
        return -1;
    }
    png_read_info(png->png, png->info);
    header->width = png_get_image_width(png->png, png->info);
    header->height = png_get_image_height(png->png, png->info);
    header->bit_depth = png_get_bit_depth(png->png, png->info);
    header->color_type = png_get_color_type(png->png, png->info);
    header->interlaced = png_get_interlace_type(png->png, png->info) != PNG_INTERLACE_NONE;
    return 0;
}

int swv_png_read_rgb(swv_png *png, uint8_t **rows) {
    if (setjmp(png->jump)) {
        return -1;
    }
    png_structp p = png->png;
    png_infop info = png->info;
    int color_type = png_get_color_type(p, info);
    int bit_depth = png_get_bit_depth(p, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(p);
    }
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
        png_set_expand_gray_1_2_4_to_8(p);
    }
    if (bit_depth == 16) {
        png_set_strip_16(p);  // keeps the high byte of each sample
    }
    // Drops a real alpha channel, and the one palette expansion makes from a tRNS chunk.
    png_set_strip_alpha(p);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
        png_set_gray_to_rgb(p);
    }
    png_set_interlace_handling(p);
    // The image data's checksums (each IDAT chunk's CRC and the zlib stream's Adler-32) are
    // neither computed nor checked, as Pillow skips them: damaged data still fails to inflate
    // or leaves rows missing, and the header chunks before it were checked by png_read_info.
    png_set_crc_action(p, PNG_CRC_QUIET_USE, PNG_CRC_DEFAULT);
#ifdef PNG_IGNORE_ADLER32
    png_set_option(p, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
    png_read_update_info(p, info);
    uint32_t width = png_get_image_width(p, info);
    if (png_get_channels(p, info) != 3 || png_get_bit_depth(p, info) != 8 ||
        png_get_rowbytes(p, info) != (size_t)width * 3) {
        snprintf(png->message, sizeof png->message,
                 "unsupported PNG layout (colour type %d, bit depth %d)", color_type, bit_depth);
        return -1;
    }
    png_read_image(p, rows);
    return 0;
}

const char *swv_png_message(const swv_png *png) { return png->message; }
