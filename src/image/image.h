/*
 * image — the pixels the face pipeline works on: decoding JPEG and PNG
 * (honouring EXIF orientation, grayscale, CMYK and 1-channel files), WebP
 * (libwebp) and HEIC/HEIF (libheif, honouring its rotation), JPEG
 * encoding, resizing, colour conversion, affine warps with bilinear sampling
 * and a little drawing for annotated frames.
 *
 * An image is a plain struct: 8-bit pixels, row-major, channels interleaved
 * (1 = gray, 3 = RGB), no padding between rows. Decoders check the pixel
 * count from the header before they allocate, so a hostile file that claims
 * to be 100 000 x 100 000 pixels costs nothing.
 */
#ifndef RC_IMAGE_H
#define RC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../rc/rc.h"

typedef struct {
    int w, h;
    int channels; /* 1 (gray) or 3 (RGB) */
    uint8_t *px;  /* w * h * channels bytes */
} img_image;

typedef enum {
    IMG_FORMAT_UNKNOWN = 0,
    IMG_FORMAT_JPEG,
    IMG_FORMAT_PNG,
    IMG_FORMAT_WEBP,
    IMG_FORMAT_HEIF, /* HEIC (HEVC) and other HEIF brands */
} img_format;

#define IMG_DEFAULT_MAX_PIXELS (40u * 1000u * 1000u)
/* Scans a JPEG may hold. Every scan of a progressive file is a pass over the
 * whole image; encoders write about 10 (libjpeg) to 30 (tuned encoders). */
#define IMG_DEFAULT_MAX_SCANS 100u

typedef struct {
    uint64_t max_pixels; /* 0 means IMG_DEFAULT_MAX_PIXELS */
    int ignore_exif;     /* nonzero: do not apply EXIF orientation */
    unsigned max_scans;  /* 0 means IMG_DEFAULT_MAX_SCANS */
    /* nonzero: every JPEG through libjpeg-turbo, not the built-in decoder
     * of camera-style files (the same bytes; the reference it is measured
     * and tested against) */
    int libjpeg_only;
} img_decode_opts;

/* A new image with uninitialised pixels (NULL on bad size or no memory). */
img_image *img_new(int w, int h, int channels);
void img_free(img_image *im);
img_image *img_clone(const img_image *im);

/* The format of a buffer from its magic bytes. */
img_format img_sniff(const void *data, size_t len);
/* Whether this build decodes the format (WebP and HEIF are optional: a
 * build without libwebp or libheif refuses them with RC_ERR_UNSUPPORTED,
 * "... not supported in this build"). */
int img_format_supported(img_format f);
/* The format's short name ("JPEG", "PNG", "WebP", "HEIF"; "unknown"). */
const char *img_format_name(img_format f);
/* The format a file name's extension promises (case-insensitive: .jpg,
 * .jpeg, .png, .webp, .heic, .heif), IMG_FORMAT_UNKNOWN for any other. The
 * one list of photo extensions: dataset import and the CLI use it. */
img_format img_format_of_name(const char *name);

/* Width and height from the header only (before EXIF rotation). */
rc_status img_probe(const void *data, size_t len, int *w, int *h, img_format *fmt, rc_error *err);

/* Decode a JPEG, PNG, WebP or HEIF into a new RGB image (gray and CMYK
 * sources are converted; EXIF orientation, HEIF rotation and mirroring are
 * applied; transparency is composited over white). `opts` may be NULL. The
 * caller frees *out with img_free. Errors: RC_ERR_UNSUPPORTED (not an image,
 * an animated WebP, or a format this build lacks),
 * RC_ERR_LIMIT (too many pixels or scans), RC_ERR_CORRUPT (bad or truncated
 * data, including a JPEG header with no image frame). */
rc_status img_decode(const void *data, size_t len, const img_decode_opts *opts, img_image **out,
                     rc_error *err);
/* Decoding holds memory: the output image (3 bytes a pixel), and for a
 * progressive or multi-scan JPEG every DCT coefficient of the image (2
 * bytes a pixel and channel), for CMYK a 4-byte copy, for PNG, WebP with
 * alpha and HEIF an RGBA or decoder copy, for an EXIF rotation a second
 * image. Before allocating, img_decode reserves that peak from one budget
 * for the whole process; a decode that does not fit waits for others to
 * finish (up to a minute), and one larger than the whole budget is refused
 * with RC_ERR_LIMIT. So concurrent decodes of hostile 40-megapixel files
 * (about 720 MB each for a progressive CMYK one) cannot together exhaust the
 * machine. The budget: `bytes`, or 0 for the default:
 * $ROLLCALL_DECODE_MEMORY_MB megabytes, else a quarter of the physical
 * memory, at least 256 MB and at most 2 GB. */
