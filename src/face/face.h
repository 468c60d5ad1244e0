/*
 * face — the pipeline that turns a photo into faces: detection (box decode,
 * score threshold, NMS), 68 landmarks reduced to 5 points, alignment by a
 * least-squares similarity transform onto the 112x112 ArcFace template,
 * a 512-d L2-normalized embedding, liveness, and quality (size, sharpness,
 * head pose) with the reasons when a face is not good enough to enroll.
 *
 * face_models holds the loaded networks: immutable, shared by all threads.
 * face_worker holds one thread's sessions and scratch memory; one call to
 * face_analyze handles one frame. Use one worker per thread.
 */
#ifndef RC_FACE_H
#define RC_FACE_H

#include <stddef.h>

#include "../image/image.h"
#include "../rc/rc.h"

#define FACE_EMB_DIM  512
#define FACE_ALIGN_SZ 112
#define FACE_MODEL_ID 64
/* The liveness score a live face reaches, chosen on the liveness evaluation
 * (tests/face/test_face_liveness.c; README, "Liveness"): from 0.5 to 0.7
 * print attacks rejected go from 73% to 84% and screen replays from 88% to
 * 92% for 1-4 points of real faces accepted; beyond, real faces pay more. */
#define FACE_DEFAULT_LIVENESS_THRESHOLD 0.7

typedef struct face_models face_models;
typedef struct face_worker face_worker;

/* Load the default models from `dir` (fr_detect, fr_landmark, fr_feature,
 * fr_liveness .onnx; with `attributes` nonzero also fr_age and fr_gender).
 * The embedding model id comes from dir/manifest.json (file name and the
 * first 12 hex digits of its sha256) or else the file name and size. */
rc_status face_models_load(const char *dir, int attributes, face_models **out, rc_error *err);
void face_models_free(face_models *m);
/* Identifies the embedding model; embeddings from different ids must not be compared. */
const char *face_models_embedding_id(const face_models *m);

/* int8 inference: on a CPU with AVX-512 VNNI or AVX-VNNI, face_models_load
 * runs the embedding model's convolutions in int8 by default, and with
 * ROLLCALL_NN_INT8=1 the detection model's too (nn_model_quantize), with
 * the input ranges in DIR/fr_feature.onnx.int8 and
 * DIR/fr_detect.onnx.int8, where DIR is $ROLLCALL_NN_INT8_RANGES or else
 * the models directory (`make models` installs the project's ranges there;
 * `rollcall calibrate` writes new ones). Each file's "# model ID" line must
 * name the model loaded. By default, without matching files the models
 * run in float (logged); with ROLLCALL_NN_INT8=1 or
 * ROLLCALL_NN_INT8_RANGES set that is an error, and
 * ROLLCALL_NN_INT8_RANGES=dynamic takes each input's own range instead.
 * ROLLCALL_NN_INT8=0, or a CPU without VNNI, keeps float. How many models
 * run in int8: */
int face_models_int8(const face_models *m);

/* bf16 inference: on a CPU with AVX-512 BF16, face_models_load runs the
 * liveness model's largest 1x1 convolutions in bf16 by default
 * (nn_model_bf16 with NN_BF16_MIN_MACS; README "bf16 inference");
 * ROLLCALL_NN_BF16=0 keeps them in float, =all adds every 1x1 convolution
 * of the detection and landmark models (measured, not the default),
 * anything else is RC_ERR_INVALID. A CPU without AVX-512 BF16 keeps float.
 * How many models have bf16 convolutions: */
int face_models_bf16(const face_models *m);

/* Calibration for int8 (`rollcall calibrate`): while enabled, every model
 * runs in float (no bf16 either) and the detection and embedding sessions
 * record the range of every convolution's input over each face_analyze;
 * save writes DIR/fr_detect.onnx.int8 and DIR/fr_feature.onnx.int8 (a
 * "# model ID" line, then
 * `comment` on a '#' line). RC_ERR_INVALID when a model saw no input. */
rc_status face_worker_calibrate(face_worker *w, int enable, rc_error *err);
rc_status face_worker_calibration_save(const face_worker *w, const char *dir, const char *comment,
                                       rc_error *err);

rc_status face_worker_create(const face_models *m, face_worker **out, rc_error *err);
void face_worker_free(face_worker *w);

/* What face_analyze computes. Defaults (face_opts_default): everything but
 * attributes, score threshold 0.7, NMS IoU 0.4. */
