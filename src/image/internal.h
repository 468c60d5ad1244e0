/*
 * internal.h — what the image module's decoders share among themselves (not
 * part of the public header): the pixel-limit check every decoder makes from
 * the header before it allocates, alpha compositing, and the optional WebP
 * and HEIF decoders (decode_more.c), and the SIMD levels of the pixel
 * kernels (simd.c) with entry points that take the level, so that tests can
 * hold every level against the plain C one.
 */
#ifndef RC_IMAGE_INTERNAL_H
#define RC_IMAGE_INTERNAL_H

#include "image.h"

/* RC_ERR_LIMIT when w x h is over the caller's (or the default) limit. */
rc_status img__check_limit(int w, int h, const img_decode_opts *opts, rc_error *err);
/* The decode memory budget (img_decode_budget): reserve what a decode of a
 * w x h image will hold at its peak, `per_px` bytes a pixel, before
 * allocating; waits while other decodes hold too much of it (at most
 * IMG_BUDGET_WAIT_S seconds), RC_ERR_LIMIT when the decode alone is larger
 * than the budget. img_decode gives everything its thread reserved back
 * when it returns. */
#define IMG_BUDGET_WAIT_S 60
rc_status img__reserve(int w, int h, unsigned per_px, rc_error *err);
/* Give back everything this thread reserved (img_decode does on return). */
void img__release_thread(void);
/* Composite w*h RGBA pixels over white into im's RGB pixels (as a viewer
 * shows a transparent photo). */
void img__rgba_over_white(const uint8_t *rgba, size_t stride, img_image *im);

/* Header sizes and decoding of the optional formats; a build without the
 * library answers RC_ERR_UNSUPPORTED ("not supported in this build"). */
rc_status img__webp_probe(const void *data, size_t len, int *w, int *h, rc_error *err);
rc_status img__webp_decode(const void *data, size_t len, const img_decode_opts *opts,
                           img_image **out, rc_error *err);
/* What decoding a HEIF file's primary image costs, from its boxes alone
 * (heif_boxes.c): the sum of the coded areas (pixels) of the HEVC pictures
 * it is made of, each grid tile as often as the grid places it, its
 * auxiliary images included. RC_ERR_CORRUPT when a picture is coded larger
 * than its item declares, RC_ERR_UNSUPPORTED for items that are not HEVC. */
rc_status img__heif_coded(const void *data, size_t len, uint64_t *coded, rc_error *err);
rc_status img__heif_probe(const void *data, size_t len, int *w, int *h, rc_error *err);
rc_status img__heif_decode(const void *data, size_t len, const img_decode_opts *opts,
                           img_image **out, rc_error *err);

/* The pixel kernels' instruction sets. The plain C loops in imgproc.c
 * define the answer; the AVX2 ones give the same bytes and floats (the same
 * float operations in the same order, no FMA contraction). */
typedef enum { IMG_SIMD_C = 0, IMG_SIMD_AVX2 } img__simd;
/* The best level this CPU has, detected once; ROLLCALL_NN_CPU=generic (the
 * engine's switch) caps it to plain C. */
img__simd img__simd_best(void);
/* Whether kernels may use AVX-512F where the CPU has it: not with
 * ROLLCALL_NN_CPU=avx2|generic (the one reading of that switch here). */
int img__simd_avx512(void);

/* img_to_planar, img_warp_affine, img_gray_rect, img_rect_to_planar and the
 * area resize of a rectangle (inside im) at a given level (a level the CPU
 * lacks runs as plain C). */
int img__to_planar(img__simd lvl, const img_image *im, int out_w, int out_h, float mean,
                   float scale, float *t);
img_image *img__warp_affine(img__simd lvl, const img_image *im, const float m[6], int out_w,
                            int out_h, int border);
img_image *img__gray_rect(img__simd lvl, const img_image *im, int x, int y, int w, int h);
void img__rect_to_planar(img__simd lvl, const img_image *im, int x, int y, int w, int h, int n,
                         int reverse, float *t);
img_image *img__resize_area(img__simd lvl, const img_image *im, int x0, int y0, int cw, int ch,
                            int w, int h);

