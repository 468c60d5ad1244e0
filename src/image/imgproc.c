/*
 * imgproc.c — pixel operations on decoded images: orientation, colour
 * conversion, resize (bilinear with half-pixel centres like OpenCV, and area
 * averaging for large reductions, which avoids the aliasing that makes a
 * downscaled face look sharper or blurrier than it is), affine warps with
 * bilinear sampling, crops that may run past the edges, and drawing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

img_image *img_orient(const img_image *im, int o)
{
    int W = im->w, H = im->h, C = im->channels;
    int swap = o >= 5 && o <= 8;
    img_image *out = img_new(swap ? H : W, swap ? W : H, C);
    if (!out) return NULL;
    for (int y = 0; y < out->h; y++) {
        for (int x = 0; x < out->w; x++) {
            int sx, sy;
            switch (o) {
            case 2:
                sx = W - 1 - x, sy = y;
                break;
            case 3:
                sx = W - 1 - x, sy = H - 1 - y;
                break;
            case 4:
                sx = x, sy = H - 1 - y;
                break;
            case 5:
                sx = y, sy = x;
                break;
            case 6:
                sx = y, sy = H - 1 - x;
                break;
            case 7:
                sx = W - 1 - y, sy = H - 1 - x;
                break;
            case 8:
                sx = W - 1 - y, sy = x;
                break;
            default:
                sx = x, sy = y;
                break;
            }
            memcpy(out->px + ((size_t)y * out->w + x) * C, im->px + ((size_t)sy * W + sx) * C,
                   (size_t)C);
        }
    }
    return out;
}

img_image *img__gray_rect(img__simd lvl, const img_image *im, int x, int y, int w, int h)
{
    img_image *g = img_new(w, h, 1);
    if (!g) return NULL;
    int simd = lvl == IMG_SIMD_AVX2 && img__simd_best() == IMG_SIMD_AVX2;
    for (int r = 0; r < h; r++) {
        const uint8_t *p = im->px + ((size_t)(y + r) * im->w + x) * im->channels;
        uint8_t *o = g->px + (size_t)r * w;
        if (im->channels == 1) {
            memcpy(o, p, (size_t)w);
            continue;
        }
        int i = simd ? img__gray_row_avx2(p, w, o) : 0;
        /* the row's last 32 pixels again, over those already done (the
         * same bytes), rather than up to 31 one at a time: a face's square
         * is a few hundred pixels wide */
        if (simd && i < w && w >= 32) {
            img__gray_row_avx2(p + 3 * (size_t)(w - 32), 32, o + w - 32);
            i = w;
        }
        for (p += 3 * i; i < w; i++, p += 3) o[i] = img_gray_of(p[0], p[1], p[2]);
    }
    return g;
}

img_image *img_gray_rect(const img_image *im, int x, int y, int w, int h)
{
    return img__gray_rect(img__simd_best(), im, x, y, w, h);
}

img_image *img_to_gray(const img_image *im)
{
    return img_gray_rect(im, 0, 0, im->w, im->h);
}

img_image *img_to_rgb(const img_image *im)
{
    if (im->channels == 3) return img_clone(im);
    img_image *c = img_new(im->w, im->h, 3);
    if (!c) return NULL;
    for (size_t i = 0; i < (size_t)im->w * im->h; i++)
        c->px[3 * i] = c->px[3 * i + 1] = c->px[3 * i + 2] = im->px[i];
    return c;
}

static uint8_t clamp_u8(float v)
{
    if (v <= 0.f) return 0;
    if (v >= 255.f) return 255;
    return (uint8_t)(v + 0.5f);
}