typedef struct {
    float score_threshold; /* detector confidence, 0..1 */
    float nms_iou;         /* boxes overlapping more than this are one face */
    int min_face;          /* px; faces smaller than the detector's reach are found by
                              running it on overlapping tiles (0 = whole frame only) */
    int pad_retry;         /* nothing found: retry on a padded copy (tight face crops) */
    int max_faces;         /* keep the largest N (0 = all) */
    int landmarks, embedding, liveness, attributes; /* stages to run */
    /* quality limits */
    int min_size;                       /* px, face box height */
    float min_sharpness;                /* variance of Laplacian on the aligned crop */
    float max_yaw, max_pitch, max_roll; /* degrees */
} face_opts;

face_opts face_opts_default(void);

typedef struct {
    float x0, y0, x1, y1; /* box in image pixels */
    float score;          /* detector confidence */
    int has_landmarks;
    float lm68[68][2];
    float lm5[5][2]; /* left eye, right eye (as seen in the image), nose tip, mouth corners */
    int has_embedding;
    float embedding[FACE_EMB_DIM]; /* L2-normalized */
    float emb_norm;                /* the raw embedding's length (informative only: real faces in a
                                      dim room or out of focus are as short as false detections) */
    float liveness;                /* 0..1 that the face is live; -1 when not computed */
    float det_box[4];              /* the detector's box (x0, y0, x1, y1) before clipping to the
                                      frame: where face_liveness crops from */
    /* quality */
    float size, sharpness, yaw, pitch, roll;
    int quality_ok;
    char quality_reasons[96]; /* "" or e.g. "too small; blurry" */
    /* attributes (attributes option), -1 when not computed */
    float age;
    float male; /* probability that the face is male */
} face_info;

/* Analyze one frame. *faces is a new array of *n faces (largest first) that
 * the caller frees with free(); no face is RC_OK with *n == 0. Every face
 * the detector keeps is returned: the later stages measure it, they never
 * drop it (one that cannot be identified is for the caller to call unknown). */
rc_status face_analyze(face_worker *w, const img_image *im, const face_opts *opts,
                       face_info **faces, int *n, rc_error *err);

/* face_analyze without the detector, for faces it already found on `im`
 * (a face_analyze with the later stages off, e.g. a camera's detector-only
 * pass): landmarks, alignment, embedding, liveness, quality as `opts` asks,
 * from each found face's det_box and score, so a frame whose boxes are
 * known is not detected twice. Gives what face_analyze with the same opts
 * gives when its detector finds those boxes (test_face_pipeline). `found`
 * is only read; *faces as face_analyze (caller frees, largest first). */
rc_status face_analyze_found(face_worker *w, const img_image *im, const face_opts *opts,
                             const face_info *found, int nfound, face_info **faces, int *n,
                             rc_error *err);

/* The detector on one region of the frame (x, y, w, h in frame pixels, the
 * part inside the frame), e.g. around a camera's face track: the region is
 * seen at the scale the detector sees the whole frame at (its input size
 * over the frame's size), so a face looks as large as in a whole-frame
 * detection and the detector's cost falls with the region's area. The
 * region is grown to whole 16-pixel steps of the detector's input (kept
 * inside the frame); a face cut by an edge of it that lies inside the
 * frame is left out. *faces as face_analyze with the later stages off
 * (boxes in frame pixels, det_box, score; caller frees), for
 * face_analyze_found. RC_ERR_UNSUPPORTED when the detector cannot run on
 * regions (face_worker_regions). */
rc_status face_detect_region(face_worker *w, const img_image *im, const float rect[4],
                             const face_opts *opts, face_info **faces, int *n, rc_error *err);
/* Nonzero when the worker's detector runs on regions: the default
 * detector, whose raw head face_models_load finds by name. */
int face_worker_regions(const face_worker *w);

/* Liveness of one face that face_analyze found on `im` with the liveness
 * stage off: the same measure, later, for the faces that need it (recog
 * measures only the faces whose identity it would show or mark). Fills
 * f->liveness (left -1 when the face has no area inside the frame); adds its
 * time to the worker's liveness timing. */
rc_status face_liveness(face_worker *w, const img_image *im, face_info *f, rc_error *err);

/* Milliseconds spent in each stage by the worker's last face_analyze
 * (summed over the faces of that frame). */
typedef struct {
    double detect, landmarks, align, embed, liveness, quality;
} face_timings;
face_timings face_worker_timings(const face_worker *w);
/* Nonzero: time the stages in this thread's CPU time instead of wall-clock
 * time (benchmarks on a shared machine, where waiting for a core is noise). */
void face_worker_time_cpu(face_worker *w, int on);
/* Nonzero: pre-process with the straightforward reference path (whole-frame
 * gray image, generic crop-and-resize into an 8-bit image, then a separate
 * pass into the float tensor) instead of the fused passes. It defines the
 * right answer: tests compare the two, benchmarks time both. */
void face_worker_use_reference(face_worker *w, int on);