void img_decode_budget(uint64_t bytes);
/* The budget, what decodes hold now, and the most they held at once since
 * the budget was last set. */
void img_decode_memory(uint64_t *budget, uint64_t *held, uint64_t *peak);
/* img_decode on a file's contents (files over 256 MiB are refused). */
rc_status img_load(const char *path, const img_decode_opts *opts, img_image **out, rc_error *err);

/* Encode as baseline JPEG (quality 1..100). *out is malloc'ed; caller frees. */
rc_status img_encode_jpeg(const img_image *im, int quality, unsigned char **out, size_t *len,
                          rc_error *err);
rc_status img_save_jpeg(const img_image *im, int quality, const char *path, rc_error *err);

/* Rotate/flip by an EXIF orientation value 1..8 into a new image. */
img_image *img_orient(const img_image *im, int orientation);

/* Colour conversion into new images. Gray uses BT.601 weights. */
img_image *img_to_gray(const img_image *im);
img_image *img_to_rgb(const img_image *im);

/* The rectangle (x, y, w, h), which must lie inside the image, as a new
 * gray image (img_to_gray of that part only). NULL without memory. */
img_image *img_gray_rect(const img_image *im, int x, int y, int w, int h);

/* The gray value img_to_gray gives one RGB pixel: BT.601 in 14-bit fixed
 * point, as OpenCV's RGB2GRAY. */
static inline uint8_t img_gray_of(uint8_t r, uint8_t g, uint8_t b)
{
    return (uint8_t)((r * 4899 + g * 9617 + b * 1868 + 8192) >> 14);
}

typedef enum {
    IMG_RESIZE_AUTO = 0, /* area when shrinking by more than 2x, else bilinear */
    IMG_RESIZE_BILINEAR,
    IMG_RESIZE_AREA,
} img_resize_mode;

/* Resize into a new image of w x h. */
img_image *img_resize(const img_image *im, int w, int h, img_resize_mode mode);

/* Warp: each output pixel (x, y) samples the source at
 *   (m[0] x + m[1] y + m[2], m[3] x + m[4] y + m[5])
 * (so `m` maps destination to source) with bilinear interpolation; samples
 * outside the source take `border` (0..255) in every channel. */
img_image *img_warp_affine(const img_image *im, const float m[6], int out_w, int out_h, int border);

/* Invert a 2x3 affine matrix. Returns 0 on success, -1 if singular. */
int img_affine_invert(const float m[6], float inv[6]);

/* Crop the rectangle (x, y, w, h) — which may extend past the edges — and
 * scale it to out_w x out_h with bilinear sampling; outside pixels take
 * `border`. */
img_image *img_crop_resize(const img_image *im, float x, float y, float w, float h, int out_w,
                           int out_h, int border);

/* The whole image resized to out_w x out_h exactly as
 * img_crop_resize(im, 0, 0, im->w, im->h, out_w, out_h, 0) resizes it, written
 * as the planar float tensor a network takes (a plane of out_w x out_h per
 * channel, in the image's channel order) of (v - mean) * scale. An image of
 * exactly the output size, or exactly twice it (a camera's 640x480 for a
 * 320x240 input), is converted in one pass without an intermediate image;
 * other sizes go through img_crop_resize. Returns 0, or -1 without memory. */
int img_to_planar(const img_image *im, int out_w, int out_h, float mean, float scale, float *t);

/* The rectangle (x, y, w, h), whole pixels inside a 3-channel image,
 * resized to n x n with OpenCV's bilinear resize (half-pixel centres,
 * samples clamped to the rectangle as cv::resize clamps to its input) and
 * rounded to whole values as an 8-bit resized image would hold, written
 * straight into a planar float tensor (3 planes of n x n; with `reverse`
 * nonzero the channels in reverse order, B, G, R): one pass, no
 * intermediate image. */
void img_rect_to_planar(const img_image *im, int x, int y, int w, int h, int n, int reverse,
                        float *t);

/* Pad by `pad` pixels on every side with a constant value. */
img_image *img_pad(const img_image *im, int pad, int value);

/* Drawing on RGB images (clipped to the image). */
void img_draw_rect(img_image *im, int x0, int y0, int x1, int y1, int thickness, uint8_t r,
                   uint8_t g, uint8_t b);
void img_draw_dot(img_image *im, int cx, int cy, int radius, uint8_t r, uint8_t g, uint8_t b);
/* A short label in a 5x7 pixel font (digits, letters, a few symbols),
 * scaled by `scale`, with its top-left at (x, y). */
void img_draw_text(img_image *im, int x, int y, int scale, const char *text, uint8_t r, uint8_t g,
                   uint8_t b);

#endif