static img_image *resize_bilinear(const img_image *im, int w, int h)
{
    img_image *out = img_new(w, h, im->channels);
    if (!out) return NULL;
    int C = im->channels;
    float sx = (float)im->w / w, sy = (float)im->h / h;
    int *x0 = malloc(sizeof(int) * w);
    float *fx = malloc(sizeof(float) * w);
    if (!x0 || !fx) {
        free(x0);
        free(fx);
        img_free(out);
        return NULL;
    }
    for (int x = 0; x < w; x++) {
        float s = (x + 0.5f) * sx - 0.5f;
        if (s < 0) s = 0;
        int i = (int)s;
        if (i >= im->w - 1) {
            i = im->w - 1;
            s = (float)i;
        }
        x0[x] = i;
        fx[x] = s - i;
    }
    for (int y = 0; y < h; y++) {
        float s = (y + 0.5f) * sy - 0.5f;
        if (s < 0) s = 0;
        int j = (int)s;
        if (j >= im->h - 1) {
            j = im->h - 1;
            s = (float)j;
        }
        float fy = s - j;
        int j1 = j + 1 < im->h ? j + 1 : j;
        const uint8_t *r0 = im->px + (size_t)j * im->w * C, *r1 = im->px + (size_t)j1 * im->w * C;
        uint8_t *o = out->px + (size_t)y * w * C;
        for (int x = 0; x < w; x++) {
            int i = x0[x], i1 = i + 1 < im->w ? i + 1 : i;
            float a = fx[x];
            for (int c = 0; c < C; c++) {
                float t = r0[i * C + c] + (r0[i1 * C + c] - r0[i * C + c]) * a;
                float b = r1[i * C + c] + (r1[i1 * C + c] - r1[i * C + c]) * a;
                o[x * C + c] = clamp_u8(t + (b - t) * fy);
            }
        }
    }
    free(x0);
    free(fx);
    return out;
}

/* Area resampling: each output pixel is the coverage-weighted mean of the
 * source pixels its footprint overlaps. Done separably (rows then columns)
 * in float, each sum from 0 adding the weighted pixels left to right (top
 * to bottom). The spans live in one allocation: first[i], count[i] and
 * weights at w + i * stride, zero past count[i]; `most` is the largest
 * count. */
typedef struct {
    int *first, *count;
    float *w;
    int stride, most;
} area_spans;

static int area_spans_make(int src, int dst, area_spans *sp)
{
    double scale = (double)src / dst;
    sp->stride =
        (int)ceil(scale) + 2; /* a footprint of `scale` pixels overlaps at most this many */
    sp->first = malloc(sizeof(int) * (size_t)dst * 2);
    sp->w = calloc((size_t)dst * (size_t)sp->stride, sizeof(float));
    if (!sp->first || !sp->w) {
        free(sp->first);
        free(sp->w);
        return -1;
    }
    sp->count = sp->first + dst;
    sp->most = 0;
    for (int i = 0; i < dst; i++) {
        double a = i * scale, b = (i + 1) * scale;
        int first = (int)floor(a), last = (int)ceil(b) - 1;
        if (last >= src) last = src - 1;
        if (last < first) last = first;
        sp->first[i] = first;
        sp->count[i] = last - first + 1;
        if (sp->count[i] > sp->most) sp->most = sp->count[i];
        float *w = sp->w + (size_t)i * sp->stride;
        for (int k = 0; k < sp->count[i]; k++) {
            double lo = first + k, hi = lo + 1;
            double cov = (hi < b ? hi : b) - (lo > a ? lo : a);
            w[k] = (float)(cov / scale);
        }
    }
    return 0;
}

/* The area resize of the cw x ch rectangle at (x0, y0) of im (inside it)
 * to w x h.
 *
 * The row pass gives every output the same number of terms, the most any
 * footprint has (`most`): a footprint with fewer adds 0 x a pixel for each
 * missing one, after its own, and s + 0 is s exactly (the sums are never
 * -0), so the values are those of summing each footprint's own pixels.
 * With one count for all, a gray row is summed four outputs side by side
 * (four independent chains of adds instead of one chain at a time: the
 * landmark crop, 225x225 -> 64x64 through 98x98, went from 56 to 41 us),
 * and each source
 * row is converted to float once, with `most` zeros after it for the terms
 * past its end. */
