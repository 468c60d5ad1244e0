/* spoof.c — the frames of spoof.h: a scene is rendered in linear light at
 * the camera's resolution (a print or a screen mapped by a homography into
 * the frame, over a blurred room, with a hand in front), then the common
 * camera model turns it into the 8-bit JPEG-decoded frame a kiosk would
 * hand to the face pipeline. */
#include "spoof.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FW    640
#define FH    480
#define FOCAL 600.f /* px: a webcam's ~56 degree horizontal field of view */

/* ---- randomness ---- */

static uint64_t next(sp_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double sp_uniform(sp_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next(r) >> 11) / 9007199254740992.0;
}

static float gauss(sp_rng *r)
{
    double u = sp_uniform(r, 1e-12, 1), v = sp_uniform(r, 0, 1);
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

static float U(sp_rng *r, double lo, double hi)
{
    return (float)sp_uniform(r, lo, hi);
}

/* ---- linear-light float images ---- */

typedef struct {
    int w, h;
    float *p; /* RGB, linear light */
} fimg;

static float lin_lut[256];

static void init_lut(void)
{
    if (lin_lut[255] > 0) return;
    for (int i = 0; i < 256; i++) {
        double c = i / 255.0;
        lin_lut[i] = (float)(c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4));
    }
}

static uint8_t to_srgb(float v)
{
    if (!(v > 0)) return 0;
    if (v >= 1) return 255;
    double c = v <= 0.0031308 ? v * 12.92 : 1.055 * pow(v, 1 / 2.4) - 0.055;
    return (uint8_t)(c * 255 + 0.5);
}

static int fimg_init(fimg *f, int w, int h)
{
    f->w = w;
    f->h = h;
    f->p = calloc((size_t)w * h * 3, sizeof(float));
    return f->p != NULL;
}

static int fimg_from(fimg *f, const img_image *im)
{
    init_lut();
    if (!fimg_init(f, im->w, im->h)) return 0;
    for (size_t i = 0; i < (size_t)im->w * im->h * 3; i++) f->p[i] = lin_lut[im->px[i]];
    return 1;
}

/* Bilinear sample of an 8-bit photo in linear light; 0 outside. */
static int photo_at(const img_image *ph, float x, float y, float out[3])
{
    x -= 0.5f;
    y -= 0.5f;
    if (!(x >= 0 && y >= 0 && x <= ph->w - 1 && y <= ph->h - 1)) return 0;
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < ph->w ? x0 + 1 : x0, y1 = y0 + 1 < ph->h ? y0 + 1 : y0;
    float ax = x - x0, ay = y - y0;
    const uint8_t *p00 = ph->px + ((size_t)y0 * ph->w + x0) * 3,
                  *p01 = ph->px + ((size_t)y0 * ph->w + x1) * 3,
                  *p10 = ph->px + ((size_t)y1 * ph->w + x0) * 3,
                  *p11 = ph->px + ((size_t)y1 * ph->w + x1) * 3;
    for (int c = 0; c < 3; c++) {
        float t = lin_lut[p00[c]] + (lin_lut[p01[c]] - lin_lut[p00[c]]) * ax;
        float b = lin_lut[p10[c]] + (lin_lut[p11[c]] - lin_lut[p10[c]]) * ax;
        out[c] = t + (b - t) * ay;
    }
    return 1;
}

/* Separable Gaussian blur in place (sigma in px; nothing below 0.2). */
static void blur(fimg *f, float sigma)
{
    if (sigma < 0.2f) return;
    int r = (int)ceilf(3 * sigma);
    float *k = malloc(sizeof(float) * (2 * r + 1)), sum = 0;
    float *tmp = malloc(sizeof(float) * (size_t)(f->w > f->h ? f->w : f->h) * 3);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return;
    }
    for (int i = -r; i <= r; i++) sum += k[i + r] = expf(-0.5f * i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * r; i++) k[i] /= sum;
    for (int pass = 0; pass < 2; pass++) {
        int n = pass ? f->h : f->w, lines = pass ? f->w : f->h;
        size_t step = pass ? (size_t)f->w * 3 : 3;
        for (int l = 0; l < lines; l++) {
            float *base = f->p + (pass ? (size_t)l * 3 : (size_t)l * f->w * 3);
            for (int i = 0; i < n; i++)
                for (int c = 0; c < 3; c++) {
                    float a = 0;
                    for (int j = -r; j <= r; j++) {
                        int q = i + j < 0 ? 0 : i + j >= n ? n - 1 : i + j;
                        a += k[j + r] * base[q * step + c];
                    }
                    tmp[i * 3 + c] = a;
                }
            for (int i = 0; i < n; i++)
                for (int c = 0; c < 3; c++) base[i * step + c] = tmp[i * 3 + c];
        }
    }
    free(k);
    free(tmp);
}

