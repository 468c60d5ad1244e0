/* spoof.h — reproducible camera frames for the liveness evaluation, made at
 * test time from the real test photos (nothing generated is committed):
 *   - a real face as a kiosk camera sees it (the photo scaled so the face is
 *     `face_px` tall, a window of at most 640x480 around it);
 *   - a print attack (the photo printed with a limited gamut on paper, a
 *     halftone screen, paper texture, held up by a hand in front of a room,
 *     tilted in perspective, lit unevenly, sometimes glossy);
 *   - a screen replay (the photo on a phone or tablet: RGB subpixel stripes
 *     integrated over each camera pixel, so moire comes from the geometry,
 *     display gamma and white point, black level, glass reflections and
 *     glare, the bezel and the hand holding the device).
 * Every frame then goes through the same camera model: lens blur, auto
 * exposure, a Bayer mosaic with bilinear demosaicing, shot and read noise,
 * sRGB encoding and JPEG. All randomness comes from the caller's seed.
 * README ("Liveness") says what this set is and what it is not. */
#ifndef RC_TEST_SPOOF_H
#define RC_TEST_SPOOF_H

#include <stdint.h>

#include "image/image.h"

typedef struct {
    uint64_t s;
} sp_rng;

static inline sp_rng sp_seed(uint64_t a, uint64_t b)
{
    sp_rng r = {a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull)};
    return r;
}
double sp_uniform(sp_rng *r, double lo, double hi);

/* box: the face in `photo` (x0, y0, x1, y1). Each returns a new RGB image
 * (caller frees with img_free) or NULL when out of memory. */
/* camera = 0: the window only rescaled (area averaging), no camera model. */
img_image *sp_real_frame(const img_image *photo, const float box[4], float face_px, int camera,
                         sp_rng *r);
img_image *sp_print_attack(const img_image *photo, const float box[4], const img_image *room,
                           float face_px, sp_rng *r);
img_image *sp_screen_replay(const img_image *photo, const float box[4], const img_image *room,
                            float face_px, sp_rng *r);
/* The photo darker: a gain of `gain` in linear light, with camera noise and
 * JPEG as a dim room would give (for the "not a face" check). */
img_image *sp_darken(const img_image *photo, float gain, sp_rng *r);

#endif