img_image *img__resize_area(img__simd lvl, const img_image *im, int x0, int y0, int cw, int ch,
                            int w, int h)
{
    int C = im->channels;
    img_image *out = img_new(w, h, C);
    area_spans xs = {0}, ys = {0};
    int okx = area_spans_make(cw, w, &xs) == 0, oky = area_spans_make(ch, h, &ys) == 0;
    size_t wc = (size_t)w * C, rowlen = (size_t)cw * C;
    float *tmp = malloc(sizeof(float) * wc * ch);
    float *acc = malloc(sizeof(float) * wc);
    float *row =
        okx ? calloc((rowlen + (size_t)xs.most * C) * (C == 1 ? 8 : 1), sizeof(float)) : NULL;
    if (!out || !okx || !oky || !tmp || !acc || !row) {
        img_free(out);
        out = NULL;
        goto done;
    }
    const int K = xs.most;
    int yr = 0;
    if (C == 1 && lvl == IMG_SIMD_AVX2 && img__simd_best() == IMG_SIMD_AVX2)
        /* eight rows at a time, a row a lane (simd.c); `row` as its scratch */
        for (; yr + 8 <= ch; yr += 8)
            img__area_rows8_avx2(im->px + (size_t)(y0 + yr) * im->w + x0, (size_t)im->w, cw,
                                 xs.first, xs.w, xs.stride, K, w, row, tmp + (size_t)yr * wc, wc);
    if (yr < ch) memset(row + rowlen, 0, (size_t)K * C * sizeof(float));
    for (int y = yr; y < ch; y++) {
        const uint8_t *r = im->px + ((size_t)(y0 + y) * im->w + x0) * C;
        for (size_t i = 0; i < rowlen; i++) row[i] = r[i];
        float *t = tmp + (size_t)y * wc;
        int x = 0;
        if (C == 1) /* four outputs at a time: four independent chains of adds */
            for (; x + 4 <= w; x += 4) {
                const float *w0 = xs.w + (size_t)x * xs.stride, *w1 = w0 + xs.stride,
                            *w2 = w1 + xs.stride, *w3 = w2 + xs.stride;
                const float *p0 = row + xs.first[x], *p1 = row + xs.first[x + 1],
                            *p2 = row + xs.first[x + 2], *p3 = row + xs.first[x + 3];
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int k = 0; k < K; k++) {
                    s0 += w0[k] * p0[k];
                    s1 += w1[k] * p1[k];
                    s2 += w2[k] * p2[k];
                    s3 += w3[k] * p3[k];
                }
                t[x] = s0;
                t[x + 1] = s1;
                t[x + 2] = s2;
                t[x + 3] = s3;
            }
        for (; x < w; x++) {
            const float *wx = xs.w + (size_t)x * xs.stride;
            const float *p = row + (size_t)xs.first[x] * C;
            if (C == 1) {
                float s = 0;
                for (int k = 0; k < K; k++) s += wx[k] * p[k];
                t[x] = s;
                continue;
            }
            for (int c = 0; c < C; c++) {
                float s = 0;
                for (int k = 0; k < K; k++) s += wx[k] * p[k * C + c];
                t[x * C + c] = s;
            }
        }
    }
    /* Columns: a row of sums at a time, adding the source rows in order
     * (the same sums as one output at a time, in a loop the compiler
     * vectorises). */
    int simd = lvl == IMG_SIMD_AVX2 && img__simd_best() == IMG_SIMD_AVX2;
    for (int y = 0; y < h; y++) {
        const float *wy = ys.w + (size_t)y * ys.stride;
        const float *t = tmp + (size_t)ys.first[y] * wc;
        uint8_t *o = out->px + (size_t)y * wc;
        size_t i0 = simd ? img__area_col_avx2(t, wc, wy, ys.count[y], o) : 0;
        for (size_t i = i0; i < wc; i++) acc[i] = 0;
        for (int k = 0; k < ys.count[y]; k++, t += wc)
            for (size_t i = i0; i < wc; i++) acc[i] += wy[k] * t[i];
        for (size_t i = i0; i < wc; i++) o[i] = clamp_u8(acc[i]);
    }