/* ---- the camera: blur, exposure, Bayer + demosaic, noise, sRGB, JPEG ---- */

static img_image *camera(fimg *f, sp_rng *r)
{
    blur(f, U(r, 0.3, 0.8));
    /* Auto exposure on the centre: mean luminance to ~0.2 (within 30%). */
    double lum = 0;
    int n = 0;
    for (int y = f->h / 4; y < 3 * f->h / 4; y++)
        for (int x = f->w / 4; x < 3 * f->w / 4; x++, n++) {
            const float *p = f->p + ((size_t)y * f->w + x) * 3;
            lum += 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
        }
    float gain = lum > 1e-6 ? (float)(0.2 * n / lum) * U(r, 0.75, 1.3) : 1.f;
    if (gain > 8) gain = 8;
    if (gain < 0.25f) gain = 0.25f;
    /* Bayer RGGB: each pixel keeps one channel, then bilinear demosaic. */
    size_t np = (size_t)f->w * f->h;
    float *raw = malloc(sizeof(float) * np);
    img_image *out = img_new(f->w, f->h, 3);
    if (!raw || !out) {
        free(raw);
        img_free(out);
        return NULL;
    }
    float shot = U(r, 0.0004, 0.002), read = U(r, 0.002, 0.006);
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++) {
            int c = (y & 1) ? ((x & 1) ? 2 : 1) : ((x & 1) ? 1 : 0);
            float v = f->p[((size_t)y * f->w + x) * 3 + c] * gain;
            if (v > 1) v = 1;
            v += gauss(r) * sqrtf(shot * v + read * read);
            raw[(size_t)y * f->w + x] = v;
        }
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++) {
            float acc[3] = {0, 0, 0}, wsum[3] = {0, 0, 0};
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= f->w || yy >= f->h) continue;
                    int c = (yy & 1) ? ((xx & 1) ? 2 : 1) : ((xx & 1) ? 1 : 0);
                    float wgt = (dx == 0 && dy == 0) ? 4.f : (dx == 0 || dy == 0) ? 2.f : 1.f;
                    acc[c] += wgt * raw[(size_t)yy * f->w + xx];
                    wsum[c] += wgt;
                }
            for (int c = 0; c < 3; c++)
                out->px[((size_t)y * f->w + x) * 3 + c] =
                    to_srgb(wsum[c] > 0 ? acc[c] / wsum[c] : 0);
        }
    free(raw);
    unsigned char *jpg;
    size_t len;
    img_image *dec = NULL;
    if (img_encode_jpeg(out, (int)U(r, 70, 93), &jpg, &len, NULL) == RC_OK) {
        img_decode(jpg, len, NULL, &dec, NULL);
        free(jpg);
    }
    img_free(out);
    return dec;
}

/* ---- real faces ---- */

/* The window of the photo, scaled by s, that a kiosk frame shows: at most
 * FW x FH, the face centre at a random place, never past the photo. */
static void window(const img_image *ph, const float box[4], float s, sp_rng *r, float *x, float *y,
                   int *w, int *h)
{
    float W = ph->w * s, H = ph->h * s;
    *w = W < FW ? (int)W : FW;
    *h = H < FH ? (int)H : FH;
    float cx = (box[0] + box[2]) / 2 * s, cy = (box[1] + box[3]) / 2 * s;
    float wx = cx - *w * U(r, 0.35, 0.65), wy = cy - *h * U(r, 0.35, 0.55);
    if (wx > W - *w) wx = W - *w;
    if (wy > H - *h) wy = H - *h;
    *x = wx < 0 ? 0 : wx;
    *y = wy < 0 ? 0 : wy;
}