/* The AVX2 kernels (simd.c), each doing the part it can and leaving the rest
 * to the C loops. planar_half: output columns [0, return value) of output
 * row y of a 3-channel image twice the output size. warp8: eight output
 * pixels (x .. x+7, row y) of a warp (1 or 3 channels) when all their samples lie
 * inside the image (returns 1; 0 = nothing written). rect_row: columns
 * [0, return value) of one output row of img_rect_to_planar, from source rows
 * r0 and r1, with the column tables ix (byte offsets), ax, dx. */
int img__planar_half_avx2(const img_image *im, int ow, int oh, int y, float mean, float scale,
                          float *t);
int img__warp8_avx2(const img_image *im, const float m[6], int x, int y, uint8_t *o);
/* warp16: warp8 on sixteen outputs (x .. x+15) with AVX-512F, where the CPU
 * has it and ROLLCALL_NN_CPU does not cap it at avx2 (else returns 0). */
int img__warp16_avx2(const img_image *im, const float m[6], int x, int y, uint8_t *o);
/* gray_row: img_gray_of of the RGB pixels p[0 .. n) into o, the first
 * (return value) of them. */
int img__gray_row_avx2(const uint8_t *p, int n, uint8_t *o);
/* planar_same: pixels [0, return value) of the n RGB pixels at p, each
 * channel's (v - mean) * scale into t + channel * plane. */
size_t img__planar_same_avx2(const uint8_t *p, size_t n, float mean, float scale, float *t,
                             size_t plane);
int img__rect_row_avx2(const uint8_t *r0, const uint8_t *r1, const int *ix, const float *ax,
                       const int *dx, int n, float ay, float *t0, float *t1, float *t2);
/* area_rows8: the area resize's row pass on 8 gray rows at once (src,
 * rows `stride` bytes apart, cw pixels each): the w outputs of each row
 * into out + row * ostride, output x summing K terms wts[x * wstride + k] *
 * pixel first[x] + k (zero past cw) from 0, k in order. ib: scratch of
 * (cw + K) * 8 floats. Called only where img__simd_best() is AVX2. */
void img__area_rows8_avx2(const uint8_t *src, size_t stride, int cw, const int *first,
                          const float *wts, int wstride, int K, int w, float *ib, float *out,
                          size_t ostride);
/* area_col: the column pass of one output row: o[i] = the clamped, rounded
 * sum from 0 of wy[k] * t[k * n + i], k < count in order, for i in [0,
 * return value) (whole groups of 8). */
size_t img__area_col_avx2(const float *t, size_t n, const float *wy, int count, uint8_t *o);

/* The built-in JPEG decoder (jpeg_fast.c): libjpeg-turbo's RGB bytes for
 * the files cameras and browsers send (baseline, one scan, gray or YCbCr
 * 4:4:4/4:2:2/4:2:0). IMG_JPEG_C is the plain C form that defines the
 * answer, IMG_JPEG_AVX512 the fast one (AVX-512 F/BW/VL/VBMI). */
typedef enum { IMG_JPEG_OFF = 0, IMG_JPEG_C, IMG_JPEG_AVX512 } img__jpeg_level;
/* What img_decode uses: IMG_JPEG_AVX512 where the CPU has it, else OFF
 * (libjpeg-turbo's own SIMD is faster than the C form); OFF also with
 * ROLLCALL_JPEG_FAST=0 or ROLLCALL_NN_CPU=avx2|generic. */
img__jpeg_level img__jpeg_fast_level(void);
/* Decode into out (whose size must be the file's, 3 channels): 1 when
 * decoded, 0 when declined (out's pixels are then undefined and the file
 * goes to libjpeg-turbo). */
int img__jpeg_fast(img__jpeg_level level, const void *data, size_t len, img_image *out);
/* What it holds a pixel, for the decode budget, given TurboJPEG's
 * subsampling: its planes (gray 1, 4:2:0 1.5, 4:2:2 2, 4:4:4 3 bytes, padded
 * to whole blocks; kept per thread for the next frame up to 4 MiB) and the
 * scan's copy (smaller than the file). */
unsigned img__jpeg_fast_per_px(int tj_subsampling);

#endif