done:
    free(tmp);
    free(acc);
    free(row);
    if (okx) free(xs.first), free(xs.w);
    if (oky) free(ys.first), free(ys.w);
    return out;
}

img_image *img_resize(const img_image *im, int w, int h, img_resize_mode mode)
{
    if (w <= 0 || h <= 0) return NULL;
    if (mode == IMG_RESIZE_AUTO)
        mode = (im->w >= 2 * w && im->h >= 2 * h) ? IMG_RESIZE_AREA : IMG_RESIZE_BILINEAR;
    if (mode == IMG_RESIZE_AREA && w <= im->w && h <= im->h)
        return img__resize_area(img__simd_best(), im, 0, 0, im->w, im->h, w, h);
    return resize_bilinear(im, w, h);
}

int img_affine_invert(const float m[6], float inv[6])
{
    double det = (double)m[0] * m[4] - (double)m[1] * m[3];
    if (fabs(det) < 1e-12) return -1;
    double a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;
    inv[0] = (float)a;
    inv[1] = (float)b;
    inv[2] = (float)(-(a * m[2] + b * m[5]));
    inv[3] = (float)d;
    inv[4] = (float)e;
    inv[5] = (float)(-(d * m[2] + e * m[5]));
    return 0;
}

/* Ask for the cache lines of [p, p + len) ahead of use. The liveness input
 * samples a large part of a frame that another network may have pushed out
 * of the caches, and its row of gathers (two source rows per output row)
 * finds every line missing at once: fetching the rows of the next output
 * rows while this one is computed took it from 0.15-0.19 to 0.07-0.09 ms in
 * the pipeline. Values are untouched. (The aligned face's warp gained
 * nothing from the same: the landmark crop has just read its pixels.) */
static void prefetch_span(const uint8_t *p, size_t len)
{
    for (size_t k = 0; k < len; k += 64) __builtin_prefetch(p + k);
    if (len) __builtin_prefetch(p + len - 1);
}

/* How many output rows ahead img_rect_to_planar fetches its source rows. */
enum { ROWS_AHEAD = 2 };

/* One output pixel of img_warp_affine (C channels at o), from its source
 * position (sx, sy). */
static inline void warp_pixel(const img_image *im, float sx, float sy, float bv, uint8_t *o)
{
    int C = im->channels, W = im->w, H = im->h;
    size_t stride = (size_t)W * C;
    float fx0 = floorf(sx), fy0 = floorf(sy);
    if (!(fx0 > -2.f && fy0 > -2.f && fx0 < (float)W + 1 && fy0 < (float)H + 1)) {
        for (int c = 0; c < C; c++) o[c] = (uint8_t)bv;
        return;
    }
    int x0 = (int)fx0, y0 = (int)fy0;
    float ax = sx - fx0, ay = sy - fy0;
    if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        /* All four samples inside (nearly every pixel): no checks, the same
         * arithmetic as below. */
        const uint8_t *p = im->px + (size_t)y0 * stride + (size_t)x0 * C, *q = p + stride;
        for (int c = 0; c < C; c++) {
            float t = p[c] + (float)(p[c + C] - p[c]) * ax;
            float b = q[c] + (float)(q[c + C] - q[c]) * ax;
            o[c] = clamp_u8(t + (b - t) * ay);
        }
        return;
    }
    for (int c = 0; c < C; c++) {
        float v[4];
        for (int k = 0; k < 4; k++) {
            int xx = x0 + (k & 1), yy = y0 + (k >> 1);
            v[k] = (xx >= 0 && yy >= 0 && xx < W && yy < H) ? im->px[((size_t)yy * W + xx) * C + c]
                                                            : bv;
        }
        float t = v[0] + (v[1] - v[0]) * ax, b = v[2] + (v[3] - v[2]) * ax;
        o[c] = clamp_u8(t + (b - t) * ay);
    }
}