img_image *sp_real_frame(const img_image *ph, const float box[4], float face_px, int cam, sp_rng *r)
{
    float s = face_px / (box[3] - box[1]), x, y;
    int w, h;
    window(ph, box, s, r, &x, &y, &w, &h);
    if (w < 16 || h < 16) return NULL;
    img_image *v = img_crop_resize(ph, x / s, y / s, w / s, h / s, w, h, 0);
    if (!v || !cam) return v;
    fimg f;
    int ok = fimg_from(&f, v);
    img_free(v);
    if (!ok) return NULL;
    img_image *out = camera(&f, r);
    free(f.p);
    return out;
}

img_image *sp_darken(const img_image *ph, float gain, sp_rng *r)
{
    fimg f;
    if (!fimg_from(&f, ph)) return NULL;
    for (size_t i = 0; i < (size_t)f.w * f.h * 3; i++) f.p[i] *= gain;
    /* The same sensor, but no auto exposure to rescue it: noise, sRGB, JPEG. */
    img_image *out = img_new(f.w, f.h, 3);
    if (out) {
        float read = U(r, 0.002, 0.006);
        for (size_t i = 0; i < (size_t)f.w * f.h * 3; i++)
            out->px[i] = to_srgb(f.p[i] + gauss(r) * sqrtf(0.001f * f.p[i] + read * read));
    }
    free(f.p);
    img_image *dec = NULL;
    unsigned char *jpg;
    size_t len;
    if (out && img_encode_jpeg(out, 85, &jpg, &len, NULL) == RC_OK) {
        img_decode(jpg, len, NULL, &dec, NULL);
        free(jpg);
    }
    img_free(out);
    return dec;
}

/* ---- scenes: a planar medium (paper or device) seen in perspective ---- */

typedef struct {
    float H[9], Hi[9];  /* unit square (u, v) <-> frame px */
    float mw, mh;       /* the medium's size in frame px (before perspective) */
    int x0, y0, x1, y1; /* bounding box in the frame */
} plane;

static void mat3_inv(const float m[9], float o[9])
{
    float a = m[4] * m[8] - m[5] * m[7], b = m[5] * m[6] - m[3] * m[8],
          c = m[3] * m[7] - m[4] * m[6];
    float d = m[0] * a + m[1] * b + m[2] * c;
    float id = fabsf(d) > 1e-20f ? 1 / d : 0;
    o[0] = a * id;
    o[1] = (m[2] * m[7] - m[1] * m[8]) * id;
    o[2] = (m[1] * m[5] - m[2] * m[4]) * id;
    o[3] = b * id;
    o[4] = (m[0] * m[8] - m[2] * m[6]) * id;
    o[5] = (m[2] * m[3] - m[0] * m[5]) * id;
    o[6] = c * id;
    o[7] = (m[1] * m[6] - m[0] * m[7]) * id;
    o[8] = (m[0] * m[4] - m[1] * m[3]) * id;
}

/* Heckbert's square-to-quad: (0,0),(1,0),(1,1),(0,1) -> q[0..3]. */
static void square_to_quad(const float q[4][2], float H[9])
{
    float sx = q[0][0] - q[1][0] + q[2][0] - q[3][0], sy = q[0][1] - q[1][1] + q[2][1] - q[3][1];
    float dx1 = q[1][0] - q[2][0], dx2 = q[3][0] - q[2][0], dy1 = q[1][1] - q[2][1],
          dy2 = q[3][1] - q[2][1];
    float den = dx1 * dy2 - dx2 * dy1;
    float g = (sx * dy2 - dx2 * sy) / den, h = (dx1 * sy - sx * dy1) / den;
    H[0] = q[1][0] - q[0][0] + g * q[1][0];
    H[1] = q[3][0] - q[0][0] + h * q[3][0];
    H[2] = q[0][0];
    H[3] = q[1][1] - q[0][1] + g * q[1][1];
    H[4] = q[3][1] - q[0][1] + h * q[3][1];
    H[5] = q[0][1];
    H[6] = g;
    H[7] = h;
    H[8] = 1;
}

static void apply(const float H[9], float x, float y, float *u, float *v)
{
    float w = H[6] * x + H[7] * y + H[8];
    *u = (H[0] * x + H[1] * y + H[2]) / w;
    *v = (H[3] * x + H[4] * y + H[5]) / w;
}

