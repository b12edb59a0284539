// libjpeg(-turbo) behind setjmp: see CSwerveImageCodecs.h.
#include "CSwerveImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/// Progressive JPEGs may have any number of scans, each a pass over the whole image: a small
/// file with thousands of them keeps a core busy for minutes. Real encoders write about 10.
#define SWV_JPEG_MAX_SCANS 500

struct swv_jpeg {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr error;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char message[SWV_MESSAGE_CAPACITY];
};

static struct swv_jpeg *context_of(j_common_ptr cinfo) {
    // `cinfo` is the first member, so the context starts at the same address.
    return (struct swv_jpeg *)cinfo;
}

static void remember_message(j_common_ptr cinfo) {
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    struct swv_jpeg *jpeg = context_of(cinfo);
    snprintf(jpeg->message, sizeof jpeg->message, "%s", text);
}

// Fatal errors: keep the message and jump back into the shim function that called libjpeg.
static void error_exit(j_common_ptr cinfo) {
    remember_message(cinfo);
    longjmp(context_of(cinfo)->jump, 1);
}

// Warnings that mean pixels are missing or garbage are fatal too: libjpeg would otherwise fill
// the damage with gray or decode garbage and carry on. That covers truncated files and corrupt
// entropy-coded (Huffman) data: libjpeg-turbo's fast Huffman decoder turns an invalid code into
// a zero without a warning, so corruption usually shows only as the decoder losing its place
// and finding "extraneous bytes" before the next marker, or hitting a marker too early.
// Warnings about oddities that leave the pixels intact (unknown JFIF revision or Adobe transform
// code, an odd progression, a bad ICC profile marker) are ignored.
static void emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level >= 0) {
        return;  // trace messages
    }
    switch (cinfo->err->msg_code) {
    case JWRN_ADOBE_XFORM:
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_JFIF_MAJOR:
    case JWRN_BOGUS_ICC:
        cinfo->err->num_warnings++;
        return;
    default:
        error_exit(cinfo);
    }
}

// Refuses files with more scans than any real encoder writes.
static void progress_monitor(j_common_ptr cinfo) {
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (dinfo->input_scan_number > SWV_JPEG_MAX_SCANS) {
        struct swv_jpeg *jpeg = context_of(cinfo);
        snprintf(jpeg->message, sizeof jpeg->message, "more than %d progressive scans", SWV_JPEG_MAX_SCANS);
        longjmp(jpeg->jump, 1);
    }
}

// Never print anything to stderr.
static void output_message(j_common_ptr cinfo) { (void)cinfo; }

swv_jpeg *swv_jpeg_create(const uint8_t *data, size_t size) {
    struct swv_jpeg *jpeg = calloc(1, sizeof *jpeg);
    if (jpeg == NULL) {
        return NULL;
    }
    jpeg->cinfo.err = jpeg_std_error(&jpeg->error);
    jpeg->error.error_exit = error_exit;
    jpeg->error.emit_message = emit_message;
    jpeg->error.output_message = output_message;
    if (setjmp(jpeg->jump)) {
        // jpeg_create_decompress fails only when memory is exhausted.
        jpeg_destroy_decompress(&jpeg->cinfo);
        free(jpeg);
        return NULL;
    }
    jpeg_create_decompress(&jpeg->cinfo);
    jpeg->progress.progress_monitor = progress_monitor;
    jpeg->cinfo.progress = &jpeg->progress;
    jpeg_mem_src(&jpeg->cinfo, data, (unsigned long)size);
    return jpeg;
}

void swv_jpeg_destroy(swv_jpeg *jpeg) {
    if (jpeg == NULL) {
        return;
    }
    jpeg_destroy_decompress(&jpeg->cinfo);
    free(jpeg);
}

int swv_jpeg_read_header(swv_jpeg *jpeg, swv_jpeg_header *header) {
    if (setjmp(jpeg->jump)) {
        return -1;
    }
    jpeg_read_header(&jpeg->cinfo, TRUE);
    struct jpeg_decompress_struct *cinfo = &jpeg->cinfo;
    header->width = cinfo->image_width;
    header->height = cinfo->image_height;
    header->components = cinfo->num_components;
    header->is_cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
    header->saw_adobe_marker = cinfo->saw_Adobe_marker ? 1 : 0;
    header->progressive = cinfo->progressive_mode ? 1 : 0;
    return 0;
}

int swv_jpeg_start(swv_jpeg *jpeg) {
    if (setjmp(jpeg->jump)) {
        return -1;
    }
    struct jpeg_decompress_struct *cinfo = &jpeg->cinfo;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        break;
    default:
        snprintf(jpeg->message, sizeof jpeg->message,
                 "unsupported JPEG colour space with %d components", cinfo->num_components);
        return -1;
    }
    jpeg_start_decompress(cinfo);
    return 0;
}

int swv_jpeg_crop(swv_jpeg *jpeg, uint32_t *x, uint32_t *width) {
    if (setjmp(jpeg->jump)) {
        return -1;
    }
    JDIMENSION offset = *x, columns = *width;
    jpeg_crop_scanline(&jpeg->cinfo, &offset, &columns);
    *x = offset;
    *width = columns;
    return 0;
}

int swv_jpeg_skip_rows(swv_jpeg *jpeg, uint32_t rows, uint32_t *skipped) {
    *skipped = 0;
    if (setjmp(jpeg->jump)) {
        return -1;
    }
    *skipped = jpeg_skip_scanlines(&jpeg->cinfo, rows);
    return 0;
}

int swv_jpeg_read_rows(swv_jpeg *jpeg, uint8_t **rows, uint32_t max_rows, uint32_t *rows_read) {
    *rows_read = 0;
    if (setjmp(jpeg->jump)) {
        return -1;
    }
    *rows_read = jpeg_read_scanlines(&jpeg->cinfo, rows, max_rows);
    return 0;
}

int swv_jpeg_finish(swv_jpeg *jpeg) {
    if (setjmp(jpeg->jump)) {
        return -1;
    }
    jpeg_finish_decompress(&jpeg->cinfo);
    return 0;
}

const char *swv_jpeg_message(const swv_jpeg *jpeg) { return jpeg->message; }