img_image *img__warp_affine(img__simd lvl, const img_image *im, const float m[6], int out_w,
                            int out_h, int border)
{
    img_image *out = img_new(out_w, out_h, im->channels);
    if (!out) return NULL;
    int C = im->channels;
    float bv = (float)(border < 0 ? 0 : border > 255 ? 255 : border);
    int simd = lvl == IMG_SIMD_AVX2 && img__simd_best() == IMG_SIMD_AVX2;
    for (int y = 0; y < out_h; y++) {
        uint8_t *o = out->px + (size_t)y * out_w * C;
        for (int x = 0; x < out_w; x++) {
            /* Sixteen or eight at a time where all their samples are inside. */
            if (simd && (x & 15) == 0 && x + 16 <= out_w &&
                img__warp16_avx2(im, m, x, y, o + x * C)) {
                x += 15;
                continue;
            }
            if (simd && (x & 7) == 0 && x + 8 <= out_w && img__warp8_avx2(im, m, x, y, o + x * C)) {
                x += 7;
                continue;
            }
            float sx = m[0] * x + m[1] * y + m[2], sy = m[3] * x + m[4] * y + m[5];
            warp_pixel(im, sx, sy, bv, o + x * C);
        }
    }
    return out;
}

img_image *img_warp_affine(const img_image *im, const float m[6], int out_w, int out_h, int border)
{
    return img__warp_affine(img__simd_best(), im, m, out_w, out_h, border);
}

img_image *img_crop_resize(const img_image *im, float x, float y, float w, float h, int out_w,
                           int out_h, int border)
{
    /* Written to reject NaN too; coordinates beyond +-1e7 px are nonsense. */
    if (!(w > 0 && h > 0 && w < 1e7f && h < 1e7f && fabsf(x) < 1e7f && fabsf(y) < 1e7f) ||
        out_w <= 0 || out_h <= 0)
        return NULL;
    /* Large reductions would alias with point sampling: shrink the whole
     * crop region first with area averaging. */
    float sx = w / out_w, sy = h / out_h;
    if (sx > 2.f && sy > 2.f) {
        int x0 = (int)floorf(x), y0 = (int)floorf(y);
        int x1 = (int)ceilf(x + w), y1 = (int)ceilf(y + h);
        if (x0 < 0) x0 = 0;
        if (y0 < 0) y0 = 0;
        if (x1 > im->w) x1 = im->w;
        if (y1 > im->h) y1 = im->h;
        int cw = x1 - x0, ch = y1 - y0;
        int tw = (int)(cw / (sx / 1.5f)), th = (int)(ch / (sy / 1.5f));
        if (cw > 0 && ch > 0 && tw >= 1 && th >= 1) {
            img_image *small = img__resize_area(img__simd_best(), im, x0, y0, cw, ch, tw, th);
            if (!small) return NULL;
            float kx = (float)tw / cw, ky = (float)th / ch;
            float m[6] = {sx * kx, 0,       (x - x0 + 0.5f * sx) * kx - 0.5f,
                          0,       sy * ky, (y - y0 + 0.5f * sy) * ky - 0.5f};
            img_image *out = img_warp_affine(small, m, out_w, out_h, border);
            img_free(small);
            return out;
        }
    }
    float m[6] = {sx, 0, x + 0.5f * sx - 0.5f, 0, sy, y + 0.5f * sy - 0.5f};
    return img_warp_affine(im, m, out_w, out_h, border);
}

/* img_to_planar's fused passes: each output value through a table of the
 * 256 normalised values (the same float arithmetic as converting one by one). */
static void planar_same(const img_image *im, int simd, float mean, float scale,
                        const float lut[256], float *t)
{
    int C = im->channels;
    size_t plane = (size_t)im->w * im->h;
    size_t i = simd && C == 3 ? img__planar_same_avx2(im->px, plane, mean, scale, t, plane) : 0;
    for (; i < plane; i++)
        for (int c = 0; c < C; c++) t[c * plane + i] = lut[im->px[C * i + c]];
}