/* A medium of mw x mh px whose point (au, av) (unit coordinates) lands at
 * frame (fx, fy), turned by yaw/pitch/roll (radians) about that point. */
static void place(plane *p, float mw, float mh, float au, float av, float fx, float fy, float yaw,
                  float pitch, float roll)
{
    float cy = cosf(yaw), sy = sinf(yaw), cp = cosf(pitch), sp = sinf(pitch), cr = cosf(roll),
          sr = sinf(roll);
    float q[4][2];
    static const float cu[4] = {0, 1, 1, 0}, cv[4] = {0, 0, 1, 1};
    p->mw = mw;
    p->mh = mh;
    float bx0 = 1e9f, by0 = 1e9f, bx1 = -1e9f, by1 = -1e9f;
    for (int i = 0; i < 4; i++) {
        float X = (cu[i] - au) * mw, Y = (cv[i] - av) * mh, Z = 0;
        float x1 = cr * X - sr * Y, y1 = sr * X + cr * Y;     /* roll */
        float x2 = cy * x1 + sy * Z, z2 = -sy * x1 + cy * Z;  /* yaw */
        float y3 = cp * y1 - sp * z2, z3 = sp * y1 + cp * z2; /* pitch */
        float zc = FOCAL + z3;
        q[i][0] = fx + FOCAL * x2 / zc;
        q[i][1] = fy + FOCAL * y3 / zc;
        bx0 = fminf(bx0, q[i][0]);
        by0 = fminf(by0, q[i][1]);
        bx1 = fmaxf(bx1, q[i][0]);
        by1 = fmaxf(by1, q[i][1]);
    }
    square_to_quad((const float(*)[2])q, p->H);
    mat3_inv(p->H, p->Hi);
    p->x0 = bx0 < 0 ? 0 : (int)bx0;
    p->y0 = by0 < 0 ? 0 : (int)by0;
    p->x1 = bx1 > FW - 1 ? FW - 1 : (int)bx1 + 1;
    p->y1 = by1 > FH - 1 ? FH - 1 : (int)by1 + 1;
}

/* A room behind the medium: a photo without faces covering the frame, out
 * of focus, at a random brightness. */
static int room_scene(fimg *f, const img_image *room, sp_rng *r)
{
    if (!fimg_init(f, FW, FH)) return 0;
    float s = fmaxf((float)FW / room->w, (float)FH / room->h) * U(r, 1.0, 1.6);
    float ox = U(r, 0, room->w * s - FW), oy = U(r, 0, room->h * s - FH);
    img_image *v = img_crop_resize(room, ox / s, oy / s, FW / s, FH / s, FW, FH, 0);
    if (!v) return 0;
    init_lut();
    float k = U(r, 0.5, 1.2);
    for (size_t i = 0; i < (size_t)FW * FH * 3; i++) f->p[i] = lin_lut[v->px[i]] * k;
    img_free(v);
    blur(f, U(r, 1.0, 3.5));
    return 1;
}

/* Where the medium shows the photo: the region of the photo (x, y, w, h)
 * around the face so that the face is `frac` of its height, of aspect
 * `aspect` (w/h). */
static void photo_region(const float box[4], float frac, float aspect, float reg[4])
{
    float fh = box[3] - box[1];
    reg[3] = fh / frac;
    reg[2] = reg[3] * aspect;
    reg[0] = (box[0] + box[2]) / 2 - reg[2] / 2;
    reg[1] = (box[1] + box[3]) / 2 - reg[3] * 0.42f;
}

/* Fingers: capsules from (ax, ay) to (bx, by) of radius rad in skin tone. */
static void finger(fimg *f, float ax, float ay, float bx, float by, float rad, const float skin[3])
{
    int x0 = (int)fmaxf(0, fminf(ax, bx) - rad), x1 = (int)fminf(FW - 1, fmaxf(ax, bx) + rad);
    int y0 = (int)fmaxf(0, fminf(ay, by) - rad), y1 = (int)fminf(FH - 1, fmaxf(ay, by) + rad);
    float dx = bx - ax, dy = by - ay, L2 = dx * dx + dy * dy + 1e-6f;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            float t = ((x + 0.5f - ax) * dx + (y + 0.5f - ay) * dy) / L2;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            float ex = x + 0.5f - ax - t * dx, ey = y + 0.5f - ay - t * dy;
            float d = sqrtf(ex * ex + ey * ey) / rad;
            if (d >= 1) continue;
            float a = fminf(1, (1 - d) * rad / 1.5f); /* anti-aliased edge */
            float shade = 0.55f + 0.45f * sqrtf(1 - d * d);
            float *p = f->p + ((size_t)y * FW + x) * 3;
            for (int c = 0; c < 3; c++) p[c] = p[c] * (1 - a) + a * skin[c] * shade;
        }
}

