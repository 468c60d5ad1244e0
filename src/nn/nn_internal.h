/*
 * nn_internal.h — the engine's private data structures, shared by the loader
 * (load.c), the load-time graph rewrites (fuse.c), the planner and executor
 * (plan.c), the operator table (ops_*.c) and the fast kernels (kernels.c).
 *
 * A model is a list of values (named tensors: graph inputs, initializers and
 * node outputs) and a topologically sorted list of nodes. Each operator has
 * one nn_op_def: how to infer output shapes from input shapes (and from input
 * data when it is known at plan time), and how to run. The same `run`
 * function serves constant folding at plan time and execution at run time.
 */
#ifndef RC_NN_INTERNAL_H
#define RC_NN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn.h"

/* Tensors hold float32 (everything the kernels compute on) or int64 (shapes,
 * indices; always folded to constants with static input shapes). */
typedef enum { NN_F32 = 1, NN_I64 = 7 } nn_dtype;

typedef struct {
    nn_dtype type;
    nn_shape shape;
    void *data; /* NULL while planning a value computed at run time */
} nn_tensor;

/* Largest tensor the engine accepts (elements); protects against absurd
 * shapes in files and inputs. 2^26 floats = 256 MiB, far above what face
 * models need (a 1080p frame is 6.2 M values). */
#define NN_MAX_ELEMS ((int64_t)1 << 26)

/* Activations that can be fused into the node producing their input. */
typedef enum {
    NN_ACT_NONE,
    NN_ACT_RELU,
    NN_ACT_PRELU, /* per-channel slope (act_slope) */
    NN_ACT_LEAKY, /* alpha = act_a */
    NN_ACT_SIGMOID,
    NN_ACT_CLIP,  /* [act_a, act_b] */
    NN_ACT_HSWISH /* x * relu6(x + 3) / 6 */
} nn_act;

typedef struct {
    char *name;
    int type; /* onnx AttributeProto type: 1 float, 2 int, 3 string, 4 tensor, 6 floats, 7 ints */
    float f;
    int64_t i;
    int64_t *ints;
    float *floats;
    size_t n;
    char *s;
    nn_tensor t;
} nn_attr;

typedef struct nn_op_def nn_op_def;

/* The int8 form of a Conv (quant.c), set by nn_model_quantize. */
typedef struct nn_q8 nn_q8;
/* The bf16 form of a 1x1 Conv (bf16.c), set by nn_model_bf16. */
typedef struct nn_bf16 nn_bf16;

/* A convolution's or pooling's window attributes, parsed once at load so
 * running does not look them up by name on every call. */
typedef struct {
    bool ok; /* parsed and valid; otherwise they are read from the attributes */
    int64_t sh, sw, dh, dw, pads[4], group;
    int auto_pad;      /* 0 NOTSET/VALID (explicit pads), 1 SAME_UPPER, 2 SAME_LOWER */
    const int64_t *ks; /* kernel_shape, or NULL */
    size_t nks;
} nn_window;