/* Output row y of the half-size pass from column x0 on. */
static void planar_half_row(const img_image *im, int ow, int oh, int y, int x0,
                            const float lut[256], float *t)
{
    int C = im->channels;
    size_t plane = (size_t)ow * oh, stride = (size_t)im->w * C;
    const uint8_t *r0 = im->px + (size_t)2 * y * stride, *r1 = r0 + stride;
    for (int c = 0; c < C; c++) {
        float *o = t + c * plane + (size_t)y * ow;
        const uint8_t *a = r0 + c + (size_t)x0 * 2 * C, *b = r1 + c + (size_t)x0 * 2 * C;
        for (int x = x0; x < ow; x++, a += 2 * C, b += 2 * C)
            o[x] = lut[(a[0] + a[C] + b[0] + b[C] + 2) >> 2];
    }
}

int img__to_planar(img__simd lvl, const img_image *im, int out_w, int out_h, float mean,
                   float scale, float *t)
{
    float lut[256];
    for (int v = 0; v < 256; v++) lut[v] = ((float)v - mean) * scale;
    int simd = lvl == IMG_SIMD_AVX2 && img__simd_best() == IMG_SIMD_AVX2 && im->channels == 3;
    if (im->w == out_w && im->h == out_h) {
        planar_same(im, simd, mean, scale, lut, t);
        return 0;
    }
    if (im->w == 2 * out_w && im->h == 2 * out_h) {
        /* Bilinear at half-pixel centres lands midway between two pixels in
         * each direction: the rounded mean of each 2x2 block, exactly. */
        for (int y = 0; y < out_h; y++) {
            int x0 = simd ? img__planar_half_avx2(im, out_w, out_h, y, mean, scale, t) : 0;
            planar_half_row(im, out_w, out_h, y, x0, lut, t);
        }
        return 0;
    }
    img_image *r = img_crop_resize(im, 0, 0, (float)im->w, (float)im->h, out_w, out_h, 0);
    if (!r) return -1;
    planar_same(r, simd, mean, scale, lut, t);
    img_free(r);
    return 0;
}

int img_to_planar(const img_image *im, int out_w, int out_h, float mean, float scale, float *t)
{
    return img__to_planar(img__simd_best(), im, out_w, out_h, mean, scale, t);
}

/* The source row of img_rect_to_planar's output row y, and its weight. */
static int rect_row(int y, float sy, int rh, float *ay)
{
    float fy = (y + 0.5f) * sy - 0.5f;
    if (fy < 0) fy = 0;
    int iy = (int)fy;
    if (iy >= rh - 1) iy = rh - 1, fy = (float)iy;
    *ay = fy - iy;
    return iy;
}