static void hand(fimg *f, const plane *pl, int screen, sp_rng *r)
{
    static const float tones[5][3] = {{0.60f, 0.38f, 0.28f},
                                      {0.45f, 0.27f, 0.18f},
                                      {0.30f, 0.17f, 0.11f},
                                      {0.15f, 0.08f, 0.05f},
                                      {0.70f, 0.48f, 0.38f}};
    const float *t = tones[(int)U(r, 0, 4.999)];
    float k = U(r, 0.5, 1.0), skin[3] = {t[0] * k, t[1] * k, t[2] * k};
    float rad = fmaxf(6, pl->mw * U(r, 0.06, 0.1));
    float u, v, u2, v2;
    if (screen) {
        /* Gripped from both sides: two fingers on the left edge, a thumb on
         * the right, all reaching in from outside the device. */
        for (int i = 0; i < 2; i++) {
            float vv = U(r, 0.55, 0.9);
            apply(pl->H, -0.25f, vv, &u, &v);
            apply(pl->H, 0.04f, vv - 0.02f, &u2, &v2);
            finger(f, u, v, u2, v2, rad * 0.8f, skin);
        }
        float vt = U(r, 0.5, 0.85);
        apply(pl->H, 1.35f, vt + 0.15f, &u, &v);
        apply(pl->H, 0.97f, vt, &u2, &v2);
        finger(f, u, v, u2, v2, rad, skin);
    } else {
        /* A thumb over the bottom or a side margin of the print. */
        float side = U(r, 0, 3);
        if (side < 1) {
            float uu = U(r, 0.2, 0.8);
            apply(pl->H, uu, 1.4f, &u, &v);
            apply(pl->H, uu + 0.03f, U(r, 0.9, 0.97), &u2, &v2);
        } else if (side < 2) {
            float vv = U(r, 0.55, 0.9);
            apply(pl->H, -0.4f, vv + 0.1f, &u, &v);
            apply(pl->H, U(r, 0.03, 0.1), vv, &u2, &v2);
        } else {
            float vv = U(r, 0.55, 0.9);
            apply(pl->H, 1.4f, vv + 0.1f, &u, &v);
            apply(pl->H, U(r, 0.9, 0.97), vv, &u2, &v2);
        }
        finger(f, u, v, u2, v2, rad, skin);
    }
}

/* A camera pose that keeps the face inside the frame. */
static void pose(sp_rng *r, float *fx, float *fy, float *yaw, float *pitch, float *roll)
{
    *fx = FW * U(r, 0.38, 0.62);
    *fy = FH * U(r, 0.38, 0.55);
    *yaw = U(r, -0.45, 0.45);
    *pitch = U(r, -0.4, 0.4);
    *roll = U(r, -0.15, 0.15);
}

/* ---- media: a scene's plane rendered over the room ---- */

/* What the medium sends toward the camera (linear RGB) at unit coordinates
 * (u, v), for the sub-sample at frame position (cx, cy) of pixel (x, y). */
typedef void (*radiance_fn)(const void *ctx, float u, float v, float cx, float cy, int x, int y,
                            float out[3]);

/* Each frame pixel the plane covers averages S x S sub-samples; those that
 * miss the plane keep the room behind it. */