/* Embed an already aligned 112x112 RGB crop (skipping detection). */
rc_status face_embed_aligned(face_worker *w, const img_image *aligned, float out[FACE_EMB_DIM],
                             rc_error *err);

/* The aligned 112x112 crop for a face with landmarks (new image; caller frees). */
img_image *face_align(const img_image *im, const float lm5[5][2]);

/* Cosine similarity of two L2-normalized embeddings. */
float face_similarity(const float *a, const float *b);

/* Which face of a photo the user meant: the one they framed, large and near
 * the centre. Each face's prominence is its box height times a weight that
 * falls from 1 at the centre of the image to 0.4 in a corner, so a face in
 * the corner needs 2.5 times the height to win over a central one. */
typedef struct {
    int index;        /* the chosen face, -1 when there is none */
    int runner_up;    /* the next most prominent face, -1 when there is one face */
    float prominence; /* of the chosen face (px) */
    float ratio;      /* runner-up's prominence / the chosen one's (0 when alone) */
    int ambiguous;    /* ratio >= FACE_PICK_AMBIGUOUS: two faces are comparable */
    char reason[160]; /* when ambiguous: why, in words, for the person enrolling */
} face_pick;

/* Runner-up at this fraction of the chosen face's prominence or more: the
 * photo does not say who is meant, and enrollment refuses it. */
#define FACE_PICK_AMBIGUOUS 0.8f

/* Pick the primary face among n faces found in a w x h image. Pure geometry
 * (boxes only), so it works for any detector's boxes.
 * Contract for callers (the CLI today; src/recog's enrollment after the
 * move): embedding, comparing and identifying a photo use faces[index];
 * enrollment refuses an ambiguous photo with `reason`. Detection order
 * (largest first) is unchanged; the caller uses index. */
face_pick face_pick_primary(const face_info *faces, int n, int w, int h);

/* ---- building blocks, exposed for tests and for other detectors ---- */

typedef struct {
    float x0, y0, x1, y1, score;
} face_box;

/* SSD priors (cx, cy, w, h, normalized) for an UltraFace-style detector:
 * for each step, a feature map of ceil(size/step) cells and the given
 * min sizes per cell. Returns the number of priors written (at most max). */
int face_priors(int in_w, int in_h, const int *steps, int nsteps, const int *const *min_sizes,
                const int *nmin, float *priors, int max);
/* Decode SSD regressions (dx, dy, dw, dh) against priors with the given
 * variances into normalized corner boxes, with the engine's exp (nn_exp):
 * on the graph's own priors the same bits as the graph's decoding. */
void face_decode_boxes(const float *loc, const float *priors, int n, float var0, float var1,
                       float *boxes);
/* Greedy NMS: sorts `boxes` by score (descending) in place and returns how
 * many are kept at the front. A box is dropped when its IoU with a kept box
 * exceeds the threshold or when it lies mostly (60%) inside a kept box. */
int face_nms(face_box *boxes, int n, float iou_threshold);
float face_iou(const face_box *a, const face_box *b);

/* The 5 points from 68 (iBUG 300-W order). */
void face_lm68_to_5(const float lm68[68][2], float lm5[5][2]);
/* Least-squares similarity transform (scale, rotation, translation) taking
 * src points onto dst points: dst ~ [a -b; b a] src + t. Writes the 2x3
 * matrix. Returns the RMS residual in dst units, or -1 when degenerate. */
float face_fit_similarity(const float (*src)[2], const float (*dst)[2], int n, float m[6]);
/* The standard ArcFace 112x112 5-point template. */
extern const float face_arcface_template[5][2];
/* Variance of the 4-neighbour Laplacian over a gray image. */
float face_laplacian_var(const img_image *gray);
/* Head pose in degrees from the 5 points (rough, for quality gating). */
void face_pose_from_lm5(const float lm5[5][2], float *yaw, float *pitch, float *roll);
/* The rectangle (x, y, w, h, whole pixels, inside the frame) of a W x H
 * frame that the liveness model sees, resized to 128x128, for a detector box
 * (x0, y0, x1, y1) not yet clipped to the frame: the model package's own
 * pre-processing (fr_detect.js squares the box on its height and clips it;
 * fr_liveness.js grows width and height 2.7 times, less when the frame is
 * too small, and shifts the crop inside the frame). Returns 0, or -1 when
 * the box has no area inside the frame. */
int face_liveness_rect(int W, int H, const float box[4], float rect[4]);
/* The liveness model's input for that box: the rectangle resized to
 * 128x128 (bilinear, as cv::resize) straight from the RGB frame into a
 * planar 3x128x128 tensor of 0..255 values in B, G, R order. Returns 0, or
 * -1 as face_liveness_rect. */
int face_liveness_input(const img_image *im, const float box[4], float *tensor);

#endif