void img__rect_to_planar(img__simd lvl, const img_image *im, int x0, int y0, int rw, int rh, int n,
                         int reverse, float *t)
{
    float sx = (float)rw / n, sy = (float)rh / n;
    size_t plane = (size_t)n * n;
    /* Per output column: the left sample's byte offset in a source row, its
     * weight, and the step to the right sample (none at the last column). */
    int *ix = malloc(sizeof(int) * (size_t)n * 2);
    float *ax = malloc(sizeof(float) * (size_t)n);
    int simd = lvl == IMG_SIMD_AVX2 && img__simd_best() == IMG_SIMD_AVX2 && ix && ax;
    int *dx = ix ? ix + n : NULL;
    for (int x = 0; ix && ax && x < n; x++) {
        float fx = (x + 0.5f) * sx - 0.5f;
        if (fx < 0) fx = 0;
        int i = (int)fx;
        if (i >= rw - 1) i = rw - 1, fx = (float)i;
        ix[x] = (x0 + i) * 3;
        ax[x] = fx - i;
        dx[x] = i + 1 < rw ? 3 : 0;
    }
    size_t stride = (size_t)im->w * 3;
    for (int y = 0; y < n; y++) {
        /* the two source rows of output row y + ROWS_AHEAD (of the first
         * rows too, on the first) */
        for (int a = y ? ROWS_AHEAD : 0; a <= ROWS_AHEAD && y + a < n; a++) {
            float unused;
            int py = rect_row(y + a, sy, rh, &unused);
            const uint8_t *p = im->px + (size_t)(y0 + py) * stride + (size_t)x0 * 3;
            prefetch_span(p, (size_t)rw * 3);
            if (py + 1 < rh) prefetch_span(p + stride, (size_t)rw * 3);
        }
        float ay;
        int iy = rect_row(y, sy, rh, &ay);
        const uint8_t *r0 = im->px + (size_t)(y0 + iy) * stride;
        const uint8_t *r1 = iy + 1 < rh ? r0 + stride : r0;
        float *o[3];
        for (int c = 0; c < 3; c++)
            o[c] = t + (size_t)(reverse ? 2 - c : c) * plane + (size_t)y * n;
        /* The kernel reads from one byte before each pixel: it starts past
         * the columns on the image's very first pixel. */
        int from = 0, done = 0;
        if (simd) {
            if (r0 == im->px)
                while (from < n && ix[from] == 0) from++;
            done = from + img__rect_row_avx2(r0, r1, ix + from, ax + from, dx + from, n - from, ay,
                                             o[0] + from, o[1] + from, o[2] + from);
        }
        for (int x = 0; x < n; x++) {
            if (x == from && done > from) x = done;
            if (x >= n) break;
            float fx = (x + 0.5f) * sx - 0.5f;
            if (fx < 0) fx = 0;
            int i = (int)fx;
            if (i >= rw - 1) i = rw - 1, fx = (float)i;
            float a_x = fx - i;
            int d = i + 1 < rw ? 3 : 0;
            const uint8_t *a = r0 + (size_t)(x0 + i) * 3, *b = r1 + (size_t)(x0 + i) * 3;
            for (int c = 0; c < 3; c++) {
                float top = a[c] + (a[c + d] - a[c]) * a_x, bot = b[c] + (b[c + d] - b[c]) * a_x;
                o[c][x] = floorf(top + (bot - top) * ay + 0.5f);
            }
        }
    }
    free(ix);
    free(ax);
}

void img_rect_to_planar(const img_image *im, int x, int y, int w, int h, int n, int reverse,
                        float *t)
{
    img__rect_to_planar(img__simd_best(), im, x, y, w, h, n, reverse, t);
}

img_image *img_pad(const img_image *im, int pad, int value)
{
    if (pad < 0) return NULL;
    img_image *out = img_new(im->w + 2 * pad, im->h + 2 * pad, im->channels);
    if (!out) return NULL;
    memset(out->px, value, (size_t)out->w * out->h * out->channels);
    size_t row = (size_t)im->w * im->channels;
    for (int y = 0; y < im->h; y++)
        memcpy(out->px + ((size_t)(y + pad) * out->w + pad) * im->channels,
               im->px + (size_t)y * row, row);
    return out;
}

static void put(img_image *im, int x, int y, uint8_t r, uint8_t g, uint8_t b)
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h) return;
    uint8_t *p = im->px + ((size_t)y * im->w + x) * im->channels;
    if (im->channels == 1) {
        p[0] = (uint8_t)((r * 77 + g * 150 + b * 29) >> 8);
        return;
    }
    p[0] = r;
    p[1] = g;
    p[2] = b;
}

void img_draw_rect(img_image *im, int x0, int y0, int x1, int y1, int t, uint8_t r, uint8_t g,
                   uint8_t b)
{
    if (t < 1) t = 1;
    for (int k = 0; k < t; k++) {
        for (int x = x0 - k; x <= x1 + k; x++) {
            put(im, x, y0 - k, r, g, b);
            put(im, x, y1 + k, r, g, b);
        }
        for (int y = y0 - k; y <= y1 + k; y++) {
            put(im, x0 - k, y, r, g, b);
            put(im, x1 + k, y, r, g, b);
        }
    }
}