static void render(fimg *f, const plane *pl, int S, radiance_fn fn, const void *ctx)
{
    for (int y = pl->y0; y <= pl->y1; y++)
        for (int x = pl->x0; x <= pl->x1; x++) {
            float acc[3] = {0, 0, 0};
            int hits = 0;
            for (int j = 0; j < S; j++)
                for (int i = 0; i < S; i++) {
                    float cx = x + (i + 0.5f) / S, cy = y + (j + 0.5f) / S, u, v, e[3];
                    apply(pl->Hi, cx, cy, &u, &v);
                    if (!(u >= 0 && u < 1 && v >= 0 && v < 1)) continue;
                    hits++;
                    fn(ctx, u, v, cx, cy, x, y, e);
                    for (int k = 0; k < 3; k++) acc[k] += e[k];
                }
            if (!hits) continue;
            float *p = f->p + ((size_t)y * FW + x) * 3;
            float a = (float)hits / (S * S);
            for (int k = 0; k < 3; k++) p[k] = p[k] * (1 - a) + acc[k] / (S * S);
        }
}

/* A soft elliptical highlight (a lamp or window reflected) at (gu, gv). */
static float highlight(float u, float v, float gu, float gv, float gr, float squash, float peak)
{
    float du = (u - gu) / gr, dv = (v - gv) / (gr * squash);
    return peak * expf(-0.5f * (du * du + dv * dv));
}

/* ---- print attacks ---- */

typedef struct {
    const img_image *ph;
    float reg[4], mu, mv; /* photo region shown; content inset */
    float white[3], black, sat, gam, cell;
    float E0, gx, gy; /* illumination and its gradient */
    int glossy;
    float gu, gv, gr, gp, fibre_ph;
} print_ctx;

static void print_radiance(const void *ctx, float u, float v, float cx, float cy, int x, int y,
                           float out[3])
{
    const print_ctx *c = ctx;
    static const float angles[3] = {0.2618f, 1.309f, 0.f}; /* C 15, M 75, Y 0 degrees */
    float refl[3] = {c->white[0], c->white[1], c->white[2]};
    float qu = (u - c->mu) / (1 - 2 * c->mu), qv = (v - c->mv) / (1 - 2 * c->mv);
    float px = c->reg[0] + qu * c->reg[2], py = c->reg[1] + qv * c->reg[3], col[3];
    if (qu >= 0 && qu < 1 && qv >= 0 && qv < 1 && photo_at(c->ph, px, py, col)) {
        float l = 0.2126f * col[0] + 0.7152f * col[1] + 0.0722f * col[2];
        for (int k = 0; k < 3; k++) {
            float t = powf(fminf(fmaxf(l + c->sat * (col[k] - l), 0), 1), c->gam);
            /* This channel's ink coverage, rendered by a rotated
             * clustered-dot screen. */
            float ca = cosf(angles[k]), sa = sinf(angles[k]);
            float sx = (ca * px + sa * py) / c->cell, sy = (-sa * px + ca * py) / c->cell;
            float th = 0.5f + 0.25f * (cosf(6.2831853f * sx) + cosf(6.2831853f * sy));
            float ink = 1 - t > th ? 1.f : 0.f;
            refl[k] = c->white[k] * (1 - ink) + c->black * ink;
        }
    }
    float fib = 1 + 0.025f * sinf(u * 517.f + c->fibre_ph) * sinf(v * 389.f);
    float E = c->E0 * (1 + c->gx * (u - 0.5f) + c->gy * (v - 0.5f)) * fib;
    float spec = c->glossy ? highlight(u, v, c->gu, c->gv, c->gr, 0.6f, c->gp) : 0;
    for (int k = 0; k < 3; k++) out[k] = refl[k] * E + spec;
}