typedef struct nn_node {
    const nn_op_def *def;
    char *name;
    char *op_type;
    int nin, nout;
    int *in; /* value ids; -1 for an omitted optional input */
    int *out;
    nn_attr *attrs;
    int nattrs;
    bool dead; /* removed by a rewrite */
    /* Conv weights packed for nn_gemm_packed (model-owned), one block of
     * wpack_stride floats per group; NULL when the fast GEMM is not used. */
    float *wpack;
    int64_t wpack_stride;
    float *wino; /* Winograd-transformed 3x3 weights, or NULL */
    /* Fused epilogue (Conv, Gemm, MatMul, Add): y = act(y [+ residual]). */
    nn_act act;
    float act_a, act_b;
    const float *act_slope; /* PRelu slope per channel (model-owned) */
    int64_t act_slope_n;    /* 1 (shared) or the channel count */
    nn_window win;          /* Conv, ConvTranspose, MaxPool, AveragePool */
    /* Conv with a residual Add fused in (fuse.c): in[3] is the Add's other
     * input and res_add the Add node itself (dead; its activation is the
     * Conv's act). When in[3] has the Conv output's shape (checked while
     * planning), y = act(conv(x) + bias + in[3]) in one pass; otherwise the
     * Conv computes into scratch and res_add runs as if unfused (a
     * broadcasting Add, e.g. an exporter's [C,1,1] bias). */
    const struct nn_node *res_add;
    /* Add with the Mul that made one of its inputs fused in (fuse.c): the
     * Mul's inputs are in[mul_pos] (its first) and in[2] (its second), and
     * mul is the Mul node itself (dead). When the shapes allow (checked
     * while planning and running: the Add's other input and one factor of
     * the output's shape, the other factor one value or one per plane of
     * the first two axes), y = act(x * s + r) in one pass, each product
     * rounded before the sum as two operators do; otherwise the Mul runs
     * into scratch and the Add as if unfused (squeeze-and-excitation's
     * x * s + skip, a detector's scaled branch + shortcut). */
    const struct nn_node *mul;
    int mul_pos;
    /* 1x1 Conv reading a BatchNormalization (+ ReLU) folded into it at load
     * (fuse.c): its input is x' = pre_act(x * scale[c] + shift[c]), with
     * pre_affine = [scale (C), shift (C)] (model-owned), or NULL. */
    float *pre_affine;
    nn_act pre_act; /* NN_ACT_NONE or NN_ACT_RELU */
    /* ... and then a 2x2 stride-2 AveragePool that followed the 1x1 Conv,
     * moved in front of it (fuse.c): the Conv sees the pooled input. */
    bool pre_pool2;
    /* int8 weights and the input's quantisation (quant.c; separately
     * allocated, freed with the model), or NULL: the Conv runs in float. */
    nn_q8 *q8;
    /* bf16 weights (bf16.c; separately allocated, freed with the model),
     * or NULL. */
    nn_bf16 *bf16;
} nn_node;

typedef struct {
    char *name;
    bool is_const; /* initializer or Constant output: `init` holds the data */
    nn_tensor init;
    int producer; /* node index, -1 for graph inputs and constants */
    int uses;     /* number of node inputs reading this value */
} nn_value;

struct nn_model {
    char *name;
    int opset;
    nn_value *values;
    int nvalues, cvalues;
    nn_node *nodes;
    int nnodes;
    int *inputs; /* value ids of the real inputs (initializers excluded) */
    int ninputs;
    nn_shape *input_shapes;
    int *outputs;
    int noutputs;
    /* After loading, every constant's data and every Conv's packed
     * weights live in this one block (nn_gather_weights); NULL before. */
    void *weights;
};

/* What an operator sees while planning (data NULL for values only known at
 * run time) and while running (all data set). */
typedef struct {
    const nn_node *node;
    int opset;
    nn_tensor **in; /* in[i] NULL for an omitted optional input */
    int nin;
    nn_tensor **out;
    int nout;
    size_t scratch_bytes; /* infer: bytes of scratch the run needs */
    void *scratch;        /* run: that scratch */
    bool reference;       /* run: use the plain C path only */
    bool int8;            /* run: use the node's int8 form (q8) when it has one */
    bool bf16;            /* run: use the node's bf16 form when it has one */
    float *range;         /* run: calibrating, [min, max] of this Conv's input */
    rc_error *err;
} nn_ctx;

struct nn_op_def {
    const char *name;
    int min_in, max_in, min_out, max_out;
    /* Fill out[i]->type and ->shape, check attributes and input shapes. */
    rc_status (*infer)(nn_ctx *c);
    void (*run)(nn_ctx *c);
    /* Outputs alias input 0's data (Reshape and friends): no run, no copy. */
    bool alias;
};

/* ops.c */
const nn_op_def *nn_op_find(const char *op_type);
const nn_attr *nn_attr_get(const nn_node *n, const char *name);
int64_t nn_attr_int(const nn_node *n, const char *name, int64_t def);
float nn_attr_float(const nn_node *n, const char *name, float def);
const char *nn_attr_str(const nn_node *n, const char *name, const char *def);
/* Integer list attribute; returns its length (0 if absent) and *v. */
size_t nn_attr_ints(const nn_node *n, const char *name, const int64_t **v);