void img_draw_dot(img_image *im, int cx, int cy, int radius, uint8_t r, uint8_t g, uint8_t b)
{
    for (int y = -radius; y <= radius; y++)
        for (int x = -radius; x <= radius; x++)
            if (x * x + y * y <= radius * radius) put(im, cx + x, cy + y, r, g, b);
}

/* 5x7 glyphs, one byte per row, bit 4 = leftmost column. */
static const char font_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-_:%?/ ";
static const uint8_t font_rows[][7] = {
    {14, 17, 19, 21, 25, 17, 14}, {4, 12, 4, 4, 4, 4, 14},      {14, 17, 1, 2, 4, 8, 31},
    {31, 2, 4, 2, 1, 17, 14},     {2, 6, 10, 18, 31, 2, 2},     {31, 16, 30, 1, 1, 17, 14},
    {6, 8, 16, 30, 17, 17, 14},   {31, 1, 2, 4, 8, 8, 8},       {14, 17, 17, 14, 17, 17, 14},
    {14, 17, 17, 15, 1, 2, 12},   {14, 17, 17, 31, 17, 17, 17}, {30, 17, 17, 30, 17, 17, 30},
    {14, 17, 16, 16, 16, 17, 14}, {28, 18, 17, 17, 17, 18, 28}, {31, 16, 16, 30, 16, 16, 31},
    {31, 16, 16, 30, 16, 16, 16}, {14, 17, 16, 23, 17, 17, 15}, {17, 17, 17, 31, 17, 17, 17},
    {14, 4, 4, 4, 4, 4, 14},      {7, 2, 2, 2, 2, 18, 12},      {17, 18, 20, 24, 20, 18, 17},
    {16, 16, 16, 16, 16, 16, 31}, {17, 27, 21, 21, 17, 17, 17}, {17, 17, 25, 21, 19, 17, 17},
    {14, 17, 17, 17, 17, 17, 14}, {30, 17, 17, 30, 16, 16, 16}, {14, 17, 17, 17, 21, 18, 13},
    {30, 17, 17, 30, 20, 18, 17}, {15, 16, 16, 14, 1, 1, 30},   {31, 4, 4, 4, 4, 4, 4},
    {17, 17, 17, 17, 17, 17, 14}, {17, 17, 17, 17, 17, 10, 4},  {17, 17, 17, 21, 21, 21, 10},
    {17, 17, 10, 4, 10, 17, 17},  {17, 17, 10, 4, 4, 4, 4},     {31, 1, 2, 4, 8, 16, 31},
    {0, 0, 0, 0, 0, 12, 12},      {0, 0, 0, 31, 0, 0, 0},       {0, 0, 0, 0, 0, 0, 31},
    {0, 12, 12, 0, 12, 12, 0},    {24, 25, 2, 4, 8, 19, 3},     {14, 17, 1, 2, 4, 0, 4},
    {1, 1, 2, 4, 8, 16, 16},      {0, 0, 0, 0, 0, 0, 0},
};

void img_draw_text(img_image *im, int x, int y, int scale, const char *text, uint8_t r, uint8_t g,
                   uint8_t b)
{
    if (scale < 1) scale = 1;
    for (const char *s = text; *s; s++, x += 6 * scale) {
        char ch = *s;
        if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
        const char *at = strchr(font_chars, ch);
        if (!at || !ch) at = strchr(font_chars, '?');
        const uint8_t *rows = font_rows[at - font_chars];
        for (int ry = 0; ry < 7; ry++)
            for (int rx = 0; rx < 5; rx++)
                if (rows[ry] & (16 >> rx))
                    for (int dy = 0; dy < scale; dy++)
                        for (int dx = 0; dx < scale; dx++)
                            put(im, x + rx * scale + dx, y + ry * scale + dy, r, g, b);
    }
}