img_image *sp_print_attack(const img_image *ph, const float box[4], const img_image *room,
                           float face_px, sp_rng *r)
{
    init_lut();
    fimg f;
    if (!room_scene(&f, room, r)) return NULL;
    /* A 10x15 photo print, a 13x18 or an A4 sheet: the face is 25-55% of the
     * printed picture's height; a white margin on office prints. */
    static const float aspects[3] = {2.f / 3, 5.f / 7, 0.707f};
    print_ctx c = {.ph = ph};
    float aspect = aspects[(int)U(r, 0, 2.999)];
    float margin = U(r, 0, 1) < 0.5f ? 0 : U(r, 0.03, 0.08);
    float frac = U(r, 0.25, 0.55);
    photo_region(box, frac, aspect, c.reg);
    float content_h = face_px / frac;
    float mh = content_h / (1 - 2 * margin), mw = content_h * aspect + 2 * margin * mh;
    c.mu = margin * mh / mw;
    c.mv = margin;
    float fu = c.mu + (1 - 2 * c.mu) * ((box[0] + box[2]) / 2 - c.reg[0]) / c.reg[2];
    float fv = c.mv + (1 - 2 * c.mv) * ((box[1] + box[3]) / 2 - c.reg[1]) / c.reg[3];
    plane pl;
    float fx, fy, yaw, pitch, roll;
    pose(r, &fx, &fy, &yaw, &pitch, &roll);
    place(&pl, mw, mh, fu, fv, fx, fy, yaw, pitch, roll);
    /* Paper and ink: paper white, ink black, a weaker saturation, a
     * dot-gain curve, a halftone screen of 1-2.5 camera px per cell. */
    c.white[0] = U(r, 0.78, 0.88);
    c.white[1] = c.white[0] * U(r, 0.97, 1.0);
    c.white[2] = c.white[0] * U(r, 0.88, 0.98);
    c.black = U(r, 0.03, 0.09);
    c.sat = U(r, 0.6, 0.9);
    c.gam = U(r, 1.0, 1.35);
    c.cell = U(r, 1.0, 2.5) * c.reg[3] / content_h; /* photo px per halftone cell */
    c.E0 = U(r, 0.5, 1.1);
    c.gx = U(r, -0.5, 0.5);
    c.gy = U(r, -0.5, 0.5);
    c.glossy = U(r, 0, 1) < 0.4f;
    c.gu = U(r, 0.1, 0.9);
    c.gv = U(r, 0.1, 0.9);
    c.gr = U(r, 0.1, 0.3);
    c.gp = U(r, 0.2, 0.8);
    c.fibre_ph = U(r, 0, 6.28f);
    render(&f, &pl, 3, print_radiance, &c);
    hand(&f, &pl, 0, r);
    img_image *out = camera(&f, r);
    free(f.p);
    return out;
}

/* ---- screen replays ---- */

/* The fraction of [a, b] where a square wave of period 1 is on in [o, o+d]. */
static float on_fraction(float a, float b, float o, float d)
{
#define CUM(x) (floorf((x)-o) * d + fminf(fmaxf((x)-o - floorf((x)-o), 0), d))
    return b > a ? (CUM(b) - CUM(a)) / (b - a) : 0;
#undef CUM
}

typedef struct {
    const img_image *ph;
    const plane *pl;
    const fimg *room;     /* blurred: what the glass reflects */
    float reg[4], su, sv; /* photo region shown; screen inset */
    int resw, resh, S;
    float Lmax, dgam, blk, wp[3], fill, filly, body, refl;
    int glare;
    float gu, gv, gr, gp;
} screen_ctx;

static void screen_radiance(const void *ctx, float u, float v, float cx, float cy, int x, int y,
                            float e[3])
{
    const screen_ctx *c = ctx;
    float qu = (u - c->su) / (1 - 2 * c->su), qv = (v - c->sv) / (1 - 2 * c->sv);
    if (!(qu >= 0 && qu < 1 && qv >= 0 && qv < 1)) {
        /* Bezel and body: dark, a little sheen toward the edge. */
        float edge = fminf(fminf(u, 1 - u), fminf(v, 1 - v));
        for (int k = 0; k < 3; k++) e[k] = c->body + (edge < 0.01f ? 0.08f : 0);
        return;
    }
    /* The sub-sample's footprint in screen pixels, from the homography's
     * local derivatives; the RGB stripes and the black matrix are
     * integrated over it exactly, so moire comes from the geometry. */
    float u1, v1, u2, v2;
    apply(c->pl->Hi, cx + 0.5f / c->S, cy, &u1, &v1);
    apply(c->pl->Hi, cx, cy + 0.5f / c->S, &u2, &v2);
    float kx = c->resw / (1 - 2 * c->su), ky = c->resh / (1 - 2 * c->sv);
    float hw = (fabsf(u1 - u) + fabsf(u2 - u)) * kx, hh = (fabsf(v1 - v) + fabsf(v2 - v)) * ky;
    float spx = qu * c->resw, spy = qv * c->resh, col[3];
    if (!photo_at(c->ph, c->reg[0] + qu * c->reg[2], c->reg[1] + qv * c->reg[3], col))
        col[0] = col[1] = col[2] = 0;
    float rows = on_fraction(spy - hh, spy + hh, (1 - c->filly) / 2, c->filly) / c->filly;
    float g = c->glare ? highlight(u, v, c->gu, c->gv, c->gr, 0.5f, c->gp) : 0;
    const float *bg = c->room->p + ((size_t)y * FW + x) * 3;
    for (int k = 0; k < 3; k++) {
        float w3 = c->fill / 3;
        float stripe = on_fraction(spx - hw, spx + hw, k / 3.f + (1 - c->fill) / 6, w3) / w3 / 3;
        float lvl = c->blk + (1 - c->blk) * powf(fminf(fmaxf(col[k], 0), 1), c->dgam);
        e[k] = c->Lmax * c->wp[k] * lvl * stripe * 3 * rows + c->refl * bg[k] + g;
    }
}