/* Shape helpers (shape.c). */
int64_t nn_shape_count(const nn_shape *s);
bool nn_shape_eq(const nn_shape *a, const nn_shape *b);
/* Check every dim is >= 0 and the element count within NN_MAX_ELEMS. */
rc_status nn_shape_check(const nn_node *n, const nn_shape *s, rc_error *err);
size_t nn_dtype_size(nn_dtype t);
/* Broadcast a and b (numpy rules) into out; false if incompatible. */
bool nn_shape_broadcast(const nn_shape *a, const nn_shape *b, nn_shape *out);
void nn_shape_format(const nn_shape *s, char *buf, size_t len);
rc_status nn_node_fail(rc_error *err, rc_status code, const nn_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fused epilogue over a [channels x plane] block (kernels.c): y = act(y +
 * bias[ch]); bias may be NULL; c0 is the first channel's index (PRelu). */
void nn_epilogue(const nn_node *n, float *y, int64_t channels, int64_t plane, const float *bias,
                 int64_t c0);
/* The same in plain C, activation only (the reference path). */
void nn_apply_act(const nn_node *n, float *y, int64_t channels, int64_t plane, int64_t c0);

/* ops_nn.c: parse a windowed operator's attributes into n->win (load). */
void nn_window_cache(nn_node *n);

/* fuse.c: load-time rewrites (BN folding, activation fusion, denormals). */
rc_status nn_fuse(nn_model *m, rc_error *err);
int nn_model_add_const(nn_model *m, const char *name, nn_tensor t);

/* kernels.c: fast paths and CPU feature detection. */
typedef struct {
    bool avx512;
    bool avx512vl; /* AVX-512 on 256-bit registers too */
    bool avx2;
    bool vnni512; /* AVX-512 VNNI (VPDPBUSD on 512-bit registers) */
    bool avxvnni; /* AVX-VNNI (VPDPBUSD on 256-bit registers, VEX) */
    bool bf16;    /* AVX-512 BF16 (VDPBF16PS, VCVTNE2PS2BF16) */
} nn_cpu;
nn_cpu nn_cpu_features(void);
void nn_blas_init(void);
/* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C; row-major (cblas). */
void nn_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
/* Depthwise 3x3 of one channel (index ch) with bias and the node's fused
 * activation; pad_buf is scratch for the portable path. */
bool nn_dw3x3_fast(const nn_node *n, const float *x, int H, int W, const float *w, float bias,
                   int s, int pt, int pl, float *y, int OH, int OW, int64_t ch, float *pad_buf);

/* Packed GEMM (AVX-512): C = act(A * B + bias) with A packed at load. */
#define NN_GEMM_MR 8
#define NN_GEMM_NR 32
size_t nn_gemm_packed_floats(int64_t M, int64_t K);
/* fuse.c: move the loaded model's constants and packed weights into one
 * block on transparent huge pages (the last step of loading). */
rc_status nn_gather_weights(nn_model *m, rc_error *err);
void nn_gemm_pack_a(const float *A, int64_t M, int64_t K, float *dst);
/* Fills a [K][NN_GEMM_NR] panel with columns [n0, n0+ncols) of B, zero
 * padded: from a matrix (nn_pack_b_rows) or straight from an image (the
 * implicit im2col in ops_nn.c). */
typedef void (*nn_pack_b_fn)(const void *arg, int64_t n0, int ncols, float *panel);
typedef struct {
    const float *B;
    int64_t K, ldb;
} nn_rows;
void nn_pack_b_rows(const void *arg, int64_t n0, int ncols, float *panel);
/* The same with a per-row affine and optional ReLU applied while packing:
 * panel[k][j] = max?(B[k][n0 + j] * scale[k] + shift[k], 0) (pack.c). */
typedef struct {
    const float *B;
    int64_t K, ldb;
    const float *scale, *shift;
    bool relu;
} nn_rows_affine;
void nn_pack_b_rows_affine(const void *arg, int64_t n0, int ncols, float *panel);
/* Columns of the 2x2 stride-2 average pooling (OW columns per row) of K
 * planes of H x W at x, each pixel first through the affine (+ ReLU) when
 * scale is set (pack.c); nn_pool2_image writes the whole pooled image. */
typedef struct {
    const float *x;
    int64_t K, H, W, OW;
    const float *scale, *shift; /* or NULL */
    bool relu;
} nn_pool2_rows;
void nn_pack_b_pool2(const void *arg, int64_t n0, int ncols, float *panel);
void nn_pool2_image(const nn_pool2_rows *r, int64_t OH, float *y);
/* Implicit im2col of one image (C channels of H x W) for a KH x KW window. */
typedef struct {
    const float *x;
    int64_t C, H, W, KH, KW, sh, sw, dh, dw, pt, pl, OW, pb, pr;
} nn_im2col;
void nn_pack_im2col(const void *arg, int64_t n0, int ncols, float *panel);
/* Stride-1 convolution read in place from a padded copy of the image (no
 * im2col); false when not applicable. Scratch size from the first call. */
size_t nn_conv_direct_scratch(const nn_im2col *a, int64_t M);
bool nn_conv_direct(const nn_node *n, const nn_im2col *a, int64_t M, int64_t OH, const float *Ap,
                    float *y, const float *bias, void *scratch);
/* Returns false (and does nothing) when the CPU or activation is not
 * handled; `panel` is scratch of K * NN_GEMM_NR floats, 64-byte aligned.
 * `res` (or NULL) is a residual laid out like C, added before the
 * activation. */
bool nn_gemm_packed(const nn_node *n, int64_t M, int64_t N, int64_t K, const float *Ap,
                    nn_pack_b_fn pack, const void *arg, float *C, int64_t ldc, const float *bias,
                    const float *res, float *panel);

/* Sum of a[i] * b[i] (AVX-512 when available). */
float nn_dot(const float *a, const float *b, int64_t n);
/* y[j] += alpha * (x . W[j]) for the N rows of W [N][K] (a one-row Gemm
 * against weights stored transposed). */
void nn_gemv_rows(const float *x, const float *W, int64_t N, int64_t K, float alpha, float *y);
/* y[j] = x . (column j of W [K][N]), each summed over k in order with
 * fused multiply-adds: a one-row MatMul (what a BLAS pays more to set up). */
void nn_gemv_cols(const float *x, const float *W, int64_t K, int64_t N, float *y);

/* Convolution as one dot product per output (patches [N][K] built in
 * `patches`, N * K floats); for outputs with very few positions. */
bool nn_conv_small_n(const nn_node *n, const nn_im2col *a, int64_t M, int64_t N, const float *W,
                     float *y, const float *bias, float *patches);

/* y = act(x * scale[ch] + shift[ch]) per channel of a [channels x plane]
 * block (BatchNormalization with its fused activation). */
void nn_channel_affine(const nn_node *n, const float *x, float *y, int64_t channels, int64_t plane,
                       const float *scale, const float *shift, bool reference);
/* y = a op b over n floats, op 0 add, 1 sub, 2 mul, 3 div; mode 0: both
 * full, 1: b is one value, 2: a is one value. False when not handled. */
bool nn_binary_fast(int op, const float *a, const float *b, float *y, int64_t n, int mode);
/* y = x * s + r over n floats, the product rounded before the sum (no
 * FMA): the bits of a Mul then an Add, with the Mul's operands as s * x
 * when s_first and the Add's as r + product unless mul_first. False when
 * not handled. */
bool nn_scale_add_fast(const float *x, float s, const float *r, float *y, int64_t n, bool s_first,
                       bool mul_first);

/* Winograd F(2x2,3x3) and F(4x4,3x3) for 3x3 stride-1 convolutions (wino.c). */
size_t nn_wino_packed_floats(int64_t M, int64_t C);
void nn_wino_pack(const float *w, int64_t M, int64_t C, float *dst);
size_t nn_wino_scratch(const nn_im2col *a, int64_t M, int64_t OH);
bool nn_conv_winograd(const nn_node *n, const nn_im2col *a, int64_t M, int64_t OH, float *y,
                      const float *bias, void *scratch);

/* Depthwise 3x3 (stride 1 or 2) of all channels of a small plane at once,
 * 16 channels per vector; false if not handled. */
size_t nn_dw3x3_small_scratch(int64_t C, int64_t OH, int64_t OW, int s);
bool nn_dw3x3_small(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W,
                    const float *w, const float *bias, int s, int64_t pt, int64_t pl, float *y,
                    int64_t OH, int64_t OW, float *scratch);

/* 3x3 convolution of at most 16 input channels (group 1; stride 1 with any
 * dilation up to 8, or stride 2), output channels in registers (direct.c);
 * false if not handled. */
size_t nn_conv3x3_regs_scratch(int64_t C);
bool nn_conv3x3_regs(const nn_node *n, const nn_im2col *a, int64_t M, int64_t OH, const float *w,
                     float *y, const float *bias, void *scratch);
/* The same for output rows [oy0, oy1) only, row oy of channel m at
 * y + m * ys + (oy - oy0) * OW (a row band, band.c); each output as in the
 * whole plane. Not for the flat same-size stride-1 shapes. */
bool nn_conv3x3_regs_rows(const nn_node *n, const nn_im2col *a, int64_t M, int64_t OH,
                          const float *w, float *y, int64_t ys, int64_t oy0, int64_t oy1,
                          const float *bias, void *scratch);

/* 1x1 convolution (stride 1, no pads) over `np` pixels the same way, for
 * at most 16 input channels (32 when M <= 32) (direct.c): input channel c
 * at x + c * xs, output channel m at y + m * ys (a whole plane: xs = ys =
 * np; a row band of it, band.c: xs the plane). Each output is the same
 * whichever pixels a call covers. False if not handled. */
size_t nn_conv1x1_regs_scratch(int64_t C);
bool nn_conv1x1_regs(const nn_node *n, const float *x, int64_t xs, int64_t C, int64_t np, int64_t M,
                     const float *w, float *y, int64_t ys, const float *bias, void *scratch);

/* Convolution (group 1, weights packed) of an image whose planes have at
 * most 16 pixels into at most 9 output pixels (direct.c); `scratch` holds
 * K * 16 + 256 floats. Planes of 17 to 32 pixels into at most 24 outputs
 * and 16 channels are handled too, with nn_conv_tiny_scratch bytes. False
 * if not handled. */
size_t nn_conv_tiny_scratch(int64_t KH, int64_t KW);
bool nn_conv_tiny(const nn_node *n, const nn_im2col *a, int64_t M, int64_t N, float *y,
                  const float *bias, float *scratch);

/* Depthwise convolution whose window is the whole plane of P pixels (one
 * output per channel) with bias and the node's activation; false when not
 * handled (dwsmall.c). */
bool nn_dw_whole_plane(const nn_node *n, const float *x, const float *w, const float *bias,
                       int64_t C, int64_t P, float *y);
/* Which kernel runs a depthwise 3x3 stride-2 Conv with pads of 1 at the top
 * and left, H x W into OH x OW, on the AVX-512 path: nn_dw3x3_narrow's
 * (planes at most 32 wide) first, else nn_dw3x3_flat's row kernel (rows of
 * 8 outputs or more). The one rule run_conv's kernels and the row bands
 * (band.c) follow. */
bool nn_dw3x3s2_narrow_takes(int64_t H, int64_t W, int64_t OH, int64_t OW);
bool nn_dw3x3s2_rows_takes(int64_t H, int64_t W, int64_t OH, int64_t OW);
/* Depthwise 3x3 with pads of 1 (top and left) on planes at most 32 wide
 * (dwsmall.c): stride 1 with a same-size output on rows of 4 or of 8 to 32
 * pixels (every input row loaded and shifted once; rows of 4 or 8 several
 * to a register), stride 2 on planes of more than 16 pixels into outputs
 * at most 16 wide (every input row in one or two registers). False when
 * not handled. */
bool nn_dw3x3_narrow(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W,
                     const float *w, const float *bias, int s, int64_t pt, int64_t pl, float *y,
                     int64_t OH, int64_t OW);
/* Depthwise 3x3 with pads of 1 (stride 1, or 2 through phase planes) on
 * planes of up to 32768 pixels (8192 for stride 2), each channel's plane as
 * one flat array of masked loads; stride 2 with output rows of 8 pixels or
 * more row by row, on planes of any size. False if not handled. */
size_t nn_dw3x3_flat_scratch(int64_t H, int64_t W);
bool nn_dw3x3_flat(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W,
                   const float *w, const float *bias, int s, int64_t pt, int64_t pl, float *y,
                   int64_t OH, int64_t OW, void *scratch);

/* Rows [oy0, oy1) of a depthwise 3x3 stride-2 convolution with pads of 1
 * at the top and left, row by row (what nn_dw3x3_flat runs for output rows
 * of 8 pixels or more), from input rows r0 on: row iy of channel c at
 * x + c * xs + (iy - r0) * W. The whole plane is r0 = 0, xs = H * W; a row
 * band (band.c) gives the rows its outputs read. Each output is computed
 * the same way whichever rows are given. `prefetch`: the input is the
 * whole plane, fetch rows ahead when it is past L2. False if not handled. */
typedef struct {
    const float *x;
    int64_t xs, r0, C, H, W, OH, OW, oy0, oy1;
    bool prefetch;
    /* nn_dw3x3s1_rows: output row oy of channel c at y + c * ys + (oy - yr0) * W */
    int64_t ys, yr0;
} nn_dw_rows;
bool nn_dw3x3s2_rows(const nn_node *n, const nn_dw_rows *a, const float *w, const float *bias,
                     float *y);
/* The same for stride 1 with pads of 1 and rows that are whole 16-lane
 * blocks (what nn_dw3x3_flat runs for them), into a row band (ys, yr0);
 * nn_dw3x3s1_rows_takes: the widths it takes. */
bool nn_dw3x3s1_rows_takes(int64_t W);
bool nn_dw3x3s1_rows(const nn_node *n, const nn_dw_rows *a, const float *w, const float *bias,
                     float *y);

/* 3x3 convolution of one input channel into M (group 1), same geometry
 * limits as nn_dw3x3_flat (stride 2: planes of up to 8192 pixels), the
 * scratch of nn_dw3x3_flat_scratch; false if not handled. */
bool nn_conv1ch_flat(const nn_node *n, const float *x, int64_t H, int64_t W, int64_t M,
                     const float *w, const float *bias, int s, int64_t pt, int64_t pl, float *y,
                     int64_t OH, int64_t OW, void *scratch);

/* 2x2 stride-2 max/average pooling without padding; false if not handled. */
bool nn_pool2x2_fast(const float *x, int64_t planes, int64_t H, int64_t W, float *y, int64_t OH,
                     int64_t OW, bool is_max);

/* 3x3 stride-2 max pooling with pads of at most 1; false if not handled. */
bool nn_maxpool3s2_fast(const float *x, int64_t planes, int64_t H, int64_t W, float *y, int64_t OH,
                        int64_t OW, int64_t pt, int64_t pl);

/* Vectorised exp/sigmoid/tanh (relative error ~1e-7); false when the CPU
 * lacks AVX-512 (the caller then uses libm). */
typedef enum { NN_UNARY_EXP, NN_UNARY_SIGMOID, NN_UNARY_TANH } nn_unary;
bool nn_unary_fast(nn_unary kind, const float *x, float *y, int64_t n);

/* int8 convolutions (quant.c). Scratch bytes an int8 Conv needs for an
 * input of H x W; 0 when the node has no int8 form. */
size_t nn_q8_scratch(const nn_node *n, int64_t H, int64_t W);
/* Run the Conv of `c` in int8 (the portable C path when c->reference);
 * false (nothing written) when its int8 form does not apply to this call
 * (a broadcasting residual, a folded pooling). */
bool nn_q8_conv(const nn_ctx *c);
/* Widen c->range to the values of the Conv's input as the convolution
 * sees them (after a folded BatchNormalization). */
void nn_q8_observe(const nn_ctx *c);
void nn_q8_free(nn_q8 *q);
/* The int8 form of a 1x1 Conv (stride 1, no pads, no residual, one image)
 * in pixel ranges (band.c): nn_q8_pw_begin quantises the whole input into
 * c->scratch (nn_q8_scratch bytes) and fills *st, false (nothing done) when
 * the form does not apply; nn_q8_pw_pixels then writes pixels [p0, p1) of
 * every output channel m to y + m * ys + (p - p0), each the value
 * nn_q8_conv gives it. */
typedef struct {
    float inv_sx;
    int zp;
    const int32_t *zpw;
    const float *oscale;
} nn_q8_pw;
bool nn_q8_pw_begin(const nn_ctx *c, nn_q8_pw *st);
void nn_q8_pw_pixels(const nn_ctx *c, const nn_q8_pw *st, int64_t p0, int64_t p1, float *y,
                     int64_t ys);

/* bf16 1x1 convolutions (bf16.c). Scratch bytes a bf16 Conv needs for an
 * input of H x W; 0 when the node has no bf16 form. */
size_t nn_bf16_scratch(const nn_node *n, int64_t H, int64_t W);
/* Run the Conv of `c` in bf16 (the plain C reference when c->reference);
 * false (nothing written) when its bf16 form does not apply to this call
 * (a broadcasting residual) or the CPU lacks AVX-512 BF16. */
bool nn_bf16_conv(const nn_ctx *c);
void nn_bf16_free(nn_bf16 *b);
/* The bf16 form of a 1x1 Conv (no residual, one image) in pixel ranges
 * (band.c): whether nn_bf16_conv would run it (and the AVX-512 kernel is
 * there), and np pixels (input channel k at x + k * xs) of every output
 * channel m written to y + m * ys, each the value nn_bf16_conv gives it
 * (scratch: nn_bf16_scratch bytes). */
bool nn_bf16_pw_applies(const nn_ctx *c);
void nn_bf16_pw_pixels(const nn_ctx *c, const float *x, int64_t xs, int64_t np, float *y,
                       int64_t ys);

/* A chain of Convs run as one step in bands of the last one's output rows
 * (band.c): a depthwise 3x3 stride-2 Conv and the 1x1 Conv that is the only
 * reader of its input, and, when they qualify, a depthwise 3x3 stride-1
 * Conv before that and a 1x1 or a 3x3 Conv (few input channels) before
 * that. nn_band_plan decides for nodes[0 .. n-1] (calls[i]: node i's call
 * as planned, its int8 and bf16 flags set; band_rows: output rows per
 * band, 0 for the L2 budget) how many of the last ones run banded (0 when
 * not even the last two, else 2 to n) and the scratch bytes; nn_band_run
 * runs them (the intermediate outputs are not read or written; false only
 * if the plan no longer holds). */
#define NN_BAND_MAX 4
typedef enum { NN_BAND_FLOAT, NN_BAND_GEMM, NN_BAND_INT8, NN_BAND_BF16 } nn_band_form;
typedef enum { NN_BAND_PW, NN_BAND_DW1, NN_BAND_C3, NN_BAND_DW2 } nn_band_kind;
typedef struct {
    nn_band_kind kind;
    nn_band_form form;          /* a 1x1's, as run_conv would pick it */
    int64_t C, H, W, M, OH, OW; /* input C x H x W, output M x OH x OW */
    int64_t cap;                /* rows of its output the band buffer holds (not the last) */
    size_t buf;                 /* byte offset of that buffer in the scratch */
    size_t ks;                  /* byte offset of its kernel's scratch */
} nn_band_level;
typedef struct {
    int n; /* levels */
    nn_band_level l[NN_BAND_MAX];
    int64_t rows; /* output rows per band */
} nn_band;
int nn_band_plan(const nn_model *m, const nn_node *const *nodes, nn_ctx *const *calls, int n,
                 int band_rows, nn_band *bd, size_t *scratch);
bool nn_band_run(const nn_band *bd, const nn_ctx *const *calls);

/* Flush float32 denormals in place. */
void nn_flush_denormals(float *p, int64_t n);

#endif