img_image *sp_screen_replay(const img_image *ph, const float box[4], const img_image *room,
                            float face_px, sp_rng *r)
{
    init_lut();
    fimg f;
    if (!room_scene(&f, room, r)) return NULL;
    fimg refl_room = {FW, FH, malloc(sizeof(float) * FW * FH * 3)};
    if (!refl_room.p) {
        free(f.p);
        return NULL;
    }
    memcpy(refl_room.p, f.p, sizeof(float) * FW * FH * 3);
    blur(&refl_room, 6);
    /* A phone (portrait or landscape, 1080 px across its short side) or a
     * tablet (4:3, 1536 px across): screen inside a bezel. */
    plane pl;
    screen_ctx c = {.ph = ph, .pl = &pl, .room = &refl_room, .S = 2};
    int tablet = U(r, 0, 1) < 0.35f, landscape = !tablet && U(r, 0, 1) < 0.25f;
    float s_aspect = tablet ? 0.75f : 1080.f / 2340.f; /* w/h, portrait */
    c.resw = tablet ? 1536 : 1080;
    c.resh = tablet ? 2048 : 2340;
    if (landscape) {
        s_aspect = 1 / s_aspect;
        int t = c.resw;
        c.resw = c.resh;
        c.resh = t;
    }
    float frac = U(r, 0.3, 0.75);
    photo_region(box, frac, s_aspect, c.reg);
    float sh = face_px / frac, sw = sh * s_aspect; /* screen size, frame px */
    float bez = fminf(sw, sh) * U(r, 0.04, 0.1);
    float mw = sw + 2 * bez, mh = sh + 2 * bez * (tablet ? 1.f : 1.6f);
    c.su = bez / mw;
    c.sv = (mh - sh) / 2 / mh;
    float fu = c.su + (1 - 2 * c.su) * ((box[0] + box[2]) / 2 - c.reg[0]) / c.reg[2];
    float fv = c.sv + (1 - 2 * c.sv) * ((box[1] + box[3]) / 2 - c.reg[1]) / c.reg[3];
    float fx, fy, yaw, pitch, roll;
    pose(r, &fx, &fy, &yaw, &pitch, &roll);
    place(&pl, mw, mh, fu, fv, fx, fy, yaw, pitch, roll);
    /* Display: brightness relative to the room, gamma, white point, black
     * level; subpixel stripes with a black matrix; glass reflections. */
    c.Lmax = U(r, 0.7, 2.2);
    c.dgam = U(r, 0.85, 1.2);
    c.blk = U(r, 0.005, 0.03);
    c.wp[0] = U(r, 0.85, 1.0);
    c.wp[1] = 1.f;
    c.wp[2] = U(r, 1.0, 1.2);
    c.fill = U(r, 0.6, 0.9);
    c.filly = U(r, 0.75, 0.95);
    c.body = U(r, 0.01, 0.05);
    c.refl = U(r, 0.03, 0.12);
    c.glare = U(r, 0, 1) < 0.6f;
    c.gu = U(r, 0.1, 0.9);
    c.gv = U(r, 0.1, 0.9);
    c.gr = U(r, 0.08, 0.3);
    c.gp = U(r, 0.3, 1.5);
    render(&f, &pl, c.S, screen_radiance, &c);
    free(refl_room.p);
    hand(&f, &pl, 1, r);
    img_image *out = camera(&f, r);
    free(f.p);
    return out;
}
